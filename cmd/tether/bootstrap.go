package main

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tether-dev/tether/internal/bootstrap"
	"github.com/tether-dev/tether/internal/install"
	"github.com/tether-dev/tether/internal/kube"
	"github.com/tether-dev/tether/internal/source"
)

// bootstrapFlags are the flags of tether bootstrap beyond the install's.
type bootstrapFlags struct {
	repo, branch, path      string
	username, tokenEnv      string
	sshKey, knownHosts      string
	secretRef               string
	authorName, authorEmail string
	interval                time.Duration
	watch                   string
}

func newBootstrapCmd(g *globalFlags) *cobra.Command {
	var o install.Options
	var f bootstrapFlags
	cmd := &cobra.Command{
		Use:   "bootstrap --repo URL --path clusters/NAME",
		Short: "Install Tether and make it manage itself and --path from Git",
		Long: `Write Tether's install manifests (tether install --export) and an
Application that follows --path on --branch into the repository, under
PATH/NAMESPACE/, commit and push them (in process, over HTTPS or SSH, with
the credentials given), then install Tether and that Application in the
cluster. From then on the agent applies what is under --path, itself
included: upgrading Tether is a commit that changes its image in Git.

Running it again changes nothing when nothing changed (no commit). A push
the server refuses leaves the cluster as it was.

Credentials: --token-env VAR (a password or token in that environment
variable, with --username, default "git") for HTTPS; --ssh-key FILE and
--known-hosts FILE for SSH (host keys are checked strictly); or
--secret-ref NAME, an existing Secret in --namespace with the keys
tether install's agent reads (username/password or sshPrivateKey/knownHosts).
Credentials given by flag are stored in the Secret "tether-git" (or
--secret-ref) for the agent; they are never written to Git or printed.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runBootstrap(cmd, g, o, f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.repo, "repo", "", "the Git repository (https://, ssh://, git@host:path)")
	fl.StringVar(&f.branch, "branch", "main", "the branch to write to and follow")
	fl.StringVar(&f.path, "path", "", "the directory Tether manages, e.g. clusters/prod")
	fl.StringVar(&f.username, "username", "git", "with --token-env: the HTTPS user name")
	fl.StringVar(&f.tokenEnv, "token-env", "", "environment variable holding the HTTPS password or token")
	fl.StringVar(&f.sshKey, "ssh-key", "", "file with the SSH private key")
	fl.StringVar(&f.knownHosts, "known-hosts", "", "with --ssh-key: known_hosts file for the server (else /etc/ssh/ssh_known_hosts)")
	fl.StringVar(&f.secretRef, "secret-ref", "", "the credentials Secret in --namespace (read when no credential flag is given)")
	fl.StringVar(&f.authorName, "author-name", "Tether", "author of the bootstrap commit")
	fl.StringVar(&f.authorEmail, "author-email", "tether@localhost", "author e-mail of the bootstrap commit")
	fl.DurationVar(&f.interval, "interval", time.Minute, "how often the agent polls the repository")
	fl.StringVarP(&o.Namespace, "namespace", "n", "tether-system", "the agent's namespace")
	fl.StringVar(&o.Image, "image", "", "the agent's image (default "+install.DefaultImage(version)+")")
	fl.Int32Var(&o.Replicas, "replicas", 2, "agent replicas; above 1 they elect a leader")
	fl.StringVar(&f.watch, "watch-namespaces", "", "comma-separated namespaces: the agent may manage only these")
	return cmd
}

func runBootstrap(cmd *cobra.Command, g *globalFlags, o install.Options, f bootstrapFlags) error {
	if f.repo == "" || f.path == "" {
		return usageErr(fmt.Errorf("bootstrap needs --repo and --path"))
	}
	if f.watch != "" {
		o.WatchNamespaces = strings.Split(f.watch, ",")
	}
	objs, err := install.Objects(o, version)
	if err != nil {
		return usageErr(err)
	}
	var manifests bytes.Buffer
	if err := install.Export(&manifests, objs); err != nil {
		return err
	}
	c, err := g.client()
	if err != nil {
		return usageErr(err)
	}
	ns := o.Namespace
	auth, secret, err := f.credentials(cmd, c, ns)
	if err != nil {
		return err
	}
	bo := bootstrap.Options{
		RepoURL: f.repo, Branch: f.branch, Path: f.path, Namespace: ns,
		Auth: auth, SecretName: secret, SecretExists: f.secretRef != "" && f.tokenEnv == "" && f.sshKey == "",
		Install: manifests.Bytes(), Interval: f.interval,
		Commit: bootstrap.Commit{AuthorName: f.authorName, AuthorEmail: f.authorEmail},
	}
	// 1. Git first: a refused push leaves the cluster as it was.
	res, err := bootstrap.Push(cmd.Context(), bo)
	if err != nil {
		return &exitError{code: 1, err: err}
	}
	out := cmd.OutOrStdout()
	if res.Commit == "" {
		fmt.Fprintf(out, "%s on %s already holds Tether's manifests: no commit\n", f.path, f.branch)
	} else {
		fmt.Fprintf(out, "pushed %s to %s (%s)\n", shortSHA(res.Commit), f.branch, strings.Join(res.Files, ", "))
	}
	// 2. The agent, then its credentials and the Application.
	outcomes, err := install.Apply(cmd.Context(), c, objs)
	printOutcomes(cmd, outcomes)
	if err != nil {
		return runErr(err)
	}
	if err := bootstrap.Apply(cmd.Context(), c, bo); err != nil {
		return runErr(err)
	}
	fmt.Fprintf(out, "application %s/%s follows %s on %s\n", ns, bo.Application().Name, f.path, f.branch)
	return nil
}

// credentials returns the push credentials and the Secret the agent
// reads them from ("" for anonymous access).
func (f bootstrapFlags) credentials(cmd *cobra.Command, c *kube.Client, ns string) (source.Auth, string, error) {
	secret := f.secretRef
	var a source.Auth
	switch {
	case f.tokenEnv != "":
		tok := os.Getenv(f.tokenEnv)
		if tok == "" {
			return a, "", usageErr(fmt.Errorf("--token-env %s: the variable is empty or unset", f.tokenEnv))
		}
		a.Username, a.Password = f.username, tok
	case f.sshKey != "":
		key, err := os.ReadFile(f.sshKey)
		if err != nil {
			return a, "", usageErr(fmt.Errorf("--ssh-key: %w", err))
		}
		a.SSHPrivateKey = key
		if f.knownHosts != "" {
			if a.SSHKnownHosts, err = os.ReadFile(f.knownHosts); err != nil {
				return a, "", usageErr(fmt.Errorf("--known-hosts: %w", err))
			}
		}
	case secret != "":
		s, err := c.Clientset.CoreV1().Secrets(ns).Get(cmd.Context(), secret, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return a, "", usageErr(fmt.Errorf("--secret-ref %s: no such Secret in namespace %s", secret, ns))
		}
		if err != nil {
			return a, "", runErr(err)
		}
		a = source.AuthFromSecret(s.Data)
		return a, secret, nil // used as it is
	default:
		return a, "", nil
	}
	if secret == "" {
		secret = "tether-git"
	}
	return a, secret, nil
}
