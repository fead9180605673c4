package object

import "testing"

func TestIDStringParse(t *testing.T) {
	for _, tc := range []struct {
		id   ID
		want string
	}{
		{ID{Group: "apps", Kind: "Deployment", Namespace: "web", Name: "nginx"}, "web_nginx_apps_Deployment"},
		{ID{Kind: "Namespace", Name: "web"}, "_web__Namespace"},
		// Invalid for a ConfigMap, but a user can write it in Git; the
		// API server refuses it, the inventory must still read back.
		{ID{Kind: "ConfigMap", Namespace: "web", Name: "Bad_Name"}, "web_Bad%5FName__ConfigMap"},
		{ID{Group: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "system:a_b%c"}, "_system:a%5Fb%25c_rbac.authorization.k8s.io_ClusterRole"},
	} {
		if got := tc.id.String(); got != tc.want {
			t.Errorf("%#v.String() = %q, want %q", tc.id, got, tc.want)
		}
		back, err := Parse(tc.want)
		if err != nil || back != tc.id {
			t.Errorf("Parse(%q) = %#v, %v; want %#v", tc.want, back, err, tc.id)
		}
	}
}

// Entries written before '_' was escaped are read as the name they were.
func TestParseLegacyUnderscoreName(t *testing.T) {
	got, err := Parse("web_Bad_Name__ConfigMap")
	want := ID{Kind: "ConfigMap", Namespace: "web", Name: "Bad_Name"}
	if err != nil || got != want {
		t.Fatalf("Parse = %#v, %v; want %#v", got, err, want)
	}
}

func TestParseRejects(t *testing.T) {
	for _, s := range []string{"", "a", "a_b_c", "ns__apps_Deployment", "ns_name_apps_", "ns_n%zz_g_K", "ns_n%_g_K"} {
		if id, err := Parse(s); err == nil {
			t.Errorf("Parse(%q) = %#v, want an error", s, id)
		}
	}
}

// FuzzIDRoundTrip: every ID with a name and a kind survives String/Parse,
// whatever its fields hold.
func FuzzIDRoundTrip(f *testing.F) {
	f.Add("web", "nginx", "apps", "Deployment")
	f.Add("", "Bad_Name", "", "ConfigMap")
	f.Add("a_b", "%5F", "x_y.io", "K_ind")
	f.Add("", "system:controller:x", "rbac.authorization.k8s.io", "ClusterRole")
	f.Fuzz(func(t *testing.T, ns, name, group, kind string) {
		if name == "" || kind == "" {
			return // an object always has both
		}
		id := ID{Namespace: ns, Name: name, Group: group, Kind: kind}
		back, err := Parse(id.String())
		if err != nil || back != id {
			t.Fatalf("Parse(%q) = %#v, %v; want %#v", id.String(), back, err, id)
		}
	})
}
