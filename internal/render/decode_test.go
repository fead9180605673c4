package render_test

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/tether-dev/tether/internal/render"
	"github.com/tether-dev/tether/internal/render/rendertest"
)

// billionLaughs builds the classic alias bomb: levels of 9 aliases each,
// expanding to 9^levels scalars from a few hundred bytes.
func billionLaughs(levels int) string {
	var b strings.Builder
	b.WriteString("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: boom}\n")
	b.WriteString("l0: &l0 [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n")
	for i := 1; i <= levels; i++ {
		fmt.Fprintf(&b, "l%d: &l%d [", i, i)
		for j := 0; j < 9; j++ {
			if j > 0 {
				b.WriteString(",")
			}
			fmt.Fprintf(&b, "*l%d", i-1)
		}
		b.WriteString("]\n")
	}
	return b.String()
}

func TestDecodeManifestsAliasBomb(t *testing.T) {
	wide := "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: wide}\ns: &s \"" + strings.Repeat("x", 64<<10) + "\"\nl: [" +
		strings.TrimSuffix(strings.Repeat("*s,", 10000), ",") + "]\n"
	tests := []struct {
		name string
		doc  string
	}{
		{"billion laughs", billionLaughs(9)},
		{"one large string repeated", wide},
		{"bomb in a later document", rendertest.CM("ok") + "---\n" + billionLaughs(12)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			start := time.Now()
			got, err := render.DecodeManifests("bomb.yaml", []byte(tc.doc))
			elapsed := time.Since(start)
			runtime.ReadMemStats(&after)
			if !errors.Is(err, render.ErrAliasBomb) {
				t.Fatalf("got %d objects, error %v; want render.ErrAliasBomb", len(got), err)
			}
			rendertest.WantError(t, err, "aliases expand too much", "bomb.yaml", 0)
			t.Logf("took %v, allocated %d KiB", elapsed, (after.TotalAlloc-before.TotalAlloc)>>10)
			if elapsed > 500*time.Millisecond {
				t.Errorf("took %v, want well under a second", elapsed)
			}
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 64<<20 {
				t.Errorf("allocated %d MiB, want under 64 MiB", alloc>>20)
			}
		})
	}
}

func TestDecodeManifestsAliases(t *testing.T) {
	// Ordinary reuse of anchors stays well within the allowance.
	var b strings.Builder
	b.WriteString("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\nres: &r {limits: {cpu: 1, memory: 1Gi}, requests: {cpu: 1, memory: 1Gi}}\nc:\n")
	for i := 0; i < 200; i++ {
		fmt.Fprintf(&b, "- {name: c%d, resources: *r}\n", i)
	}
	if _, err := render.DecodeManifests("ok.yaml", []byte(b.String())); err != nil {
		t.Errorf("200 aliases to a small anchor: got error %v, want none", err)
	}

	tests := []struct {
		name, doc, want string
		line            int
	}{
		{"alias to itself", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\nx: &x [1, *x]\n", "refers to itself", 4},
		{"unknown anchor", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\nx: *nope\n", "unknown anchor", 0},
		{"merge of a scalar", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\nx: {<<: 1}\n", "merge key", 4},
		{"infinity", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\nx: .inf\n", "not a JSON number", 4},
		{"duplicate within one file", rendertest.CM("a") + "---\n" + rendertest.CM("a"), "duplicate object ConfigMap/a (also defined at f.yaml:1)", 6},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := render.DecodeManifests("f.yaml", []byte(tc.doc))
			rendertest.WantError(t, err, tc.want, "f.yaml", tc.line)
			if got != nil {
				t.Errorf("got %d objects, want none", len(got))
			}
		})
	}
}

func TestDecodeManifestsEmpty(t *testing.T) {
	for _, doc := range []string{"", "---\n", "# just a comment\n", "---\n---\n...\n", "null\n"} {
		got, err := render.DecodeManifests("e.yaml", []byte(doc))
		if err != nil || len(got) != 0 {
			t.Errorf("render.DecodeManifests(%q): got %d objects, %v; want none, no error", doc, len(got), err)
		}
	}
}

func TestIsSOPSEncrypted(t *testing.T) {
	tests := []struct {
		name string
		data string
		want bool
	}{
		{"encrypted YAML", rendertest.SOPSSecret, true},
		{"encrypted second document", rendertest.CM("a") + "---\n" + rendertest.SOPSSecret, true},
		{"encrypted JSON", `{"apiVersion":"v1","kind":"Secret","data":{"a":"ENC[x]"},"sops":{"mac":"ENC[y]","lastmodified":"2024-05-01T10:00:00Z","note":"a\/b"}}`, true},
		{"plain manifest", rendertest.CM("a"), false},
		{"sops key without metadata", rendertest.CM("a") + "sops:\n  enabled: true\n  lastmodified: x\n", false},
		{"sops nested, not top level", rendertest.CM("a") + "data:\n  sops:\n    mac: x\n    lastmodified: y\n", false},
		{"invalid YAML", "sops: [mac, lastmodified", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := render.IsSOPSEncrypted([]byte(tc.data)); got != tc.want {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

// Syntax errors name the line a person has to fix, in any document of
// the stream (issue 8: an unclosed '{' on line 5 was reported on line 4,
// because libyaml prints parser errors with 0-based lines).
func TestDecodeManifestsSyntaxErrorLine(t *testing.T) {
	const head = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n" // lines 1-4
	tests := []struct {
		name, doc, want string
		line            int
	}{
		{"unclosed flow mapping on line 5", head + "data: {a: 1\n", "the '{' on this line is not closed; the file ends first", 5},
		{"unclosed flow mapping, more keys after it", head + "data: {a: 1\n\n\nfoo: bar\n", "the '{' on this line is not closed; the problem shows on line 8", 5},
		{"unclosed flow mapping on line 1", "data: {a: 1\nfoo: bar\n", "did not find expected ',' or '}'", 1},
		{"unclosed flow mapping at the end of the file", "a: b\nc: {\n\n", "did not find expected node content at the end of the file", 2},
		{"unclosed flow sequence", "# comment\n" + head + "data:\n  x: [1, 2\n  y: 3\n", "the '[' on this line is not closed", 7},
		{"unclosed flow mapping in the second document", head + "---\n" + head + "data: {a: 1\n", "did not find expected ',' or '}'", 10},
		{"unclosed flow mapping in the third document", "a: b\n---\n- x\n---\n" + head + "data: {\n  b: c\nz: y\n", "the '{' on this line is not closed", 9},
		{"key indented less than its siblings", head + " bad: indent\n", "did not find expected key", 5},
		{"key indented less, after a document marker", "---\n" + head + " bad: indent\n", "did not find expected key", 6},
		{"key indented more than its siblings", head + "   bad: indent\n", "mapping values are not allowed", 5},
		{"sequence item indented less", "a:\n  - b\n c: d\n", "did not find expected key", 3},
		{"bad indentation in the second document", head + "---\n" + head + " bad: indent\n", "did not find expected key", 10},
		{"unclosed quote on line 1", "a: \"open\nb: c\n", "the quoted string that starts on this line is not closed", 1},
		{"unclosed quote on line 3", head[:30] + "\nx: 'open\ny: z\n", "found unexpected end of stream", 3},
		{"tab indentation", "a:\n\tb: c\n", "cannot start any token", 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := render.DecodeManifests("f.yaml", []byte(tc.doc))
			rendertest.WantError(t, err, tc.want, "f.yaml", tc.line)
			if got != nil {
				t.Errorf("got %d objects, want none", len(got))
			}
		})
	}
}
