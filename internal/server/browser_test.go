package server

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

// browser is a headless Chromium driven over the DevTools protocol on a
// pipe (--remote-debugging-pipe: the browser reads commands from its fd 3
// and writes replies to its fd 4, each message JSON ended by a NUL), so
// the UI's own script runs in a real browser with no Go or npm
// dependency. A missing browser fails the test: `make deps` installs it
// (Debian's chromium package).
type browser struct {
	t       *testing.T
	cmd     *exec.Cmd
	toB     *os.File
	session string

	mu      sync.Mutex
	nextID  int
	pending map[int]chan cdpReply // guarded by mu
	errors  []string              // uncaught page exceptions; guarded by mu
	done    chan struct{}         // closed when the reader stops
}

type cdpReply struct {
	Result json.RawMessage `json:"result"`
	Error  *struct {
		Message string `json:"message"`
	} `json:"error"`
}

// chromiumPath finds the browser: $TETHER_CHROMIUM, else chromium on PATH.
func chromiumPath(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("TETHER_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("no Chromium for the UI's browser tests: install it with `make deps` (apt-get install -y chromium) or set TETHER_CHROMIUM")
	return ""
}

// newBrowser starts Chromium with one page attached; it is stopped when
// the test ends.
func newBrowser(t *testing.T) *browser {
	t.Helper()
	cmdR, toB, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	fromB, cmdW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(chromiumPath(t), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run",
		"--disable-extensions", "--user-data-dir="+t.TempDir(), "--remote-debugging-pipe", "about:blank")
	cmd.ExtraFiles = []*os.File{cmdR, cmdW} // fd 3, fd 4
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", cmd.Path, err)
	}
	cmdR.Close()
	cmdW.Close()
	b := &browser{t: t, cmd: cmd, toB: toB, pending: map[int]chan cdpReply{}, done: make(chan struct{})}
	go b.read(bufio.NewReader(fromB))
	t.Cleanup(func() {
		toB.Close()
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		fromB.Close()
		if t.Failed() {
			t.Logf("chromium stderr:\n%s", stderr.String())
		}
	})

	var target struct {
		TargetID string `json:"targetId"`
	}
	b.call("", "Target.createTarget", map[string]any{"url": "about:blank"}, &target)
	var att struct {
		SessionID string `json:"sessionId"`
	}
	b.call("", "Target.attachToTarget", map[string]any{"targetId": target.TargetID, "flatten": true}, &att)
	b.session = att.SessionID
	b.call(b.session, "Runtime.enable", nil, nil)
	b.call(b.session, "Page.enable", nil, nil)
	return b
}

// read dispatches replies and records page exceptions.
func (b *browser) read(r *bufio.Reader) {
	defer close(b.done)
	for {
		msg, err := r.ReadBytes(0)
		if err != nil {
			return
		}
		var m struct {
			ID     int             `json:"id"`
			Method string          `json:"method"`
			Params json.RawMessage `json:"params"`
			cdpReply
		}
		if json.Unmarshal(msg[:len(msg)-1], &m) != nil {
			continue
		}
		b.mu.Lock()
		if ch, ok := b.pending[m.ID]; ok && m.ID != 0 {
			delete(b.pending, m.ID)
			ch <- m.cdpReply
		} else if m.Method == "Runtime.exceptionThrown" {
			b.errors = append(b.errors, string(m.Params))
		}
		b.mu.Unlock()
	}
}

// call sends one command and decodes its result into out (when not nil).
func (b *browser) call(session, method string, params, out any) {
	b.t.Helper()
	b.mu.Lock()
	b.nextID++
	id := b.nextID
	ch := make(chan cdpReply, 1)
	b.pending[id] = ch
	b.mu.Unlock()
	msg := map[string]any{"id": id, "method": method}
	if params != nil {
		msg["params"] = params
	}
	if session != "" {
		msg["sessionId"] = session
	}
	data, err := json.Marshal(msg)
	if err != nil {
		b.t.Fatal(err)
	}
	if _, err := b.toB.Write(append(data, 0)); err != nil {
		b.t.Fatalf("chromium %s: %v", method, err)
	}
	select {
	case rep := <-ch:
		if rep.Error != nil {
			b.t.Fatalf("chromium %s: %s", method, rep.Error.Message)
		}
		if out != nil {
			if err := json.Unmarshal(rep.Result, out); err != nil {
				b.t.Fatalf("chromium %s: decode %s: %v", method, rep.Result, err)
			}
		}
	case <-b.done:
		b.t.Fatalf("chromium exited during %s", method)
	case <-time.After(30 * time.Second):
		b.t.Fatalf("chromium %s: no reply in 30s", method)
	}
}

// navigate opens url in the page.
func (b *browser) navigate(url string) {
	b.t.Helper()
	b.call(b.session, "Page.navigate", map[string]any{"url": url}, nil)
}

// eval runs a JavaScript expression in the page and decodes its value.
func (b *browser) eval(expr string, out any) {
	b.t.Helper()
	var res struct {
		Result struct {
			Value json.RawMessage `json:"value"`
		} `json:"result"`
		ExceptionDetails *struct {
			Text      string `json:"text"`
			Exception struct {
				Description string `json:"description"`
			} `json:"exception"`
		} `json:"exceptionDetails"`
	}
	b.call(b.session, "Runtime.evaluate", map[string]any{"expression": expr, "returnByValue": true, "awaitPromise": true}, &res)
	if e := res.ExceptionDetails; e != nil {
		b.t.Fatalf("eval %s: %s %s", expr, e.Text, e.Exception.Description)
	}
	if out != nil && len(res.Result.Value) > 0 {
		if err := json.Unmarshal(res.Result.Value, out); err != nil {
			b.t.Fatalf("eval %s: decode %s: %v", expr, res.Result.Value, err)
		}
	}
}

// text is the textContent of the element with id ("" when absent).
func (b *browser) text(id string) string {
	b.t.Helper()
	var s string
	b.eval(fmt.Sprintf(`(document.getElementById(%q) || {}).textContent || ''`, id), &s)
	return s
}

// waitFor polls the JavaScript condition until it is true (a condition
// that throws, as before the page has loaded, is false), failing with
// what the page showed after within.
func (b *browser) waitFor(within time.Duration, what, cond string) {
	b.t.Helper()
	deadline := time.Now().Add(within)
	for {
		var ok bool
		b.eval("(() => { try { return !!("+cond+"); } catch (e) { return false; } })()", &ok)
		if ok {
			return
		}
		if time.Now().After(deadline) {
			var page string
			b.eval(`document.body ? document.body.innerText : ''`, &page)
			b.t.Fatalf("waited %v for %s (%s); the page shows:\n%s", within, what, cond, page)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// pageErrors are the uncaught exceptions the page threw so far.
func (b *browser) pageErrors() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.errors...)
}
