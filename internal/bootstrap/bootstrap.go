package bootstrap

import (
	"context"
	"fmt"
	"path"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/tether-dev/tether/internal/apis/v1alpha1"
	"github.com/tether-dev/tether/internal/appctl"
	"github.com/tether-dev/tether/internal/kube"
	"github.com/tether-dev/tether/internal/source"
)

// Options say what to bootstrap.
type Options struct {
	// RepoURL, Branch and Path name where Tether's manifests go; the
	// Application made follows Path on Branch.
	RepoURL, Branch, Path string
	// Auth is used for the push and, stored in the Secret SecretName,
	// by the agent for its fetches. Empty: anonymous.
	Auth source.Auth
	// SecretName is the credentials Secret in Namespace (created or
	// updated from Auth when Auth is set; used as it is otherwise).
	SecretName string
	// SecretExists says the Secret is the user's: it is read, never written.
	SecretExists bool
	// Namespace is where the agent and its Application live.
	Namespace string
	// Name of the Application (default "tether-system").
	Name string
	// Install is the install manifests (a YAML stream), written to Git.
	Install []byte
	// Interval is the Application's poll interval (default 1m).
	Interval time.Duration
	Commit   Commit
	Now      func() time.Time
}

// Result says what bootstrap did.
type Result struct {
	// Commit is the commit pushed ("" when Git already held the files).
	Commit string
	Files  []string
}

// Files returns the files bootstrap writes under opts.Path.
func (o Options) Files() (Files, error) {
	app, err := yaml.Marshal(o.Application())
	if err != nil {
		return nil, err
	}
	dir := path.Join(strings.Trim(o.Path, "/"), o.Namespace)
	return Files{
		path.Join(dir, "tether.yaml"):      o.Install,
		path.Join(dir, "application.yaml"): app,
	}, nil
}

// Application is the Application that makes Tether manage Path (itself
// included) from Git: automated, with prune and self-heal.
func (o Options) Application() *v1alpha1.Application {
	app := &v1alpha1.Application{}
	app.APIVersion, app.Kind = v1alpha1.Group+"/"+v1alpha1.Version, v1alpha1.Kind
	app.Name, app.Namespace = o.appName(), o.Namespace
	app.Spec.Source = v1alpha1.Source{RepoURL: o.RepoURL, TargetRevision: o.Branch, Path: strings.Trim(o.Path, "/")}
	if o.SecretName != "" {
		app.Spec.Source.SecretRef = &v1alpha1.LocalObjectReference{Name: o.SecretName}
	}
	app.Spec.Destination.Namespace = o.Namespace
	app.Spec.SyncPolicy = v1alpha1.SyncPolicy{Automated: true, Prune: true, SelfHeal: true}
	if o.Interval > 0 {
		app.Spec.SyncPolicy.Interval = &metav1.Duration{Duration: o.Interval}
	}
	return app
}

func (o Options) appName() string {
	if o.Name != "" {
		return o.Name
	}
	return "tether-system"
}

// Push writes the files into Git and pushes them (step 1: nothing in the
// cluster has changed when it fails).
func Push(ctx context.Context, o Options) (Result, error) {
	if o.RepoURL == "" || o.Branch == "" || strings.Trim(o.Path, "/") == "" {
		return Result{}, fmt.Errorf("bootstrap needs --repo, --branch and --path")
	}
	files, err := o.Files()
	if err != nil {
		return Result{}, err
	}
	auth, err := source.TransportAuth(o.RepoURL, o.Auth)
	if err != nil {
		return Result{}, err
	}
	now := time.Now
	if o.Now != nil {
		now = o.Now
	}
	c := o.Commit
	if c.Message == "" {
		c.Message = "Tether bootstrap: " + path.Join(strings.Trim(o.Path, "/"), o.Namespace)
	}
	if c.AuthorName == "" {
		c.AuthorName, c.AuthorEmail = "Tether", "tether@localhost"
	}
	sha, err := writeAndPush(ctx, o.RepoURL, o.Branch, auth, files, c, now())
	if err != nil {
		return Result{}, redact(err, o.Auth)
	}
	res := Result{Commit: sha}
	for f := range files {
		res.Files = append(res.Files, f)
	}
	return res, nil
}

// Apply creates or updates the credentials Secret and the Application
// in the cluster (step 3, after the install was applied).
func Apply(ctx context.Context, c *kube.Client, o Options) error {
	if o.SecretName != "" && !o.SecretExists && !emptyAuth(o.Auth) {
		if err := applySecret(ctx, c, o); err != nil {
			return err
		}
	}
	if _, err := appctl.Upsert(ctx, c, o.Application()); err != nil {
		return fmt.Errorf("application %s/%s: %w", o.Namespace, o.appName(), err)
	}
	return nil
}

func applySecret(ctx context.Context, c *kube.Client, o Options) error {
	data := o.Auth.SecretData()
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: o.SecretName, Namespace: o.Namespace}, Data: data}
	secrets := c.Clientset.CoreV1().Secrets(o.Namespace)
	live, err := secrets.Get(ctx, o.SecretName, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		_, err = secrets.Create(ctx, s, metav1.CreateOptions{FieldManager: "tether-bootstrap"})
	case err == nil:
		live.Data = data
		_, err = secrets.Update(ctx, live, metav1.UpdateOptions{FieldManager: "tether-bootstrap"})
	}
	if err != nil {
		return fmt.Errorf("credentials secret %s/%s: %w", o.Namespace, o.SecretName, err)
	}
	return nil
}

func emptyAuth(a source.Auth) bool {
	return a.Username == "" && a.Password == "" && len(a.SSHPrivateKey) == 0
}

// redact removes the credentials from an error.
func redact(err error, a source.Auth) error {
	msg := err.Error()
	changed := false
	for _, s := range a.Secrets() {
		if strings.Contains(msg, s) {
			msg, changed = strings.ReplaceAll(msg, s, "[redacted]"), true
		}
	}
	if changed {
		return fmt.Errorf("%s", msg)
	}
	return err
}
