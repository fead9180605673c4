package testenv

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/tether-dev/tether/internal/source"
)

// RegistryOptions configures StartRegistry.
type RegistryOptions struct {
	// Auth requires basic auth (an htpasswd file with one generated user,
	// in Registry.Username and Registry.Password).
	Auth bool
	// TLS serves https with a certificate for 127.0.0.1 and localhost
	// signed by a fresh CA (Registry.CAPEM); otherwise plain http.
	TLS bool
}

// Registry is a running CNCF Distribution registry on loopback, with its
// storage in the test's temporary directory and deletes enabled.
type Registry struct {
	Host     string // "127.0.0.1:PORT", as in an image reference
	Username string // with RegistryOptions.Auth
	Password string
	CAPEM    []byte // with RegistryOptions.TLS: the CA of the serving certificate
	Dir      string // config, htpasswd, certificates, storage and log
	proc     *process
	n        atomic.Int64
}

// RegistryBinary returns the registry command, building it first when its
// module (testenv/registry) changed or it was never built.
func RegistryBinary(ctx context.Context, log io.Writer) (string, error) {
	dir, err := registryGroup.binDir(ctx, log)
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, "registry"), nil
}

// StartRegistry starts a registry of the test's own on a free loopback
// port, waits until it answers, and stops it when the test ends. Each
// test gets its own process and storage (start-up takes about 0.2 s), so
// tests never see each other's repositories; Repo names unique ones within
// a test. A registry that cannot be built or started fails the test.
func StartRegistry(t testing.TB, opts RegistryOptions) *Registry {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	bin, err := RegistryBinary(ctx, os.Stderr)
	if err != nil {
		t.Fatalf("build the registry: %v", err)
	}
	r, err := startRegistry(ctx, bin, t.TempDir(), opts)
	if r != nil && r.proc != nil {
		t.Cleanup(func() { r.proc.stop(5 * time.Second) })
	}
	if err != nil {
		t.Fatalf("start the registry: %v", err)
	}
	return r
}

func startRegistry(ctx context.Context, bin, dir string, opts RegistryOptions) (*Registry, error) {
	ports, err := freePorts(1)
	if err != nil {
		return nil, err
	}
	r := &Registry{Host: "127.0.0.1:" + strconv.Itoa(ports[0]), Dir: dir}
	config, err := r.writeConfig(opts)
	if err != nil {
		return nil, err
	}
	// No OpenTelemetry exporter: the default would send to localhost:4318.
	env := []string{"OTEL_TRACES_EXPORTER=none"}
	r.proc, err = startProcessEnv("registry", bin, []string{"serve", config}, env, dir, false)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	client := &http.Client{Transport: r.Transport(), Timeout: 2 * time.Second}
	err = poll(ctx, 20*time.Millisecond, []*process{r.proc}, func(ctx context.Context) bool {
		resp, err := client.Get(r.URL() + "/v2/")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusUnauthorized
	})
	if err != nil {
		return r, fmt.Errorf("registry on %s not ready: %w", r.Host, err)
	}
	return r, nil
}

// writeConfig writes the registry's configuration (and the htpasswd file
// and certificates it names) into r.Dir and returns its path.
func (r *Registry) writeConfig(opts RegistryOptions) (string, error) {
	var b strings.Builder
	fmt.Fprintf(&b, `version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: %q
  delete:
    enabled: true
http:
  addr: %q
  secret: %q
`, filepath.Join(r.Dir, "storage"), r.Host, randomHex(16))
	if opts.TLS {
		p, err := newPKI(r.Dir)
		if err != nil {
			return "", fmt.Errorf("certificates: %w", err)
		}
		r.CAPEM = p.caCert
		fmt.Fprintf(&b, "  tls:\n    certificate: %q\n    key: %q\n", p.serverCert, p.serverKey)
	}
	if opts.Auth {
		r.Username, r.Password = "tether", randomHex(16)
		hash, err := bcrypt.GenerateFromPassword([]byte(r.Password), bcrypt.MinCost)
		if err != nil {
			return "", err
		}
		htpasswd := filepath.Join(r.Dir, "htpasswd")
		if err := os.WriteFile(htpasswd, []byte(r.Username+":"+string(hash)+"\n"), 0o600); err != nil {
			return "", err
		}
		fmt.Fprintf(&b, "auth:\n  htpasswd:\n    realm: tether-test\n    path: %q\n", htpasswd)
	}
	config := filepath.Join(r.Dir, "config.yml")
	return config, os.WriteFile(config, []byte(b.String()), 0o600)
}

// URL is the registry's base URL: https://HOST with TLS, else http://HOST.
func (r *Registry) URL() string {
	if r.CAPEM != nil {
		return "https://" + r.Host
	}
	return "http://" + r.Host
}

// Insecure reports whether the registry speaks plain http (a source needs
// spec.source.insecure for it).
func (r *Registry) Insecure() bool { return r.CAPEM == nil }

// OCI returns "oci://HOST/repo", the repoURL of an Application.
func (r *Registry) OCI(repo string) string { return "oci://" + r.Host + "/" + repo }

// Auth returns the credentials a source needs for this registry: the user
// and password with auth, the CA bundle with TLS.
func (r *Registry) Auth() source.Auth {
	return source.Auth{Username: r.Username, Password: r.Password, CABundle: r.CAPEM}
}

// Transport trusts the registry's CA (with TLS); it sends no credentials.
func (r *Registry) Transport() *http.Transport {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if r.CAPEM != nil {
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(r.CAPEM)
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	return tr
}

// Repo returns a repository name unique within this registry, derived from
// the test's name: "tether/<test>-<n>".
func (r *Registry) Repo(t testing.TB) string {
	return fmt.Sprintf("tether/%s-%d", sanitize(t.Name()), r.n.Add(1))
}

// Log returns the registry's log so far (for a failing test's message).
func (r *Registry) Log() string { return logTail(r.proc.logFile, 50) }

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
