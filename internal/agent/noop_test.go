package agent_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tether-dev/tether/internal/testenv"
)

// agentRequests splits a delta into writes, and reads of single objects
// (GET of a named resource; the /metrics scrape has no resource).
func agentRequests(d map[string]float64) (writes, gets float64) {
	for k, v := range d {
		if strings.HasPrefix(k, "GET/") && k != "GET/" {
			gets += v
		}
	}
	return testenv.RequestWrites(d), gets
}

// idleWindow measures the API requests made while the test does nothing
// for d, after the agent has settled.
func idleWindow(t testing.TB, k *cluster, d time.Duration) map[string]float64 {
	t.Helper()
	ctx := context.Background()
	before, err := testenv.RequestCounts(ctx, k.c.Clientset)
	if err != nil {
		t.Fatalf("read /metrics: %v", err)
	}
	time.Sleep(d) // the window itself: nothing to poll for
	after, err := testenv.RequestCounts(ctx, k.c.Clientset)
	if err != nil {
		t.Fatalf("read /metrics: %v", err)
	}
	return testenv.RequestDelta(before, after)
}

// An app that is synced and idle costs no API request per poll: the poll
// is one git ls-remote, and nothing is written. Not parallel: the API
// server's request counters are shared by every test.
func TestNoopPollMakesNoAPIRequests(t *testing.T) {
	k := newCluster(t)
	repo := newRemote(t)
	for i := range 5 {
		repo.Write(fmt.Sprintf("deploy/cm-%d.yaml", i), configMapYAML(fmt.Sprintf("cm-%d", i), map[string]string{"i": strconv.Itoa(i)}))
	}
	repo.Write("deploy/svc.yaml", serviceYAML("web"))
	first := repo.push("six objects")
	k.startAgent(agentOpts{interval: time.Hour})
	k.createApp("web", repo.url, policy{automated: true, selfHeal: true, interval: time.Second})
	k.waitApplied("web", first, 20*time.Second)
	// Settle: the drift watch starting and the health recheck after the
	// first sync make requests; wait (up to 15 s) for a quiet second
	// before measuring, instead of guessing how long that takes.
	for deadline := time.Now().Add(15 * time.Second); ; {
		w, g := agentRequests(idleWindow(t, k, time.Second))
		if w == 0 && g == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the agent never went quiet: still %g writes and %g GETs a second after 15 s", w, g)
		}
	}

	d := idleWindow(t, k, 4*time.Second)
	t.Logf("requests over 4 idle poll intervals: %s", testenv.FormatRequests(d))
	writes, gets := agentRequests(d)
	if writes != 0 {
		t.Errorf("writes in an idle window = %g, want 0 (%s)", writes, testenv.FormatRequests(d))
	}
	if gets != 0 {
		t.Errorf("per-object GETs in an idle window = %g, want 0 (%s)", gets, testenv.FormatRequests(d))
	}
	if got := k.applied("web"); got != first {
		t.Errorf("lastAppliedRevision = %s, want %s", got, first)
	}
}
