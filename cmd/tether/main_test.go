package main

import (
	"context"
	"os"
	"testing"

	"github.com/tether-dev/tether/internal/render/sandbox"
	"github.com/tether-dev/tether/internal/testenv"
)

// env is the real etcd + kube-apiserver every test of this package uses;
// each test works in namespaces of its own.
var env *testenv.Env

func TestMain(m *testing.M) {
	if os.Getenv(sandbox.ChildEnv) != "" {
		// Started by a render sandbox of an in-process CLI test: serve the
		// render as the real binary's hidden command does.
		os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(testenv.Run(m, testenv.APIServer, &env))
}
