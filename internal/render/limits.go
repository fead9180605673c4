package render

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/tether-dev/tether/internal/object"
)

// Limits bound one render. The defaults fit an agent in 2 GiB with four
// renders at once (--workers 4): 4 × 256 MiB for render processes leaves
// the agent itself room for its caches of 10k objects.
type Limits struct {
	// Timeout stops a render that runs longer; 0 means DefaultTimeout.
	Timeout time.Duration
	// MaxMemoryBytes caps the resident memory of the process that renders
	// Helm charts, kustomizations, HCL and Jsonnet (see package sandbox); 0 means
	// DefaultMaxMemoryBytes. The render process itself (the tether binary,
	// before it reads anything) takes about 70 MiB of it.
	MaxMemoryBytes int64
	// MaxOutputBytes caps the rendered objects, measured as JSON; 0 means
	// DefaultMaxOutputBytes.
	MaxOutputBytes int64
}

// Default limits.
const (
	DefaultTimeout        = 2 * time.Minute
	DefaultMaxMemoryBytes = 256 << 20
	DefaultMaxOutputBytes = 32 << 20
)

// WithDefaults fills the zero fields of l with the defaults.
func (l Limits) WithDefaults() Limits {
	if l.Timeout <= 0 {
		l.Timeout = DefaultTimeout
	}
	if l.MaxMemoryBytes <= 0 {
		l.MaxMemoryBytes = DefaultMaxMemoryBytes
	}
	if l.MaxOutputBytes <= 0 {
		l.MaxOutputBytes = DefaultMaxOutputBytes
	}
	return l
}

// Which limit a LimitError is about.
const (
	LimitTime   = "time"
	LimitMemory = "memory"
	LimitOutput = "output"
)

// ErrLimit is matched (errors.Is) by every *LimitError.
var ErrLimit = errors.New("render limit exceeded")

// LimitError says that a render was stopped by one of its Limits.
type LimitError struct {
	App   string // the application (Request.AppName)
	Path  string // the rendered directory, repository-relative
	Limit string // LimitTime, LimitMemory or LimitOutput
	Max   int64  // the limit: nanoseconds or bytes
	// File is the template or file at fault, when known ("" otherwise:
	// a Helm template or kustomization cannot be told apart while it runs).
	File string
	// Object is the object at which the output limit was passed, if any.
	Object string
}

func (e *LimitError) Error() string {
	where := DisplayPath(e.Path)
	if e.File != "" {
		where += " (" + e.File + ")"
	}
	if e.Object != "" {
		where += " at " + e.Object
	}
	var what, field string
	switch e.Limit {
	case LimitTime:
		what, field = "ran longer than "+time.Duration(e.Max).String(), "timeout"
	case LimitMemory:
		what, field = "used more than "+formatBytes(e.Max)+" of memory", "maxMemoryBytes"
	default:
		what, field = "rendered more than "+formatBytes(e.Max)+" of objects", "maxOutputBytes"
	}
	return fmt.Sprintf("app %q: rendering %s %s and was stopped (the limit is spec.source.renderLimits.%s)", e.App, where, what, field)
}

// Is makes errors.Is(err, ErrLimit) true.
func (e *LimitError) Is(target error) bool { return target == ErrLimit }

// formatBytes writes n as MiB or KiB when it is a whole multiple.
func formatBytes(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return strconv.FormatInt(n>>20, 10) + " MiB"
	case n >= 1<<10 && n%(1<<10) == 0:
		return strconv.FormatInt(n>>10, 10) + " KiB"
	}
	return strconv.FormatInt(n, 10) + " bytes"
}

// checkOutput adds up the JSON size of objs and fails with a *LimitError
// naming the object (and its source file, when known) at which the total
// passes max.
func checkOutput(req Request, objs []*unstructured.Unstructured, max int64) error {
	var total int64
	for _, u := range objs {
		total += jsonSize(u.Object)
		if total > max {
			return OutputLimitError(req, u, max)
		}
	}
	return nil
}

// OutputLimitError is the *LimitError of a render whose output passed max
// at object u, naming u and, where known, the file it came from.
func OutputLimitError(req Request, u *unstructured.Unstructured, max int64) *LimitError {
	e := &LimitError{App: req.AppName, Path: req.Path, Limit: LimitOutput, Max: max, Object: ObjectName(u)}
	if src := u.GetAnnotations()[object.SourceAnnotation]; src != "" {
		e.File = src
	}
	return e
}

// ObjectName names u in messages: "Kind name" or "Kind namespace/name".
func ObjectName(u *unstructured.Unstructured) string {
	n := u.GetKind() + " " + u.GetName()
	if ns := u.GetNamespace(); ns != "" {
		n = u.GetKind() + " " + ns + "/" + u.GetName()
	}
	return n
}

// jsonSize is about the size of v encoded as JSON (exact but for string
// escapes and number formatting), without encoding it.
func jsonSize(v any) int64 {
	switch v := v.(type) {
	case map[string]any:
		n := int64(2)
		for k, e := range v {
			n += int64(len(k)) + 4 + jsonSize(e) // "k": e,
		}
		return n
	case []any:
		n := int64(2)
		for _, e := range v {
			n += jsonSize(e) + 1
		}
		return n
	case string:
		return int64(len(v)) + 2
	case nil:
		return 4
	case bool:
		return 5
	default:
		return 8 // numbers
	}
}
