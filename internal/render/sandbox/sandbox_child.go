package sandbox

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"runtime/debug"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/tether-dev/tether/internal/render"
	"github.com/tether-dev/tether/internal/render/hcl"
)

// ServeChild is the body of the hidden render command a Sandbox starts:
// it reads one request from in, renders it, and writes the objects and
// then a last line with the warnings and the error to out, one JSON value
// a line. A render error is part of the output, not of the exit code; the
// exit code is non-zero only when the request cannot be read or the
// output written.
func ServeChild(ctx context.Context, in io.Reader, out io.Writer) int {
	var cr childRequest
	dec := json.NewDecoder(in)
	dec.UseNumber() // inline Helm values keep their integers exact
	if err := dec.Decode(&cr); err != nil {
		fmt.Fprintln(out, `{"done":true,"error":{"message":"render process: bad request"}}`)
		return 2
	}
	if cr.Helm != nil {
		cr.Helm.Values, _ = render.JSONNumbers(cr.Helm.Values).(map[string]any)
	}
	lim := cr.Request.Limits.WithDefaults()
	// The parent kills this process when its resident memory passes the
	// limit; a soft limit below it makes the garbage collector work
	// harder first, so a render that only makes garbage is not killed.
	debug.SetMemoryLimit(lim.MaxMemoryBytes * 3 / 4)
	var warnings []string
	r, err := cr.renderer(func(w string) { warnings = append(warnings, w) })
	var objs []*unstructured.Unstructured
	if err == nil {
		objs, err = renderRecovered(ctx, r, cr.Request)
	}
	w := bufio.NewWriterSize(out, 64<<10)
	if err == nil {
		err = writeObjects(w, cr.Request, objs, lim.MaxOutputBytes)
	}
	last := childLine{Done: true, Warnings: warnings, Error: toChildError(err)}
	data, mErr := json.Marshal(last)
	if mErr != nil {
		data = []byte(`{"done":true,"error":{"message":"render process: cannot encode the result"}}`)
	}
	w.Write(data)
	w.WriteByte('\n')
	if err := w.Flush(); err != nil {
		return 1
	}
	return 0
}

// renderRecovered runs r, turning a panic (a renderer library's bug met by
// some input) into an error, as in process it would have crashed Tether.
func renderRecovered(ctx context.Context, r render.Renderer, req render.Request) (objs []*unstructured.Unstructured, err error) {
	defer func() {
		if p := recover(); p != nil {
			objs, err = nil, &render.Error{File: render.DisplayPath(req.Path), Err: fmt.Errorf("the renderer panicked: %v", p)}
		}
	}()
	return r.Render(ctx, req)
}

// renderer builds the renderer a request names.
func (cr childRequest) renderer(warn func(string)) (render.Renderer, error) {
	switch {
	case cr.Kind == render.KindHelm && cr.Helm != nil:
		return *cr.Helm, nil
	case cr.Kind == render.KindKustomize && cr.Kustomize != nil:
		return *cr.Kustomize, nil
	case cr.Kind == render.KindJsonnet && cr.Jsonnet != nil:
		return *cr.Jsonnet, nil
	case cr.Kind == render.KindHCL:
		h := hcl.Renderer{}
		if cr.HCLWarn {
			h.Warn = warn
		}
		return h, nil
	}
	return nil, fmt.Errorf("render process: no renderer for %q", cr.Kind)
}

// writeObjects writes each object on its own line, failing with a
// *LimitError (and writing no more) once their total passes max.
func writeObjects(w *bufio.Writer, req render.Request, objs []*unstructured.Unstructured, max int64) error {
	var total int64
	for _, u := range objs {
		data, err := json.Marshal(u.Object)
		if err != nil {
			return fmt.Errorf("encode %s: %w", render.ObjectName(u), err)
		}
		if total += int64(len(data)); total > max {
			return render.OutputLimitError(req, u, max)
		}
		w.WriteString(`{"object":`)
		w.Write(data)
		w.WriteString("}\n")
	}
	return nil
}

func toChildError(err error) *childError {
	if err == nil {
		return nil
	}
	ce := &childError{Message: err.Error(), TooLarge: errors.Is(err, render.ErrTooLarge)}
	var le *render.LimitError
	if errors.As(err, &le) {
		ce.Limit = le
		return ce
	}
	if e, ok := err.(*render.Error); ok {
		ce.File, ce.Line, ce.Message = e.File, e.Line, e.Err.Error()
	}
	return ce
}
