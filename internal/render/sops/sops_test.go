package sops

import (
	"context"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
	"github.com/getsops/sops/v3"
	sopsaes "github.com/getsops/sops/v3/aes"
	sopsage "github.com/getsops/sops/v3/age"
	"github.com/getsops/sops/v3/keys"
	yaml "go.yaml.in/yaml/v3"

	"github.com/tether-dev/tether/internal/render"
	"github.com/tether-dev/tether/internal/render/plain"
	"github.com/tether-dev/tether/internal/render/rendertest"
)

// The fixtures are encrypted in the tests with the sops library's own
// crypto (Tree.Encrypt, its AES cipher, its age master keys, its MAC and
// Shamir split), as `sops --encrypt` does. The library's stores cannot be
// used: they import its publish package, whose GCS and Vault modules are
// not in go.mod. So the file layout comes from our own parser and emitter,
// and testdata holds files written by the real sops CLI to check it.

const secretYAML = `apiVersion: v1
kind: Secret
metadata:
    name: db
    namespace: prod
type: Opaque
stringData:
    password: hunter2-cleartext
    user: admin
data:
    token: c2VjcmV0LXRva2Vu
`

const secretJSON = `{"apiVersion": "v1", "kind": "Secret",
 "metadata": {"name": "api", "labels": {"tier": "backend"}},
 "stringData": {"apiKey": "json-cleartext-key", "port": "5432"}}`

// sopsEncrypt encrypts plain with meta's rules, one key group per entry of
// groups, and writes it as the sops stores do (metadata last in the first
// document; one group flat, several under key_groups). It returns the file
// and the data key.
func sopsEncrypt(t *testing.T, file, plain string, meta sops.Metadata, groups ...[]string) ([]byte, []byte) {
	t.Helper()
	format, err := sopsFormatOf(file)
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := format.parse([]byte(plain))
	if err != nil {
		t.Fatalf("parse %s: %v", file, err)
	}
	for _, recipients := range groups {
		var g sops.KeyGroup
		for _, r := range recipients {
			k, err := sopsage.MasterKeyFromRecipient(r)
			if err != nil {
				t.Fatal(err)
			}
			g = append(g, keys.MasterKey(k))
		}
		meta.KeyGroups = append(meta.KeyGroups, g)
	}
	if meta.UnencryptedSuffix == "" && meta.EncryptedSuffix == "" && meta.EncryptedRegex == "" && meta.UnencryptedRegex == "" {
		meta.UnencryptedSuffix = sops.DefaultUnencryptedSuffix
	}
	meta.Version = "3.13.3"
	tree := sops.Tree{Metadata: meta}
	for _, d := range parsed {
		tree.Branches = append(tree.Branches, toSOPS(d).(sops.TreeBranch))
	}
	dataKey := make([]byte, 32)
	rand.Read(dataKey)
	if errs := tree.Metadata.UpdateMasterKeys(dataKey); len(errs) > 0 {
		t.Fatalf("sops encrypt data key: %v", errs)
	}
	c := sopsaes.NewCipher()
	mac, err := tree.Encrypt(dataKey, c)
	if err != nil {
		t.Fatal(err)
	}
	tree.Metadata.LastModified = time.Now().UTC()
	if tree.Metadata.MessageAuthenticationCode, err = c.Encrypt(mac, dataKey, tree.Metadata.LastModified.Format(time.RFC3339)); err != nil {
		t.Fatal(err)
	}
	var out []sopsBranch
	for _, b := range tree.Branches {
		out = append(out, fromSOPS(b).(sopsBranch))
	}
	out[0] = append(out[0], sopsItem{"sops", metadataBranch(tree.Metadata)})
	text, err := format.emit(out)
	if err != nil {
		t.Fatal(err)
	}
	return text, dataKey
}

