package jsonnet

import (
	"errors"
	"fmt"
	"strings"

	gojsonnet "github.com/google/go-jsonnet"
	"github.com/google/go-jsonnet/ast"

	"github.com/tether-dev/tether/internal/render"
)

// maxFrames is how many stack frames a runtime error shows.
const maxFrames = 8

// errorCapture is the VM's ErrorFormatter: go-jsonnet gives the caller
// only the formatted text of an error, so the formatter keeps the error
// as a *render.Error with the file and line it points at.
type errorCapture struct {
	file string // the file being evaluated
	err  *render.Error
}

var _ gojsonnet.ErrorFormatter = (*errorCapture)(nil)

// located is go-jsonnet's static error (parse and static analysis), whose
// type is internal to go-jsonnet.
type located interface {
	error
	Loc() ast.LocationRange
}

func (c *errorCapture) Format(err error) string {
	var rt gojsonnet.RuntimeError
	var st located
	var re *render.Error
	switch {
	case errors.As(err, &rt):
		c.err = c.runtime(rt)
	case errors.As(err, &st):
		loc := st.Loc()
		msg := strings.TrimPrefix(st.Error(), loc.String()+" ")
		c.err = c.at(loc, "static error: "+msg)
	case errors.As(err, &re):
		c.err = re
	default:
		c.err = &render.Error{File: c.file, Err: err}
	}
	return c.err.Error()
}

func (c *errorCapture) SetMaxStackTraceSize(int)                   {}
func (c *errorCapture) SetColorFormatter(gojsonnet.ColorFormatter) {}

// runtime places a runtime error at its innermost frame with a place in
// a file, and lists the frames (innermost first, a run of the same frame
// told once) after the message.
func (c *errorCapture) runtime(rt gojsonnet.RuntimeError) *render.Error {
	var frames []string
	var inner *ast.LocationRange
	last, repeats := "", 0
	flush := func() {
		if repeats > 1 {
			frames[len(frames)-1] += fmt.Sprintf(" (%d times)", repeats)
		}
	}
	for i := len(rt.StackTrace) - 1; i >= 0; i-- {
		f := rt.StackTrace[i]
		if !f.Loc.IsSet() {
			continue
		}
		if inner == nil {
			inner = &rt.StackTrace[i].Loc
		}
		frame := strings.TrimSpace(f.Loc.String() + " " + f.Name)
		if frame == last {
			repeats++
			continue
		}
		flush()
		if len(frames) == maxFrames {
			break
		}
		frames, last, repeats = append(frames, frame), frame, 1
	}
	flush()
	msg := "runtime error: " + rt.Msg
	if len(frames) > 0 {
		msg += " (at " + strings.Join(frames, ", from ") + ")"
	}
	if inner == nil {
		return &render.Error{File: c.file, Err: errors.New(msg)}
	}
	return c.at(*inner, msg)
}

// at is an error at loc: its file and line when loc is in a file of the
// repository, else (a top-level argument's code, say) the evaluated file.
func (c *errorCapture) at(loc ast.LocationRange, msg string) *render.Error {
	if loc.FileName == "" || strings.HasPrefix(loc.FileName, "<") {
		if loc.FileName != "" {
			msg = fmt.Sprintf("%s: %s", loc.String(), msg)
		}
		return &render.Error{File: c.file, Err: errors.New(msg)}
	}
	return &render.Error{File: loc.FileName, Line: loc.Begin.Line, Err: errors.New(msg)}
}
