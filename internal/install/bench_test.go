package install

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/tether-dev/tether/internal/kube"
)

// BenchmarkInstall times `tether install` in process (a new client, so
// discovery is read as the CLI does): first into a new namespace, and
// again when nothing changed. BenchmarkKubectlApply is the reference:
// `kubectl apply --server-side` of the same export, as a process.
func BenchmarkInstall(b *testing.B) {
	for _, again := range []bool{false, true} {
		b.Run(map[bool]string{false: "first", true: "again"}[again], func(b *testing.B) {
			n := 0
			for b.Loop() {
				b.StopTimer()
				if !again || n == 0 {
					n++
				}
				o := Options{Namespace: fmt.Sprintf("bench-install-%v-%d", again, n), Image: "registry.example/tether:bench"}
				b.StartTimer()
				c, err := kube.New(env.Config())
				if err != nil {
					b.Fatal(err)
				}
				objs, err := Objects(o, "bench")
				if err != nil {
					b.Fatal(err)
				}
				if _, err := Apply(context.Background(), c, objs); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkKubectlApply(b *testing.B) {
	kubectl, err := exec.LookPath("kubectl")
	if err != nil {
		b.Fatal("kubectl, the reference, is not installed")
	}
	dir := b.TempDir()
	for _, again := range []bool{false, true} {
		b.Run(map[bool]string{false: "first", true: "again"}[again], func(b *testing.B) {
			n := 0
			for b.Loop() {
				b.StopTimer()
				if !again || n == 0 {
					n++
				}
				objs, err := Objects(Options{Namespace: fmt.Sprintf("bench-kubectl-%v-%d", again, n), Image: "registry.example/tether:bench"}, "bench")
				if err != nil {
					b.Fatal(err)
				}
				var buf bytes.Buffer
				if err := Export(&buf, objs); err != nil {
					b.Fatal(err)
				}
				file := filepath.Join(dir, "install.yaml")
				if err := os.WriteFile(file, buf.Bytes(), 0o644); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				out, err := exec.Command(kubectl, "--kubeconfig", env.CP.Kubeconfig, "apply", "--server-side", "--force-conflicts",
					"--field-manager", FieldManager, "-f", file).CombinedOutput()
				if err != nil {
					b.Fatalf("kubectl apply: %v\n%s", err, out)
				}
			}
		})
	}
}
