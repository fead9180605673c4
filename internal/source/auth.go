package source

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	gitssh "github.com/go-git/go-git/v5/plumbing/transport/ssh"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// Auth holds the credentials for one repository. The zero value means
// anonymous access.
type Auth struct {
	// Username and Password are used for http(s) URLs: basic auth, or a
	// token as Password (most forges accept any non-empty Username then;
	// "git" is sent when Username is empty).
	Username, Password string
	// SSHPrivateKey is a private key in OpenSSH or PEM format, without a
	// passphrase, for ssh:// and user@host:path URLs.
	SSHPrivateKey []byte
	// SSHKnownHosts are known_hosts lines for the server. Host keys are
	// always checked strictly: without them only the system-wide
	// known_hosts file is consulted, so most SSH fetches need this.
	SSHKnownHosts []byte
	// BearerToken is sent as "Authorization: Bearer" to a chart
	// repository or registry (not used for Git).
	BearerToken string
	// CABundle holds PEM certificates trusted, besides the system's, by
	// chart repositories and registries; ClientCert and ClientKey are a
	// PEM client certificate and its key presented to them.
	CABundle, ClientCert, ClientKey []byte
}

// secrets lists the values that must never appear in an error.
func (a Auth) secrets() []string { return a.Secrets() }

// Secrets lists the values that must never appear in an error, a log line
// or a status: the password and the token (empty ones left out).
func (a Auth) Secrets() []string {
	var out []string
	for _, s := range []string{a.Password, a.BearerToken} {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

// systemKnownHosts is the only known_hosts file consulted when Auth has
// none: the user's ~/.ssh is never read.
const systemKnownHosts = "/etc/ssh/ssh_known_hosts"

// session is what one Resolve or Fetch call needs to talk to the remote:
// go-git's auth for it, and what a failed host key check said.
type session struct {
	auth    transport.AuthMethod // nil for anonymous http and local remotes
	hostKey *hostKeyCheck        // set for SSH remotes
	secrets []string
	hasCred bool // http credentials were given
}

// newSession builds the go-git auth for rm from auth. SSH always gets an
// explicit auth (maybe without a key), so go-git never falls back to the
// user's ssh-agent or ~/.ssh.
func newSession(rm remote, auth Auth) (*session, error) {
	s := &session{secrets: auth.secrets()}
	if rm.local != "" {
		return s, nil
	}
	ep, err := transport.NewEndpoint(rm.url)
	if err != nil {
		return nil, fmt.Errorf("repository URL %q: %v", rm.url, redact(err.Error(), s.secrets...))
	}
	switch ep.Protocol {
	case "http", "https":
		if auth.Username != "" || auth.Password != "" {
			user := auth.Username
			if user == "" {
				user = "git"
			}
			s.auth, s.hasCred = &githttp.BasicAuth{Username: user, Password: auth.Password}, true
		}
	case "ssh":
		a, hk, err := sshAuth(ep, auth)
		if err != nil {
			return nil, err
		}
		s.auth, s.hostKey = a, hk
	}
	return s, nil
}

// sshAuth is public-key auth (or none, when no key is given) whose host
// key callback checks known_hosts strictly.
func sshAuth(ep *transport.Endpoint, auth Auth) (*sshKeyAuth, *hostKeyCheck, error) {
	user := ep.User
	if user == "" {
		user = "git"
	}
	hk, err := newHostKeyCheck(auth.SSHKnownHosts)
	if err != nil {
		return nil, nil, err
	}
	a := &sshKeyAuth{user: user, hostKey: hk.callback}
	if len(auth.SSHPrivateKey) > 0 {
		signer, err := ssh.ParsePrivateKey(auth.SSHPrivateKey)
		if err != nil {
			// The parse error never quotes the key.
			return nil, nil, fmt.Errorf("ssh private key: %w", err)
		}
		a.signer = signer
	}
	return a, hk, nil
}

// sshKeyAuth is go-git SSH auth with one key (or none) and nothing else:
// no agent, no password, no keyboard-interactive.
type sshKeyAuth struct {
	user    string
	signer  ssh.Signer // nil: no key given
	hostKey ssh.HostKeyCallback
}

var _ gitssh.AuthMethod = (*sshKeyAuth)(nil)

func (a *sshKeyAuth) Name() string   { return "ssh-public-key" }
func (a *sshKeyAuth) String() string { return "user: " + a.user + ", name: " + a.Name() }

func (a *sshKeyAuth) ClientConfig() (*ssh.ClientConfig, error) {
	// Timeout bounds the dial and the handshake (go-git dials without
	// the call's ctx); ctx bounds the rest.
	c := &ssh.ClientConfig{User: a.user, HostKeyCallback: a.hostKey, Timeout: 30 * time.Second}
	if a.signer != nil {
		c.Auth = []ssh.AuthMethod{ssh.PublicKeys(a.signer)}
	}
	return c, nil
}

// hostKeyCheck wraps a known_hosts callback and remembers why it refused
// a key, so the error can say which host and whether the key was unknown
// or did not match.
type hostKeyCheck struct {
	check  ssh.HostKeyCallback
	source string // where the lines came from, for messages

	mu     sync.Mutex
	failed error // the last refusal; guarded by mu
}

func (h *hostKeyCheck) failure() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.failed
}

func newHostKeyCheck(lines []byte) (*hostKeyCheck, error) {
	if len(lines) > 0 {
		cb, err := knownHostsFromLines(lines)
		if err != nil {
			return nil, err
		}
		return &hostKeyCheck{check: cb, source: "the known_hosts given"}, nil
	}
	hk := &hostKeyCheck{source: "the known_hosts given (none) or " + systemKnownHosts}
	if _, err := os.Stat(systemKnownHosts); err != nil {
		// No file: every host is unknown, and the error says so.
		hk.check = func(string, net.Addr, ssh.PublicKey) error { return &knownhosts.KeyError{} }
		return hk, nil
	}
	cb, err := knownhosts.New(systemKnownHosts)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", systemKnownHosts, err)
	}
	hk.check = cb
	return hk, nil
}

