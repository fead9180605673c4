// Package v1alpha1 is the Application API (group tether.dev, version
// v1alpha1): what a user declares to deploy, and the status in which every
// Tether process records what it did. Field names follow Argo CD where the
// concept is the same. Objects travel as unstructured and are converted
// with the apimachinery converter, so no generated deepcopy code is needed.
package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Group, Version and Kind of the Application.
const (
	Group    = "tether.dev"
	Version  = "v1alpha1"
	Kind     = "Application"
	Resource = "applications"
)

// GroupVersionResource of applications.
var GroupVersionResource = schema.GroupVersionResource{Group: Group, Version: Version, Resource: Resource}

// Application is one deployable unit: a path in a Git repository applied
// to a namespace.
type Application struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Spec              ApplicationSpec   `json:"spec"`
	Status            ApplicationStatus `json:"status,omitempty"`
}

// ApplicationSpec is what the user declares.
type ApplicationSpec struct {
	Source      Source      `json:"source"`
	Destination Destination `json:"destination,omitempty"`
	SyncPolicy  SyncPolicy  `json:"syncPolicy,omitempty"`
	// Suspend stops the agent from reconciling the application.
	Suspend bool `json:"suspend,omitempty"`
	// Pin, set by `tether rollback`, deploys a fixed earlier revision
	// instead of following targetRevision, until `tether rollback --resume`.
	Pin *Pin `json:"pin,omitempty"`
	// RefSources are further Git repositories a render reads files from,
	// each named by its Ref: the Helm value file "$values/envs/prod.yaml"
	// is envs/prod.yaml in the ref source named "values" (Argo CD's
	// multiple sources with ref). Their commits are part of the app's
	// revision, so a change in one triggers a sync like a new chart version.
	RefSources []RefSource `json:"refSources,omitempty"`
	// Ignore names fields that Tether leaves to other writers (an HPA's
	// spec.replicas, a webhook's injected fields): on an existing object
	// they are neither compared nor applied. See IgnoreRule.
	Ignore []IgnoreRule `json:"ignore,omitempty"`
}

// IgnoreRule is one entry of spec.ignore, like Argo CD's ignoreDifferences
// with RespectIgnoreDifferences=true and Flux's spec.ignore: the fields
// named by JSONPointers and FieldPaths, in the objects Target selects, are
// left out of the comparison and out of what is applied to an object that
// exists. A new object is created with them, as Git has them.
type IgnoreRule struct {
	// Target selects the objects; nil selects every object of the app.
	Target *IgnoreTarget `json:"target,omitempty"`
	// JSONPointers are RFC 6901 pointers ("/spec/replicas",
	// "/metadata/annotations/example.com~1hash"); a number indexes a list.
	JSONPointers []string `json:"jsonPointers,omitempty"`
	// FieldPaths are dotted paths that can select list items by a field:
	// "spec.template.spec.containers[name=app].image",
	// `metadata.annotations["example.com/hash"]`, "spec.ports[*].nodePort".
	FieldPaths []string `json:"fieldPaths,omitempty"`
}

// IgnoreTarget selects objects. Every field set must match; group, kind,
// name and namespace are globs (*, ?, [a-z]); group "core" is the core
// group, and an empty group matches any.
type IgnoreTarget struct {
	Group     string `json:"group,omitempty"`
	Kind      string `json:"kind,omitempty"`
	Name      string `json:"name,omitempty"`
	Namespace string `json:"namespace,omitempty"`
	// LabelSelector is a label selector in kubectl's syntax ("app=web,tier!=db").
	LabelSelector string `json:"labelSelector,omitempty"`
}

// Pin fixes the deployed revision (an emergency rollback).
type Pin struct {
	// Revision is a full commit SHA that the app synced before.
	Revision string `json:"revision"`
	// Reason says who pinned it and why, for status and the UI.
	Reason string `json:"reason,omitempty"`
}

