package source

import (
	"errors"
	"regexp"
	"strings"
)

// Error classes. Every error returned by Resolve and Fetch that has a known
// cause wraps exactly one of them, so a caller can decide what to do next
// with errors.Is: ErrNotFound and ErrAuth need a user to change the spec or
// the credentials; ErrUnreachable is usually transient and worth a retry.
var (
	// ErrNotFound: the repository answered, but the branch, tag or commit
	// does not exist in it.
	ErrNotFound = errors.New("revision not found")
	// ErrAuth: the server rejected the credentials, or (SSH) the host key
	// did not match the known_hosts given.
	ErrAuth = errors.New("authentication failed")
	// ErrUnreachable: the host cannot be contacted or the repository does
	// not exist there.
	ErrUnreachable = errors.New("repository unreachable")
	// ErrInvalid: the source answered, but what it holds or what the spec
	// asks of it cannot be used (a digest that does not match, a chart
	// archive with unsafe paths, a constraint that does not parse).
	ErrInvalid = errors.New("invalid source")
)

// Invalid marks err as ErrInvalid (errors.Is), keeping its message.
func Invalid(err error) error { return invalidError{err} }

type invalidError struct{ error }

func (e invalidError) Unwrap() error   { return e.error }
func (e invalidError) Is(t error) bool { return t == ErrInvalid }

// classError carries its own message and unwraps to a class and a cause.
type classError struct {
	class error // one of the Err* sentinels, or nil
	msg   string
	cause error // may be nil
}

func (e *classError) Error() string { return e.msg }

func (e *classError) Unwrap() []error {
	var errs []error
	if e.class != nil {
		errs = append(errs, e.class)
	}
	if e.cause != nil {
		errs = append(errs, e.cause)
	}
	return errs
}

// messageClasses maps fragments of what a server said (an ERR line,
// an SSH server's stderr, an error status's body) to a class, for the
// errors go-git passes through as text. Checked in order.
var messageClasses = []struct {
	class     error
	fragments []string
}{
	{ErrAuth, []string{
		"authentication failed",
		"permission denied",
		"access denied",
	}},
	{ErrNotFound, []string{
		"couldn't find remote ref",
		"not our ref",
		"unadvertised object",
		"no such remote ref",
		"remote branch",
	}},
	{ErrUnreachable, []string{
		"does not appear to be a git repository",
		"not a git repository",
		"repository not found",
		"connection refused",
		"connection reset",
		"no route to host",
		"network is unreachable",
		"no such host",
	}},
}

// classify returns the class of a failure from its message, or nil when
// the message is not recognised.
func classify(msg string) error {
	s := strings.ToLower(msg)
	for _, c := range messageClasses {
		for _, f := range c.fragments {
			if strings.Contains(s, f) {
				return c.class
			}
		}
	}
	return nil
}

var (
	// scheme://user:secret@host → scheme://user:***@host
	urlPassword = regexp.MustCompile(`(://[^/@\s:]*):[^@/\s]*@`)
	// Authorization / bearer headers, should git ever echo one.
	authHeader = regexp.MustCompile(`(?i)(authorization:\s*)[^\r\n]*`)
)

// redact removes credentials from s: passwords in URLs, authorization
// headers, and every literal secret given (passwords, tokens).
func redact(s string, secrets ...string) string {
	for _, sec := range secrets {
		if len(sec) >= 3 {
			s = strings.ReplaceAll(s, sec, "***")
		}
	}
	s = urlPassword.ReplaceAllString(s, "$1:***@")
	return authHeader.ReplaceAllString(s, "${1}***")
}

// summarize caps a message at its last 600 bytes (the conclusion comes
// last) on one line.
func summarize(msg string) string {
	out := strings.Join(strings.Fields(msg), " ")
	const max = 600
	if len(out) > max {
		out = "…" + strings.ToValidUTF8(out[len(out)-max:], "")
	}
	return out
}
