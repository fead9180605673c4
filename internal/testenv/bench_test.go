package testenv

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// BenchmarkStart measures start-to-ready of each profile and the resident
// memory of the running control plane (sum of its processes' VmRSS).
// Run with -benchtime 1x -count 5 and take medians.
func BenchmarkStart(b *testing.B) {
	for _, p := range []Profile{APIServer, Full} {
		b.Run(string(p), func(b *testing.B) {
			for range b.N {
				start := time.Now()
				cp, err := Start(context.Background(), Options{Profile: p, Log: os.Stderr})
				if err != nil {
					b.Fatal(err)
				}
				ready := time.Since(start)
				rss := 0
				for _, pid := range cp.PIDs() {
					rss += vmRSSKiB(b, pid)
				}
				cp.Stop()
				b.ReportMetric(ready.Seconds(), "ready-s")
				b.ReportMetric(float64(rss)/1024, "rss-MiB")
			}
		})
	}
}

func vmRSSKiB(b *testing.B, pid int) int {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			n, _ := strconv.Atoi(f[1])
			return n
		}
	}
	return 0
}
