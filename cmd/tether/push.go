package main

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tether-dev/tether/internal/source"
	"github.com/tether-dev/tether/internal/source/artifact"
)

func newPushCmd() *cobra.Command {
	push := &cobra.Command{
		Use:   "push",
		Short: "Publish to a registry",
	}
	push.AddCommand(newPushArtifactCmd())
	return push
}

// pushFlags are `tether push artifact`'s flags.
type pushFlags struct {
	path, source, revision, created string
	creds, caFile                   string
	insecure                        bool
	timeout                         time.Duration
}

func newPushArtifactCmd() *cobra.Command {
	var f pushFlags
	cmd := &cobra.Command{
		Use:   "artifact oci://HOST/REPO:TAG --path DIR",
		Short: "Pack a directory and push it as an OCI artifact in Flux's format",
		Long: `Pack DIR (plain files and directories; a symbolic link is an error, .git is
left out) into a tarball that is the same for the same tree, and push it to
the registry as TAG, in the format of ` + "`flux push artifact`" + `. Prints the
manifest's digest: the same tree with the same --source, --revision and
--created gives the same digest. Credentials: --creds USER:PASSWORD, or the
environment variables TETHER_REGISTRY_USERNAME and TETHER_REGISTRY_PASSWORD.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if err := cobra.ExactArgs(1)(cmd, args); err != nil {
				return usageErr(err)
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			return f.run(cmd, args[0])
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.path, "path", "", "directory to pack (required)")
	fl.StringVar(&f.source, "source", "", "where the tree comes from, e.g. the Git repository URL (annotation org.opencontainers.image.source)")
	fl.StringVar(&f.revision, "revision", "", "its revision, e.g. main@sha1:SHA (annotation org.opencontainers.image.revision)")
	fl.StringVar(&f.created, "created", "", "creation time, RFC 3339 (annotation org.opencontainers.image.created; default $SOURCE_DATE_EPOCH, else none)")
	fl.StringVar(&f.creds, "creds", "", "registry credentials USER:PASSWORD (default: env TETHER_REGISTRY_USERNAME and TETHER_REGISTRY_PASSWORD)")
	fl.StringVar(&f.caFile, "ca-file", "", "PEM certificates to trust for the registry, besides the system's")
	fl.BoolVar(&f.insecure, "insecure", false, "allow plain http to the registry")
	fl.DurationVar(&f.timeout, "timeout", artifact.DefaultTimeout, "bound on the whole push")
	return cmd
}

func (f *pushFlags) run(cmd *cobra.Command, ref string) error {
	repoURL, tag, err := splitTag(ref)
	if err != nil {
		return usageErr(err)
	}
	if f.path == "" {
		return usageErr(errors.New("--path is required"))
	}
	if st, err := os.Stat(f.path); err != nil || !st.IsDir() {
		return usageErr(fmt.Errorf("--path %s: not a directory", f.path))
	}
	auth, err := f.auth()
	if err != nil {
		return usageErr(err)
	}
	meta := artifact.Meta{Source: f.source, Revision: f.revision}
	if meta.Created, err = f.createdTime(); err != nil {
		return usageErr(err)
	}
	digest, err := artifact.Push(cmd.Context(), repoURL, tag, f.path, meta, auth,
		artifact.PushOptions{Insecure: f.insecure, Timeout: f.timeout})
	if errors.Is(err, source.ErrInvalid) {
		return usageErr(err) // the reference or the tree: bad input
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "pushed %s to %s:%s\n", f.path, repoURL, tag)
	fmt.Fprintln(cmd.OutOrStdout(), digest)
	return nil
}

// splitTag splits oci://HOST/REPO:TAG into the repository URL and the tag.
func splitTag(ref string) (repoURL, tag string, err error) {
	if !strings.HasPrefix(ref, "oci://") {
		return "", "", fmt.Errorf("%s: want oci://HOST/REPO:TAG", ref)
	}
	i := strings.LastIndexByte(ref, ':')
	if i <= strings.LastIndexByte(ref, '/') || strings.Contains(ref, "@") {
		return "", "", fmt.Errorf("%s: want oci://HOST/REPO:TAG (a tag, not a digest)", ref)
	}
	return ref[:i], ref[i+1:], nil
}

// auth is --creds, else the environment; --ca-file adds a CA bundle.
func (f *pushFlags) auth() (source.Auth, error) {
	var a source.Auth
	if f.creds != "" {
		user, pass, ok := strings.Cut(f.creds, ":")
		if !ok {
			return a, errors.New("--creds: want USER:PASSWORD")
		}
		a.Username, a.Password = user, pass
	} else {
		a.Username, a.Password = os.Getenv("TETHER_REGISTRY_USERNAME"), os.Getenv("TETHER_REGISTRY_PASSWORD")
	}
	if f.caFile != "" {
		pem, err := os.ReadFile(f.caFile)
		if err != nil {
			return a, fmt.Errorf("--ca-file: %w", err)
		}
		a.CABundle = pem
	}
	return a, nil
}

// createdTime is --created, else $SOURCE_DATE_EPOCH (the reproducible
// builds convention), else zero: no created annotation, so that pushing
// the same tree again gives the same digest.
func (f *pushFlags) createdTime() (time.Time, error) {
	if f.created != "" {
		t, err := time.Parse(time.RFC3339, f.created)
		if err != nil {
			return time.Time{}, fmt.Errorf("--created %q: want RFC 3339, e.g. 2026-01-02T15:04:05Z", f.created)
		}
		return t, nil
	}
	if s := os.Getenv("SOURCE_DATE_EPOCH"); s != "" {
		sec, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return time.Time{}, fmt.Errorf("SOURCE_DATE_EPOCH %q: want seconds since 1970", s)
		}
		return time.Unix(sec, 0).UTC(), nil
	}
	return time.Time{}, nil
}
