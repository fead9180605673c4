package reconcile

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/tether-dev/tether/internal/object"
)

// The annotations that make an object a hook or put it in a wave. Helm's
// are read as Helm reads them; Argo CD's as Argo CD documents them. An
// object with both kinds of hook annotation is an Argo CD hook, as in
// Argo CD.
const (
	helmHookAnnotation   = "helm.sh/hook"
	helmWeightAnnotation = "helm.sh/hook-weight"
	helmDeleteAnnotation = "helm.sh/hook-delete-policy"
	argoHookAnnotation   = "argocd.argoproj.io/hook"
	argoDeleteAnnotation = "argocd.argoproj.io/hook-delete-policy"
	syncWaveAnnotation   = "argocd.argoproj.io/sync-wave"
)

// phase is when in a sync a hook runs.
type phase int

const (
	// preSync hooks run before anything is applied: Helm's pre-install
	// and pre-upgrade, Argo CD's PreSync.
	preSync phase = iota
	// syncPhase hooks (Argo CD's Sync) run with their wave of the main
	// objects.
	syncPhase
	// postSync hooks run once everything applied is healthy: Helm's
	// post-install and post-upgrade, Argo CD's PostSync.
	postSync
	// syncFail hooks (Argo CD's SyncFail) run when the sync failed.
	syncFail
)

func (p phase) String() string {
	return [...]string{"PreSync", "Sync", "PostSync", "SyncFail"}[p]
}

// hook is one hook object and the rules it runs by.
type hook struct {
	obj    *unstructured.Unstructured
	source string // file:line, for messages
	// helm hooks have Helm's lifetimes: one hook at a time, hook-succeeded
	// deleted once its phase succeeded. Argo CD hooks of one wave run
	// together, and their delete policies follow the whole sync.
	helm bool
	// wave orders the hooks of a phase: Argo CD's sync-wave (else Helm's
	// hook-weight, as Argo CD reads it), or Helm's hook-weight.
	wave int
	// The delete policies, in both dialects.
	beforeCreation, onSuccess, onFailure bool
}

// hookSet holds a render's hooks by phase, each phase in run order. Hooks
// are not in the inventory and never pruned.
type hookSet map[phase][]*hook

// name is the hook's name, or its generateName followed by "*".
func (h *hook) name() string {
	if n := h.obj.GetName(); n != "" {
		return n
	}
	return h.obj.GetGenerateName() + "*"
}

// display names the hook in messages: Kind[.group]/[namespace/]name.
func (h *hook) display() string {
	id := object.IDOf(h.obj)
	id.Name = h.name()
	return id.Display()
}

// separated is what a render holds once hooks and skipped objects are
// taken out.
type separated struct {
	main  []*unstructured.Unstructured
	hooks hookSet
	// skipped are the IDs of Argo CD Skip objects, as written (namespace
	// possibly empty): they are neither applied nor pruned.
	skipped []object.ID
	// waves reports whether any main object is in a wave other than 0.
	waves    bool
	warnings []string
}

