package source

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Auth holds the credentials for one repository. The zero value means
// anonymous access.
type Auth struct {
	// Username and Password are used for http(s) URLs: basic auth, or a
	// token as Password (most forges accept any non-empty Username then).
	// They reach git through a GIT_ASKPASS helper that reads them from the
	// environment, never through the command line.
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

// askpass answers git's username and password prompts from the environment
// of the git process, so the secret is in no file and on no command line.
const askpass = `#!/bin/sh
case "$1" in
[Uu]sername*) printf '%s\n' "$TETHER_GIT_USERNAME" ;;
*) printf '%s\n' "$TETHER_GIT_PASSWORD" ;;
esac
`

// session is the private environment of the git processes run for one
// Resolve or Fetch call: a temporary HOME, the askpass helper, the SSH key
// and known_hosts files (0600), and the environment pointing at them.
type session struct {
	dir     string
	env     []string
	secrets []string
}

// newSession writes the helper files for auth into a new temporary
// directory. The caller must call close.
func newSession(auth Auth) (*session, error) {
	dir, err := os.MkdirTemp("", "tether-git-")
	if err != nil {
		return nil, fmt.Errorf("git session: %w", err)
	}
	s := &session{dir: dir, secrets: auth.secrets()}
	if err := s.setup(auth); err != nil {
		s.close()
		return nil, fmt.Errorf("git session: %w", err)
	}
	return s, nil
}

func (s *session) setup(auth Auth) error {
	s.env = baseEnv(s.dir)
	if auth.Username != "" || auth.Password != "" {
		p := filepath.Join(s.dir, "askpass.sh")
		if err := os.WriteFile(p, []byte(askpass), 0o700); err != nil {
			return err
		}
		s.env = append(s.env, "GIT_ASKPASS="+p,
			"TETHER_GIT_USERNAME="+auth.Username,
			"TETHER_GIT_PASSWORD="+auth.Password)
	}
	ssh, err := s.sshCommand(auth)
	if err != nil {
		return err
	}
	s.env = append(s.env, "GIT_SSH_COMMAND="+ssh)
	return nil
}

// sshCommand writes the key and known_hosts and returns GIT_SSH_COMMAND.
// The user's ~/.ssh/config, agent and keys are never used.
func (s *session) sshCommand(auth Auth) (string, error) {
	kh := "/dev/null"
	if len(auth.SSHKnownHosts) > 0 {
		kh = filepath.Join(s.dir, "known_hosts")
		if err := os.WriteFile(kh, withNewline(auth.SSHKnownHosts), 0o600); err != nil {
			return "", err
		}
	}
	args := []string{"ssh", "-F", "/dev/null",
		"-o", "BatchMode=yes",
		"-o", "StrictHostKeyChecking=yes",
		"-o", "UserKnownHostsFile=" + shellQuote(kh),
		"-o", "IdentitiesOnly=yes",
		"-o", "IdentityAgent=none",
		"-o", "ConnectTimeout=30",
	}
	if len(auth.SSHKnownHosts) > 0 {
		args = append(args, "-o", "GlobalKnownHostsFile=/dev/null")
	}
	if len(auth.SSHPrivateKey) > 0 {
		key := filepath.Join(s.dir, "id")
		if err := os.WriteFile(key, withNewline(auth.SSHPrivateKey), 0o600); err != nil {
			return "", err
		}
		args = append(args, "-i", shellQuote(key))
	} else {
		args = append(args, "-o", "IdentityFile=none")
	}
	return strings.Join(args, " "), nil
}

func (s *session) close() { os.RemoveAll(s.dir) }

// baseEnv is a clean environment for git: nothing from the user's or the
// system's git configuration, no prompts, English messages (errors are
// classified by their text), only safe transports, no automatic gc (the
// cache keeps fetched commits that no ref points at).
func baseEnv(home string) []string {
	env := []string{
		"HOME=" + home,
		"LC_ALL=C",
		"LANG=C",
		"GIT_TERMINAL_PROMPT=0",
		"GIT_CONFIG_NOSYSTEM=1",
		"GIT_CONFIG_GLOBAL=/dev/null",
		"GIT_ALLOW_PROTOCOL=file:git:http:https:ssh",
		"GIT_SSH_VARIANT=ssh",
	}
	config := [][2]string{
		{"gc.auto", "0"},
		{"credential.helper", ""},
		{"advice.detachedHead", "false"},
		{"protocol.version", "2"},
	}
	env = append(env, "GIT_CONFIG_COUNT="+strconv.Itoa(len(config)))
	for i, kv := range config {
		env = append(env,
			fmt.Sprintf("GIT_CONFIG_KEY_%d=%s", i, kv[0]),
			fmt.Sprintf("GIT_CONFIG_VALUE_%d=%s", i, kv[1]))
	}
	// What is needed to find git and reach the network, and nothing else.
	for _, k := range []string{"PATH", "TMPDIR", "SSL_CERT_FILE", "SSL_CERT_DIR",
		"HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "ALL_PROXY",
		"http_proxy", "https_proxy", "no_proxy", "all_proxy"} {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	return env
}

func withNewline(b []byte) []byte {
	if len(b) > 0 && b[len(b)-1] != '\n' {
		return append(append([]byte(nil), b...), '\n')
	}
	return b
}

// shellQuote quotes s for the shell git runs GIT_SSH_COMMAND with.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
