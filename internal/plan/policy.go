package plan

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/tether-dev/tether/internal/object"
)

// Per-object rules, read from annotations that users migrating from Argo
// CD and Flux bring along, and from Tether's own.
const (
	// ForceAnnotation "true" lets Tether delete and recreate the object
	// when the API server refuses a change as immutable.
	ForceAnnotation = "tether.dev/force"
	// ArgoSyncOptions is a comma list: Prune=false, Delete=false,
	// Replace=true, Force=true, ServerSideApply=true are honoured.
	ArgoSyncOptions = "argocd.argoproj.io/sync-options"
	// ArgoCompareOptions IgnoreExtraneous keeps an object that left Git
	// from making the app OutOfSync.
	ArgoCompareOptions = "argocd.argoproj.io/compare-options"
	// FluxPrune "disabled" protects the object from pruning.
	FluxPrune = "kustomize.toolkit.fluxcd.io/prune"
	// FluxSSA is the apply policy: Override (the default), Merge,
	// IfNotPresent or Ignore.
	FluxSSA = "kustomize.toolkit.fluxcd.io/ssa"
	// FluxForce "enabled" is ForceAnnotation.
	FluxForce = "kustomize.toolkit.fluxcd.io/force"
)

// SSAPolicy is how an object is applied (Flux's kustomize.toolkit.fluxcd.io/ssa).
type SSAPolicy string

const (
	// SSAOverride applies every field Git declares (the default).
	SSAOverride SSAPolicy = ""
	// SSAMerge is accepted as the default: a server-side apply only
	// removes fields its own manager set before and no longer declares,
	// so fields other writers added are kept. (Flux needs the annotation
	// because it also strips kubectl's field managers by default;
	// Tether never does.)
	SSAMerge SSAPolicy = "Merge"
	// SSAIfNotPresent creates the object when it is missing and never
	// updates it.
	SSAIfNotPresent SSAPolicy = "IfNotPresent"
	// SSAIgnore never applies the object.
	SSAIgnore SSAPolicy = "Ignore"
)

// Policy is what an object's annotations ask of a sync. The string
// fields name the annotation that set them, for messages ("" = unset).
type Policy struct {
	// NoPrune: never pruned.
	NoPrune string `json:"noPrune,omitempty"`
	// NoDelete: never deleted, neither pruned nor deleted to be recreated.
	NoDelete string `json:"noDelete,omitempty"`
	// Replace: written with update/create (a PUT) instead of an apply.
	Replace bool `json:"replace,omitempty"`
	// Force: deleted and recreated when a change is refused as immutable.
	Force string `json:"force,omitempty"`
	// IgnoreExtraneous: once out of Git, does not make the app OutOfSync.
	IgnoreExtraneous bool      `json:"ignoreExtraneous,omitempty"`
	SSA              SSAPolicy `json:"ssa,omitempty"`
}

// PolicyOf reads u's policy annotations (Flux's also as labels, as Flux
// reads them). A value Tether cannot honour is an error naming it;
// sync options it does not know are left alone, as Argo CD options that
// do not apply to Tether (Validate=false, PruneLast=true …) are.
func PolicyOf(u *unstructured.Unstructured) (Policy, error) {
	var p Policy
	ann := u.GetAnnotations()
	meta := func(key string) string {
		if v, ok := ann[key]; ok {
			return v
		}
		return u.GetLabels()[key]
	}
	switch v := ann[ForceAnnotation]; v {
	case "", "false":
	case "true":
		p.Force = ForceAnnotation + `: "true"`
	default:
		return p, fmt.Errorf("%s: %q is neither \"true\" nor \"false\": %w", ForceAnnotation, v, ErrInvalidPolicy)
	}
	for _, opt := range strings.Split(ann[ArgoSyncOptions], ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(opt), "=")
		what := ArgoSyncOptions + ": " + k + "=" + v
		switch {
		case k == "Prune" && (v == "false" || v == "confirm"):
			// Tether has no confirmation step: confirm means not by itself.
			p.NoPrune = what
		case k == "Delete" && (v == "false" || v == "confirm"):
			p.NoDelete = what
		case k == "Replace" && v == "true":
			p.Replace = true
		case k == "Force" && v == "true":
			p.Force = what
		}
	}
	for _, opt := range strings.Split(ann[ArgoCompareOptions], ",") {
		if strings.TrimSpace(opt) == "IgnoreExtraneous" {
			p.IgnoreExtraneous = true
		}
	}
	if v := meta(FluxPrune); strings.EqualFold(v, "disabled") {
		p.NoPrune = FluxPrune + ": " + v
	}
	if v := meta(FluxForce); strings.EqualFold(v, "enabled") {
		p.Force = FluxForce + ": " + v
	}
	switch v := meta(FluxSSA); strings.ToLower(v) {
	case "", "override":
	case "merge":
		p.SSA = SSAMerge
	case "ifnotpresent":
		p.SSA = SSAIfNotPresent
	case "ignore":
		p.SSA = SSAIgnore
	default:
		return p, fmt.Errorf("%s: %q is not Override, Merge, IfNotPresent or Ignore: %w", FluxSSA, v, ErrInvalidPolicy)
	}
	return p, nil
}

