package reconcile

import (
	"context"
	"errors"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tether-dev/tether/internal/apis/v1alpha1"
	"github.com/tether-dev/tether/internal/source"
)

// fetch resolves the app's credentials and fetches the revision.
func (r *Reconciler) fetch(ctx context.Context, app *v1alpha1.Application, revision string) (source.Revision, error) {
	auth, err := r.Auth(ctx, app)
	if err != nil {
		return source.Revision{}, err
	}
	rev, err := r.Fetcher.Fetch(ctx, app.Spec.Source.RepoURL, revision, auth)
	if err != nil {
		if errors.Is(err, source.ErrNotFound) || errors.Is(err, source.ErrAuth) || errors.Is(err, source.ErrUnreachable) {
			return rev, needsUser("source", err)
		}
		return rev, transient("source", err)
	}
	return rev, nil
}

// Auth reads the credentials Secret named by spec.source.secretRef. Its
// values are never printed.
func (r *Reconciler) Auth(ctx context.Context, app *v1alpha1.Application) (source.Auth, error) {
	ref := app.Spec.Source.SecretRef
	if ref == nil {
		return source.Auth{}, nil
	}
	s, err := r.Client.Clientset.CoreV1().Secrets(app.Namespace).Get(ctx, ref.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return source.Auth{}, needsUser("source", fmt.Errorf("credentials secret %s/%s: %w", app.Namespace, ref.Name, err))
	}
	if err != nil {
		return source.Auth{}, transient("source", fmt.Errorf("credentials secret %s/%s: %w", app.Namespace, ref.Name, err))
	}
	return source.Auth{
		Username:      string(s.Data["username"]),
		Password:      string(s.Data["password"]),
		SSHPrivateKey: s.Data["sshPrivateKey"],
		SSHKnownHosts: s.Data["knownHosts"],
		BearerToken:   string(s.Data["bearerToken"]),
		CABundle:      s.Data["ca.crt"],
		ClientCert:    s.Data["tls.crt"],
		ClientKey:     s.Data["tls.key"],
	}, nil
}

// branchHead is the commit the branch of a pinned app is at, for its sync
// status; "" when it cannot be read (the sync goes on: the pin decides).
func (r *Reconciler) branchHead(ctx context.Context, app *v1alpha1.Application) string {
	auth, err := r.Auth(ctx, app)
	if err != nil {
		return ""
	}
	sha, err := r.Fetcher.Resolve(ctx, app.Spec.Source.RepoURL, app.Spec.Source.TargetRevision, auth)
	if err != nil {
		return ""
	}
	return sha
}
