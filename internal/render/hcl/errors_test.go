package hcl

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tether-dev/tether/internal/render"
)

// TestHCLErrors: each bad input gives an error naming the file and line
// and the cause; none of them prints a secret value.
func TestHCLErrors(t *testing.T) {
	const secretValue = "hunter2-do-not-print"
	tests := []struct {
		name  string
		files map[string]string
		want  []string // substrings of the error
	}{
		{
			name: "reference to another resource",
			files: map[string]string{"main.tf": `
resource "kubernetes_namespace" "shop" {
  metadata { name = "shop" }
}
resource "kubernetes_config_map" "c" {
  metadata {
    name      = "c"
    namespace = kubernetes_namespace.shop.metadata[0].name
  }
}
`},
			want: []string{"app/main.tf:8: column 17:", "kubernetes_namespace.shop", "needs Terraform state"},
		},
		{
			name: "data source",
			files: map[string]string{"main.tf": `
data "kubernetes_secret" "s" {
  metadata { name = "s" }
}
`},
			want: []string{"app/main.tf:2:", "data source kubernetes_secret.s", "needs Terraform state"},
		},
		{
			name: "reference to a data source",
			files: map[string]string{"main.tf": `resource "kubernetes_config_map" "c" {
  metadata { name = data.aws_region.current.name }
}
`},
			want: []string{"app/main.tf:2:", "data.aws_region.current", "needs Terraform state"},
		},
		{
			name:  "module",
			files: map[string]string{"main.tf": "module \"db\" {\n  source = \"./db\"\n}\n"},
			want:  []string{"app/main.tf:1:", "module db", "no Terraform state"},
		},
		{
			name: "unknown argument",
			files: map[string]string{"main.tf": `resource "kubernetes_deployment" "d" {
  metadata { name = "d" }
  spec {
    template {
      spec {
        container {
          name   = "x"
          imagee = "nginx"
        }
      }
    }
  }
}
`},
			want: []string{"app/main.tf:8: column 11:", `unsupported argument "imagee"`, `did you mean "image"?`, "kubernetes_deployment.d.spec.template.spec.container[0]"},
		},
		{
			name: "unknown block",
			files: map[string]string{"main.tf": `resource "kubernetes_service" "s" {
  metadata { name = "s" }
  spec {
    portz { port = 80 }
  }
}
`},
			want: []string{"app/main.tf:4:", `unsupported block "portz"`, `did you mean "ports"?`},
		},
		{
			name: "wrong type",
			files: map[string]string{"main.tf": `resource "kubernetes_deployment" "d" {
  metadata { name = "d" }
  spec { replicas = "many" }
}
`},
			want: []string{"app/main.tf:3:", "spec.replicas: must be a whole number, not string"},
		},
		{
			name: "secret value never printed",
			files: map[string]string{"main.tf": `resource "kubernetes_secret" "s" {
  metadata { name = "s" }
  data = { password = { nested = "` + secretValue + `" } }
}
`},
			want: []string{"app/main.tf:3:", `"password": must be a string, not object`},
		},
		{
			name: "function error hides the value",
			files: map[string]string{"main.tf": `variable "pw" {
  default   = "` + secretValue + `"
  sensitive = true
}
resource "kubernetes_secret" "s" {
  metadata { name = "s" }
  data = { port = tonumber(var.pw) }
}
`},
			want: []string{"app/main.tf:7:", "Invalid function argument", "(value hidden)"},
		},
		{
			name: "variable without default",
			files: map[string]string{"main.tf": `variable "image" {}
resource "kubernetes_namespace" "n" {
  metadata { name = "n" }
}
`},
			want: []string{"app/main.tf:1:", `variable "image" has no default`},
		},
		{
			name:  "undeclared variable",
			files: map[string]string{"main.tf": "resource \"kubernetes_namespace\" \"n\" {\n  metadata { name = var.nope }\n}\n"},
			want:  []string{"app/main.tf:2:", `no variable "nope" is declared`},
		},
		{
			name:  "locals cycle",
			files: map[string]string{"main.tf": "locals {\n  a = local.b\n  b = local.a\n}\n"},
			want:  []string{"app/main.tf:2:", "cycle"},
		},
		{
			name:  "count not supported with for_each",
			files: map[string]string{"main.tf": "resource \"kubernetes_namespace\" \"n\" {\n  count = 1\n  for_each = toset([\"a\"])\n  metadata { name = \"n\" }\n}\n"},
			want:  []string{"app/main.tf:2:", "count or for_each, not both"},
		},
		{
			name:  "missing name",
			files: map[string]string{"main.tf": "resource \"kubernetes_namespace\" \"n\" {\n  metadata {\n    labels = { a = \"b\" }\n  }\n}\n"},
			want:  []string{"app/main.tf:1:", "kubernetes_namespace.n: metadata.name is required"},
		},
		{
			name:  "unsupported kubernetes type",
			files: map[string]string{"main.tf": "resource \"kubernetes_ingress\" \"i\" {\n  metadata { name = \"i\" }\n}\n"},
			want:  []string{"app/main.tf:1:", "use kubernetes_ingress_v1"},
		},
		{
			name:  "status is not settable",
			files: map[string]string{"main.tf": "resource \"kubernetes_namespace\" \"n\" {\n  metadata { name = \"n\" }\n  status { phase = \"Active\" }\n}\n"},
			want:  []string{"app/main.tf:3:", `unsupported block "status"`},
		},
		{
			name:  "block given for an argument",
			files: map[string]string{"main.tf": "resource \"kubernetes_namespace\" \"n\" {\n  metadata {\n    name { x = 1 }\n  }\n}\n"},
			want:  []string{"app/main.tf:3:", "metadata.name is an argument, not a block"},
		},
		{
			name: "two struct blocks",
			files: map[string]string{"main.tf": `resource "kubernetes_deployment" "d" {
  metadata { name = "d" }
  metadata { name = "e" }
}
`},
			want: []string{"app/main.tf:3:", "only one metadata block"},
		},
		{
			name:  "syntax error in second file",
			files: map[string]string{"a.tf": "locals {\n  x = 1\n}\n", "b.tf": "locals {\n  y = \n}\n"},
			want:  []string{"app/b.tf:2: column"},
		},
		{
			name:  "tfvars for an undeclared variable",
			files: map[string]string{"main.tf": "variable \"a\" {\n  default = 1\n}\n", "terraform.tfvars": "b = 2\n"},
			want:  []string{"app/terraform.tfvars:1:", `variable "b"`},
		},
		{
			name:  "no tf files",
			files: map[string]string{"README.md": "nothing here"},
			want:  []string{"app: no .tf files"},
		},
		{
			name:  "json syntax",
			files: map[string]string{"main.tf.json": "{}"},
			want:  []string{"app/main.tf.json:", "JSON syntax is not supported"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			objs, err := hclTestRender(t, Renderer{Warn: func(string) {}}, tc.files)
			if err == nil {
				t.Fatalf("Render returned %d objects and no error, want an error containing %q", len(objs), tc.want)
			}
			t.Logf("error: %v", err)
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if strings.Contains(err.Error(), secretValue) {
				t.Errorf("error %q prints the secret value", err)
			}
		})
	}
}

