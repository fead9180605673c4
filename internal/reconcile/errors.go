package reconcile

import (
	"errors"
)

// Class says what the caller does next with an error.
type Class int

const (
	// Transient: a cluster or network failure; retry later (CLI exit 1).
	Transient Class = iota
	// NeedsUser: bad input in Git or the Application (invalid YAML, a
	// missing revision, wrong credentials, an object owned by another app);
	// retrying will not help until someone changes something (CLI exit 2).
	NeedsUser
)

// Error is a reconcile failure with its class and the step it failed in.
type Error struct {
	Step  string // "source", "render", "plan", "apply", "prune", "health", "record"
	Class Class
	Err   error
}

func (e *Error) Error() string { return e.Step + ": " + e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// ClassOf returns the class of err (Transient when unclassified).
func ClassOf(err error) Class {
	var re *Error
	if errors.As(err, &re) {
		return re.Class
	}
	return Transient
}

func needsUser(step string, err error) error {
	if err == nil {
		return nil
	}
	return &Error{Step: step, Class: NeedsUser, Err: err}
}

func transient(step string, err error) error {
	if err == nil {
		return nil
	}
	return &Error{Step: step, Class: Transient, Err: err}
}
