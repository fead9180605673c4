package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tether-dev/tether/internal/appctl"
)

// loopChartTemplate is the runaway template: 3,000,000 keys.
const loopChartTemplate = `apiVersion: v1
kind: ConfigMap
metadata:
  name: loop
data:
{{- range until 3000000 }}
  k{{ . }}: {{ printf "%0100d" . | quote }}
{{- end }}
`

// spinChartTemplate loops 10^10 times and allocates nothing: it runs
// until it is killed.
const spinChartTemplate = `{{- range until 100000 }}{{ range until 100000 }}{{ end }}{{ end }}
`

// writeKustomizeExpansion writes, under dir, a kustomization whose levels
// each include the one below twice (under two name prefixes): depth
// levels yield 2^depth ConfigMaps, each given the top level's annotation
// of annBytes, which is read once.
func writeKustomizeExpansion(a *app, dir string, depth, annBytes int) {
	a.repo.Write(dir+"/l0/kustomization.yaml", "resources: [cm.yaml]\n")
	a.repo.Write(dir+"/l0/cm.yaml", configMapYAML("cm", "v"))
	for i := 1; i <= depth; i++ {
		for _, side := range []string{"a", "b"} {
			a.repo.Write(fmt.Sprintf("%s/l%d%s/kustomization.yaml", dir, i, side), fmt.Sprintf("namePrefix: %s-\nresources: [../l%d]\n", side, i-1))
		}
		a.repo.Write(fmt.Sprintf("%s/l%d/kustomization.yaml", dir, i), fmt.Sprintf("resources: [../l%da, ../l%db]\n", i, i))
	}
	a.repo.Write(dir+"/kustomization.yaml", fmt.Sprintf("resources: [l%d]\ncommonAnnotations:\n  big: %s\n", depth, strings.Repeat("x", annBytes)))
}

// appYAML is an automated Application for a, polled every second, with
// extra YAML under spec.source (indented by 4).
func appYAML(a *app, source string) string {
	return fmt.Sprintf(`apiVersion: tether.dev/v1alpha1
kind: Application
metadata:
  name: %s
  namespace: %s
spec:
  source:
    repoURL: %s
    path: %s
%s  destination:
    namespace: %s
  syncPolicy:
    automated: true
    interval: 1s
`, a.name, a.appN, a.repo.Dir, a.path, source, a.ns)
}

// readyMessage is the app's Ready condition and its message ("" before
// the agent has recorded one, or installed the CRD).
func (a *app) readyMessage() string {
	got, err := appctl.Get(context.Background(), dyn(a.t), a.appN, a.name)
	if err != nil || got == nil {
		return fmt.Sprint(err)
	}
	if c := got.Status.Condition("Ready"); c != nil {
		return string(c.Status) + ": " + c.Message
	}
	return ""
}

// In one agent, an app whose chart loops (the issue's `range until
// 3000000`) is stopped at the memory limit, an app whose kustomization
// expands past its output limit is stopped there, and an app whose chart
// spins is stopped at its time limit, each with an error naming the app,
// what it rendered and the limit; meanwhile another app keeps syncing its
// commits, and the agent's own memory stays small (the renders ran in
// child processes). Before issue 9 the loop grew the agent to gigabytes
// for minutes.
func TestRunBoundsRenders(t *testing.T) {
	t.Parallel()
	good := newApp(t)
	good.name = "good"
	good.repo.Write("deploy/cm.yaml", configMapYAML("good", "v1"))
	good.repo.Commit("good v1")

	loop := newApp(t)
	loop.name, loop.appN, loop.path = "loop", good.appN, "chart"
	loop.repo.Write("chart/Chart.yaml", "apiVersion: v2\nname: loop\nversion: 0.1.0\n")
	loop.repo.Write("chart/templates/loop.yaml", loopChartTemplate)
	loop.repo.Commit("a runaway template")

	bomb := newApp(t)
	bomb.name, bomb.appN, bomb.path = "bomb", good.appN, "kust"
	writeKustomizeExpansion(bomb, "kust", 7, 16<<10) // 128 copies of 16 KiB from 20 KiB read
	bomb.repo.Commit("a kustomization that expands")

	spin := newApp(t)
	spin.name, spin.appN, spin.path = "spin", good.appN, "chart"
	spin.repo.Write("chart/Chart.yaml", "apiVersion: v2\nname: spin\nversion: 0.1.0\n")
	spin.repo.Write("chart/templates/spin.yaml", spinChartTemplate)
	spin.repo.Commit("a template that spins")
	const spinTimeout = 15 * time.Second

	file := filepath.Join(t.TempDir(), "apps.yaml")
	apps := strings.Join([]string{appYAML(good, ""), appYAML(loop, ""),
		appYAML(bomb, "    renderLimits: {maxOutputBytes: 1048576}\n"),
		appYAML(spin, fmt.Sprintf("    renderLimits: {timeout: %s}\n", spinTimeout))}, "---\n")
	if err := os.WriteFile(file, []byte(apps), 0o644); err != nil {
		t.Fatal(err)
	}
	p := startRun(t, "agent", "--namespace", good.appN, "-f", file)
	started := time.Now()

	eventually(t, 60*time.Second, "the loop stopped at the memory limit", func() (bool, string) {
		m := loop.readyMessage()
		return strings.Contains(m, `app "loop": rendering chart used more than 256 MiB of memory and was stopped (the limit is spec.source.renderLimits.maxMemoryBytes)`), m
	})
	eventually(t, 60*time.Second, "the expansion stopped at the output limit", func() (bool, string) {
		m := bomb.readyMessage()
		return strings.Contains(m, `app "bomb": rendering kust at ConfigMap `) && strings.Contains(m, "rendered more than 1 MiB of objects and was stopped (the limit is spec.source.renderLimits.maxOutputBytes)"), m
	})
	eventually(t, 60*time.Second, "the good app synced", func() (bool, string) {
		got := good.cmData("good", "key")
		return got == "v1", got
	})

	// While the spinning chart still renders, new commits: the loop and
	// the expansion are rendered (and stopped) again, and the good app's
	// commit lands.
	loopRev := loop.repo.Commit("still looping")
	bombRev := bomb.repo.Commit("still expanding")
	good.repo.Write("deploy/cm.yaml", configMapYAML("good", "v2"))
	rev := good.repo.Commit("good v2")
	start := time.Now()
	eventually(t, 30*time.Second, "the good app's next commit applied", func() (bool, string) {
		return good.cmData("good", "key") == "v2" && good.appliedRev() == rev, good.cmData("good", "key")
	})
	t.Logf("the good app's commit landed %v after it was made", time.Since(start).Round(10*time.Millisecond))
	if m := spin.readyMessage(); strings.Contains(m, "ran longer") {
		t.Fatalf("the spinning chart was stopped before the good commit landed; the test shows nothing: %s", m)
	}
	for _, x := range []struct {
		a         *app
		rev, want string
	}{{loop, loopRev, "256 MiB of memory"}, {bomb, bombRev, "1 MiB of objects"}} {
		eventually(t, 60*time.Second, x.a.name+" rendered again", func() (bool, string) {
			got, err := appctl.Get(context.Background(), dyn(t), x.a.appN, x.a.name)
			if err != nil {
				return false, err.Error()
			}
			return got.Status.LastAttemptedRevision == x.rev && strings.Contains(x.a.readyMessage(), x.want), x.a.readyMessage()
		})
	}
	eventually(t, spinTimeout+30*time.Second, "the spinning chart stopped at its time limit", func() (bool, string) {
		m := spin.readyMessage()
		return strings.Contains(m, `app "spin": rendering chart ran longer than 15s and was stopped (the limit is spec.source.renderLimits.timeout)`), m
	})
	t.Logf("the spinning chart was stopped %v after the agent started (limit %v)", time.Since(started).Round(100*time.Millisecond), spinTimeout)

	if hwm := peakRSS(t, p.cmd.Process.Pid); hwm > 400<<20 {
		t.Errorf("the agent's peak RSS is %d MiB; the renders should have run in child processes", hwm>>20)
	} else {
		t.Logf("the agent's peak RSS: %d MiB", hwm>>20)
	}
}