// TestHCLUnmanaged: another provider's resource is reported, never
// silently dropped: through Warn if set, else as an error.
func TestHCLUnmanaged(t *testing.T) {
	files := map[string]string{"main.tf": `resource "kubernetes_namespace" "n" {
  metadata { name = "n" }
}

resource "aws_s3_bucket" "logs" {
  bucket = "logs"
}
`}
	var warnings []string
	objs, err := hclTestRender(t, Renderer{Warn: func(msg string) { warnings = append(warnings, msg) }}, files)
	if err != nil {
		t.Fatalf("Render with Warn: %v", err)
	}
	if len(objs) != 1 || objs[0].GetName() != "n" {
		t.Errorf("got %d objects, want the namespace n", len(objs))
	}
	want := "app/main.tf:5: resource aws_s3_bucket.logs is not a Kubernetes object; Tether does not manage it"
	if len(warnings) != 1 || warnings[0] != want {
		t.Errorf("warnings = %q, want [%q]", warnings, want)
	}

	_, err = hclTestRender(t, Renderer{}, files)
	if err == nil || !strings.Contains(err.Error(), "app/main.tf:5: resource aws_s3_bucket.logs is not a Kubernetes object") {
		t.Errorf("Render without Warn: error %v, want one naming aws_s3_bucket.logs at app/main.tf:5", err)
	}
}

// TestHCLContained: a .tf file that is a symlink out of the repository is
// not read.
func TestHCLContained(t *testing.T) {
	outside := filepath.Join(t.TempDir(), "evil.tf")
	if err := os.WriteFile(outside, []byte("resource \"kubernetes_namespace\" \"n\" {\n  metadata { name = \"n\" }\n}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	repo := t.TempDir()
	if err := os.Mkdir(filepath.Join(repo, "app"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(repo, "app", "main.tf")); err != nil {
		t.Fatal(err)
	}
	objs, err := Renderer{}.Render(t.Context(), render.Request{RepoDir: repo, Path: "app"})
	if err == nil || !strings.Contains(err.Error(), "outside the repository") {
		t.Errorf("Render = %d objects, error %v; want an error about leaving the repository", len(objs), err)
	}
}

// FuzzHCL: no input may make the renderer panic.
func FuzzHCL(f *testing.F) {
	f.Add(hclArticle)
	f.Add(strings.TrimSuffix(hclArticle, "}\n"))
	f.Add("variable \"x\" {\n  default = 1\n}\nlocals {\n  a = var.x + 1\n}\n")
	f.Add("resource \"kubernetes_manifest\" \"m\" {\n  manifest = { apiVersion = \"v1\", kind = \"X\", metadata = { name = 1 } }\n}\n")
	f.Add("resource \"kubernetes_service\" \"s\" {\n  count = 2\n  metadata { name = \"s${count.index}\" }\n  spec {\n    port { target_port = 1.5 }\n  }\n}\n")
	f.Fuzz(func(t *testing.T, text string) {
		_, _ = Renderer{Warn: func(string) {}}.render(t.Context(), []hclSource{{name: "main.tf", data: []byte(text)}}, nil)
	})
}
