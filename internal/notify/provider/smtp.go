package provider

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"strings"
	"time"

	"github.com/tether-dev/tether/internal/notify"
)

// SMTP sends email. The server (host:port, from the Secret's "address" or
// spec.address) must offer STARTTLS, always: Tether never sends
// credentials or mail in the clear, and verifies the server's certificate
// against the system roots or the Secret's "ca.crt". With the Secret's
// username and password it authenticates with AUTH PLAIN (after
// STARTTLS). spec.email gives the envelope: from, to (1 to MaxRecipients)
// and subjectPrefix (default "[tether]"). The message is text/plain UTF-8,
// quoted-printable: the title as the subject, the lines as the body.
type SMTP struct {
	addr, host     string
	from           *mail.Address
	to             []*mail.Address
	prefix         string
	user, password string
	roots          *x509.CertPool // nil: the system's
	timeout        time.Duration
}

var _ notify.Provider = (*SMTP)(nil)

// MaxRecipients bounds spec.email.to.
const MaxRecipients = 50

func newSMTP(cfg Config) (*SMTP, error) {
	addr, field := address(cfg)
	if addr == "" {
		return nil, notify.Invalid(errors.New("spec.address: empty (or set the Secret's address): the smtp provider needs the server as host:port"))
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil || host == "" || port == "" {
		return nil, notify.Invalid(fmt.Errorf("%s: want host:port", field))
	}
	s := &SMTP{addr: addr, host: host, timeout: cfg.Timeout,
		user: string(cfg.Secret["username"]), password: string(cfg.Secret["password"])}
	if (s.user == "") != (s.password == "") {
		return nil, notify.Invalid(errors.New(`secret keys "username" and "password": set both or neither`))
	}
	if ca := cfg.Secret["ca.crt"]; len(ca) > 0 {
		s.roots = x509.NewCertPool()
		if !s.roots.AppendCertsFromPEM(ca) {
			return nil, notify.Invalid(errors.New(`secret key "ca.crt": no PEM certificate in it`))
		}
	}
	if err := s.envelope(cfg); err != nil {
		return nil, err
	}
	return s, nil
}

// envelope reads spec.email.
func (s *SMTP) envelope(cfg Config) error {
	em := cfg.Spec.Email
	if em == nil {
		return notify.Invalid(errors.New("spec.email: required by the smtp provider (from, to)"))
	}
	from, err := mail.ParseAddress(em.From)
	if err != nil {
		return notify.Invalid(fmt.Errorf("spec.email.from: not an email address: %w", err))
	}
	s.from = from
	switch {
	case len(em.To) == 0:
		return notify.Invalid(errors.New("spec.email.to: empty"))
	case len(em.To) > MaxRecipients:
		return notify.Invalid(fmt.Errorf("spec.email.to: %d recipients, at most %d", len(em.To), MaxRecipients))
	}
	for i, t := range em.To {
		a, err := mail.ParseAddress(t)
		if err != nil {
			return notify.Invalid(fmt.Errorf("spec.email.to[%d]: not an email address: %w", i, err))
		}
		s.to = append(s.to, a)
	}
	s.prefix = "[tether]"
	if em.SubjectPrefix != "" {
		s.prefix = strings.TrimSpace(stripCRLF(em.SubjectPrefix))
	}
	return nil
}

// Send delivers one email. SMTP 5xx answers (a refused login, a rejected
// recipient) and certificate errors are permanent; 4xx answers and
// network failures are retried.
func (s *SMTP) Send(ctx context.Context, e notify.Event) error {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", s.addr)
	if err != nil {
		return fmt.Errorf("smtp: %w", err)
	}
	defer conn.Close()
	deadline, _ := ctx.Deadline()
	_ = conn.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	if err := s.deliver(conn, e); err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("smtp: %s: %w", s.addr, ctx.Err())
		}
		return classifySMTP(err)
	}
	return nil
}

func (s *SMTP) deliver(conn net.Conn, e notify.Event) error {
	c, err := smtp.NewClient(conn, s.host)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Hello("tether"); err != nil {
		return err
	}
	if ok, _ := c.Extension("STARTTLS"); !ok {
		return notify.Permanent(errors.New("smtp: the server does not offer STARTTLS, which Tether requires"))
	}
	if err := c.StartTLS(&tls.Config{ServerName: s.host, RootCAs: s.roots, MinVersion: tls.VersionTLS12}); err != nil {
		return err
	}
	if s.user != "" {
		if err := c.Auth(smtp.PlainAuth("", s.user, s.password, s.host)); err != nil {
			return err
		}
	}
	if err := c.Mail(s.from.Address); err != nil {
		return err
	}
	for _, t := range s.to {
		if err := c.Rcpt(t.Address); err != nil {
			return err
		}
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write(s.message(e)); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	return c.Quit()
}

// message is the email, headers and quoted-printable body, CRLF lines.
func (s *SMTP) message(e notify.Event) []byte {
	date := e.Time
	if date.IsZero() {
		date = time.Now()
	}
	to := make([]string, len(s.to))
	for i, a := range s.to {
		to[i] = a.String()
	}
	var b strings.Builder
	h := func(k, v string) { b.WriteString(k + ": " + v + "\r\n") }
	h("From", s.from.String())
	h("To", strings.Join(to, ", "))
	h("Subject", mime.QEncoding.Encode("utf-8", stripCRLF(s.prefix+" "+e.Title())))
	h("Date", date.Format(time.RFC1123Z))
	h("Message-ID", "<"+randomID()+"@"+domainOf(s.from.Address)+">")
	h("MIME-Version", "1.0")
	h("Content-Type", "text/plain; charset=utf-8")
	h("Content-Transfer-Encoding", "quoted-printable")
	h("X-Tether-Event", e.Kind)
	b.WriteString("\r\n")
	qp := quotedprintable.NewWriter(&b)
	_, _ = qp.Write([]byte(strings.Join(e.Lines(), "\r\n") + "\r\n"))
	_ = qp.Close()
	return []byte(b.String())
}

// classifySMTP makes 5xx answers and TLS verification failures permanent.
// Errors from net/smtp quote the server's answer, never the password.
func classifySMTP(err error) error {
	if notify.IsPermanent(err) {
		return err
	}
	err = fmt.Errorf("smtp: %w", err)
	var tp *textproto.Error
	var cert *tls.CertificateVerificationError
	switch {
	case errors.As(err, &tp) && tp.Code >= 500:
		return notify.Permanent(err)
	case errors.As(err, &cert):
		return notify.Permanent(err)
	}
	return err
}

func stripCRLF(s string) string {
	return strings.NewReplacer("\r", " ", "\n", " ").Replace(s)
}

func domainOf(addr string) string {
	if i := strings.LastIndex(addr, "@"); i >= 0 && i < len(addr)-1 {
		return addr[i+1:]
	}
	return "tether"
}

func randomID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
