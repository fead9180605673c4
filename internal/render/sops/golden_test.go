package sops

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// TestSOPSGolden decrypts files written by the sops 3.13.3 CLI and compares
// the result with `sops decrypt` and with the original. They were made with
//
//	sops encrypt --age $R1 --encrypted-regex '^(data|stringData)$' secret.yaml > secret.enc.yaml
//	sops encrypt --age $R1 --encrypted-regex '^(data|stringData)$' secret.json > secret.enc.json
//	sops encrypt --age $R1,$R2 mixed.yaml > mixed.enc.yaml
//	sops encrypt shamir.yaml > shamir.enc.yaml  # .sops.yaml: key groups [R1] [R2], shamir_threshold 2
//
// with R1 and R2 the recipients of testdata/keys.txt, and each
// X.dec.* is `sops decrypt X.enc.*`.
func TestSOPSGolden(t *testing.T) {
	dir := "testdata"
	read := func(name string) []byte {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	hook, err := NewDecrypter(filepath.Join(dir, "keys.txt"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		enc, dec, plain string
		exact           bool // byte for byte as sops decrypt (which keeps comments)
	}{
		{"secret.enc.yaml", "secret.dec.yaml", "secret.yaml", true},
		{"secret.enc.json", "secret.dec.json", "secret.json", true},
		{"mixed.enc.yaml", "mixed.dec.yaml", "mixed.yaml", false},
		{"shamir.enc.yaml", "shamir.dec.yaml", "secret.yaml", true},
	}
	for _, tc := range tests {
		t.Run(tc.enc, func(t *testing.T) {
			got, err := hook(tc.enc, read(tc.enc))
			if err != nil {
				t.Fatalf("decrypt: %v", err)
			}
			want := read(tc.dec)
			if tc.exact && string(got) != string(want) {
				t.Errorf("got\n%s\nwant (sops decrypt)\n%s", got, want)
			}
			if g, w := docs(t, got), docs(t, want); !reflect.DeepEqual(g, w) {
				t.Errorf("got %#v\nwant (sops decrypt) %#v", g, w)
			}
			if g, w := docs(t, got), docs(t, read(tc.plain)); !reflect.DeepEqual(g, w) {
				t.Errorf("got %#v\nwant (original) %#v", g, w)
			}
		})
	}

	// One identity is one Shamir share of two: not enough.
	lines := strings.SplitAfter(string(read("keys.txt")), "\n")
	var first string
	for _, l := range lines {
		if strings.HasPrefix(l, "AGE-SECRET-KEY-1") {
			first = l
			break
		}
	}
	one, err := NewDecrypterFromKeys([]byte(first))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := one("shamir.enc.yaml", read("shamir.enc.yaml")); err == nil || !strings.Contains(err.Error(), "no age identity matches") {
		t.Errorf("one share of two: got error %v, want no age identity matches", err)
	}
}
