package gittest

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"testing"
	"time"
)

// SSHD is a real sshd on a loopback port that lets one key log in as
// the current user.
type SSHD struct {
	Port      int
	KnownHost []byte // known_hosts line for the server's host key
	ClientKey []byte // private key authorized to log in
	OtherKey  []byte // a private key that is not authorized
	OtherHost []byte // known_hosts line naming a different host key
	User      string
}

// URL is the ssh:// URL of the repository at the absolute path dir.
func (s *SSHD) URL(dir string) string {
	return fmt.Sprintf("ssh://%s@127.0.0.1:%d%s", s.User, s.Port, dir)
}

// findSSHD fails the test when sshd is missing: the SSH transport must be
// tested, not skipped.
func findSSHD(t testing.TB) string {
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
func keygen(t testing.TB, path string) (priv, pub []byte) {
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

// StartSSHD starts a real sshd on a loopback port, letting ClientKey log
// in as the current user, and stops it when the test ends. It fails the
// test (never skips) when sshd is not installed.
func StartSSHD(t testing.TB) *SSHD {
	t.Helper()
	sshd := findSSHD(t)
	dir := t.TempDir()
	u, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	s := &SSHD{User: u.Username}
	_, hostPub := keygen(t, filepath.Join(dir, "host"))
	_, otherHostPub := keygen(t, filepath.Join(dir, "otherhost"))
	var clientPub []byte
	s.ClientKey, clientPub = keygen(t, filepath.Join(dir, "client"))
	s.OtherKey, _ = keygen(t, filepath.Join(dir, "other"))
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
	s.Port = l.Addr().(*net.TCPAddr).Port
	l.Close()
	s.KnownHost = fmt.Appendf(nil, "[127.0.0.1]:%d %s\n", s.Port, hostPub)
	s.OtherHost = fmt.Appendf(nil, "[127.0.0.1]:%d %s\n", s.Port, otherHostPub)

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
`, s.Port, filepath.Join(dir, "host"), filepath.Join(dir, "authorized_keys"), s.User)
	cfg := filepath.Join(dir, "sshd_config")
	if err := os.WriteFile(cfg, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	runSSHD(t, sshd, cfg, s.Port)
	return s
}

// runSSHD starts sshd with config cfg, stops it when the test ends, and
// waits until it listens on port.
func runSSHD(t testing.TB, sshd, cfg string, port int) {
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
