package sops

import (
	"context"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"filippo.io/age"
	"github.com/getsops/sops/v3"

	"github.com/tether-dev/tether/internal/render"
	"github.com/tether-dev/tether/internal/render/plain"
	"github.com/tether-dev/tether/internal/render/rendertest"
)

// encValue returns the encrypted value of key in a sops YAML file.
func encValue(t *testing.T, file, key string) string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^\s*` + key + `: (ENC\[[^\]]*\])`).FindStringSubmatch(file)
	if m == nil {
		t.Fatalf("no encrypted %s in\n%s", key, file)
	}
	return m[1]
}

// TestSOPSErrors checks each failure names its cause and never carries a
// decrypted value or the private key.
func TestSOPSErrors(t *testing.T) {
	id, other := newIdentity(t), newIdentity(t)
	rcpt := id.Recipient().String()
	enc, _ := sopsEncrypt(t, "db.yaml", secretYAML, sops.Metadata{EncryptedRegex: "^(data|stringData)$"}, []string{rcpt})
	s := string(enc)
	password, user := encValue(t, s, "password"), encValue(t, s, "user")
	i := strings.Index(password, "data:") + len("data:")
	flipped := password[:i] + map[bool]string{true: "B", false: "A"}[password[i] == 'A'] + password[i+1:]
	pgpOnly := regexp.MustCompile(`(?s)    age:\n.*-----END AGE ENCRYPTED FILE-----\n`).ReplaceAllString(s,
		"    pgp:\n        - created_at: \"2024-01-01T00:00:00Z\"\n          enc: x\n          fp: ABCDEF\n")
	tests := []struct {
		name, file, data string
		id               *age.X25519Identity
		want             string
	}{
		{"wrong key", "db.yaml", s, other, "SOPS: no age identity matches the file's recipients (" + rcpt + ")"},
		{"tampered ciphertext", "db.yaml", strings.Replace(s, password, flipped, 1), id, "stringData.password: value failed authentication: file was tampered with or corrupted"},
		{"values swapped", "db.yaml", strings.NewReplacer(password, user, user, password).Replace(s), id, "value failed authentication"},
		{"tampered cleartext field", "db.yaml", strings.Replace(s, "name: db", "name: other", 1), id, "SOPS: MAC mismatch: file was tampered with or corrupted"},
		{"value removed", "db.yaml", strings.Replace(s, "user: "+user, "", 1), id, "MAC mismatch"},
		{"tampered mac", "db.yaml", regexp.MustCompile(`mac: ENC\[AES256_GCM,data:.`).ReplaceAllString(s, "mac: ENC[AES256_GCM,data:A"), id, "MAC mismatch"},
		{"type changed after decryption", "db.yaml", strings.Replace(s, password, strings.Replace(password, "type:str", "type:int", 1), 1), id, "stringData.password: decrypted value is not a valid int"},
		{"not YAML or JSON", "db.env", s, id, `SOPS: unsupported file type ".env"`},
		{"pgp only", "db.yaml", pgpOnly, id, "SOPS: the file has no age recipients (it is encrypted for pgp); only age is supported"},
		{"comment regex", "db.yaml", strings.Replace(s, "encrypted_regex:", "encrypted_comment_regex:", 1), id, "encrypted_comment_regex and unencrypted_comment_regex are not supported"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := newHook(t, tc.id)(tc.file, []byte(tc.data))
			if err == nil {
				t.Fatalf("got no error and %s, want %q", got, tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got error %q, want it to contain %q", err, tc.want)
			}
			for _, secret := range []string{"hunter2", "admin", id.String(), other.String()} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error %q leaks %q", err, secret)
				}
			}
		})
	}

	// Through the Directory renderer the error names the file.
	repo := rendertest.TempTree(t, map[string]string{"secrets/db.yaml": s})
	d := plain.NewDirectory()
	d.Decrypt = newHook(t, other)
	got, err := d.Render(context.Background(), render.Request{RepoDir: repo})
	rendertest.WantError(t, err, "secrets/db.yaml: decrypt: SOPS: no age identity matches the file's recipients ("+rcpt+")", "secrets/db.yaml", 0)
	if got != nil {
		t.Errorf("got %d objects, want none", len(got))
	}
}

func TestParseAgeIdentities(t *testing.T) {
	id := newIdentity(t)
	pq, err := age.GenerateHybridIdentity()
	if err != nil {
		t.Fatal(err)
	}
	bad := "AGE-SECRET-KEY-1" + strings.Repeat("Q", 58)
	tests := []struct {
		name, text, want string
		n                int
	}{
		{"comments, blanks, CRLF", "# created: now\r\n\r\n  " + id.String() + "  \r\n# public key: x\n" + pq.String() + "\n", "", 2},
		{"malformed key", "# c\n" + id.String() + "\n" + bad + "\n", "age keys:3: malformed age identity", 0},
		{"not a key", "# c\nage1publickeyinstead\n", "age keys:2: not an age identity (want AGE-SECRET-KEY-1...)", 0},
		{"no keys", "# only comments\n\n", "age keys: no age identities", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ids, err := parseAgeIdentities("age keys", []byte(tc.text))
			if tc.want == "" {
				if err != nil || len(ids) != tc.n {
					t.Fatalf("got %d identities, %v; want %d", len(ids), err, tc.n)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got error %v, want %q", err, tc.want)
			}
			if strings.Contains(err.Error(), bad) || strings.Contains(err.Error(), "publickeyinstead") {
				t.Errorf("error %q quotes the key line", err)
			}
		})
	}

	missing := filepath.Join(t.TempDir(), "nope.txt")
	if _, err := NewDecrypter(missing); err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("missing key file: got error %v, want one naming %s", err, missing)
	}
}
