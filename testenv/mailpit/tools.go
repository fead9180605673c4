//go:build tools

// Package mailpit pins Mailpit, the SMTP server (with an HTTP API to read
// what it received) that tests of the email notifier send to. A module of
// its own.
package mailpit

import (
	_ "github.com/axllent/mailpit"
)
