package agent_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes"
)

var (
	requestLine   = regexp.MustCompile(`^apiserver_request_total\{(.*)\} ([0-9.e+]+)$`)
	verbLabel     = regexp.MustCompile(`verb="([A-Z]+)"`)
	resourceLabel = regexp.MustCompile(`resource="([a-z.]*)"`)
)

// requestCounts reads apiserver_request_total from the API server's
// /metrics, summed by "VERB/resource".
func requestCounts(ctx context.Context, cs kubernetes.Interface) (map[string]float64, error) {
	body, err := cs.Discovery().RESTClient().Get().AbsPath("/metrics").DoRaw(ctx)
	if err != nil {
		return nil, err
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		m := requestLine.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		v, err := strconv.ParseFloat(m[2], 64)
		verb := verbLabel.FindStringSubmatch(m[1])
		if err != nil || verb == nil {
			continue
		}
		res := ""
		if r := resourceLabel.FindStringSubmatch(m[1]); r != nil {
			res = r[1]
		}
		out[verb[1]+"/"+res] += v
	}
	return out, sc.Err()
}

// requestDelta subtracts two snapshots, leaving out the API server's own
// bookkeeping (its identity lease) that runs whatever the agent does.
func requestDelta(before, after map[string]float64) map[string]float64 {
	d := map[string]float64{}
	for k, v := range after {
		if strings.HasSuffix(k, "/leases") {
			continue
		}
		if x := v - before[k]; x != 0 {
			d[k] = x
		}
	}
	return d
}

var writeVerbs = []string{"POST", "PUT", "PATCH", "DELETE", "APPLY", "CREATE", "UPDATE", "DELETECOLLECTION"}

// agentRequests splits a delta into writes, and reads of single objects
// (GET of a named resource; the /metrics scrape has no resource).
func agentRequests(d map[string]float64) (writes, gets float64) {
	for k, v := range d {
		verb, res, _ := strings.Cut(k, "/")
		for _, w := range writeVerbs {
			if verb == w {
				writes += v
			}
		}
		if verb == "GET" && res != "" {
			gets += v
		}
	}
	return writes, gets
}

func describe(d map[string]float64) string {
	var parts []string
	for k, v := range d {
		parts = append(parts, fmt.Sprintf("%s=%g", k, v))
	}
	sort.Strings(parts)
	return strings.Join(parts, " ")
}

// idleWindow measures the API requests made while the test does nothing
// for d, after the agent has settled.
func idleWindow(t testing.TB, k *cluster, d time.Duration) map[string]float64 {
	t.Helper()
	ctx := context.Background()
	before, err := requestCounts(ctx, k.c.Clientset)
	if err != nil {
		t.Fatalf("read /metrics: %v", err)
	}
	time.Sleep(d) // the window itself: nothing to poll for
	after, err := requestCounts(ctx, k.c.Clientset)
	if err != nil {
		t.Fatalf("read /metrics: %v", err)
	}
	return requestDelta(before, after)
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
	time.Sleep(2 * time.Second) // let the drift watch start and the health recheck pass

	d := idleWindow(t, k, 4*time.Second)
	t.Logf("requests over 4 idle poll intervals: %s", describe(d))
	writes, gets := agentRequests(d)
	if writes != 0 {
		t.Errorf("writes in an idle window = %g, want 0 (%s)", writes, describe(d))
	}
	if gets != 0 {
		t.Errorf("per-object GETs in an idle window = %g, want 0 (%s)", gets, describe(d))
	}
	if got := k.applied("web"); got != first {
		t.Errorf("lastAppliedRevision = %s, want %s", got, first)
	}
}
