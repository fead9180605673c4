package testenv

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"k8s.io/client-go/kubernetes"
)

var (
	requestLine   = regexp.MustCompile(`^apiserver_request_total\{(.*)\} ([0-9.e+]+)$`)
	verbLabel     = regexp.MustCompile(`verb="([A-Z]+)"`)
	resourceLabel = regexp.MustCompile(`resource="([a-z.]*)"`)
)

// RequestCounts reads apiserver_request_total from the API server's
// /metrics, summed by "VERB/resource": "GET/configmaps", "APPLY/secrets",
// and "GET/" for requests about no resource (the scrape of /metrics
// itself is one). Counts only grow: subtract two with RequestDelta.
func RequestCounts(ctx context.Context, cs kubernetes.Interface) (map[string]float64, error) {
	body, err := cs.Discovery().RESTClient().Get().AbsPath("/metrics").DoRaw(ctx)
	if err != nil {
		return nil, fmt.Errorf("read API server /metrics: %w", err)
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

// RequestDelta subtracts two snapshots of RequestCounts, keeping what
// changed and leaving out the API server's own bookkeeping (its identity
// lease), which runs whatever the code under test does.
func RequestDelta(before, after map[string]float64) map[string]float64 {
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

// RequestsByVerb sums counts over resources: "GET" → every GET.
func RequestsByVerb(counts map[string]float64) map[string]float64 {
	out := map[string]float64{}
	for k, v := range counts {
		verb, _, _ := strings.Cut(k, "/")
		out[verb] += v
	}
	return out
}

var writeVerbs = []string{"POST", "PUT", "PATCH", "DELETE", "APPLY", "CREATE", "UPDATE", "DELETECOLLECTION"}

// RequestWrites counts the mutating requests among counts.
func RequestWrites(counts map[string]float64) float64 {
	var n float64
	byVerb := RequestsByVerb(counts)
	for _, w := range writeVerbs {
		n += byVerb[w]
	}
	return n
}

// FormatRequests prints counts as sorted "KEY=N" pairs, for logs.
func FormatRequests(counts map[string]float64) string {
	parts := make([]string, 0, len(counts))
	for k, v := range counts {
		parts = append(parts, fmt.Sprintf("%s=%g", k, v))
	}
	sort.Strings(parts)
	return strings.Join(parts, " ")
}