// Source says where the desired state is and how to render it. It is one
// of three kinds: a Git repository (the default), a chart in a Helm
// repository (Chart is set; RepoURL is an https:// repository with an
// index.yaml or an oci:// registry path), or an OCI artifact holding
// manifests (RepoURL is oci:// and Chart is empty, as `flux push
// artifact` and `tether push artifact` write them).
type Source struct {
	// RepoURL is https://, http://, ssh://, git@host:path, file:// or a
	// local path for Git; a Helm repository URL when Chart is set;
	// oci://host/path for an OCI artifact or an OCI chart repository.
	RepoURL string `json:"repoURL"`
	// TargetRevision is, for Git, a branch, tag or full commit SHA ("" is
	// the remote's HEAD); for a chart, a version or a semver constraint
	// ("1.2.x", ">=4.0.0 <5"; "" is the newest stable version); for an OCI
	// artifact, a tag or a digest "sha256:…" ("" is "latest").
	TargetRevision string `json:"targetRevision,omitempty"`
	// Path is the directory in the repository or artifact; "" is the root.
	// Not used with Chart.
	Path string `json:"path,omitempty"`
	// Chart is the name of a chart in the Helm repository RepoURL.
	Chart string `json:"chart,omitempty"`
	// Insecure allows plain HTTP to a chart repository or registry.
	Insecure bool `json:"insecure,omitempty"`
	// SecretRef names a Secret in the Application's namespace with
	// credentials: username/password (HTTPS basic auth, also for chart
	// repositories and registries), sshPrivateKey and knownHosts (Git over
	// SSH), bearerToken (chart repositories and registries), ca.crt (a CA
	// bundle to trust), tls.crt and tls.key (a client certificate). They
	// are sent only to RepoURL's host.
	SecretRef *LocalObjectReference `json:"secretRef,omitempty"`
	// At most one of these forces a renderer; otherwise it is detected.
	Directory *DirectorySource `json:"directory,omitempty"`
	Kustomize *KustomizeSource `json:"kustomize,omitempty"`
	Helm      *HelmSource      `json:"helm,omitempty"`
	HCL       *HCLSource       `json:"hcl,omitempty"`
	Jsonnet   *JsonnetSource   `json:"jsonnet,omitempty"`
	// Decryption configures SOPS decryption of encrypted manifests.
	Decryption *Decryption `json:"decryption,omitempty"`
	// MaxBytes caps the bytes a render may read (default 10 MiB).
	MaxBytes int64 `json:"maxBytes,omitempty"`
	// RenderLimits bound each render in time, memory and output.
	RenderLimits *RenderLimits `json:"renderLimits,omitempty"`
}

// RenderLimits bound one render of the application; a render past one is
// stopped with an error naming the limit, and the other applications are
// not held up by it.
type RenderLimits struct {
	// Timeout stops a render that runs longer (default 2m).
	Timeout *metav1.Duration `json:"timeout,omitempty"`
	// MaxMemoryBytes caps the resident memory of the process that renders
	// Helm charts, kustomizations, HCL and Jsonnet (default 256 MiB, of which the
	// process itself takes about 70 MiB).
	MaxMemoryBytes int64 `json:"maxMemoryBytes,omitempty"`
	// MaxOutputBytes caps the rendered objects, measured as JSON (default
	// 32 MiB).
	MaxOutputBytes int64 `json:"maxOutputBytes,omitempty"`
}

// LocalObjectReference names an object in the same namespace.
type LocalObjectReference struct {
	Name string `json:"name"`
}

// DirectorySource renders plain manifests.
type DirectorySource struct {
	Recurse *bool `json:"recurse,omitempty"`
}

// KustomizeSource renders with Kustomize.
type KustomizeSource struct {
	AllowRemoteBases bool `json:"allowRemoteBases,omitempty"`
}

// HelmSource renders a Helm chart.
type HelmSource struct {
	ReleaseName string `json:"releaseName,omitempty"`
	// ValueFiles are paths relative to the repository root (for a chart
	// from a chart repository: relative to the chart), or, when they start
	// with "$ref/", relative to the root of the ref source named ref.
	ValueFiles []string `json:"valueFiles,omitempty"`
	// Values are inline values, applied after the value files.
	Values map[string]any `json:"values,omitempty"`
}

// HCLSource renders Terraform-style HCL.
type HCLSource struct{}

// JsonnetSource renders the *.jsonnet files of the path with Jsonnet, as
// Argo CD's directory.jsonnet does.
type JsonnetSource struct {
	// TLAs are top-level arguments passed to every file's function.
	TLAs []JsonnetVar `json:"tlas,omitempty"`
	// ExtVars are external variables (std.extVar).
	ExtVars []JsonnetVar `json:"extVars,omitempty"`
	// Libs are library directories searched by import, relative to the
	// repository root; they must stay inside it.
	Libs []string `json:"libs,omitempty"`
}

// JsonnetVar is one top-level argument or external variable: a string,
// or Jsonnet code when Code is true.
type JsonnetVar struct {
	Name  string `json:"name"`
	Value string `json:"value"`
	Code  bool   `json:"code,omitempty"`
}

// RefSource is a Git repository whose files a render reads by its Ref.
type RefSource struct {
	// Ref names the source in value file paths ("$values/…").
	Ref            string                `json:"ref"`
	RepoURL        string                `json:"repoURL"`
	TargetRevision string                `json:"targetRevision,omitempty"`
	SecretRef      *LocalObjectReference `json:"secretRef,omitempty"`
}

