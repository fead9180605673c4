package reconcile

import (
	"context"
	"errors"
	"fmt"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/tether-dev/tether/internal/apis/v1alpha1"
	"github.com/tether-dev/tether/internal/render"
	"github.com/tether-dev/tether/internal/render/hcl"
	"github.com/tether-dev/tether/internal/render/helm"
	"github.com/tether-dev/tether/internal/render/jsonnet"
	"github.com/tether-dev/tether/internal/render/kustomize"
	"github.com/tether-dev/tether/internal/render/plain"
	"github.com/tether-dev/tether/internal/render/sandbox"
	"github.com/tether-dev/tether/internal/render/sops"
)

// renderApp renders the app's path in a checked-out revision with the
// renderer its spec forces, or the detected one.
func (r *Reconciler) renderApp(ctx context.Context, app *v1alpha1.Application, rev fetched) ([]*unstructured.Unstructured, []string, error) {
	src, dir := app.Spec.Source, rev.Dir
	var warnings []string
	dirR := plain.NewDirectory()
	if src.Directory != nil && src.Directory.Recurse != nil {
		dirR.Recurse = *src.Directory.Recurse
	}
	dec, err := r.decrypter(ctx, app)
	if err != nil {
		return nil, nil, err
	}
	dirR.Decrypt = dec
	set := render.Set{
		Directory: dirR,
		Kustomize: kustomize.Renderer{AllowRemoteBases: src.Kustomize != nil && src.Kustomize.AllowRemoteBases},
		HCL:       hcl.Renderer{Warn: func(msg string) { warnings = append(warnings, msg) }},
		Jsonnet:   jsonnetRenderer(dirR.Selection, src.Jsonnet),
	}
	chart := helm.Renderer{}
	if h := src.Helm; h != nil {
		chart.ValueFiles, chart.Values, chart.ReleaseName = h.ValueFiles, h.Values, h.ReleaseName
	}
	chart.RefDirs, chart.DependencyDir = rev.Refs, rev.ChartDeps
	set = r.Rendering.Sandbox.Wrap(set)
	set.Helm = helmForCluster{r: r, chart: chart}
	var force render.Kind
	switch {
	case src.Chart != "":
		force = render.KindHelm // a chart from a repository is nothing else
	case src.Jsonnet != nil:
		force = render.KindJsonnet
	case src.Directory != nil:
		force = render.KindDirectory
	case src.Kustomize != nil:
		force = render.KindKustomize
	case src.Helm != nil:
		force = render.KindHelm
	case src.HCL != nil:
		force = render.KindHCL
	}
	// A chart's Dir is the chart itself (checkSources refuses a path with it).
	req := render.Request{RepoDir: dir, Path: src.Path, AppName: app.Name, Namespace: DestinationNamespace(app), MaxBytes: src.MaxBytes, Limits: renderLimits(src.RenderLimits)}
	objs, err := set.Render(ctx, req, force)
	var capErr capabilitiesError
	switch {
	case err == nil:
		return objs, warnings, nil
	case ctx.Err() != nil, errors.As(err, &capErr), errors.Is(err, sandbox.ErrProcess):
		return nil, warnings, transient("render", err)
	}
	// Bad input, or a render past its limits: the same commit would fail
	// the same way, so it waits for a change.
	return nil, warnings, needsUser("render", err)
}

// jsonnetRenderer renders the *.jsonnet files of the files sel selects
// for the plain manifests, with spec.source.jsonnet's arguments.
func jsonnetRenderer(sel render.Selection, src *v1alpha1.JsonnetSource) jsonnet.Renderer {
	r := jsonnet.Renderer{Selection: sel}
	if src == nil {
		return r
	}
	vars := func(in []v1alpha1.JsonnetVar) []jsonnet.Var {
		out := make([]jsonnet.Var, 0, len(in))
		for _, v := range in {
			out = append(out, jsonnet.Var{Name: v.Name, Value: v.Value, Code: v.Code})
		}
		return out
	}
	r.TLAs, r.ExtVars, r.Libs = vars(src.TLAs), vars(src.ExtVars), src.Libs
	return r
}

