package testenv

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

const metricsText = `# HELP apiserver_request_total [STABLE] Counter of apiserver requests.
# TYPE apiserver_request_total counter
apiserver_request_total{code="200",component="apiserver",group="",resource="configmaps",scope="namespace",subresource="",verb="GET",version="v1"} 3
apiserver_request_total{code="404",component="apiserver",group="",resource="configmaps",scope="namespace",subresource="",verb="GET",version="v1"} 2
apiserver_request_total{code="200",component="apiserver",group="",resource="configmaps",scope="namespace",subresource="",verb="APPLY",version="v1"} 1e+02
apiserver_request_total{code="200",component="apiserver",group="coordination.k8s.io",resource="leases",scope="namespace",subresource="",verb="PUT",version="v1"} 7
apiserver_request_total{code="200",component="apiserver",group="",resource="",scope="",subresource="/metrics",verb="GET",version=""} 4
apiserver_request_duration_seconds_count{verb="GET",resource="configmaps"} 99
`

func TestRequestCounts(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/metrics" {
			http.NotFound(w, r)
			return
		}
		fmt.Fprint(w, metricsText)
	}))
	defer srv.Close()
	cs, err := kubernetes.NewForConfig(&rest.Config{Host: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	got, err := RequestCounts(context.Background(), cs)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{"GET/configmaps": 5, "APPLY/configmaps": 100, "PUT/leases": 7, "GET/": 4}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("RequestCounts = %v, want %v", got, want)
	}
}

func TestRequestDelta(t *testing.T) {
	before := map[string]float64{"GET/configmaps": 5, "APPLY/configmaps": 100, "PUT/leases": 7, "GET/": 4}
	after := map[string]float64{"GET/configmaps": 7, "APPLY/configmaps": 100, "PUT/leases": 9, "GET/": 5,
		"LIST/secrets": 1, "DELETECOLLECTION/pods": 1, "PATCH/deployments": 2}
	d := RequestDelta(before, after)
	tests := []struct {
		name string
		got  any
		want any
	}{
		{"delta", FormatRequests(d), "DELETECOLLECTION/pods=1 GET/=1 GET/configmaps=2 LIST/secrets=1 PATCH/deployments=2"},
		{"by verb", FormatRequests(RequestsByVerb(d)), "DELETECOLLECTION=1 GET=3 LIST=1 PATCH=2"},
		{"writes", RequestWrites(d), 3.0},
		{"no writes", RequestWrites(map[string]float64{"GET/": 1, "LIST/pods": 2}), 0.0},
	}
	for _, tc := range tests {
		if tc.got != tc.want {
			t.Errorf("%s = %v, want %v", tc.name, tc.got, tc.want)
		}
	}
}
