package apply_test

import (
	"context"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/yaml"

	"github.com/tether-dev/tether/internal/apis/v1alpha1"
	"github.com/tether-dev/tether/internal/apply"
	"github.com/tether-dev/tether/internal/inventory"
	"github.com/tether-dev/tether/internal/kube"
	"github.com/tether-dev/tether/internal/object"
	"github.com/tether-dev/tether/internal/plan"
	"github.com/tether-dev/tether/internal/testenv"
)

// env is the full control plane (kube-controller-manager included: a
// foreground deletion needs its garbage collector) every test here uses,
// each in namespaces of its own.
var env *testenv.Env

func TestMain(m *testing.M) { os.Exit(testenv.Run(m, testenv.Full, &env)) }

// syncer runs plan, apply and prune as reconcile.Run does, keeping the
// inventory between syncs, without Git.
type syncer struct {
	t    *testing.T
	c    *kube.Client
	ns   string
	opts plan.Options
	inv  []v1alpha1.InventoryEntry
}

func newSyncer(t *testing.T) *syncer {
	t.Helper()
	c, err := kube.New(env.Config())
	if err != nil {
		t.Fatal(err)
	}
	ns := env.Namespace(t)
	return &syncer{t: t, c: c, ns: ns, opts: plan.Options{
		Owner: object.Owner{Namespace: ns, Name: "app"}, Namespace: ns, Concurrency: 4,
	}}
}

// parse reads YAML documents as the renderers hand them over.
func parse(t *testing.T, docs string) []*unstructured.Unstructured {
	t.Helper()
	var out []*unstructured.Unstructured
	for _, doc := range strings.Split(docs, "\n---\n") {
		data, err := yaml.YAMLToJSON([]byte(doc))
		if err != nil {
			t.Fatal(err)
		}
		u := &unstructured.Unstructured{}
		if err := u.UnmarshalJSON(data); err != nil {
			t.Fatal(err)
		}
		out = append(out, u)
	}
	return out
}

// plan compares docs with the cluster as tether diff does (new objects
// dry-run too).
func (s *syncer) plan(docs string) (*plan.Plan, error) {
	s.t.Helper()
	inv, _ := inventory.Decode(s.inv)
	return plan.Make(context.Background(), s.c, parse(s.t, docs), inv, s.opts)
}

// sync applies docs as tether sync does and records the inventory.
func (s *syncer) sync(docs string) (*plan.Plan, []apply.Outcome, error) {
	s.t.Helper()
	ctx := context.Background()
	inv, _ := inventory.Decode(s.inv)
	opts := s.opts
	opts.SkipCreateDryRun = true
	p, err := plan.Make(ctx, s.c, parse(s.t, docs), inv, opts)
	if err != nil {
		return nil, nil, err
	}
	ar := apply.Apply(ctx, s.c, p, apply.DefaultOptions())
	if err := ar.Err(); err != nil {
		s.inv = inventory.Next(p, ar.Outcomes, nil)
		return p, ar.Outcomes, err
	}
	pruned := apply.Prune(ctx, s.c, p, s.opts.Owner, apply.DefaultOptions())
	s.inv = inventory.Next(p, ar.Outcomes, pruned)
	return p, append(ar.Outcomes, pruned...), (&apply.Result{Outcomes: pruned}).Err()
}

func (s *syncer) mustSync(docs string) (*plan.Plan, []apply.Outcome) {
	s.t.Helper()
	p, outs, err := s.sync(docs)
	if err != nil {
		s.t.Fatalf("sync: %v", err)
	}
	return p, outs
}

// fields is the inventory's recorded field-set hash of the object: what
// the agent's drift watch compares each event with.
func (s *syncer) fields(id object.ID) string {
	for _, e := range s.inv {
		if e.ID == id.String() {
			return e.Fields
		}
	}
	s.t.Fatalf("%s is not in the inventory %v", id, s.inv)
	return ""
}

func (s *syncer) get(gvr schema.GroupVersionResource, name string) *unstructured.Unstructured {
	s.t.Helper()
	u, err := s.c.Dynamic.Resource(gvr).Namespace(s.ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		s.t.Fatalf("get %s %s: %v", gvr.Resource, name, err)
	}
	return u
}

func (s *syncer) exists(gvr schema.GroupVersionResource, name string) bool {
	_, err := s.c.Dynamic.Resource(gvr).Namespace(s.ns).Get(context.Background(), name, metav1.GetOptions{})
	return err == nil
}

// change returns the plan's change of the object named name.
func change(t *testing.T, p *plan.Plan, kind, name string) plan.Change {
	t.Helper()
	for _, ch := range p.Changes {
		if ch.ID.Kind == kind && ch.ID.Name == name {
			return ch
		}
	}
	t.Fatalf("no change for %s/%s in %+v", kind, name, p.Changes)
	return plan.Change{}
}

// scale writes a Deployment's replicas through the scale subresource with
// another field manager, as the HPA controller and kubectl scale do.
func (s *syncer) scale(name string, n int32, manager string) {
	s.t.Helper()
	ctx := context.Background()
	d := env.Clientset().AppsV1().Deployments(s.ns)
	// The deployment controller writes the object too: retry a conflict.
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		sc, err := d.GetScale(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		sc.Spec.Replicas = n
		_, err = d.UpdateScale(ctx, name, sc, metav1.UpdateOptions{FieldManager: manager})
		return err
	})
	if err != nil {
		s.t.Fatal(err)
	}
}

func replicasOf(t *testing.T, u *unstructured.Unstructured) int64 {
	t.Helper()
	n, found, err := unstructured.NestedInt64(u.Object, "spec", "replicas")
	if !found || err != nil {
		t.Fatalf("%s has no spec.replicas (%v)", u.GetName(), err)
	}
	return n
}

// eventually polls cond until it holds or within passes.
func eventually(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited %v for %s", within, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

var (
	deployments = schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}
	configMaps  = schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}
	services    = schema.GroupVersionResource{Version: "v1", Resource: "services"}
	jobs        = schema.GroupVersionResource{Group: "batch", Version: "v1", Resource: "jobs"}
	pvcs        = schema.GroupVersionResource{Version: "v1", Resource: "persistentvolumeclaims"}
)

func deploymentID(s *syncer, name string) object.ID {
	return object.ID{Group: "apps", Kind: "Deployment", Namespace: s.ns, Name: name}
}

// deployment is a Deployment manifest; annotations are YAML lines under
// metadata.annotations ("" for none).
func deployment(name string, replicas int, image, annotations string) string {
	ann := ""
	if annotations != "" {
		ann = "\n  annotations:\n    " + strings.ReplaceAll(strings.TrimSpace(annotations), "\n", "\n    ")
	}
	return strings.NewReplacer("NAME", name, "REPLICAS", strconv.Itoa(replicas), "IMAGE", image, "ANN", ann).Replace(`apiVersion: apps/v1
kind: Deployment
metadata:
  name: NAMEANN
spec:
  replicas: REPLICAS
  selector:
    matchLabels: {app: NAME}
  template:
    metadata:
      labels: {app: NAME}
    spec:
      containers:
      - name: app
        image: IMAGE`)
}

func configMap(name, data, annotations string) string {
	ann := ""
	if annotations != "" {
		ann = "\n  annotations:\n    " + strings.ReplaceAll(strings.TrimSpace(annotations), "\n", "\n    ")
	}
	return "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: " + name + ann + "\ndata: " + data
}

// idOf names a core object of the test's namespace.
func idOf(s *syncer, kind, name string) object.ID {
	return object.ID{Kind: kind, Namespace: s.ns, Name: name}
}
