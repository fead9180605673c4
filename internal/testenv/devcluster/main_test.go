package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestDownKillsWhatIgnoresSIGTERM is issue 8 item 6: after `down` every
// process of the cluster is gone, also one that does not exit on SIGTERM
// (here a stopped kube-apiserver), and down returns only then. It runs the
// built command as `make cluster-up` does, so the components outlive `up`.
func TestDownKillsWhatIgnoresSIGTERM(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "devcluster")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	dir := filepath.Join(t.TempDir(), "cluster")
	up := exec.Command(bin, "up", "-dir", dir)
	up.Stderr = os.Stderr
	out, err := up.Output()
	if err != nil {
		t.Fatalf("up: %v", err)
	}
	if !strings.HasPrefix(string(out), "export KUBECONFIG=") {
		t.Errorf("up printed %q, want the export KUBECONFIG= line", out)
	}
	var st state
	data, err := os.ReadFile(filepath.Join(dir, "state.json"))
	if err == nil {
		err = json.Unmarshal(data, &st)
	}
	if err != nil || len(st.PIDs) != 5 {
		t.Fatalf("state.json: %s, %v; want 5 PIDs", data, err)
	}
	t.Cleanup(func() {
		for _, pid := range st.PIDs {
			_ = syscall.Kill(-pid, syscall.SIGKILL)
		}
	})
	apiserver := st.PIDs[1] // etcd, kube-apiserver, controllers
	if err := syscall.Kill(apiserver, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if out, err := exec.Command(bin, "down", "-dir", dir).CombinedOutput(); err != nil {
		t.Fatalf("down: %v\n%s", err, out)
	}
	took := time.Since(start)
	for _, pid := range st.PIDs {
		if live := members(pid); len(live) > 0 {
			t.Errorf("process group %d still has %v after down", pid, live)
		}
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("%s still exists after down (%v)", dir, err)
	}
	// One 5 s grace for the stopped apiserver; the others exit at once.
	// An exited component whose new parent never reaps it stays a zombie:
	// it is gone, and down must not wait out a grace for it.
	if took > 10*time.Second {
		t.Errorf("down took %s, want the apiserver's 5 s grace and little more", took)
	}
	t.Logf("down took %s", took.Round(time.Millisecond))
}

func TestParseStat(t *testing.T) {
	for _, tc := range []struct {
		line  string
		state byte
		pgrp  int
		ok    bool
	}{
		{"42 (kube-apiserver) S 1 42 42 0 -1", 'S', 42, true},
		{"43 (a b) (c)) Z 1 40 40 0", 'Z', 40, true},
		{"44 (x) R", 0, 0, false},
		{"garbage", 0, 0, false},
	} {
		state, pgrp, ok := parseStat([]byte(tc.line))
		if state != tc.state || pgrp != tc.pgrp || ok != tc.ok {
			t.Errorf("parseStat(%q) = %q, %d, %v; want %q, %d, %v", tc.line, state, pgrp, ok, tc.state, tc.pgrp, tc.ok)
		}
	}
	if _, pgrp, ok := stat(os.Getpid()); !ok || pgrp != syscall.Getpgrp() {
		t.Errorf("stat(self): pgrp %d, %v; want %d", pgrp, ok, syscall.Getpgrp())
	}
}
