package testenv

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// TestRegistry pushes a random image to a real registry and pulls it back,
// anonymously over http, with basic auth (refused without credentials and
// with a wrong password), and over TLS from the test CA.
func TestRegistry(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts RegistryOptions
	}{
		{"anonymous", RegistryOptions{}},
		{"basic auth", RegistryOptions{Auth: true}},
		{"tls", RegistryOptions{TLS: true}},
		{"tls and auth", RegistryOptions{TLS: true, Auth: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := StartRegistry(t, tc.opts)
			if got := strings.HasPrefix(r.URL(), "https://"); got != tc.opts.TLS {
				t.Errorf("URL() = %s with TLS %v", r.URL(), tc.opts.TLS)
			}
			if r.Insecure() == tc.opts.TLS {
				t.Errorf("Insecure() = %v with TLS %v", r.Insecure(), tc.opts.TLS)
			}
			ref := imageRef(t, r, r.Repo(t)+":v1")
			img, err := random.Image(1024, 2)
			if err != nil {
				t.Fatal(err)
			}
			if tc.opts.Auth {
				err := remote.Write(ref, img, remote.WithTransport(r.Transport()))
				assertStatus(t, "push without credentials", err, http.StatusUnauthorized)
				wrong := &authn.Basic{Username: r.Username, Password: "wrong"}
				err = remote.Write(ref, img, remote.WithTransport(r.Transport()), remote.WithAuth(wrong))
				assertStatus(t, "push with a wrong password", err, http.StatusUnauthorized)
			}
			if err := remote.Write(ref, img, registryOptions(r)...); err != nil {
				t.Fatalf("push %s: %v\n%s", ref, err, r.Log())
			}
			got, err := remote.Image(ref, registryOptions(r)...)
			if err != nil {
				t.Fatalf("pull %s: %v", ref, err)
			}
			want, _ := img.Digest()
			if d, _ := got.Digest(); d != want {
				t.Errorf("pulled digest %s, pushed %s", d, want)
			}
			if tc.opts.Auth {
				_, err := remote.Image(ref, remote.WithTransport(r.Transport()))
				assertStatus(t, "pull without credentials", err, http.StatusUnauthorized)
			}
		})
	}
}

// TestRegistryReposAreUnique: two Repo calls never name the same repository.
func TestRegistryReposAreUnique(t *testing.T) {
	r := &Registry{}
	if a, b := r.Repo(t), r.Repo(t); a == b || !strings.HasPrefix(a, "tether/") {
		t.Errorf("Repo() = %q, then %q", a, b)
	}
}

func imageRef(t *testing.T, r *Registry, repo string) name.Reference {
	t.Helper()
	var opts []name.Option
	if r.Insecure() {
		opts = append(opts, name.Insecure)
	}
	ref, err := name.ParseReference(r.Host+"/"+repo, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return ref
}

func registryOptions(r *Registry) []remote.Option {
	opts := []remote.Option{remote.WithTransport(r.Transport())}
	if r.Username != "" {
		opts = append(opts, remote.WithAuth(&authn.Basic{Username: r.Username, Password: r.Password}))
	}
	return opts
}

func assertStatus(t *testing.T, what string, err error, want int) {
	t.Helper()
	var te *transport.Error
	if !errors.As(err, &te) || te.StatusCode != want {
		t.Errorf("%s: err = %v, want status %d", what, err, want)
	}
}