// metadataBranch is stores.SerializeMetadata for age keys.
func metadataBranch(m sops.Metadata) sopsBranch {
	ageKeys := func(g sops.KeyGroup) sopsBranch {
		var list []any
		for _, k := range g {
			a := k.(*sopsage.MasterKey)
			list = append(list, sopsBranch{{"recipient", a.Recipient}, {"enc", a.EncryptedKey}})
		}
		return sopsBranch{{"age", list}}
	}
	var b sopsBranch
	if len(m.KeyGroups) == 1 {
		b = ageKeys(m.KeyGroups[0])
	} else {
		var groups []any
		for _, g := range m.KeyGroups {
			groups = append(groups, ageKeys(g))
		}
		b = sopsBranch{{"shamir_threshold", m.ShamirThreshold}, {"key_groups", groups}}
	}
	b = append(b, sopsItem{"lastmodified", m.LastModified.Format(time.RFC3339)}, sopsItem{"mac", m.MessageAuthenticationCode})
	for _, r := range []sopsItem{{"unencrypted_suffix", m.UnencryptedSuffix}, {"encrypted_suffix", m.EncryptedSuffix}, {"unencrypted_regex", m.UnencryptedRegex}, {"encrypted_regex", m.EncryptedRegex}} {
		if r.value != "" {
			b = append(b, r)
		}
	}
	if m.MACOnlyEncrypted {
		b = append(b, sopsItem{"mac_only_encrypted", true})
	}
	return append(b, sopsItem{"version", m.Version})
}

func toSOPS(v any) any {
	switch v := v.(type) {
	case sopsBranch:
		out := sops.TreeBranch{}
		for _, it := range v {
			out = append(out, sops.TreeItem{Key: it.key, Value: toSOPS(it.value)})
		}
		return out
	case []any:
		out := []any{}
		for _, item := range v {
			out = append(out, toSOPS(item))
		}
		return out
	}
	return v
}

func fromSOPS(v any) any {
	switch v := v.(type) {
	case sops.TreeBranch:
		out := sopsBranch{}
		for _, it := range v {
			out = append(out, sopsItem{it.Key.(string), fromSOPS(it.Value)})
		}
		return out
	case []any:
		out := []any{}
		for _, item := range v {
			out = append(out, fromSOPS(item))
		}
		return out
	}
	return v
}

// sopsReference decrypts with the sops library's Tree.Decrypt and the known
// data key, and checks the library's MAC matches the file's.
func sopsReference(t *testing.T, file string, enc, dataKey []byte) []byte {
	t.Helper()
	format, _ := sopsFormatOf(file)
	parsed, err := format.parse(enc)
	if err != nil {
		t.Fatal(err)
	}
	meta, parsed, err := extractSOPSMetadata(parsed)
	if err != nil {
		t.Fatal(err)
	}
	tree := sops.Tree{Metadata: sops.Metadata{
		UnencryptedSuffix: meta.UnencryptedSuffix, EncryptedSuffix: meta.EncryptedSuffix,
		UnencryptedRegex: meta.UnencryptedRegex, EncryptedRegex: meta.EncryptedRegex,
		MACOnlyEncrypted: meta.MACOnlyEncrypted,
	}}
	for _, d := range parsed {
		tree.Branches = append(tree.Branches, toSOPS(d).(sops.TreeBranch))
	}
	c := sopsaes.NewCipher()
	mac, err := tree.Decrypt(dataKey, c)
	if err != nil {
		t.Fatal(err)
	}
	lm, _ := time.Parse(time.RFC3339, meta.LastModified)
	if fileMAC, err := c.Decrypt(meta.MAC, dataKey, lm.Format(time.RFC3339)); err != nil || fileMAC != mac {
		t.Fatalf("sops library: MAC %v (%v), computed %s", fileMAC, err, mac)
	}
	var out []sopsBranch
	for _, b := range tree.Branches {
		out = append(out, fromSOPS(b).(sopsBranch))
	}
	text, err := format.emit(out)
	if err != nil {
		t.Fatal(err)
	}
	return text
}

// docs parses YAML or JSON documents for comparison.
func docs(t *testing.T, data []byte) []any {
	t.Helper()
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	var out []any
	for {
		var v any
		if err := dec.Decode(&v); err != nil {
			if err.Error() == "EOF" {
				return out
			}
			t.Fatalf("parse %q: %v", data, err)
		}
		out = append(out, v)
	}
}

