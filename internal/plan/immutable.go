package plan

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/tether-dev/tether/internal/object"
)

// ErrImmutable marks a change the API server refuses because a field it
// touches cannot change once set.
var ErrImmutable = errors.New("immutable field")

// ImmutableError is a change refused as immutable, naming the fields (from
// the API error's causes) and the object.
type ImmutableError struct {
	ID     object.ID
	Source string
	// Fields are the refused fields and the API server's reason for each
	// ("spec.selector: field is immutable").
	Fields []string
	// Refusal says why force-recreate does not apply; "" when force was
	// simply not asked for.
	Refusal string
	Err     error
}

func (e *ImmutableError) Error() string {
	src := ""
	if e.Source != "" {
		src = " (" + e.Source + ")"
	}
	what := fmt.Sprintf("%s%s: cannot change %s", e.ID.Display(), src, strings.Join(e.Fields, "; "))
	if e.Refusal != "" {
		return what + "; not deleted and recreated: " + e.Refusal
	}
	return what + `; to delete and recreate the object, annotate it ` + ForceAnnotation + `: "true" or set spec.syncPolicy.force: true`
}

// Unwrap gives both ErrImmutable and the API error (an Invalid status).
func (e *ImmutableError) Unwrap() []error { return []error{ErrImmutable, e.Err} }

// ImmutableFields returns, for an API error refusing a change as
// immutable, each refused field with the server's reason; nil for any
// other error.
func ImmutableFields(err error) []string {
	var st apierrors.APIStatus
	if !errors.As(err, &st) || st.Status().Code != http.StatusUnprocessableEntity || st.Status().Details == nil {
		return nil
	}
	var out []string
	for _, c := range st.Status().Details.Causes {
		if !immutableMessage(c.Message) {
			continue
		}
		msg := c.Message
		// "Invalid value: v1.LabelSelector{…}: field is immutable": the
		// value is long and says nothing the diff does not; keep the reason.
		if i := strings.LastIndex(msg, ": "); i >= 0 {
			msg = msg[i+2:]
		}
		if c.Field != "" {
			msg = c.Field + ": " + msg
		}
		out = append(out, msg)
	}
	return out
}

func immutableMessage(msg string) bool {
	m := strings.ToLower(msg)
	return strings.Contains(m, "immutable") || strings.Contains(m, "may not change") ||
		(strings.Contains(m, "forbidden") && strings.Contains(m, "updates to"))
}

// immutableError wraps err when it refuses ch's change as immutable (nil
// otherwise).
func immutableError(ch *Change, err error) *ImmutableError {
	fields := ImmutableFields(err)
	if len(fields) == 0 {
		return nil
	}
	ie := &ImmutableError{ID: ch.ID, Source: ch.Source, Fields: fields, Err: err}
	if ch.Force != "" {
		ie.Refusal = ch.RecreateRefusal()
	}
	return ie
}

// NewImmutableError is immutableError for apply, which meets the refusal
// when the plan could not (an object changed in between).
func NewImmutableError(ch *Change, err error) *ImmutableError { return immutableError(ch, err) }
