// Package hcl renders Kubernetes objects written in the syntax of the
// Terraform Kubernetes provider (*.tf files) without Terraform: see
// Renderer.
package hcl

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/tether-dev/tether/internal/render"
)

// Renderer renders Kubernetes objects written in the Terraform Kubernetes
// provider's syntax: the *.tf files directly in the request's directory
// (not its subdirectories, as Terraform reads a module), in name order.
//
// It understands resource blocks of the provider's typed resources
// (kubernetes_deployment, kubernetes_service_v1, ...; see types.go)
// and kubernetes_manifest; variable blocks with defaults, values from
// terraform.tfvars and *.auto.tfvars, locals, a set of Terraform
// functions, count, for_each and dynamic blocks. The fields inside a
// resource are mapped to the Kubernetes API by reflection over the
// k8s.io/api Go types, so every field of those types can be set.
//
// Anything that needs Terraform state (a reference to another resource's
// attribute, a data source, a module) is an error naming file and line.
// provider, terraform, output, moved, import, removed and check blocks
// are ignored.
//
// A resource of another provider (aws_s3_bucket.logs) is not a Kubernetes
// object and Tether does not manage it. It is never dropped silently: if
// Warn is set, it is told one message per such resource
// ("main.tf:12: resource aws_s3_bucket.logs is not a Kubernetes object;
// Tether does not manage it") and the render goes on; if Warn is nil, the
// render fails with those messages.
type Renderer struct {
	Warn func(msg string)
}

var _ render.Renderer = Renderer{}

// Unmanaged is a resource in the rendered files that is not a Kubernetes
// object, reported through Renderer.Warn.
type Unmanaged struct {
	File       string
	Line       int
	Type, Name string
}

func (u Unmanaged) String() string {
	return fmt.Sprintf("%s:%d: resource %s.%s is not a Kubernetes object; Tether does not manage it", u.File, u.Line, u.Type, u.Name)
}

// hclSource is one file's name (relative to the repository) and content.
type hclSource struct {
	name string
	data []byte
}

// Render implements render.Renderer.
func (h Renderer) Render(ctx context.Context, req render.Request) ([]*unstructured.Unstructured, error) {
	repo, err := render.OpenRepo(req.RepoDir, req.MaxBytes)
	if err != nil {
		return nil, err
	}
	defer repo.Close()
	tf, vars, err := hclReadDir(repo, req.Path)
	if err != nil {
		return nil, err
	}
	return h.render(ctx, tf, vars)
}

// hclReadDir reads the directory's .tf files and its terraform.tfvars and
// *.auto.tfvars files, each list sorted by name.
func hclReadDir(repo *render.Repo, dir string) (tf, vars []hclSource, err error) {
	dir, err = render.Clean(dir)
	if err != nil {
		return nil, nil, &render.Error{File: dir, Err: err}
	}
	entries, err := fs.ReadDir(repo.FS(), dir)
	if err != nil {
		return nil, nil, &render.Error{File: dir, Err: render.ContainErr(err)}
	}
	for _, ent := range entries {
		name := path.Join(dir, ent.Name())
		var list *[]hclSource
		switch base := ent.Name(); {
		case strings.HasSuffix(base, ".tf.json"), strings.HasSuffix(base, ".tfvars.json"):
			return nil, nil, &render.Error{File: name, Err: errors.New("Terraform's JSON syntax is not supported; write the file in HCL syntax")}
		case base == "override.tf" || strings.HasSuffix(base, "_override.tf"):
			return nil, nil, &render.Error{File: name, Err: errors.New("Terraform override files are not supported; merge the override into the file it overrides")}
		case strings.HasSuffix(base, ".tf"):
			list = &tf
		case base == "terraform.tfvars" || strings.HasSuffix(base, ".auto.tfvars"):
			list = &vars
		default:
			continue
		}
		if st, err := repo.Stat(name); err != nil {
			return nil, nil, err
		} else if st.IsDir() {
			continue
		}
		data, err := repo.ReadFile(name)
		if err != nil {
			return nil, nil, err
		}
		*list = append(*list, hclSource{name: name, data: data})
	}
	if len(tf) == 0 {
		return nil, nil, &render.Error{File: dir, Err: errors.New("no .tf files in this directory")}
	}
	// terraform.tfvars is read before the *.auto.tfvars files.
	sort.SliceStable(vars, func(i, j int) bool {
		return path.Base(vars[i].name) == "terraform.tfvars" && path.Base(vars[j].name) != "terraform.tfvars"
	})
	return tf, vars, nil
}

