package source

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// sshServer is a real sshd on a loopback port that lets one key log in as
// the current user.
type sshServer struct {
	port      int
	knownHost []byte // known_hosts line for the server's host key
	clientKey []byte // private key authorized to log in
	otherKey  []byte // a private key that is not authorized
	otherHost []byte // known_hosts line naming a different host key
	user      string
}

// findSSHD fails the test when sshd is missing: the SSH transport must be
// tested, not skipped.
func findSSHD(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("sshd"); err == nil && filepath.IsAbs(p) {
		return p
	}
	for _, p := range []string{"/usr/sbin/sshd", "/usr/local/sbin/sshd"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	t.Fatal("sshd not found: the SSH fetch test needs a real sshd; install openssh-server " +
		"(Debian/Ubuntu: apt-get install -y openssh-server)")
	return ""
}

// keygen makes an ed25519 key pair with ssh-keygen and returns the private
// key and the public key line.
func keygen(t *testing.T, path string) (priv, pub []byte) {
	t.Helper()
	out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "test", "-f", path).CombinedOutput()
	if err != nil {
		t.Fatalf("ssh-keygen: %v\n%s", err, out)
	}
	priv, err = os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	pub, err = os.ReadFile(path + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	return priv, bytes.TrimSpace(pub)
}

func startSSHD(t *testing.T) *sshServer {
	t.Helper()
	sshd := findSSHD(t)
	dir := t.TempDir()
	u, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	s := &sshServer{user: u.Username}
	_, hostPub := keygen(t, filepath.Join(dir, "host"))
	_, otherHostPub := keygen(t, filepath.Join(dir, "otherhost"))
	var clientPub []byte
	s.clientKey, clientPub = keygen(t, filepath.Join(dir, "client"))
	s.otherKey, _ = keygen(t, filepath.Join(dir, "other"))
	if err := os.WriteFile(filepath.Join(dir, "authorized_keys"), append(clientPub, '\n'), 0o600); err != nil {
		t.Fatal(err)
	}
	if os.Getuid() == 0 {
		// sshd running as root insists on its privilege separation directory.
		if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
			t.Fatal(err)
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.port = l.Addr().(*net.TCPAddr).Port
	l.Close()
	s.knownHost = fmt.Appendf(nil, "[127.0.0.1]:%d %s\n", s.port, hostPub)
	s.otherHost = fmt.Appendf(nil, "[127.0.0.1]:%d %s\n", s.port, otherHostPub)

	config := fmt.Sprintf(`Port %d
ListenAddress 127.0.0.1
HostKey %s
AuthorizedKeysFile %s
PidFile none
StrictModes no
UsePAM no
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
AllowUsers %s
LogLevel VERBOSE
`, s.port, filepath.Join(dir, "host"), filepath.Join(dir, "authorized_keys"), s.user)
	cfg := filepath.Join(dir, "sshd_config")
	if err := os.WriteFile(cfg, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	runSSHD(t, sshd, cfg, s.port)
	return s
}

// runSSHD starts sshd with config cfg, stops it when the test ends, and
// waits until it listens on port.
func runSSHD(t *testing.T, sshd, cfg string, port int) {
	t.Helper()
	var logs bytes.Buffer
	cmd := exec.Command(sshd, "-D", "-e", "-f", cfg)
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatalf("start sshd: %v", err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
		if t.Failed() {
			t.Logf("sshd log:\n%s", logs.String())
		}
	})
	for deadline := time.Now().Add(10 * time.Second); ; {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second)
		if err == nil {
			c.Close()
			return
		}
		select {
		case <-exited:
			t.Fatalf("sshd exited: %s", logs.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("sshd did not listen on port %d: %v", port, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestFetchSSH(t *testing.T) {
	fx := newFixture(t)
	srv := startSSHD(t)
	repoURL := fmt.Sprintf("ssh://%s@127.0.0.1:%d%s", srv.user, srv.port, fx.repo.Dir)
	good := Auth{SSHPrivateKey: srv.clientKey, SSHKnownHosts: srv.knownHost}
	port := strconv.Itoa(srv.port)

	for _, tc := range []struct{ ref, want string }{
		{"main", fx.second},
		{"v1", fx.first},
		{fx.first, fx.first},
	} {
		rev, err := NewFetcher(t.TempDir()).Fetch(context.Background(), repoURL, tc.ref, good)
		if err != nil {
			t.Fatalf("Fetch(%q) over ssh: %v", tc.ref, err)
		}
		if rev.Commit != tc.want || rev.Subject == "" {
			t.Errorf("Fetch(%q) = %s %q, want %s", tc.ref, rev.Commit, rev.Subject, tc.want)
		}
		if _, err := os.Stat(filepath.Join(rev.Dir, "a.txt")); err != nil {
			t.Errorf("checkout: %v", err)
		}
	}

	bad := []struct {
		name string
		url  string
		ref  string
		auth Auth
		cls  error
		msg  string
	}{
		{"wrong known_hosts", repoURL, "main", Auth{SSHPrivateKey: srv.clientKey, SSHKnownHosts: srv.otherHost}, ErrAuth, "host key verification failed: 127.0.0.1:" + port + " presented a ssh-ed25519 key"},
		{"no known_hosts", repoURL, "main", Auth{SSHPrivateKey: srv.clientKey}, ErrAuth, "host key verification failed: 127.0.0.1:" + port + " is not in"},
		{"key not authorized", repoURL, "main", Auth{SSHPrivateKey: srv.otherKey, SSHKnownHosts: srv.knownHost}, ErrAuth, "permission denied: the server refused the SSH key"},
		{"no key", repoURL, "main", Auth{SSHKnownHosts: srv.knownHost}, ErrAuth, "permission denied: no SSH key given"},
		{"missing branch", repoURL, "nope", good, ErrNotFound, `revision "nope" not found`},
		{"missing repository", strings.TrimSuffix(repoURL, fx.repo.Dir) + "/nothing/here.git", "main", good, ErrUnreachable, "repository not found"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewFetcher(t.TempDir()).Fetch(context.Background(), tc.url, tc.ref, tc.auth)
			checkErr(t, err, tc.cls, tc.msg)
			if err != nil && strings.Contains(err.Error(), "PRIVATE KEY") {
				t.Errorf("error shows the private key: %v", err)
			}
		})
	}
}
