package health

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/tether-dev/tether/internal/object"
)

// Getter reads one live object. For an object that does not exist it returns
// an error satisfying apierrors.IsNotFound, which Wait reports as Missing.
type Getter func(ctx context.Context, id object.ID) (*unstructured.Unstructured, error)

// maxListed caps how many unsettled objects a timeout error names.
const maxListed = 5

// Wait polls every object each interval until all are settled (Healthy or
// Suspended) and returns their results. progress, if not nil, receives a
// fresh copy of the results after every poll.
//
// Wait does not give up on Degraded, Missing or Unknown objects: a pod in
// CrashLoopBackOff, an object not yet visible after apply and a failed GET
// can all recover, so only ctx ends the wait. It then returns the last
// results and an error that wraps ctx.Err() and names the unsettled objects,
// worst first:
//
//	timed out waiting for health: Deployment.apps/web/nginx Progressing: 1/2 replicas available
//
// An interval <= 0 means one second.
func Wait(ctx context.Context, ids []object.ID, get Getter, interval time.Duration, progress func(map[object.ID]Result)) (map[object.ID]Result, error) {
	return (*Assessor)(nil).Wait(ctx, ids, get, interval, progress)
}

// Wait is the package's Wait, assessing with the assessor's rules.
func (a *Assessor) Wait(ctx context.Context, ids []object.ID, get Getter, interval time.Duration, progress func(map[object.ID]Result)) (map[object.ID]Result, error) {
	if interval <= 0 {
		interval = time.Second
	}
	results := make(map[object.ID]Result, len(ids))
	timer := time.NewTimer(0) // first poll at once
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return results, waitError(ctx.Err(), results)
		case <-timer.C:
		}
		a.poll(ctx, ids, get, results)
		if progress != nil {
			progress(maps.Clone(results))
		}
		if ctx.Err() == nil && allSettled(results) {
			return results, nil
		}
		timer.Reset(interval)
	}
}

// poll assesses every object once, in place. A GET cut short because ctx
// ended keeps the object's previous result: the last real observation is
// more useful in a timeout error than "context deadline exceeded".
func (a *Assessor) poll(ctx context.Context, ids []object.ID, get Getter, results map[object.ID]Result) {
	for _, id := range ids {
		obj, err := get(ctx, id)
		switch {
		case err == nil:
			results[id] = a.Assess(obj)
		case apierrors.IsNotFound(err):
			results[id] = Result{Status: Missing, Message: "not found"}
		case ctx.Err() != nil:
			if _, seen := results[id]; !seen {
				results[id] = Result{Status: Unknown, Message: "not read before the wait ended"}
			}
		default:
			results[id] = Result{Status: Unknown, Message: err.Error()}
		}
	}
}

func allSettled(results map[object.ID]Result) bool {
	for _, r := range results {
		if !r.Status.settled() {
			return false
		}
	}
	return true
}

// waitError names the unsettled objects, worst first, then by ID.
func waitError(ctxErr error, results map[object.ID]Result) error {
	var pending []object.ID
	for id, r := range results {
		if !r.Status.settled() {
			pending = append(pending, id)
		}
	}
	slices.SortFunc(pending, func(a, b object.ID) int {
		if c := cmp.Compare(results[b].Status, results[a].Status); c != 0 {
			return c
		}
		return strings.Compare(a.Display(), b.Display())
	})
	parts := make([]string, 0, maxListed+1)
	for i, id := range pending {
		if i == maxListed {
			parts = append(parts, fmt.Sprintf("and %d more", len(pending)-maxListed))
			break
		}
		parts = append(parts, id.Display()+" "+results[id].String())
	}
	verb := "timed out"
	if !errors.Is(ctxErr, context.DeadlineExceeded) {
		verb = "stopped"
	}
	if len(parts) == 0 {
		return fmt.Errorf("%s waiting for health: %w", verb, ctxErr)
	}
	return fmt.Errorf("%s waiting for health: %s: %w", verb, strings.Join(parts, "; "), ctxErr)
}
