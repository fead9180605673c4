package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// sopsFixtures are files encrypted by the real sops CLI for age keys.
const sopsFixtures = "../../internal/render/sops/testdata"

// A SOPS-encrypted Secret in Git: refused without a key, applied with the
// cleartext with --sops-age-key-file or a decryption Secret, and the
// cleartext never printed.
func TestSyncSOPSEncryptedSecret(t *testing.T) {
	ctx := context.Background()
	if _, err := cs().CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "prod"}}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	// The fixture names namespace prod: the Secret is shared by every run
	// of this test, so start and end without it.
	dropDB := func() { _ = cs().CoreV1().Secrets("prod").Delete(ctx, "db", metav1.DeleteOptions{}) }
	dropDB()
	t.Cleanup(dropDB)
	enc, err := os.ReadFile(filepath.Join(sopsFixtures, "secret.enc.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	keys, err := filepath.Abs(filepath.Join(sopsFixtures, "keys.txt"))
	if err != nil {
		t.Fatal(err)
	}
	const clear = "hunter2-cleartext"
	a := newApp(t)
	a.repo.Write("deploy/secret.yaml", string(enc))
	a.repo.Commit("encrypted secret")

	noKey := a.cmd("sync")
	if noKey.code != 2 {
		t.Fatalf("sync without a key: %s", noKey)
	}
	wantContains(t, "error", noKey.stderr, "deploy/secret.yaml", "SOPS-encrypted")
	if _, err := cs().CoreV1().Secrets("prod").Get(ctx, "db", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("an encrypted Secret was applied without a key (get: %v)", err)
	}

	res := a.tether(append(append([]string{"sync"}, a.src()...), "--sops-age-key-file", keys)...)
	if res.code != 0 {
		t.Fatalf("sync with the key: %s", res)
	}
	s, err := cs().CoreV1().Secrets("prod").Get(ctx, "db", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := string(s.Data["password"]); got != clear {
		t.Errorf("password = %q, want the decrypted value", got)
	}
	// Change the Secret out of band: diff shows it masked.
	s.Data["password"] = []byte("changed-by-hand")
	if _, err := cs().CoreV1().Secrets("prod").Update(ctx, s, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	diff := a.tether(append(append([]string{"diff"}, a.src()...), "--sops-age-key-file", keys)...)
	if diff.code != 1 {
		t.Fatalf("diff: %s", diff)
	}
	for _, out := range []string{res.stdout, res.stderr, diff.stdout, diff.stderr, noKey.stderr} {
		if strings.Contains(out, clear) || strings.Contains(out, "changed-by-hand") {
			t.Fatalf("a secret value was printed:\n%s", out)
		}
	}

	// The same through the Application: age keys in a Secret.
	keyData, _ := os.ReadFile(keys)
	ks := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "sops-age", Namespace: a.appN}, Data: map[string][]byte{"age.agekey": keyData}}
	if _, err := cs().CoreV1().Secrets(a.appN).Create(ctx, ks, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "app.yaml")
	manifest := fmt.Sprintf(`apiVersion: tether.dev/v1alpha1
kind: Application
metadata: {name: %s, namespace: %s}
spec:
  source:
    repoURL: %s
    path: deploy
    decryption: {provider: sops, secretRef: {name: sops-age}}
  destination: {namespace: %s}
`, a.name, a.appN, a.repo.Dir, a.ns)
	if err := os.WriteFile(file, []byte(manifest), 0o644); err != nil {
		t.Fatal(err)
	}
	viaApp := a.tether("sync", "-f", file)
	if viaApp.code != 0 {
		t.Fatalf("sync with a decryption secret: %s", viaApp)
	}
	s, err = cs().CoreV1().Secrets("prod").Get(ctx, "db", metav1.GetOptions{})
	if err != nil || string(s.Data["password"]) != clear {
		t.Fatalf("after sync with the decryption secret: password = %q, %v", s.Data["password"], err)
	}
}