// Decryption configures SOPS.
type Decryption struct {
	Provider  string                `json:"provider,omitempty"` // "sops"
	SecretRef *LocalObjectReference `json:"secretRef,omitempty"`
}

// Destination is where namespaced objects that name no namespace go.
type Destination struct {
	Namespace string `json:"namespace,omitempty"`
}

// SyncPolicy says how syncs behave.
type SyncPolicy struct {
	// Prune deletes objects that left Git.
	Prune bool `json:"prune,omitempty"`
	// AllowEmpty lets a render of zero objects prune everything.
	AllowEmpty bool `json:"allowEmpty,omitempty"`
	// Automated applies new revisions without a manual sync.
	Automated bool `json:"automated,omitempty"`
	// SelfHeal reverts out-of-band changes to managed objects.
	SelfHeal bool `json:"selfHeal,omitempty"`
	// Interval between checks of the repository (default 1m).
	Interval *metav1.Duration `json:"interval,omitempty"`
	// Force deletes and recreates an object whose change the API server
	// refuses as immutable (a Deployment's selector, a Job's template),
	// as the annotation tether.dev/force: "true" does for one object.
	// Never for Namespaces, CustomResourceDefinitions or
	// PersistentVolumeClaims.
	Force bool `json:"force,omitempty"`
}

// ApplicationStatus is what Tether records.
type ApplicationStatus struct {
	ObservedGeneration    int64              `json:"observedGeneration,omitempty"`
	Conditions            []metav1.Condition `json:"conditions,omitempty"`
	LastAttemptedRevision string             `json:"lastAttemptedRevision,omitempty"`
	LastAppliedRevision   *RevisionInfo      `json:"lastAppliedRevision,omitempty"`
	Sync                  SyncStatus         `json:"sync,omitempty"`
	Health                HealthStatus       `json:"health,omitempty"`
	// Inventory lists every object Tether applied for this application.
	Inventory []InventoryEntry `json:"inventory,omitempty"`
	// History holds the last HistoryLimit syncs, newest first.
	History []HistoryEntry `json:"history,omitempty"`
}

// HistoryLimit bounds status.history.
const HistoryLimit = 20

// RevisionInfo describes a commit.
type RevisionInfo struct {
	Revision string       `json:"revision"`
	Subject  string       `json:"subject,omitempty"`
	Author   string       `json:"author,omitempty"`
	Time     *metav1.Time `json:"time,omitempty"`
}

// Sync states.
const (
	SyncSynced    = "Synced"
	SyncOutOfSync = "OutOfSync"
	SyncUnknown   = "Unknown"
)

// SyncStatus compares the live objects with the last rendered revision.
type SyncStatus struct {
	Status   string `json:"status,omitempty"`
	Revision string `json:"revision,omitempty"`
	// Message says why the app is OutOfSync (what differs, a suspended or
	// pinned app whose branch moved on); empty when Synced.
	Message string `json:"message,omitempty"`
}

// HealthStatus is the worst health of the managed objects.
type HealthStatus struct {
	Status  string `json:"status,omitempty"`
	Message string `json:"message,omitempty"`
}

// InventoryEntry is one managed object. Hashes let an unchanged re-sync
// skip every per-object request: Desired is a hash of what was applied,
// Fields a hash of the field set Tether owned right after applying it
// (another writer changing one of those fields changes the set).
type InventoryEntry struct {
	ID      string `json:"id"`
	Version string `json:"v"`
	Desired string `json:"desired,omitempty"`
	Fields  string `json:"fields,omitempty"`
}

// Sync results.
const (
	ResultSucceeded = "Succeeded"
	ResultFailed    = "Failed"
)

// HistoryEntry records one sync.
type HistoryEntry struct {
	ID         int64       `json:"id"`
	Revision   string      `json:"revision"`
	Subject    string      `json:"subject,omitempty"`
	StartedAt  metav1.Time `json:"startedAt"`
	FinishedAt metav1.Time `json:"finishedAt"`
	// Duration is how long the sync took (the timestamps above have
	// one-second resolution).
	Duration  *metav1.Duration `json:"duration,omitempty"`
	Result    string           `json:"result"`
	Message   string           `json:"message,omitempty"`
	Created   int              `json:"created"`
	Updated   int              `json:"updated"`
	Deleted   int              `json:"deleted"`
	Initiator string           `json:"initiator,omitempty"`
	// Attempts counts identical failures merged into this entry (0 or 1: one).
	Attempts int `json:"attempts,omitempty"`
}
