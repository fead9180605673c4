package plan

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/tether-dev/tether/internal/object"
)

func obj(t *testing.T, y string) *unstructured.Unstructured {
	t.Helper()
	u := &unstructured.Unstructured{}
	if err := yaml.Unmarshal([]byte(y), &u.Object); err != nil {
		t.Fatal(err)
	}
	return u
}

// Diffs never show a Secret's values, nor any value of an object that was
// decrypted from SOPS, but still say which values changed.
func TestDiffMasksValues(t *testing.T) {
	tests := []struct {
		name       string
		sensitive  bool
		live, want string
		hidden     []string
		shown      []string
	}{
		{
			name: "secret", live: "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ndata: {pw: b2xk, same: c2FtZQ==}\n",
			want:   "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ndata: {pw: bmV3, same: c2FtZQ==}\n",
			hidden: []string{"b2xk", "bmV3", "c2FtZQ=="},
			shown:  []string{"-  pw: '*** (masked)'", "+  pw: '*** (masked, changed)'"},
		},
		{
			name: "decrypted configmap", sensitive: true,
			live:   "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {token: old-token, region: eu}\n",
			want:   "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {token: new-token, region: eu}\n",
			hidden: []string{"old-token", "new-token", "eu"},
			shown:  []string{"name: c", "+  token: '*** (masked, changed)'"},
		},
		{
			name: "decrypted custom resource, nested", sensitive: true,
			live:   "apiVersion: x.io/v1\nkind: Db\nmetadata: {name: d}\nspec: {users: [{name: admin, password: hunter2}]}\n",
			want:   "apiVersion: x.io/v1\nkind: Db\nmetadata: {name: d}\nspec: {users: [{name: admin, password: hunter3}]}\n",
			hidden: []string{"hunter2", "hunter3", "admin"},
			shown:  []string{"- name: '*** (masked)'", "+    password: '*** (masked, changed)'"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			live, want := obj(t, tt.live), obj(t, tt.want)
			c := Change{ID: object.IDOf(want), Action: Update, Live: live, Predicted: want, Sensitive: tt.sensitive}
			d := c.Diff()
			for _, h := range tt.hidden {
				if strings.Contains(d, h) {
					t.Errorf("diff shows %q:\n%s", h, d)
				}
			}
			for _, s := range tt.shown {
				if !strings.Contains(d, s) {
					t.Errorf("diff lacks %q:\n%s", s, d)
				}
			}
		})
	}
}

// Without the mark, an ordinary ConfigMap's diff shows its values.
func TestDiffShowsPlainValues(t *testing.T) {
	live := obj(t, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {k: before}\n")
	want := obj(t, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {k: after}\n")
	c := Change{ID: object.IDOf(want), Action: Update, Live: live, Predicted: want}
	if d := c.Diff(); !strings.Contains(d, "-  k: before") || !strings.Contains(d, "+  k: after") {
		t.Errorf("diff = %s", d)
	}
}
