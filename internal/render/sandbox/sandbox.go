// Package sandbox runs the Kustomize, Helm, HCL and Jsonnet renderers in a child
// process of the same binary (`tether __render`), so that a render can be
// killed at its time, memory and output limits, or when its context ends.
// It stands above the renderers: it is the one package that knows each
// one's configuration, to send it across the process boundary.
package sandbox

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utiljson "k8s.io/apimachinery/pkg/util/json"

	"github.com/tether-dev/tether/internal/render"
	"github.com/tether-dev/tether/internal/render/hcl"
	"github.com/tether-dev/tether/internal/render/helm"
	"github.com/tether-dev/tether/internal/render/jsonnet"
	"github.com/tether-dev/tether/internal/render/kustomize"
)

// Sandbox renders Helm charts, kustomizations, HCL and Jsonnet in a child
// process of the same binary, bounded in time, memory and output.
//
// Why a child process (issue 9): Helm's template engine (text/template
// with sprig), krusty, HCL's function evaluation and go-jsonnet take no
// context and cannot be interrupted. A template with `range until 3000000` runs for
// minutes and grows to gigabytes, and Go has no way to stop a goroutine
// from outside, so in process one bad commit would starve every other app
// of the agent and ignore SIGTERM. The operating system can stop a
// process: each render runs as `tether __render` (the binary found by
// os.Executable, reading one request on stdin and writing the objects on
// stdout), in its own process group, and the group is killed with SIGKILL
// when the render passes its time limit, when the child's resident memory
// passes the memory limit (read from /proc every 10 ms, so it may overshoot
// by what the render allocates in 10 ms), when it writes more than the
// output limit, or when the caller's context ends (SIGINT/SIGTERM). On
// Linux the child also dies with its parent (PR_SET_PDEATHSIG). The cost
// is a fork/exec and the binary's start (about 20 ms) and a JSON round
// trip of the objects per render.
//
// Plain manifests stay in process: what they yield is bounded by the bytes
// read (maxBytes) and YAML alias expansion is refused, and their SOPS keys
// never need to leave the process.
type Sandbox struct {
	// Command starts a child that serves one render: the tether binary and
	// the arguments of its hidden render command.
	Command []string
}

// ChildEnv is set in a render child's environment; a render child never
// starts another (a test binary that does not serve the render command
// would otherwise run its tests again, and again).
const ChildEnv = "TETHER_RENDER_CHILD"

// memoryPoll is how often the child's resident memory is read.
const memoryPoll = 10 * time.Millisecond

// outputSlack is what the parent reads beyond MaxOutputBytes (the framing
// of the objects) before it stops a child that does not stop by itself.
const outputSlack = 1 << 20

// Wrap returns s with its Kustomize, Helm, HCL and Jsonnet renderers run
// in child processes. A nil Sandbox returns s unchanged (everything in process).
func (sb *Sandbox) Wrap(s render.Set) render.Set {
	if sb == nil {
		return s
	}
	wrap := func(k render.Kind, r render.Renderer) render.Renderer {
		if r == nil {
			return nil
		}
		return sandboxed{sb: sb, kind: k, r: r}
	}
	s.Kustomize = wrap(render.KindKustomize, s.Kustomize)
	s.Helm = wrap(render.KindHelm, s.Helm)
	s.HCL = wrap(render.KindHCL, s.HCL)
	s.Jsonnet = wrap(render.KindJsonnet, s.Jsonnet)
	return s
}

// sandboxed is a renderer whose work is done by a child process.
type sandboxed struct {
	sb   *Sandbox
	kind render.Kind
	r    render.Renderer
}

// childRequest is what the parent writes on the child's stdin.
type childRequest struct {
	Kind      render.Kind         `json:"kind"`
	Request   render.Request      `json:"request"`
	Helm      *helm.Renderer      `json:"helm,omitempty"`
	Kustomize *kustomize.Renderer `json:"kustomize,omitempty"`
	Jsonnet   *jsonnet.Renderer   `json:"jsonnet,omitempty"`
	// HCLWarn: unmanaged HCL resources are warnings (HCL.Warn was set),
	// not errors.
	HCLWarn bool `json:"hclWarn,omitempty"`
}

