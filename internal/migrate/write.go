package migrate

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/tether-dev/tether/internal/apis/v1alpha1"
)

// Write writes the Applications as one YAML stream: first, as comments,
// the objects that were not imported and why; then each Application,
// after comments naming its source and the fields not carried over.
func Write(w io.Writer, res Result) error {
	var b strings.Builder
	b.WriteString(fmt.Sprintf("# Made by `tether import`: %s.\n", summary(res)))
	if len(res.Skipped) > 0 {
		b.WriteString("# Not imported:\n")
		for _, s := range res.Skipped {
			b.WriteString(comment("- " + s.From + ": " + s.Reason))
		}
	}
	for _, a := range res.Apps {
		doc, err := appYAML(a)
		if err != nil {
			return err
		}
		b.WriteString("---\n")
		b.WriteString(doc)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteDir writes each Application to DIR/NAME.yaml and returns the
// files written.
func WriteDir(dir string, res Result) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var files []string
	for _, a := range res.Apps {
		doc, err := appYAML(a)
		if err != nil {
			return nil, err
		}
		p := filepath.Join(dir, a.App.Name+".yaml")
		if err := os.WriteFile(p, []byte(doc), 0o644); err != nil {
			return nil, err
		}
		files = append(files, p)
	}
	return files, nil
}

// Report writes, for people, what was imported from what, every note,
// and every object not imported.
func Report(w io.Writer, res Result) {
	for _, a := range res.Apps {
		fmt.Fprintf(w, "%s → Application %s/%s\n", a.From, a.App.Namespace, a.App.Name)
		for _, n := range a.Notes {
			what := "not carried over"
			if n.Differs {
				what = "carried with a difference"
			}
			fmt.Fprintf(w, "  %s: %s\n", what, n)
		}
	}
	for _, s := range res.Skipped {
		fmt.Fprintf(w, "%s: not imported: %s\n", s.From, s.Reason)
	}
	fmt.Fprintf(w, "%s\n", summary(res))
}

func summary(res Result) string {
	notes, differ := 0, 0
	for _, a := range res.Apps {
		for _, n := range a.Notes {
			if n.Differs {
				differ++
			} else {
				notes++
			}
		}
	}
	s := fmt.Sprintf("%s imported, %s not carried over", plural(len(res.Apps), "Application"), plural(notes, "field"))
	if differ > 0 {
		s += fmt.Sprintf(", %s carried with a difference", plural(differ, "field"))
	}
	s += fmt.Sprintf(", %s not imported", plural(len(res.Skipped), "object"))
	if res.Ignored > 0 {
		s += fmt.Sprintf(", %s of other kinds ignored", plural(res.Ignored, "object"))
	}
	return s
}

// appYAML is one Application's document, comments first.
func appYAML(a App) (string, error) {
	u, err := v1alpha1.ToUnstructured(a.App)
	if err != nil {
		return "", fmt.Errorf("application %s: %w", a.App.Name, err)
	}
	delete(u.Object, "status")
	meta, _ := u.Object["metadata"].(map[string]any)
	delete(meta, "creationTimestamp")
	pruneEmpty(u.Object)
	data, err := yaml.Marshal(u.Object)
	if err != nil {
		return "", fmt.Errorf("application %s: %w", a.App.Name, err)
	}
	var b strings.Builder
	b.WriteString(comment("Imported from " + a.From + "."))
	for _, differs := range []bool{false, true} {
		head := "# Not carried over:\n"
		if differs {
			head = "# Carried over with a difference:\n"
		}
		for _, n := range a.Notes {
			if n.Differs == differs {
				b.WriteString(head)
				b.WriteString(comment("- " + n.String()))
				head = ""
			}
		}
	}
	b.Write(data)
	return b.String(), nil
}

// comment makes a YAML comment of s, one line per line of s.
func comment(s string) string {
	var b strings.Builder
	for _, l := range strings.Split(s, "\n") {
		b.WriteString(strings.TrimRight("# "+l, " ") + "\n")
	}
	return b.String()
}

// pruneEmpty removes the empty objects the converter leaves for unset
// structs (destination: {}, syncPolicy: {}), except inside Helm values.
func pruneEmpty(m map[string]any) {
	for k, v := range m {
		if k == "values" {
			continue
		}
		sub, ok := v.(map[string]any)
		if !ok {
			continue
		}
		pruneEmpty(sub)
		if len(sub) == 0 && k != "kustomize" && k != "hcl" {
			delete(m, k)
		}
	}
}
