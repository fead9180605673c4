package testenv

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// Mailpit is a running Mailpit: an SMTP server that requires STARTTLS
// (a certificate for 127.0.0.1 signed by a fresh CA, CAPEM) and AUTH with
// one generated user, and an HTTP API to read what it received.
type Mailpit struct {
	SMTPAddr           string // "127.0.0.1:PORT"
	APIURL             string // "http://127.0.0.1:PORT"
	CAPEM              []byte
	Username, Password string
	proc               *process
}

// MailpitBinary returns the mailpit command, building it first when its
// module (testenv/mailpit) changed or it was never built.
func MailpitBinary(ctx context.Context, log io.Writer) (string, error) {
	dir, err := mailpitGroup.binDir(ctx, log)
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, "mailpit"), nil
}

// StartMailpit starts a Mailpit of the test's own on free loopback ports,
// waits until its API answers, and stops it when the test ends.
func StartMailpit(t testing.TB) *Mailpit {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	bin, err := MailpitBinary(ctx, os.Stderr)
	if err != nil {
		t.Fatalf("build mailpit: %v", err)
	}
	m, err := startMailpit(ctx, bin, t.TempDir())
	if m != nil && m.proc != nil {
		t.Cleanup(func() { m.proc.stop(5 * time.Second) })
	}
	if err != nil {
		t.Fatalf("start mailpit: %v", err)
	}
	return m
}

func startMailpit(ctx context.Context, bin, dir string) (*Mailpit, error) {
	ports, err := freePorts(2)
	if err != nil {
		return nil, err
	}
	p, err := newPKI(dir)
	if err != nil {
		return nil, fmt.Errorf("certificates: %w", err)
	}
	m := &Mailpit{SMTPAddr: "127.0.0.1:" + strconv.Itoa(ports[0]), APIURL: "http://127.0.0.1:" + strconv.Itoa(ports[1]),
		CAPEM: p.caCert, Username: "tether", Password: randomHex(16)}
	hash, err := bcrypt.GenerateFromPassword([]byte(m.Password), bcrypt.MinCost)
	if err != nil {
		return nil, err
	}
	auth := filepath.Join(dir, "smtp-auth")
	if err := os.WriteFile(auth, []byte(m.Username+":"+string(hash)+"\n"), 0o600); err != nil {
		return nil, err
	}
	args := []string{"--smtp", m.SMTPAddr, "--listen", m.APIURL[len("http://"):],
		"--database", filepath.Join(dir, "mailpit.db"),
		"--smtp-tls-cert", p.serverCert, "--smtp-tls-key", p.serverKey, "--smtp-require-starttls",
		"--smtp-auth-file", auth, "--smtp-disable-rdns", "--disable-version-check"}
	m.proc, err = startProcess("mailpit", bin, args, dir, false)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	client := &http.Client{Timeout: 2 * time.Second}
	err = poll(ctx, 20*time.Millisecond, []*process{m.proc}, func(context.Context) bool {
		resp, err := client.Get(m.APIURL + "/api/v1/messages")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	if err != nil {
		return m, fmt.Errorf("mailpit on %s not ready: %w", m.SMTPAddr, err)
	}
	return m, nil
}

// MailMessage is a message Mailpit received, as its API shows it.
type MailMessage struct {
	ID      string
	Subject string
	From    struct{ Address string }
	To      []struct{ Address string }
	Text    string
	// Headers holds the raw headers (GET /api/v1/message/{ID}/headers).
	Headers map[string][]string
}

// Messages returns what Mailpit received, newest first, each with its
// text body and headers.
func (m *Mailpit) Messages(ctx context.Context) ([]MailMessage, error) {
	var list struct{ Messages []MailMessage }
	if err := m.get(ctx, "/api/v1/messages", &list); err != nil {
		return nil, err
	}
	out := make([]MailMessage, 0, len(list.Messages))
	for _, s := range list.Messages {
		var full MailMessage
		if err := m.get(ctx, "/api/v1/message/"+s.ID, &full); err != nil {
			return nil, err
		}
		if err := m.get(ctx, "/api/v1/message/"+s.ID+"/headers", &full.Headers); err != nil {
			return nil, err
		}
		out = append(out, full)
	}
	return out, nil
}

func (m *Mailpit) get(ctx context.Context, path string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, m.APIURL+path, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("mailpit %s: HTTP %d", path, resp.StatusCode)
	}
	return json.NewDecoder(io.LimitReader(resp.Body, 8<<20)).Decode(v)
}

// Stop stops Mailpit now (a server that went away).
func (m *Mailpit) Stop() { m.proc.stop(5 * time.Second) }

// Log returns Mailpit's log so far.
func (m *Mailpit) Log() string { return logTail(m.proc.logFile, 50) }
