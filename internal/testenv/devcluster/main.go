// Command devcluster runs the long-lived local control plane behind
// `make cluster-up` and `make cluster-down`, and builds the binaries of
// every testenv build group (registry, control plane) for `make testenv`.
// Its state (kubeconfig, logs, etcd data, PIDs) lives in the directory
// given by -dir.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/tether-dev/tether/internal/testenv"
)

type state struct {
	PIDs       []int  `json:"pids"`
	Kubeconfig string `json:"kubeconfig"`
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "devcluster:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("devcluster", flag.ContinueOnError)
	dir := fs.String("dir", ".cache/cluster", "state directory")
	nodes := fs.Int("nodes", 1, "fake nodes")
	if len(args) == 0 {
		return errors.New("usage: devcluster build|up|down [-dir DIR] [-nodes N]")
	}
	verb := args[0]
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	abs, err := filepath.Abs(*dir)
	if err != nil {
		return err
	}
	switch verb {
	case "build":
		dirs, err := testenv.BuildAll(ctx, os.Stderr)
		for _, d := range dirs {
			fmt.Println(d)
		}
		return err
	case "up":
		return up(ctx, abs, *nodes)
	case "down":
		return down(abs)
	}
	return fmt.Errorf("unknown verb %q", verb)
}

func up(ctx context.Context, dir string, nodes int) error {
	if err := down(dir); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	start := time.Now()
	cp, err := testenv.Start(ctx, testenv.Options{Profile: testenv.Full, Dir: dir, Nodes: nodes, Detach: true, Log: os.Stderr, Timeout: 2 * time.Minute})
	if err != nil {
		return err
	}
	data, _ := json.Marshal(state{PIDs: cp.PIDs(), Kubeconfig: cp.Kubeconfig})
	if err := os.WriteFile(filepath.Join(dir, "state.json"), data, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "cluster ready in %s (%s, %d fake node(s)); logs in %s\n", time.Since(start).Round(time.Millisecond), cp.Host, nodes, dir)
	fmt.Printf("export KUBECONFIG=%s\n", cp.Kubeconfig)
	return nil
}

// down stops the processes recorded in dir/state.json, if any, and
// removes the directory's contents. Each process group gets a grace period
// after SIGTERM, then SIGKILL; down fails (and keeps dir, with the state
// file) if any process survives that.
func down(dir string) error {
	data, err := os.ReadFile(filepath.Join(dir, "state.json"))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var st state
	if err := json.Unmarshal(data, &st); err != nil {
		return fmt.Errorf("%s: %w", dir, err)
	}
	// Controllers first, etcd last, as Stop does.
	var left []int
	for i := len(st.PIDs) - 1; i >= 0; i-- {
		left = append(left, stopGroup(st.PIDs[i], dir, 5*time.Second)...)
	}
	if len(left) > 0 {
		return fmt.Errorf("processes %v still run after SIGKILL; %s kept", left, dir)
	}
	fmt.Fprintf(os.Stderr, "cluster in %s stopped\n", dir)
	return os.RemoveAll(dir)
}

// stopGroup sends SIGTERM to the process group pgid, waits up to grace for
// all of it to exit, then sends SIGKILL and waits again. It returns the
// PIDs still running. A group whose leader is not a component of the
// cluster in dir (its PID reused since) is left alone.
func stopGroup(pgid int, dir string, grace time.Duration) []int {
	if len(members(pgid)) == 0 || !startedIn(pgid, dir) {
		return nil
	}
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	if waitGone(pgid, grace) {
		return nil
	}
	fmt.Fprintf(os.Stderr, "process group %d ignored SIGTERM for %s: SIGKILL\n", pgid, grace)
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
	waitGone(pgid, 5*time.Second)
	return members(pgid)
}

func waitGone(pgid int, d time.Duration) bool {
	for deadline := time.Now().Add(d); ; time.Sleep(50 * time.Millisecond) {
		if len(members(pgid)) == 0 {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
	}
}