// peakRSS reads a process's VmHWM (its own peak resident memory, not its
// children's).
func peakRSS(t *testing.T, pid int) int64 {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatalf("no VmHWM in /proc/%d/status", pid)
	return 0
}

// renderChild returns the pid of pid's render child, or 0.
func renderChild(pid int) int {
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		child, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", child))
		if err != nil {
			continue
		}
		f := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
		if len(f) < 2 || f[1] != strconv.Itoa(pid) {
			continue
		}
		cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", child))
		if bytes.Contains(cmdline, []byte(renderChildCommand)) {
			return child
		}
	}
	return 0
}

// SIGTERM (and SIGINT) end tether render and tether diff while a chart
// loops, within a fraction of a second, and the render process dies with
// them (the real binary, built with go build).
func TestSIGTERMEndsRenderMidLoop(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	a.path = "chart"
	a.repo.Write("chart/Chart.yaml", "apiVersion: v2\nname: spin\nversion: 0.1.0\n")
	a.repo.Write("chart/templates/spin.yaml", spinChartTemplate)
	a.repo.Commit("a chart that spins")
	for _, tt := range []struct {
		cmd string
		sig syscall.Signal
	}{{"render", syscall.SIGTERM}, {"diff", syscall.SIGTERM}, {"render", syscall.SIGINT}} {
		t.Run(tt.cmd+" "+tt.sig.String(), func(t *testing.T) {
			args := append([]string{tt.cmd}, a.src()...)
			args = append(args, "--kubeconfig", env.CP.Kubeconfig, "--cache-dir", a.cache)
			cmd := exec.Command(tetherBinary(t), args...)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			var child int
			eventually(t, 30*time.Second, "the render process", func() (bool, string) {
				child = renderChild(cmd.Process.Pid)
				return child != 0, stderr.String()
			})
			time.Sleep(300 * time.Millisecond) // well into the loop
			if err := cmd.Process.Signal(tt.sig); err != nil {
				t.Fatal(err)
			}
			sent := time.Now()
			select {
			case err := <-done:
				took := time.Since(sent)
				t.Logf("tether %s exited %v after %s: %v; stderr: %s", tt.cmd, took.Round(time.Millisecond), tt.sig, err, strings.TrimSpace(stderr.String()))
				if took > 2*time.Second {
					t.Errorf("took %v to exit after %s, want under 2s", took, tt.sig)
				}
				if err == nil {
					t.Error("exit status 0 after an interrupted render, want non-zero")
				}
			case <-time.After(30 * time.Second):
				_ = cmd.Process.Kill()
				t.Fatalf("tether %s still running 30s after %s", tt.cmd, tt.sig)
			}
			if _, err := os.Stat(fmt.Sprintf("/proc/%d", child)); err == nil {
				if st, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", child)); len(st) > 0 {
					t.Errorf("the render process %d outlived tether: %s", child, st)
				}
			}
		})
	}
}