// childLine is one line of the child's stdout: an object, or the last
// line with the warnings and the error.
type childLine struct {
	Object   json.RawMessage `json:"object,omitempty"`
	Done     bool            `json:"done,omitempty"`
	Warnings []string        `json:"warnings,omitempty"`
	Error    *childError     `json:"error,omitempty"`
}

// childError carries a render error across the process boundary.
type childError struct {
	File     string             `json:"file,omitempty"`
	Line     int                `json:"line,omitempty"`
	Message  string             `json:"message"`
	TooLarge bool               `json:"tooLarge,omitempty"`
	Limit    *render.LimitError `json:"limit,omitempty"`
}

func (e *childError) err() error {
	if e.Limit != nil {
		return e.Limit
	}
	var err error = errors.New(e.Message)
	if e.TooLarge {
		err = &wrapped{msg: e.Message, err: render.ErrTooLarge}
	}
	if e.File != "" {
		return &render.Error{File: e.File, Line: e.Line, Err: err}
	}
	return err
}

// wrapped is an error whose message is msg and which unwraps to err.
type wrapped struct {
	msg string
	err error
}

func (w *wrapped) Error() string { return w.msg }
func (w *wrapped) Unwrap() error { return w.err }

// request describes c's renderer for the child, and returns where its
// warnings go.
func (c sandboxed) request(req render.Request) (childRequest, func(string), error) {
	cr := childRequest{Kind: c.kind, Request: req}
	var warn func(string)
	switch r := c.r.(type) {
	case helm.Renderer:
		cr.Helm = &r
	case *helm.Renderer:
		cr.Helm = r
	case kustomize.Renderer:
		cr.Kustomize = &r
	case *kustomize.Renderer:
		cr.Kustomize = r
	case jsonnet.Renderer:
		cr.Jsonnet = &r
	case *jsonnet.Renderer:
		cr.Jsonnet = r
	case hcl.Renderer:
		warn, cr.HCLWarn = r.Warn, r.Warn != nil
	case *hcl.Renderer:
		warn, cr.HCLWarn = r.Warn, r.Warn != nil
	default:
		return cr, nil, fmt.Errorf("render: a %T cannot run in a render process", c.r)
	}
	return cr, warn, nil
}

// Render runs the render in a child process and waits for it, killing it
// at the first limit it passes or when ctx ends.
func (c sandboxed) Render(ctx context.Context, req render.Request) ([]*unstructured.Unstructured, error) {
	if os.Getenv(ChildEnv) != "" {
		return nil, errors.New("render: a render process may not start another")
	}
	if len(c.sb.Command) == 0 {
		return nil, errors.New("render: the sandbox has no command")
	}
	req.Limits = req.Limits.WithDefaults()
	cr, warn, err := c.request(req)
	if err != nil {
		return nil, err
	}
	payload, err := json.Marshal(cr)
	if err != nil {
		return nil, fmt.Errorf("render: encode the request: %w", err)
	}
	p, err := startChild(ctx, c.sb.Command, payload, req.Limits.MaxMemoryBytes)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrProcess, err)
	}
	objs, last, readErr := readChild(p.stdout, req.Limits.MaxOutputBytes+outputSlack)
	if errors.Is(readErr, errOutputLimit) {
		p.kill()
	}
	waitErr := p.wait()
	switch {
	case p.overMemory():
		return nil, &render.LimitError{App: req.AppName, Path: req.Path, Limit: render.LimitMemory, Max: req.Limits.MaxMemoryBytes}
	case ctx.Err() != nil:
		return nil, ctx.Err()
	case errors.Is(readErr, errOutputLimit):
		return nil, &render.LimitError{App: req.AppName, Path: req.Path, Limit: render.LimitOutput, Max: req.Limits.MaxOutputBytes}
	case last != nil && last.Error != nil:
		return nil, last.Error.err()
	case waitErr != nil: // the read failed, or will, because of it
		return nil, fmt.Errorf("%w for %s: %v%s", ErrProcess, render.DisplayPath(req.Path), waitErr, p.stderrTail())
	case readErr != nil:
		return nil, fmt.Errorf("%w for %s: %v%s", ErrProcess, render.DisplayPath(req.Path), readErr, p.stderrTail())
	}
	if warn != nil {
		for _, w := range last.Warnings {
			warn(w)
		}
	}
	return objs, nil
}