// neverRecreated are the kinds Tether never deletes to recreate: their
// deletion takes data or whole apps along.
var neverRecreated = map[schema.GroupKind]string{
	{Kind: "Namespace"}:             "Namespaces",
	{Kind: "PersistentVolumeClaim"}: "PersistentVolumeClaims",
	{Group: "apiextensions.k8s.io", Kind: "CustomResourceDefinition"}: "CustomResourceDefinitions",
}

// RecreateRefusal says why the object of ch may not be deleted and
// recreated even with force ("" when it may).
func (ch *Change) RecreateRefusal() string {
	if kinds, ok := neverRecreated[ch.ID.GroupKind()]; ok {
		return fmt.Sprintf("%s are never deleted to be recreated (their deletion takes their contents along): change it by hand", kinds)
	}
	if ch.Policy.NoDelete != "" {
		return "it has " + ch.Policy.NoDelete
	}
	return ""
}

// MayRecreate reports whether ch's object is deleted and recreated when
// the API server refuses its change as immutable.
func (ch *Change) MayRecreate() bool { return ch.Force != "" && ch.RecreateRefusal() == "" }

// byPolicy decides the objects whose policy settles them without a
// request: ssa: Ignore (never applied, not compared, not assessed; still
// tracked, so not pruned while in Git), and ssa: IfNotPresent once it
// exists (never updated; not watched for drift).
func byPolicy(ch *Change) bool {
	switch {
	case ch.Policy.SSA == SSAIgnore:
		ch.Action, ch.Reason = Unchanged, "not applied ("+FluxSSA+": Ignore)"
		ch.Desired, ch.DesiredHash, ch.FieldsHash = nil, "", ""
		return true
	case ch.Policy.SSA == SSAIfNotPresent && ch.Live != nil:
		ch.Action, ch.Reason, ch.FieldsHash = Unchanged, "exists; never updated ("+FluxSSA+": IfNotPresent)", ""
		return true
	}
	return false
}

// ignoreExtraneous makes an object that left Git and carries Argo CD's
// compare-options: IgnoreExtraneous Unchanged, so it does not make the app
// OutOfSync, when the sync leaves it in place: pruning is off, or its
// annotations keep it from being pruned. It stays in the inventory.
func ignoreExtraneous(ch *Change) {
	if ch.Live == nil {
		return
	}
	pol, _ := PolicyOf(ch.Live)
	if !pol.IgnoreExtraneous {
		return
	}
	kept := pol.NoPrune
	if kept == "" {
		kept = pol.NoDelete
	}
	if ch.Live.GetAnnotations()[object.PruneAnnotation] == "false" {
		kept = object.PruneAnnotation + ": \"false\""
	}
	switch {
	case ch.Action == Extraneous:
		ch.Action, ch.Reason = Unchanged, "not in Git; ignored ("+ArgoCompareOptions+": IgnoreExtraneous)"
	case kept != "":
		ch.Action, ch.Reason = Unchanged, "not in Git; kept ("+kept+") and ignored ("+ArgoCompareOptions+": IgnoreExtraneous)"
	}
}
