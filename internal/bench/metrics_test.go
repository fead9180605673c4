package bench

import (
	"bufio"
	"bytes"
	"context"
	"regexp"
	"strconv"

	"k8s.io/client-go/kubernetes"
)

var requestLine = regexp.MustCompile(`^apiserver_request_total\{(.*)\} ([0-9.e+]+)$`)
var verbLabel = regexp.MustCompile(`verb="([A-Z]+)"`)
var resourceLabel = regexp.MustCompile(`resource="([a-z.]*)"`)

// requestCounts reads apiserver_request_total from the API server's
// /metrics, summed by verb (and by verb for one resource under "VERB/res").
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
		if err != nil {
			continue
		}
		verb := verbLabel.FindStringSubmatch(m[1])
		if verb == nil {
			continue
		}
		out[verb[1]] += v
		if res := resourceLabel.FindStringSubmatch(m[1]); res != nil {
			out[verb[1]+"/"+res[1]] += v
		}
	}
	return out, sc.Err()
}

// delta subtracts two snapshots.
func delta(before, after map[string]float64) map[string]float64 {
	d := map[string]float64{}
	for k, v := range after {
		if x := v - before[k]; x != 0 {
			d[k] = x
		}
	}
	return d
}

// writes counts the mutating requests in a delta.
func writes(d map[string]float64) float64 {
	return d["POST"] + d["PUT"] + d["PATCH"] + d["DELETE"] + d["APPLY"] + d["CREATE"] + d["UPDATE"]
}