var errOutputLimit = errors.New("the render process wrote more than its output limit")

// ErrProcess is matched (errors.Is) by a failure of the render process
// itself, not of what it rendered: it could not start, or died without
// saying why (a crash, a kill by someone else). Retrying may help.
var ErrProcess = errors.New("render process failed")

// readChild decodes the child's stdout: objects, then the last line. It
// stops with errOutputLimit after max bytes.
func readChild(r io.Reader, max int64) ([]*unstructured.Unstructured, *childLine, error) {
	lr := &io.LimitedReader{R: r, N: max + 1}
	dec := json.NewDecoder(lr)
	var objs []*unstructured.Unstructured
	for {
		var line childLine
		if err := dec.Decode(&line); err != nil {
			if lr.N <= 0 {
				return nil, nil, errOutputLimit
			}
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF // the last line never came
			}
			return nil, nil, fmt.Errorf("read the render process's output: %w", err)
		}
		if line.Done {
			return objs, &line, nil
		}
		var obj map[string]any
		if err := utiljson.Unmarshal(line.Object, &obj); err != nil {
			return nil, nil, fmt.Errorf("read the render process's output: %w", err)
		}
		objs = append(objs, &unstructured.Unstructured{Object: obj})
	}
}

// child is a running render process.
type child struct {
	cmd    *exec.Cmd
	stdout io.ReadCloser
	stderr *headBuffer
	mem    *memoryWatch
}

func startChild(ctx context.Context, command []string, payload []byte, maxMemory int64) (*child, error) {
	cmd := exec.CommandContext(ctx, command[0], command[1:]...)
	cmd.Env = append(os.Environ(), ChildEnv+"=1")
	cmd.Stdin = bytes.NewReader(payload)
	stderr := &headBuffer{max: 4 << 10}
	cmd.Stderr = stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("render process: %w", err)
	}
	isolate(cmd) // own process group, killed whole; dies with its parent
	cmd.WaitDelay = time.Second
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start the render process: %w", err)
	}
	c := &child{cmd: cmd, stdout: stdout, stderr: stderr}
	c.mem = watchMemory(cmd.Process.Pid, maxMemory, c.kill)
	return c, nil
}

// kill stops the child's whole process group.
func (c *child) kill() { _ = c.cmd.Cancel() }

func (c *child) wait() error {
	err := c.cmd.Wait()
	c.mem.stop()
	return err
}

func (c *child) overMemory() bool { return c.mem.exceeded() }

func (c *child) stderrTail() string {
	if s := c.stderr.String(); s != "" {
		return ": " + s
	}
	return ""
}

// memoryWatch kills a process whose resident memory passes a limit.
type memoryWatch struct {
	done     chan struct{}
	stopOnce sync.Once
	mu       sync.Mutex
	over     bool
}

func watchMemory(pid int, max int64, kill func()) *memoryWatch {
	w := &memoryWatch{done: make(chan struct{})}
	go func() {
		t := time.NewTicker(memoryPoll)
		defer t.Stop()
		for {
			select {
			case <-w.done:
				return
			case <-t.C:
			}
			rss, err := residentBytes(pid)
			if err != nil {
				return // gone, or no way to tell on this system
			}
			if rss > max {
				w.mu.Lock()
				w.over = true
				w.mu.Unlock()
				kill()
				return
			}
		}
	}()
	return w
}

func (w *memoryWatch) stop() { w.stopOnce.Do(func() { close(w.done) }) }

func (w *memoryWatch) exceeded() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.over
}

// headBuffer keeps the first max bytes written to it: where a crashing
// process says why ("panic: …", "fatal error: …").
type headBuffer struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (b *headBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if room := b.max - len(b.buf); room > 0 {
		b.buf = append(b.buf, p[:min(room, len(p))]...)
	}
	return len(p), nil
}

func (b *headBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(bytes.TrimSpace(b.buf))
}
