package source

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"time"
)

// run executes one git command with the session's environment (plus
// extraEnv) in dir (may be ""), and returns its stdout. A failure is a
// classError: its message is redacted and names the git subcommand, and it
// wraps the class derived from stderr, and ctx's error when ctx ended.
func (f *Fetcher) run(ctx context.Context, s *session, dir string, extraEnv []string, args ...string) ([]byte, error) {
	if f.trace != nil {
		f.trace(args)
	}
	cmd := exec.CommandContext(ctx, f.gitPath(), args...)
	cmd.Dir = dir
	cmd.Env = append(append([]string(nil), s.env...), extraEnv...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	setProcessGroup(cmd)
	// git may leave a helper (ssh, git-remote-https) holding the pipes.
	cmd.WaitDelay = 5 * time.Second
	err := cmd.Run()
	if err == nil {
		return stdout.Bytes(), nil
	}
	op := "git " + subcommand(args)
	class := classify(stderr.String())
	msg := redact(summarize(stderr.String()), s.secrets...)
	if ctx.Err() != nil {
		return nil, &classError{msg: fmt.Sprintf("%s: %v", op, ctx.Err()), cause: ctx.Err()}
	}
	var exit *exec.ExitError
	if !errors.As(err, &exit) {
		// git could not be started at all.
		return nil, &classError{msg: fmt.Sprintf("%s: %v", op, redact(err.Error(), s.secrets...)), cause: err}
	}
	if msg == "" {
		msg = exit.String()
	}
	return nil, &classError{class: class, msg: op + ": " + msg, cause: exit}
}

// subcommand returns the git subcommand in args, skipping global options.
func subcommand(args []string) string {
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "-C" || a == "-c":
			i++
		case strings.HasPrefix(a, "-"):
		default:
			return a
		}
	}
	return "?"
}

func (f *Fetcher) gitPath() string {
	if f.Git != "" {
		return f.Git
	}
	return "git"
}
