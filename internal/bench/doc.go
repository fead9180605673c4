// Package bench holds whole-sync benchmarks against the real local API
// server, each measured beside its references in the same run: kubectl
// apply --server-side, and a bare loop of concurrent server-side-apply
// PATCHes (the floor). Run them with `make bench`.
package bench
