package health

import (
	"fmt"
	"sort"

	"github.com/tether-dev/tether/internal/object"
)

// Summarize is the health of an application from its objects' results: the
// worst status, and a message naming the worst object, or how many objects
// are healthy. It depends only on the results, never on their order, so
// the same objects always give the same summary (whoever computes it: the
// sync, or the agent's watch).
//
//	Progressing: Deployment.apps/web/nginx: 1/4 replicas available (and 1 more not healthy)
//	Healthy: 3 objects healthy
func Summarize(results map[object.ID]Result) Result {
	ids := make([]object.ID, 0, len(results))
	for id := range results {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i].String() < ids[j].String() })
	var worst Result
	var worstID object.ID
	unsettled := 0
	for i, id := range ids {
		r := results[id]
		if !r.Status.settled() {
			unsettled++
		}
		if i == 0 || r.Status > worst.Status {
			worst, worstID = r, id
		}
	}
	switch {
	case len(ids) == 0:
		return Result{Status: Healthy, Message: "no objects"}
	case worst.Status == Healthy:
		return healthy("%d %s healthy", len(ids), plural(len(ids), "object", "objects"))
	}
	msg := worstID.Display()
	if worst.Message != "" {
		msg += ": " + worst.Message
	}
	if unsettled > 1 {
		msg += fmt.Sprintf(" (and %d more not healthy)", unsettled-1)
	}
	return Result{Status: worst.Status, Message: msg}
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
