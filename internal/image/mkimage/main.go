// Command mkimage builds Tether's multi-platform OCI image from binaries
// built beforehand (`make image` builds them and runs it), writes it as an
// OCI layout and optionally pushes it. It lives beside package image, as
// devcluster lives beside testenv, so that it stays out of the tether
// binary and out of cmd/, which holds what ships.
//
//	mkimage -binary linux/amd64=bin/linux-amd64/tether -binary linux/arm64=… \
//	    -version V -revision SHA -source URL [-created UNIX] [-ca-file F] \
//	    [-out bin/image] [-push HOST/REPO:TAG [-insecure] [-registry-ca F]]
//
// -created defaults to $SOURCE_DATE_EPOCH. Push credentials come from
// TETHER_REGISTRY_USERNAME and TETHER_REGISTRY_PASSWORD and are never
// printed.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/tether-dev/tether/internal/image"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// errUsage marks bad flags (exit 2).
var errUsage = errors.New("usage")

// binaries is the repeatable -binary OS/ARCH=PATH flag.
type binaries []image.Binary

func (b *binaries) String() string { return "" }

func (b *binaries) Set(v string) error {
	platform, path, ok := strings.Cut(v, "=")
	goos, arch, ok2 := strings.Cut(platform, "/")
	if !ok || !ok2 || goos == "" || arch == "" || path == "" {
		return fmt.Errorf("%q is not OS/ARCH=PATH", v)
	}
	*b = append(*b, image.Binary{OS: goos, Arch: arch, Path: path})
	return nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	err := mkimage(ctx, args, stdout, stderr)
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		fmt.Fprintln(stderr, "mkimage:", err)
		return 2
	}
	fmt.Fprintln(stderr, "mkimage:", err)
	return 1
}

// flags are the parsed command line.
type flags struct {
	opts       image.Options
	out, push  string
	insecure   bool
	registryCA string
}

func parseFlags(args []string, stderr io.Writer) (flags, error) {
	fs := flag.NewFlagSet("mkimage", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var f flags
	var bins binaries
	fs.Var(&bins, "binary", "OS/ARCH=PATH of a static tether binary (repeatable, one per platform)")
	fs.StringVar(&f.opts.CACertFile, "ca-file", "/etc/ssl/certs/ca-certificates.crt", "the CA certificates (PEM) to put in the image")
	fs.StringVar(&f.opts.Source, "source", "", "label org.opencontainers.image.source")
	fs.StringVar(&f.opts.Revision, "revision", "", "label org.opencontainers.image.revision")
	fs.StringVar(&f.opts.Version, "version", "", "label org.opencontainers.image.version")
	created := fs.String("created", os.Getenv("SOURCE_DATE_EPOCH"), "creation time, Unix seconds (default $SOURCE_DATE_EPOCH)")
	fs.StringVar(&f.out, "out", "", "write the image as an OCI layout in this directory")
	fs.StringVar(&f.push, "push", "", "push the image index to HOST/REPO:TAG")
	fs.BoolVar(&f.insecure, "insecure", false, "allow plain http to the registry")
	fs.StringVar(&f.registryCA, "registry-ca", "", "PEM file of a CA the registry's certificate is signed by")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return f, err
		}
		return f, fmt.Errorf("%w: %v", errUsage, err)
	}
	f.opts.Binaries = bins
	switch {
	case fs.NArg() > 0:
		return f, fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	case f.out == "" && f.push == "":
		return f, fmt.Errorf("%w: give -out DIR, -push REF or both", errUsage)
	case f.opts.Version == "" || f.opts.Revision == "" || f.opts.Source == "":
		return f, fmt.Errorf("%w: -version, -revision and -source are required (they become the image's labels)", errUsage)
	}
	secs, err := strconv.ParseInt(*created, 10, 64)
	if err != nil || secs <= 0 {
		return f, fmt.Errorf("%w: -created (or SOURCE_DATE_EPOCH) %q is not Unix seconds", errUsage, *created)
	}
	f.opts.Created = time.Unix(secs, 0)
	return f, nil
}

func mkimage(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	idx, err := image.Build(f.opts)
	if err != nil {
		return err
	}
	if err := report(idx, stdout); err != nil {
		return err
	}
	if f.out != "" {
		if err := image.WriteLayout(f.out, idx, f.opts.Version); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "wrote OCI layout %s\n", f.out)
	}
	if f.push == "" {
		return nil
	}
	popts := image.PushOptions{
		Username: os.Getenv("TETHER_REGISTRY_USERNAME"),
		Password: os.Getenv("TETHER_REGISTRY_PASSWORD"),
		Insecure: f.insecure,
	}
	if f.registryCA != "" {
		if fi, err := os.Stat(f.registryCA); err == nil && fi.Size() > 1<<20 {
			return fmt.Errorf("registry CA %s: %d bytes, over the limit of 1 MiB", f.registryCA, fi.Size())
		}
		if popts.CABundle, err = os.ReadFile(f.registryCA); err != nil {
			return fmt.Errorf("registry CA: %w", err)
		}
	}
	ref, err := image.Push(ctx, idx, f.push, popts)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "pushed %s\n", ref)
	return nil
}

// report prints the index digest and each platform's size.
func report(idx v1.ImageIndex, w io.Writer) error {
	d, err := idx.Digest()
	if err != nil {
		return err
	}
	sizes, err := image.Sizes(idx)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "index %s\n", d)
	for _, s := range sizes {
		fmt.Fprintf(w, "  %-12s %6.1f MiB compressed, %6.1f MiB uncompressed\n",
			s.Platform, float64(s.Compressed)/(1<<20), float64(s.Uncompressed)/(1<<20))
	}
	return nil
}