func newIdentity(t *testing.T) *age.X25519Identity {
	t.Helper()
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func newHook(t *testing.T, ids ...*age.X25519Identity) func(string, []byte) ([]byte, error) {
	t.Helper()
	text := "# created: 2025-01-01T00:00:00Z\n"
	for _, id := range ids {
		text += "# public key: " + id.Recipient().String() + "\n" + id.String() + "\n\n"
	}
	hook, err := NewDecrypterFromKeys([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	return hook
}

// TestSOPSMatchesLibrary decrypts files encrypted by the sops library under
// each rule set and checks the result equals both the original and what the
// library itself decrypts.
func TestSOPSMatchesLibrary(t *testing.T) {
	const mixed = `# a comment
name: app
replicas: 3
ratio: 0.25
big: 1e300
enabled: true
nothing: null
empty: ""
when: 2024-05-01T10:00:00Z
list:
    # a comment in a list
    - one
    - 2
    - {nested: [x, false]}
password_unencrypted: visible
`
	tests := []struct {
		name, file, plain string
		meta              sops.Metadata
	}{
		{"flux secret yaml", "s.yaml", secretYAML, sops.Metadata{EncryptedRegex: "^(data|stringData)$"}},
		{"flux secret json", "s.json", secretJSON, sops.Metadata{EncryptedRegex: "^(data|stringData)$"}},
		{"default rules", "m.yaml", mixed, sops.Metadata{}},
		{"default rules json", "m.json", `{"a": 1, "b": 2.5, "c": [true, null, {"d": "e"}], "f_unencrypted": "g", "h": 123456789012345678901234567890}`, sops.Metadata{}},
		{"unencrypted regex", "m.yml", mixed, sops.Metadata{UnencryptedRegex: "^(name|list)$"}},
		{"encrypted suffix", "m.yaml", "a_enc: x\nb: y\nc_enc: {d: 1}\n", sops.Metadata{EncryptedSuffix: "_enc"}},
		{"mac only encrypted", "m.yaml", mixed, sops.Metadata{EncryptedRegex: "^list$", MACOnlyEncrypted: true}},
		{"multi-document", "m.yaml", secretYAML + "---\n" + strings.ReplaceAll(secretYAML, "name: db", "name: db2"), sops.Metadata{EncryptedRegex: "^(data|stringData)$"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			id := newIdentity(t)
			enc, dataKey := sopsEncrypt(t, tc.file, tc.plain, tc.meta, []string{id.Recipient().String()})
			if !render.IsSOPSEncrypted(enc) {
				t.Fatalf("IsSOPSEncrypted(%s) = false", enc)
			}
			got, err := newHook(t, id)(tc.file, enc)
			if err != nil {
				t.Fatalf("decrypt: %v\nfile:\n%s", err, enc)
			}
			ref := sopsReference(t, tc.file, enc, dataKey)
			if g, w := docs(t, got), docs(t, ref); !reflect.DeepEqual(g, w) {
				t.Errorf("got %#v\nwant (sops library) %#v", g, w)
			}
			if g, w := docs(t, got), docs(t, []byte(tc.plain)); !reflect.DeepEqual(g, w) {
				t.Errorf("got %#v\nwant (original) %#v", g, w)
			}
		})
	}
}

// TestSOPSKeyGroups covers several recipients, several identities and
// Shamir-split key groups.
func TestSOPSKeyGroups(t *testing.T) {
	a, b, c := newIdentity(t), newIdentity(t), newIdentity(t)
	ra, rb, rc := a.Recipient().String(), b.Recipient().String(), c.Recipient().String()
	tests := []struct {
		name    string
		meta    sops.Metadata
		groups  [][]string
		ids     []*age.X25519Identity
		wantErr string
	}{
		{"second recipient", sops.Metadata{}, [][]string{{ra, rb}}, []*age.X25519Identity{b}, ""},
		{"second identity", sops.Metadata{}, [][]string{{rb}}, []*age.X25519Identity{a, b}, ""},
		{"shamir 2 of 2", sops.Metadata{ShamirThreshold: 2}, [][]string{{ra}, {rb}}, []*age.X25519Identity{a, b}, ""},
		{"shamir 2 of 3", sops.Metadata{ShamirThreshold: 2}, [][]string{{ra}, {rb}, {rc}}, []*age.X25519Identity{a, c}, ""},
		{"shamir 1 of 2 groups held", sops.Metadata{ShamirThreshold: 2}, [][]string{{ra}, {rb}}, []*age.X25519Identity{a}, "no age identity matches the file's recipients (" + ra + ", " + rb + ")"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			enc, _ := sopsEncrypt(t, "s.yaml", secretYAML, tc.meta, tc.groups...)
			got, err := newHook(t, tc.ids...)("s.yaml", enc)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("got error %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("got error %v", err)
			}
			if !strings.Contains(string(got), "hunter2-cleartext") {
				t.Errorf("got %s, want the cleartext password", got)
			}
		})
	}
}

// TestSOPSDirectory renders a repository holding encrypted YAML and JSON
// Secrets next to a plain manifest.
func TestSOPSDirectory(t *testing.T) {
	id := newIdentity(t)
	rules := sops.Metadata{EncryptedRegex: "^(data|stringData)$"}
	encYAML, _ := sopsEncrypt(t, "db.yaml", secretYAML, rules, []string{id.Recipient().String()})
	encJSON, _ := sopsEncrypt(t, "api.json", secretJSON, rules, []string{id.Recipient().String()})
	repo := rendertest.TempTree(t, map[string]string{
		"app.yaml":          rendertest.CM("app"),
		"secrets/db.yaml":   string(encYAML),
		"secrets/api.json":  string(encJSON),
		"secrets/README.md": "not a manifest",
	})
	keyFile := filepath.Join(t.TempDir(), "keys.txt")
	if err := os.WriteFile(keyFile, []byte("# public key: "+id.Recipient().String()+"\n"+id.String()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	hook, err := NewDecrypter(keyFile)
	if err != nil {
		t.Fatal(err)
	}

	d := plain.NewDirectory()
	d.Decrypt = hook
	got, err := d.Render(context.Background(), render.Request{RepoDir: repo})
	if err != nil {
		t.Fatalf("render: %v", err)
	}
	if g, w := rendertest.IDs(got), []string{"ConfigMap/app", "Secret/api", "Secret/prod/db"}; !reflect.DeepEqual(g, w) {
		t.Fatalf("got objects %q, want %q", g, w)
	}
	for _, tc := range []struct{ obj, field, want string }{
		{"Secret/api", "apiKey", "json-cleartext-key"},
		{"Secret/api", "port", "5432"},
		{"Secret/prod/db", "password", "hunter2-cleartext"},
		{"Secret/prod/db", "user", "admin"},
	} {
		for i, o := range got {
			if rendertest.IDs(got)[i] != tc.obj {
				continue
			}
			if v, _, _ := rendertest.NestedString(o.Object, "stringData", tc.field); v != tc.want {
				t.Errorf("%s stringData.%s = %q, want %q", tc.obj, tc.field, v, tc.want)
			}
			if _, ok := o.Object["sops"]; ok {
				t.Errorf("%s still has the sops metadata", tc.obj)
			}
		}
	}

	// Decrypted objects are marked, so diffs mask all their values; the
	// plain ConfigMap is not.
	for i, o := range got {
		_, marked := o.GetAnnotations()["tether.dev/decrypted"]
		if want := rendertest.IDs(got)[i] != "ConfigMap/app"; marked != want {
			t.Errorf("%s: decrypted mark = %v, want %v", rendertest.IDs(got)[i], marked, want)
		}
	}

	// Without a decrypter: ErrEncrypted and no objects.
	got, err = plain.NewDirectory().Render(context.Background(), render.Request{RepoDir: repo})
	if !errors.Is(err, plain.ErrEncrypted) || got != nil {
		t.Errorf("without decrypter: got %d objects, error %v; want none and ErrEncrypted", len(got), err)
	}
	rendertest.WantError(t, err, "secrets/api.json: SOPS-encrypted", "", 0)
}

// TestSOPSPassThrough: data that is not SOPS-encrypted comes back as is
// (Directory only calls the hook for encrypted files; other callers may
// call it for any file).
func TestSOPSPassThrough(t *testing.T) {
	hook := newHook(t, newIdentity(t))
	for _, tc := range []struct{ file, data string }{
		{"a.yaml", rendertest.CM("a") + "# sops\n"},
		{"a.json", `{"kind": "ConfigMap", "sops": "not metadata"}`},
		{"notes.txt", "anything"},
	} {
		got, err := hook(tc.file, []byte(tc.data))
		if err != nil || string(got) != tc.data {
			t.Errorf("%s: got %q, %v; want the input unchanged", tc.file, got, err)
		}
	}
}
