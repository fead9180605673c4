package health

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/tether-dev/tether/internal/object"
)

// step is what the fake cluster returns for one GET: an object, or an error.
type step struct {
	obj *unstructured.Unstructured
	err error
}

// sequenceGetter serves, for each ID, its steps in order, repeating the last
// one forever; an ID without steps is not found. It counts GETs.
type sequenceGetter struct {
	mu    sync.Mutex
	steps map[object.ID][]step
	calls map[object.ID]int
}

func (g *sequenceGetter) get(_ context.Context, id object.ID) (*unstructured.Unstructured, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.calls == nil {
		g.calls = map[object.ID]int{}
	}
	n := g.calls[id]
	g.calls[id]++
	steps := g.steps[id]
	if len(steps) == 0 {
		return nil, apierrors.NewNotFound(schema.GroupResource{Resource: strings.ToLower(id.Kind) + "s"}, id.Name)
	}
	s := steps[min(n, len(steps)-1)]
	return s.obj, s.err
}

func fixtureStep(t *testing.T, file string) step { return step{obj: loadFixture(t, file)} }

var (
	deployID = object.ID{Group: "apps", Kind: "Deployment", Namespace: "web", Name: "nginx"}
	podID    = object.ID{Kind: "Pod", Namespace: "web", Name: "web-7c5ddbdf54-q8m2z"}
	jobID    = object.ID{Group: "batch", Kind: "Job", Namespace: "web", Name: "migrate"}
	cmID     = object.ID{Kind: "ConfigMap", Namespace: "web", Name: "nginx-config"}
)

func TestWaitSettles(t *testing.T) {
	notFound := step{err: apierrors.NewNotFound(schema.GroupResource{Resource: "configmaps"}, "nginx-config")}
	g := &sequenceGetter{steps: map[object.ID][]step{
		deployID: {fixtureStep(t, "deployment-no-status.yaml"), fixtureStep(t, "deployment-unavailable.yaml"), fixtureStep(t, "deployment-healthy.yaml")},
		podID:    {{err: errors.New("connection refused")}, fixtureStep(t, "pod-running-ready.yaml")},
		jobID:    {fixtureStep(t, "job-suspended.yaml")},
		cmID:     {notFound, fixtureStep(t, "configmap.yaml")},
	}}
	var seen []map[object.ID]Result
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	got, err := Wait(ctx, []object.ID{deployID, podID, jobID, cmID}, g.get, time.Millisecond,
		func(m map[object.ID]Result) { seen = append(seen, m) })
	if err != nil {
		t.Fatalf("Wait: %v", err)
	}
	want := map[object.ID]Result{
		deployID: {Status: Healthy, Message: "3/3 replicas available"},
		podID:    {Status: Healthy, Message: "running"},
		jobID:    {Status: Suspended, Message: "job is suspended"},
		cmID:     {Status: Healthy},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("results\n got: %v\nwant: %v", got, want)
	}
	if len(seen) != 3 {
		t.Fatalf("progress called %d times, want 3 (one per poll)", len(seen))
	}
	first := map[object.ID]Result{
		deployID: {Status: Progressing, Message: "waiting for the controller to observe generation 1"},
		podID:    {Status: Unknown, Message: "connection refused"},
		jobID:    {Status: Suspended, Message: "job is suspended"},
		cmID:     {Status: Missing, Message: "not found"},
	}
	if fmt.Sprint(seen[0]) != fmt.Sprint(first) {
		t.Errorf("first progress\n got: %v\nwant: %v", seen[0], first)
	}
	if got := seen[1][deployID]; got.Status != Progressing {
		t.Errorf("second poll of the deployment = %v, want Progressing", got)
	}
}

func TestWaitTimesOutNamingWorstFirst(t *testing.T) {
	g := &sequenceGetter{steps: map[object.ID][]step{
		deployID: {fixtureStep(t, "deployment-unavailable.yaml")},
		podID:    {fixtureStep(t, "pod-crashloop.yaml")},
		cmID:     {fixtureStep(t, "configmap.yaml")},
	}}
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	got, err := Wait(ctx, []object.ID{deployID, podID, cmID}, g.get, 5*time.Millisecond, nil)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want one wrapping context.DeadlineExceeded", err)
	}
	want := "timed out waiting for health: " +
		"Pod/web/web-7c5ddbdf54-q8m2z Degraded: container web: CrashLoopBackOff (last exit: OOMKilled, code 137); " +
		"Deployment.apps/web/nginx Progressing: 1/2 replicas available: context deadline exceeded"
	if err.Error() != want {
		t.Errorf("err\n got: %s\nwant: %s", err, want)
	}
	if got[podID].Status != Degraded || got[deployID].Status != Progressing || got[cmID].Status != Healthy {
		t.Errorf("last results = %v, want the pod Degraded, the deployment Progressing, the config map Healthy", got)
	}
	if n := g.calls[podID]; n < 2 {
		t.Errorf("pod polled %d times: Wait must keep polling a Degraded object, it can recover", n)
	}
}

func TestWaitCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	g := &sequenceGetter{} // everything is missing
	polls := 0
	_, err := Wait(ctx, []object.ID{cmID}, g.get, time.Millisecond, func(map[object.ID]Result) {
		if polls++; polls == 3 {
			cancel()
		}
	})
	want := "stopped waiting for health: ConfigMap/web/nginx-config Missing: not found: context canceled"
	if err == nil || err.Error() != want || !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want %q wrapping context.Canceled", err, want)
	}
}

// A GET cut short by the deadline must not replace what was last seen.
func TestWaitKeepsLastResultWhenGetIsCutShort(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	unavailable := loadFixture(t, "deployment-unavailable.yaml")
	calls := 0
	get := func(ctx context.Context, _ object.ID) (*unstructured.Unstructured, error) {
		if calls++; calls == 1 {
			return unavailable, nil
		}
		cancel()
		return nil, ctx.Err()
	}
	got, err := Wait(ctx, []object.ID{deployID}, get, time.Millisecond, nil)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if want := (Result{Status: Progressing, Message: "1/2 replicas available"}); got[deployID] != want {
		t.Errorf("last result = %v, want %v", got[deployID], want)
	}
}

func TestWaitErrorListsAtMostFive(t *testing.T) {
	var ids []object.ID
	for i := range 7 {
		ids = append(ids, object.ID{Kind: "ConfigMap", Namespace: "web", Name: fmt.Sprintf("cm-%d", i)})
	}
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	_, err := Wait(ctx, ids, (&sequenceGetter{}).get, time.Millisecond, nil)
	if err == nil {
		t.Fatal("Wait on missing objects returned no error")
	}
	if !strings.Contains(err.Error(), "ConfigMap/web/cm-4 Missing: not found; and 2 more: ") {
		t.Errorf("err = %v, want the first five named and 2 more counted", err)
	}
	if strings.Contains(err.Error(), "cm-5") {
		t.Errorf("err = %v, names a sixth object", err)
	}
}

func TestWaitNothing(t *testing.T) {
	got, err := Wait(t.Context(), nil, (&sequenceGetter{}).get, 0, nil)
	if err != nil || len(got) != 0 {
		t.Errorf("Wait(no ids) = %v, %v; want empty, nil", got, err)
	}
}
