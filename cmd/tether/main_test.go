package main

import (
	"os"
	"testing"

	"github.com/tether-dev/tether/internal/testenv"
)

// env is the real etcd + kube-apiserver every test of this package uses;
// each test works in namespaces of its own.
var env *testenv.Env

func TestMain(m *testing.M) { os.Exit(testenv.Run(m, testenv.APIServer, &env)) }
