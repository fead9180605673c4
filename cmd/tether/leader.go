package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sync/atomic"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"

	"github.com/tether-dev/tether/internal/kube"
)

// leadAndRun runs fn only while this process holds the Lease; when it
// loses the Lease it stops (another replica has taken over).
func leadAndRun(ctx context.Context, c *kube.Client, f runFlags, log *slog.Logger, fn func(context.Context) error) error {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: f.leaseNamespace}}
	// Forbidden: an agent limited to some namespaces may not create
	// namespaces; its install made this one.
	if _, err := c.Clientset.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) && !apierrors.IsForbidden(err) {
		return runErr(fmt.Errorf("leader election namespace: %w", err))
	}
	host, _ := os.Hostname()
	id := fmt.Sprintf("%s_%d", host, os.Getpid())
	lock := &resourcelock.LeaseLock{
		LeaseMeta:  metav1.ObjectMeta{Namespace: f.leaseNamespace, Name: f.leaseName},
		Client:     c.Clientset.CoordinationV1(),
		LockConfig: resourcelock.ResourceLockConfig{Identity: id},
	}
	// The elector runs on its own context, cancelled only after fn has
	// returned: on SIGTERM the agent finishes its syncs within its grace
	// while still holding the Lease, and only then releases it, so no
	// other replica reconciles the same apps at the same time.
	leCtx, cancelLE := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelLE()
	var started atomic.Bool
	done := make(chan struct{})
	var fnErr error // written before done is closed
	stopIdle := context.AfterFunc(ctx, func() {
		if !started.Load() {
			cancelLE() // never led: just stop campaigning
		}
	})
	defer stopIdle()
	le, err := leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
		Lock:            lock,
		LeaseDuration:   f.leaseDuration,
		RenewDeadline:   f.leaseDuration * 2 / 3,
		RetryPeriod:     f.leaseDuration / 5,
		ReleaseOnCancel: true,
		Name:            "tether",
		Callbacks: leaderelection.LeaderCallbacks{
			OnStartedLeading: func(lctx context.Context) {
				started.Store(true)
				log.Info("leading", "identity", id, "lease", f.leaseNamespace+"/"+f.leaseName)
				runCtx, cancel := context.WithCancel(lctx)
				stop := context.AfterFunc(ctx, cancel) // SIGTERM stops the agent
				fnErr = fn(runCtx)
				stop()
				cancel()
				close(done)
				cancelLE() // now release the Lease
			},
			OnStoppedLeading: func() { log.Info("no longer leading", "identity", id) },
			OnNewLeader: func(leader string) {
				if leader != id {
					log.Info("standing by", "leader", leader)
				}
			},
		},
	})
	if err != nil {
		return usageErr(err)
	}
	le.Run(leCtx)
	if started.Load() {
		<-done // lost the Lease or told to stop: let the agent finish first
	}
	return fnErr
}
