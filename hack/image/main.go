// Command image builds Flotilla's container image from a static flotilla binary, with no
// base image, no Docker and no network: an OCI image layout, optionally a tarball for
// `docker load`, and optionally a push. `make image` runs it; see docs/image.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
)

const usage = `Usage: go run ./hack/image --binary PATH --out DIR [flags]

Build Flotilla's image from a static flotilla binary (CGO_ENABLED=0): no base image is
pulled, the base is made here. Layer 1: /etc/passwd and /etc/group with the user nonroot
(65532:65532, home /home/nonroot), /home/nonroot, /tmp and the CA bundle. Layer 2: the binary
at /usr/local/bin/flotilla (0755), the entrypoint. The image runs as 65532:65532 in
/home/nonroot.

Every mtime and the created time are SOURCE_DATE_EPOCH (seconds; the Unix epoch when
unset), so the same binary and flags give the same digest.

Nothing but --push uses the network; it authenticates as docker login does.

Flags:
`

// config is the command line.
type config struct {
	Options
	Out, Tarball, Push string
}

func main() {
	cfg, err := parseFlags(os.Args[1:], os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	err = run(ctx, cfg, os.Stdout)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

// parseFlags reads the command line and SOURCE_DATE_EPOCH.
func parseFlags(args []string, stderr io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("image", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, usage)
		fs.PrintDefaults()
	}
	fs.StringVar(&c.Binary, "binary", "", "`PATH` of the static flotilla binary to put in (required)")
	fs.StringVar(&c.Out, "out", "", "write an OCI image layout to the folder `DIR`, replacing the layout that was there")
	fs.StringVar(&c.Tarball, "tarball", "", "also write a tarball for docker load (or crane push) to `FILE`")
	fs.StringVar(&c.Push, "push", "", "also push to `REF` (registry/repo:tag), with the credentials of docker login")
	fs.StringVar(&c.Version, "version", "dev", "the version `V`: the org.opencontainers.image.version label and the tag of the layout and tarball")
	fs.StringVar(&c.Revision, "revision", "", "the git `COMMIT`, for the org.opencontainers.image.revision label (none when empty)")
	fs.StringVar(&c.Source, "source", "https://github.com/flotilla-dev/flotilla", "the `URL` for the org.opencontainers.image.source label")
	fs.StringVar(&c.Arch, "arch", runtime.GOARCH, "the `GOARCH` the binary was built for: the image's architecture")
	fs.StringVar(&c.CABundle, "ca-bundle", DefaultCABundle, "`PATH` of the PEM CA bundle to ship at /etc/ssl/certs/ca-certificates.crt; '' ships none")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments %q: every input is a flag (see --help)", fs.Args())
	}
	if c.Binary == "" {
		return c, errors.New("--binary is required (see --help)")
	}
	if c.Out == "" && c.Tarball == "" && c.Push == "" {
		return c, errors.New("nothing to write: give --out, --tarball or --push (see --help)")
	}
	var err error
	c.Created, err = sourceDateEpoch(os.Getenv("SOURCE_DATE_EPOCH"))
	return c, err
}

// sourceDateEpoch follows https://reproducible-builds.org/specs/source-date-epoch/: the
// time as Unix seconds, and a fixed time (the epoch) when unset, never the clock.
func sourceDateEpoch(v string) (time.Time, error) {
	if v == "" {
		return time.Unix(0, 0).UTC(), nil
	}
	s, err := strconv.ParseInt(v, 10, 64)
	if err != nil || s < 0 {
		return time.Time{}, fmt.Errorf("SOURCE_DATE_EPOCH=%q is not a count of seconds since 1970", v)
	}
	return time.Unix(s, 0).UTC(), nil
}

// run builds the image and writes it wherever the flags say.
func run(ctx context.Context, c config, stdout io.Writer) error {
	img, err := Build(c.Options)
	if err != nil {
		return err
	}
	digest, err := img.Digest()
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "image %s\n", digest)
	if c.Out != "" {
		if err := writeLayout(c.Out, c.Version, img); err != nil {
			return fmt.Errorf("OCI layout %s: %w", c.Out, err)
		}
		fmt.Fprintf(stdout, "wrote OCI layout %s (ref %s)\n", c.Out, c.Version)
	}
	if c.Tarball != "" {
		tag, err := tarballTag(c)
		if err != nil {
			return err
		}
		if err := writeTarball(c.Tarball, tag, img); err != nil {
			return fmt.Errorf("tarball %s: %w", c.Tarball, err)
		}
		fmt.Fprintf(stdout, "wrote tarball %s (tag %s)\n", c.Tarball, tag)
	}
	if c.Push != "" {
		if err := push(ctx, c.Push, img); err != nil {
			return fmt.Errorf("push %s: %w", c.Push, err)
		}
		fmt.Fprintf(stdout, "pushed %s@%s\n", c.Push, digest)
	}
	return nil
}

// tarballTag is the tag `docker load` gives the image: the pushed tag when there is one, so
// both name the same image, otherwise flotilla:VERSION.
func tarballTag(c config) (string, error) {
	if c.Push != "" {
		if _, err := name.NewTag(c.Push); err == nil {
			return c.Push, nil
		}
	}
	tag := "flotilla:" + c.Version
	if _, err := name.NewTag(tag); err != nil {
		return "", fmt.Errorf("--version %q cannot be a tag (letters, digits, '_', '.', '-', at most 128): %w", c.Version, err)
	}
	return tag, nil
}