// RenderOptions say how a Reconciler renders.
type RenderOptions struct {
	// Sandbox, when set, renders Helm charts, kustomizations, HCL and
	// Jsonnet in child processes that are killed at their limits or when the context
	// ends (see sandbox.Sandbox). Nil renders everything in process, where
	// only the output limit and the checks between steps bound a render.
	Sandbox *sandbox.Sandbox
	// KubeVersion and APIVersions are what charts see of a cluster when
	// there is none (Client is nil: tether render): the version (default
	// helm.DefaultKubeVersion) and API versions added to helm's defaults,
	// as helm template's --kube-version and --api-versions. With a Client,
	// charts see the destination cluster's own.
	KubeVersion string
	APIVersions []string
}

// renderLimits reads spec.source.renderLimits (zero fields: defaults).
func renderLimits(l *v1alpha1.RenderLimits) render.Limits {
	var out render.Limits
	if l == nil {
		return out
	}
	if l.Timeout != nil {
		out.Timeout = l.Timeout.Duration
	}
	out.MaxMemoryBytes, out.MaxOutputBytes = l.MaxMemoryBytes, l.MaxOutputBytes
	return out
}

// helmForCluster renders a chart for the cluster it goes to: the server's
// version and served API versions (from the client's cached discovery,
// read only when the app is a chart) become the chart's .Capabilities, as
// Argo CD and Flux do; without a cluster, the RenderOptions' ones.
type helmForCluster struct {
	r     *Reconciler
	chart helm.Renderer
}

// capabilitiesError is a failure to read the cluster's capabilities: a
// cluster problem (retried), not bad input.
type capabilitiesError struct{ error }

func (e capabilitiesError) Unwrap() error { return e.error }

func (h helmForCluster) Render(ctx context.Context, req render.Request) ([]*unstructured.Unstructured, error) {
	chart := h.chart
	if c := h.r.Client; c != nil {
		caps, err := c.Capabilities()
		if err != nil {
			return nil, capabilitiesError{fmt.Errorf("the cluster's capabilities for Helm: %w", err)}
		}
		chart.KubeVersion, chart.APIVersions, chart.ClusterAPIVersions = caps.KubeVersion, caps.APIVersions, true
	} else {
		chart.KubeVersion, chart.APIVersions = h.r.Rendering.KubeVersion, h.r.Rendering.APIVersions
	}
	set := h.r.Rendering.Sandbox.Wrap(render.Set{Helm: chart})
	return set.Helm.Render(ctx, req)
}

// decrypter is the SOPS hook for app: age identities from the Secret named
// by spec.source.decryption.secretRef (every key ending in ".agekey", as
// Flux reads them), else the agent's --sops-age-key-file.
func (r *Reconciler) decrypter(ctx context.Context, app *v1alpha1.Application) (func(string, []byte) ([]byte, error), error) {
	d := app.Spec.Source.Decryption
	if d == nil || d.SecretRef == nil {
		return r.Decrypt, nil
	}
	s, err := r.Client.Clientset.CoreV1().Secrets(app.Namespace).Get(ctx, d.SecretRef.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, needsUser("render", fmt.Errorf("decryption secret %s/%s: %w", app.Namespace, d.SecretRef.Name, err))
	}
	if err != nil {
		return nil, transient("render", fmt.Errorf("decryption secret %s/%s: %w", app.Namespace, d.SecretRef.Name, err))
	}
	var keys []byte
	for k, v := range s.Data {
		if strings.HasSuffix(k, ".agekey") {
			keys = append(append(keys, v...), '\n')
		}
	}
	if len(keys) == 0 {
		return nil, needsUser("render", fmt.Errorf("decryption secret %s/%s has no key ending in .agekey", app.Namespace, d.SecretRef.Name))
	}
	dec, err := sops.NewDecrypterFromKeys(keys)
	if err != nil {
		return nil, needsUser("render", fmt.Errorf("decryption secret %s/%s: %w", app.Namespace, d.SecretRef.Name, err))
	}
	return dec, nil
}

// DestinationNamespace is where namespaced objects without a namespace go:
// spec.destination.namespace, else "default" (as kubectl does).
func DestinationNamespace(app *v1alpha1.Application) string {
	if ns := app.Spec.Destination.Namespace; ns != "" {
		return ns
	}
	return "default"
}

// Render fetches and renders app at revision (its targetRevision when
// empty) without touching a cluster: tether render.
func (r *Reconciler) Render(ctx context.Context, app *v1alpha1.Application, revision string) ([]*unstructured.Unstructured, []string, error) {
	rev, err := r.fetch(ctx, app, targetOf(app, revision, false))
	if err != nil {
		return nil, nil, err
	}
	return r.renderApp(ctx, app, rev)
}