// splitHooks takes the hooks (Helm's and Argo CD's) and the Argo CD Skip
// objects out of a render, and checks every hook and wave annotation
// first, so a typo fails the sync before anything is changed. Helm hooks
// for events a sync is not (delete, rollback, test) are dropped.
func splitHooks(objs []*unstructured.Unstructured) (separated, error) {
	s := separated{hooks: hookSet{}}
	var errs []string
	for _, u := range objs {
		ann := u.GetAnnotations()
		var err error
		switch _, argo := ann[argoHookAnnotation]; {
		case argo:
			err = s.addArgo(u)
		case ann[helmHookAnnotation] != "":
			s.addHelm(u)
		default:
			var w int
			if w, err = waveOf(u); w != 0 {
				s.waves = true
			}
			s.main = append(s.main, u)
		}
		if err != nil {
			errs = append(errs, fmt.Sprintf("%s (%s): %v", object.IDOf(u).Display(), sourceOf(u), err))
		}
	}
	if len(errs) > 0 {
		return separated{}, fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	for p := range s.hooks {
		sortHooks(s.hooks[p])
	}
	return s, nil
}

// addArgo adds an Argo CD hook to every phase its annotation names.
func (s *separated) addArgo(u *unstructured.Unstructured) error {
	ann := u.GetAnnotations()
	wave, err := waveOf(u)
	if err != nil {
		return err
	}
	if _, ok := ann[syncWaveAnnotation]; !ok {
		wave = s.weightOf(u)
	}
	h := hook{source: sourceOf(u), wave: wave}
	policies := splitList(ann[argoDeleteAnnotation])
	if len(policies) == 0 {
		policies = []string{"BeforeHookCreation"} // Argo CD's default
	}
	for _, p := range policies {
		switch p {
		case "BeforeHookCreation":
			h.beforeCreation = true
		case "HookSucceeded":
			h.onSuccess = true
		case "HookFailed":
			h.onFailure = true
		default:
			return fmt.Errorf("%s: unknown delete policy %q (want HookSucceeded, HookFailed or BeforeHookCreation)", argoDeleteAnnotation, p)
		}
	}
	values := splitList(ann[argoHookAnnotation])
	if len(values) == 0 {
		return fmt.Errorf("%s is empty (want PreSync, Sync, PostSync, SyncFail or Skip)", argoHookAnnotation)
	}
	var phases []phase
	for _, v := range values {
		switch v {
		case "Skip":
			s.skipped = append(s.skipped, object.IDOf(u))
			return nil
		case "PreSync":
			phases = append(phases, preSync)
		case "Sync":
			phases = append(phases, syncPhase)
		case "PostSync":
			phases = append(phases, postSync)
		case "SyncFail":
			phases = append(phases, syncFail)
		case "PostDelete":
			// Runs when the Application is deleted, never in a sync.
		default:
			return fmt.Errorf("%s: unknown hook %q (want PreSync, Sync, PostSync, SyncFail, Skip or PostDelete)", argoHookAnnotation, v)
		}
	}
	s.addPhases(h, u, phases)
	return nil
}

// addHelm adds a Helm hook to the phases of its install and upgrade
// events: a hook for both pre- and post- events runs in both, as in Helm.
// Values Helm would ignore are ignored, with a warning.
func (s *separated) addHelm(u *unstructured.Unstructured) {
	ann := u.GetAnnotations()
	h := hook{source: sourceOf(u), helm: true, wave: s.weightOf(u)}
	policies := splitList(ann[helmDeleteAnnotation])
	if len(policies) == 0 {
		policies = []string{"before-hook-creation"} // Helm's default
	}
	for _, p := range policies {
		switch p {
		case "before-hook-creation":
			h.beforeCreation = true
		case "hook-succeeded":
			h.onSuccess = true
		case "hook-failed":
			h.onFailure = true
		default:
			s.warnings = append(s.warnings, fmt.Sprintf("%s (%s): %s: unknown delete policy %q ignored, as Helm does", object.IDOf(u).Display(), h.source, helmDeleteAnnotation, p))
		}
	}
	var phases []phase
	for _, e := range splitList(ann[helmHookAnnotation]) {
		switch e {
		case "pre-install", "pre-upgrade":
			phases = append(phases, preSync)
		case "post-install", "post-upgrade":
			phases = append(phases, postSync)
		case "pre-delete", "post-delete", "pre-rollback", "post-rollback", "test", "test-success":
		default:
			s.warnings = append(s.warnings, fmt.Sprintf("%s (%s): %s: unknown event %q ignored, as Helm does", object.IDOf(u).Display(), h.source, helmHookAnnotation, e))
		}
	}
	s.addPhases(h, u, phases)
}

// addPhases adds one copy of h per distinct phase: each run is its own
// object.
func (s *separated) addPhases(h hook, u *unstructured.Unstructured, phases []phase) {
	slices.Sort(phases)
	for _, p := range slices.Compact(phases) {
		c := h
		c.obj = u.DeepCopy()
		s.hooks[p] = append(s.hooks[p], &c)
	}
}

// sortHooks puts a phase's hooks in run order: by wave (or Helm weight),
// then kind in Helm's install order, then name (issue 9). Helm 3 itself
// compares names before kinds (helm/helm#12414) while documenting this
// order; a ServiceAccount and the Job that uses it sort right either way
// only with this one.
func sortHooks(hs []*hook) {
	slices.SortStableFunc(hs, func(a, b *hook) int {
		if c := cmp.Compare(a.wave, b.wave); c != 0 {
			return c
		}
		if c := compareKinds(a.obj.GetKind(), b.obj.GetKind()); c != 0 {
			return c
		}
		return strings.Compare(a.name(), b.name())
	})
}

// steps groups a sorted phase into what runs together: each Helm hook
// alone (Helm creates one and waits for it before the next), the Argo CD
// hooks of one wave together.
func steps(hs []*hook) [][]*hook {
	var out [][]*hook
	for i, h := range hs {
		if i > 0 && !h.helm && !hs[i-1].helm && h.wave == hs[i-1].wave {
			out[len(out)-1] = append(out[len(out)-1], h)
			continue
		}
		out = append(out, []*hook{h})
	}
	return out
}

// installOrder is Helm's install order by kind (pkg/releaseutil).
var installOrder = []string{
	"PriorityClass", "Namespace", "NetworkPolicy", "ResourceQuota", "LimitRange",
	"PodSecurityPolicy", "PodDisruptionBudget", "ServiceAccount", "Secret",
	"SecretList", "ConfigMap", "StorageClass", "PersistentVolume",
	"PersistentVolumeClaim", "CustomResourceDefinition", "ClusterRole",
	"ClusterRoleList", "ClusterRoleBinding", "ClusterRoleBindingList", "Role",
	"RoleList", "RoleBinding", "RoleBindingList", "Service", "DaemonSet", "Pod",
	"ReplicationController", "ReplicaSet", "Deployment", "HorizontalPodAutoscaler",
	"StatefulSet", "Job", "CronJob", "IngressClass", "Ingress", "APIService",
}

// compareKinds orders kinds as Helm does: listed kinds in installOrder,
// then the others alphabetically.
func compareKinds(a, b string) int {
	ia, ib := slices.Index(installOrder, a), slices.Index(installOrder, b)
	switch {
	case ia >= 0 && ib >= 0:
		return cmp.Compare(ia, ib)
	case ia >= 0:
		return -1
	case ib >= 0:
		return 1
	}
	return strings.Compare(a, b)
}

// waveOf reads an object's argocd.argoproj.io/sync-wave (0 when unset).
func waveOf(u *unstructured.Unstructured) (int, error) {
	return intAnnotation(u, syncWaveAnnotation)
}

// weightOf reads a hook's helm.sh/hook-weight: 0 when unset, and 0 with a
// warning when it is not an integer, as Helm reads it.
func (s *separated) weightOf(u *unstructured.Unstructured) int {
	w, err := intAnnotation(u, helmWeightAnnotation)
	if err != nil {
		s.warnings = append(s.warnings, fmt.Sprintf("%s (%s): %v; weight 0 used, as Helm does", object.IDOf(u).Display(), sourceOf(u), err))
	}
	return w
}

func intAnnotation(u *unstructured.Unstructured, key string) (int, error) {
	v, ok := u.GetAnnotations()[key]
	if !ok {
		return 0, nil
	}
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil {
		return 0, fmt.Errorf("%s: %q is not an integer", key, v)
	}
	return n, nil
}

// sourceOf is the file an object came from, for messages.
func sourceOf(u *unstructured.Unstructured) string {
	if s := u.GetAnnotations()[object.SourceAnnotation]; s != "" {
		return s
	}
	return "rendered"
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