// hclModule is what the top level of a directory's files declares.
type hclModule struct {
	variables []*hclsyntax.Block
	locals    []*hclsyntax.Attribute
	resources []*hclsyntax.Block
}

// render parses the sources, evaluates variables and locals, and decodes
// each resource.
func (h Renderer) render(ctx context.Context, tf, vars []hclSource) ([]*unstructured.Unstructured, error) {
	parser := hclparse.NewParser()
	var mod hclModule
	var errs []error
	for _, src := range tf {
		f, diags := parser.ParseHCL(src.data, src.name)
		if diags.HasErrors() {
			errs = append(errs, hclDiagErr(diags))
			continue
		}
		errs = append(errs, mod.add(f.Body.(*hclsyntax.Body)))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	e := newHCLEval()
	if err := hclSetVariables(parser, e, mod.variables, vars); err != nil {
		return nil, err
	}
	if err := e.setLocals(mod.locals); err != nil {
		return nil, err
	}
	return h.resources(ctx, e, mod.resources)
}

// add sorts a file's top-level blocks.
func (m *hclModule) add(body *hclsyntax.Body) error {
	if attrs := hclSortedAttrs(body); len(attrs) > 0 {
		return hclErrAt(attrs[0].NameRange, "unexpected argument %q outside any block", attrs[0].Name)
	}
	for _, b := range body.Blocks {
		switch b.Type {
		case "resource":
			if len(b.Labels) != 2 {
				return hclErrAt(b.TypeRange, "a resource block needs two labels: type and name")
			}
			m.resources = append(m.resources, b)
		case "variable":
			if len(b.Labels) != 1 {
				return hclErrAt(b.TypeRange, "a variable block needs one label: its name")
			}
			m.variables = append(m.variables, b)
		case "locals":
			m.locals = append(m.locals, hclSortedAttrs(b.Body)...)
		case "data":
			return hclErrAt(b.TypeRange, "data source %s reads from outside this repository, which %s", strings.Join(b.Labels, "."), hclNeedsState)
		case "module":
			return hclErrAt(b.TypeRange, "module %s: modules are not supported; Tether renders the resources of one directory and has no Terraform state: move the module's resources into this directory", strings.Join(b.Labels, "."))
		case "provider", "terraform", "output", "moved", "import", "removed", "check":
			// Not objects: nothing to render.
		default:
			return hclErrAt(b.TypeRange, "unsupported top-level block %q", b.Type)
		}
	}
	return nil
}

// resources decodes every resource block; errors from different
// resources are joined so that one render reports them all.
func (h Renderer) resources(ctx context.Context, e *hclEval, blocks []*hclsyntax.Block) ([]*unstructured.Unstructured, error) {
	var objs []*unstructured.Unstructured
	var errs []error
	var unmanaged []Unmanaged
	seen := map[string]hcl.Range{}
	for _, b := range blocks {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		typ, name := b.Labels[0], b.Labels[1]
		addr := typ + "." + name
		if prev, dup := seen[addr]; dup {
			errs = append(errs, hclErrAt(b.LabelRanges[1], "resource %s is declared twice (first at %s:%d)", addr, prev.Filename, prev.Start.Line))
			continue
		}
		seen[addr] = b.TypeRange
		if !strings.HasPrefix(typ, "kubernetes_") {
			unmanaged = append(unmanaged, Unmanaged{File: b.TypeRange.Filename, Line: b.TypeRange.Start.Line, Type: typ, Name: name})
			continue
		}
		got, err := hclResource(e, b)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		objs = append(objs, got...)
	}
	for _, u := range unmanaged {
		if h.Warn != nil {
			h.Warn(u.String())
			continue
		}
		errs = append(errs, &render.Error{File: u.File, Line: u.Line, Err: fmt.Errorf(
			"resource %s.%s is not a Kubernetes object; Tether does not manage it (remove it from this directory)", u.Type, u.Name)})
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return objs, nil
}