// knownHostsFromLines parses known_hosts lines; knownhosts reads files
// only, so they go through a private temporary file, removed at once.
func knownHostsFromLines(lines []byte) (ssh.HostKeyCallback, error) {
	f, err := os.CreateTemp("", "tether-known-hosts-")
	if err != nil {
		return nil, fmt.Errorf("known_hosts: %w", err)
	}
	defer os.Remove(f.Name())
	_, werr := f.Write(lines)
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		return nil, fmt.Errorf("known_hosts: %w", werr)
	}
	cb, err := knownhosts.New(f.Name())
	if err != nil {
		return nil, fmt.Errorf("known_hosts: %s", strings.ReplaceAll(err.Error(), f.Name(), "line"))
	}
	return cb, nil
}

func (h *hostKeyCheck) callback(host string, remote net.Addr, key ssh.PublicKey) error {
	err := h.check(host, remote, key)
	if err == nil {
		return nil
	}
	var ke *knownhosts.KeyError
	var re *knownhosts.RevokedError
	switch {
	case errors.As(err, &re):
		err = fmt.Errorf("host key verification failed: the %s key of %s is revoked in %s", key.Type(), host, h.source)
	case errors.As(err, &ke) && len(ke.Want) > 0:
		err = fmt.Errorf("host key verification failed: %s presented a %s key (%s) that does not match %s",
			host, key.Type(), ssh.FingerprintSHA256(key), h.source)
	default:
		err = fmt.Errorf("host key verification failed: %s is not in %s (its %s key is %s)",
			host, h.source, key.Type(), ssh.FingerprintSHA256(key))
	}
	h.mu.Lock()
	h.failed = err
	h.mu.Unlock()
	return err
}

// go-git reads Hostname and Port for SSH hosts from ~/.ssh/config and
// /etc/ssh/ssh_config unless this is nil. Tether used none of the user's or
// the system's SSH configuration before (ssh -F /dev/null) and uses none
// now: a repository URL means what it says. go-git offers no per-call
// switch, so this is set once for the process (bootstrap's pushes too).
func init() { gitssh.DefaultSSHConfig = nil }

// TransportAuth is go-git's auth for repoURL from auth, by the rules a
// fetch follows: basic auth over HTTP(S) (user "git" with only a token);
// over SSH only the key given, host keys checked strictly against the
// known_hosts given (else the system's). Nil for anonymous and local
// access. For code that writes to a repository (tether bootstrap).
func TransportAuth(repoURL string, auth Auth) (transport.AuthMethod, error) {
	rm, auth, err := parseRemote(repoURL, auth)
	if err != nil {
		return nil, err
	}
	s, err := newSession(rm, auth)
	if err != nil {
		return nil, err
	}
	return s.auth, nil
}

// Key is a hash of the credentials that a registry or repository client
// is built from, for keying state kept per credentials (an authenticated
// transport, a cached index) without keeping or printing them.
func (a Auth) Key() string {
	h := sha256.New()
	for _, b := range [][]byte{[]byte(a.Username), []byte(a.Password), []byte(a.BearerToken), a.CABundle, a.ClientCert, a.ClientKey, a.SSHPrivateKey, a.SSHKnownHosts} {
		fmt.Fprintf(h, "%d:", len(b))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil))[:32]
}

// AuthFromSecret reads credentials from the data of a credentials Secret
// (spec.source.secretRef): username, password, bearerToken,
// sshPrivateKey, knownHosts, ca.crt, tls.crt and tls.key.
func AuthFromSecret(data map[string][]byte) Auth {
	return Auth{
		Username:      string(data["username"]),
		Password:      string(data["password"]),
		BearerToken:   string(data["bearerToken"]),
		SSHPrivateKey: data["sshPrivateKey"],
		SSHKnownHosts: data["knownHosts"],
		CABundle:      data["ca.crt"],
		ClientCert:    data["tls.crt"],
		ClientKey:     data["tls.key"],
	}
}

// SecretData is AuthFromSecret's inverse: the Secret data that holds a,
// without the empty values.
func (a Auth) SecretData() map[string][]byte {
	out := map[string][]byte{}
	for k, v := range map[string][]byte{
		"username": []byte(a.Username), "password": []byte(a.Password), "bearerToken": []byte(a.BearerToken),
		"sshPrivateKey": a.SSHPrivateKey, "knownHosts": a.SSHKnownHosts,
		"ca.crt": a.CABundle, "tls.crt": a.ClientCert, "tls.key": a.ClientKey,
	} {
		if len(v) > 0 {
			out[k] = v
		}
	}
	return out
}
