package main

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"flag"
	"io"
	"log"
	"math/big"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/google/go-containerregistry/pkg/v1/validate"
)

// The version and revision the test stamps into its binary, as make image does.
const (
	testVersion  = "v9.9.9-imagetest"
	testRevision = "0123456789abcdef0123456789abcdef01234567"
)

// TestImage builds a real static flotilla binary, builds the image from it as make image
// does, reads the image back from the OCI layout and checks what a cluster would run.
func TestImage(t *testing.T) {
	bin := buildStaticFlotilla(t)
	bundle := writeTestCABundle(t)
	created := time.Unix(1_700_000_000, 0).UTC()
	c := config{
		Options: Options{
			Binary:   bin,
			Arch:     runtime.GOARCH,
			Version:  testVersion,
			Revision: testRevision,
			Source:   "https://github.com/flotilla-dev/flotilla",
			CABundle: bundle,
			Created:  created,
		},
		Out:     filepath.Join(t.TempDir(), "oci"),
		Tarball: filepath.Join(t.TempDir(), "flotilla.tar"),
	}
	var out bytes.Buffer
	if err := run(context.Background(), c, &out); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	img, desc := readLayout(t, c.Out)

	t.Run("layout", func(t *testing.T) {
		if got := desc.Annotations["org.opencontainers.image.ref.name"]; got != testVersion {
			t.Errorf("ref.name annotation = %q, want %q", got, testVersion)
		}
		if desc.Platform == nil || desc.Platform.OS != "linux" || desc.Platform.Architecture != runtime.GOARCH {
			t.Errorf("platform = %+v, want linux/%s", desc.Platform, runtime.GOARCH)
		}
		if desc.MediaType != types.OCIManifestSchema1 {
			t.Errorf("manifest media type = %s, want %s", desc.MediaType, types.OCIManifestSchema1)
		}
		if !strings.Contains(out.String(), "image "+desc.Digest.String()) {
			t.Errorf("run printed %q, want the digest %s", out.String(), desc.Digest)
		}
		// Digests, sizes and diff ids agree with the blobs, as a registry and a runtime check.
		if err := validate.Image(img); err != nil {
			t.Errorf("the image read back is not valid: %v", err)
		}
		layers, err := img.Layers()
		if err != nil {
			t.Fatal(err)
		}
		if len(layers) != 2 {
			t.Fatalf("%d layers, want 2 (base files, binary)", len(layers))
		}
	})

	t.Run("config", func(t *testing.T) {
		cf, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(cf.Config.Entrypoint, []string{"/usr/local/bin/flotilla"}) {
			t.Errorf("entrypoint = %q", cf.Config.Entrypoint)
		}
		if cf.Config.User != "65532:65532" {
			t.Errorf("user = %q, want 65532:65532", cf.Config.User)
		}
		if cf.Config.WorkingDir != "/home/nonroot" {
			t.Errorf("working dir = %q, want /home/nonroot", cf.Config.WorkingDir)
		}
		if !slices.Contains(cf.Config.Env, "SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt") {
			t.Errorf("env = %q, want SSL_CERT_FILE set", cf.Config.Env)
		}
		if cf.OS != "linux" || cf.Architecture != runtime.GOARCH {
			t.Errorf("platform = %s/%s, want linux/%s", cf.OS, cf.Architecture, runtime.GOARCH)
		}
		if !cf.Created.Equal(created) {
			t.Errorf("created = %s, want %s", cf.Created.Time, created)
		}
		want := map[string]string{
			"org.opencontainers.image.title":    "flotilla",
			"org.opencontainers.image.version":  testVersion,
			"org.opencontainers.image.revision": testRevision,
			"org.opencontainers.image.source":   "https://github.com/flotilla-dev/flotilla",
		}
		for k, v := range want {
			if got := cf.Config.Labels[k]; got != v {
				t.Errorf("label %s = %q, want %q", k, got, v)
			}
		}
	})

	fsys := extract(t, img)
	t.Run("files", func(t *testing.T) {
		binHdr := fsys.header(t, "usr/local/bin/flotilla")
		if binHdr.Typeflag != tar.TypeReg || binHdr.Mode != 0o755 || binHdr.Uid != 0 {
			t.Errorf("/usr/local/bin/flotilla: type %c mode %o uid %d, want a regular file, 0755, root", binHdr.Typeflag, binHdr.Mode, binHdr.Uid)
		}
		want, err := os.ReadFile(bin)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(fsys.data["usr/local/bin/flotilla"], want) {
			t.Errorf("/usr/local/bin/flotilla differs from the binary built")
		}
		if !hasLine(fsys.data["etc/passwd"], "nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin") {
			t.Errorf("/etc/passwd names no nonroot user 65532:\n%s", fsys.data["etc/passwd"])
		}
		if !hasLine(fsys.data["etc/group"], "nonroot:x:65532:") {
			t.Errorf("/etc/group names no nonroot group 65532:\n%s", fsys.data["etc/group"])
		}
		if home := fsys.header(t, "home/nonroot"); home.Typeflag != tar.TypeDir || home.Uid != 65532 || home.Gid != 65532 {
			t.Errorf("/home/nonroot: type %c owner %d:%d, want a directory of 65532:65532", home.Typeflag, home.Uid, home.Gid)
		}
		if tmp := fsys.header(t, "tmp"); tmp.Typeflag != tar.TypeDir || tmp.Mode != 0o1777 {
			t.Errorf("/tmp: type %c mode %o, want a directory, 1777", tmp.Typeflag, tmp.Mode)
		}
		wantBundle, err := os.ReadFile(bundle)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(fsys.data["etc/ssl/certs/ca-certificates.crt"], wantBundle) {
			t.Errorf("/etc/ssl/certs/ca-certificates.crt is not the bundle given")
		}
		for name, h := range fsys.headers {
			if !h.ModTime.Equal(created) {
				t.Errorf("%s: mtime %s, want SOURCE_DATE_EPOCH %s", name, h.ModTime, created)
			}
		}
	})

	t.Run("binary runs", func(t *testing.T) {
		extracted := filepath.Join(t.TempDir(), "flotilla")
		if err := os.WriteFile(extracted, fsys.data["usr/local/bin/flotilla"], 0o755); err != nil {
			t.Fatal(err)
		}
		help, err := exec.Command(extracted, "--help").CombinedOutput()
		if err != nil || !strings.Contains(string(help), "flotilla") {
			t.Errorf("flotilla --help from the image: %v\n%s", err, help)
		}
		ver, err := exec.Command(extracted, "version").CombinedOutput()
		if want := "flotilla " + testVersion + " (revision " + testRevision + ")\n"; err != nil || string(ver) != want {
			t.Errorf("flotilla version from the image: %v, %q; want %q", err, ver, want)
		}
	})

	t.Run("tarball", func(t *testing.T) {
		m, err := tarball.LoadManifest(func() (io.ReadCloser, error) { return os.Open(c.Tarball) })
		if err != nil {
			t.Fatal(err)
		}
		if len(m) != 1 || !slices.Equal(m[0].RepoTags, []string{"flotilla:" + testVersion}) {
			t.Fatalf("tarball manifest %+v, want one image tagged flotilla:%s", m, testVersion)
		}
		timg, err := tarball.ImageFromPath(c.Tarball, nil)
		if err != nil {
			t.Fatal(err)
		}
		got, err := timg.ConfigName()
		if err != nil {
			t.Fatal(err)
		}
		want, err := img.ConfigName()
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("tarball's config %s, layout's %s: not the same image", got, want)
		}
	})

	t.Run("reproducible", func(t *testing.T) {
		// A second build into the same folder replaces the layout and gives the same digest.
		if err := run(context.Background(), config{Options: c.Options, Out: c.Out}, io.Discard); err != nil {
			t.Fatal(err)
		}
		again, againDesc := readLayout(t, c.Out)
		if againDesc.Digest != desc.Digest {
			t.Errorf("second build: digest %s, first %s", againDesc.Digest, desc.Digest)
		}
		if got, want := digest(t, again), digest(t, img); got != want {
			t.Errorf("second build's image digest %s, first %s", got, want)
		}
		// The time is really in the digest: another SOURCE_DATE_EPOCH gives another image.
		later := c.Options
		later.Created = created.Add(time.Second)
		laterImg, err := Build(later)
		if err != nil {
			t.Fatal(err)
		}
		if digest(t, laterImg) == desc.Digest {
			t.Errorf("a build at another SOURCE_DATE_EPOCH has the same digest %s", desc.Digest)
		}
	})

	// make image PUSH=...: the same run, pushing to a registry on loopback (go-containerregistry's
	// own, in memory), and the pushed image reads back with the layout's digest.
	t.Run("push", func(t *testing.T) {
		srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
		defer srv.Close()
		ref := strings.TrimPrefix(srv.URL, "http://") + "/team/flotilla:" + testVersion
		pushed := c
		pushed.Out, pushed.Tarball, pushed.Push = "", "", ref
		var out bytes.Buffer
		if err := run(context.Background(), pushed, &out); err != nil {
			t.Fatalf("run with --push: %v\n%s", err, out.String())
		}
		if !strings.Contains(out.String(), "pushed "+ref+"@"+desc.Digest.String()) {
			t.Errorf("run with --push said %q, want it to name %s@%s", out.String(), ref, desc.Digest)
		}
		r, err := name.ParseReference(ref)
		if err != nil {
			t.Fatal(err)
		}
		got, err := remote.Image(r)
		if err != nil {
			t.Fatalf("pulling %s back: %v", ref, err)
		}
		if d := digest(t, got); d != desc.Digest {
			t.Errorf("pushed image digest %s, layout %s", d, desc.Digest)
		}
	})

	t.Run("no CA bundle", func(t *testing.T) {
		o := c.Options
		o.CABundle = ""
		img, err := Build(o)
		if err != nil {
			t.Fatal(err)
		}
		cf, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range cf.Config.Env {
			if strings.HasPrefix(e, "SSL_CERT_FILE=") {
				t.Errorf("env has %s without a bundle", e)
			}
		}
		if _, ok := extract(t, img).headers["etc/ssl/certs/ca-certificates.crt"]; ok {
			t.Errorf("the image has a CA bundle although none was given")
		}
	})

	t.Run("refuses another architecture", func(t *testing.T) {
		other := "arm64"
		if runtime.GOARCH == "arm64" {
			other = "amd64"
		}
		o := c.Options
		o.Arch = other
		if _, err := Build(o); err == nil || !strings.Contains(err.Error(), "not "+other) {
			t.Errorf("Build of a %s binary as %s = %v, want it refused", runtime.GOARCH, other, err)
		}
	})
}

func TestImageRefusesAMissingCABundle(t *testing.T) {
	_, err := readCABundle(filepath.Join(t.TempDir(), "ca-certificates.crt"))
	if err == nil || !strings.Contains(err.Error(), "apt-get install ca-certificates") {
		t.Fatalf("readCABundle of a missing file = %v, want an error naming apt-get install ca-certificates", err)
	}
}

func TestImageRefusesABundleWithoutCertificates(t *testing.T) {
	p := filepath.Join(t.TempDir(), "ca.crt")
	if err := os.WriteFile(p, []byte("not a certificate\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := readCABundle(p); err == nil || !strings.Contains(err.Error(), "no PEM certificate") {
		t.Fatalf("readCABundle of a file with no certificate = %v, want it refused", err)
	}
}

func TestImageRefusesANonELFBinary(t *testing.T) {
	p := filepath.Join(t.TempDir(), "flotilla")
	if err := os.WriteFile(p, []byte("#!/bin/sh\necho flotilla\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := checkBinary(p, runtime.GOARCH); err == nil || !strings.Contains(err.Error(), "not a Linux ELF") {
		t.Fatalf("checkBinary of a script = %v, want it refused", err)
	}
}

func TestImageLayoutRefusesToReplaceAnotherFolder(t *testing.T) {
	dir := t.TempDir()
	keep := filepath.Join(dir, "keep.txt")
	if err := os.WriteFile(keep, []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := writeLayout(dir, "dev", nil); err == nil || !strings.Contains(err.Error(), "not replacing it") {
		t.Fatalf("writeLayout over a folder that is not a layout = %v, want it refused", err)
	}
	if _, err := os.Stat(keep); err != nil {
		t.Fatalf("the folder's file is gone: %v", err)
	}
}

func TestImageFlags(t *testing.T) {
	t.Setenv("SOURCE_DATE_EPOCH", "")
	if _, err := parseFlags([]string{"--help"}, io.Discard); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("--help = %v, want flag.ErrHelp", err)
	}
	if _, err := parseFlags([]string{"--out", "x"}, io.Discard); err == nil || !strings.Contains(err.Error(), "--binary is required") {
		t.Errorf("no --binary = %v, want it required", err)
	}
	if _, err := parseFlags([]string{"--binary", "b"}, io.Discard); err == nil || !strings.Contains(err.Error(), "nothing to write") {
		t.Errorf("no output = %v, want it refused", err)
	}
	c, err := parseFlags([]string{"--binary", "b", "--out", "o"}, io.Discard)
	if err != nil || !c.Created.Equal(time.Unix(0, 0)) || c.CABundle != DefaultCABundle || c.Arch != runtime.GOARCH {
		t.Errorf("defaults: %+v, %v; want the epoch, the host's CA bundle and GOARCH", c, err)
	}
	t.Setenv("SOURCE_DATE_EPOCH", "1700000000")
	if c, err := parseFlags([]string{"--binary", "b", "--out", "o"}, io.Discard); err != nil || c.Created.Unix() != 1_700_000_000 {
		t.Errorf("SOURCE_DATE_EPOCH=1700000000: created %s, %v", c.Created, err)
	}
	t.Setenv("SOURCE_DATE_EPOCH", "yesterday")
	if _, err := parseFlags([]string{"--binary", "b", "--out", "o"}, io.Discard); err == nil {
		t.Errorf("SOURCE_DATE_EPOCH=yesterday accepted")
	}
}

func TestImageTarballTag(t *testing.T) {
	cases := []struct {
		push, version, want, wantErr string
	}{
		{version: "v1.0.0", want: "flotilla:v1.0.0"},
		{push: "registry.example/team/flotilla:v1.0.0", version: "v1.0.0", want: "registry.example/team/flotilla:v1.0.0"},
		{version: "v1.0.0+build", wantErr: "cannot be a tag"},
	}
	for _, tc := range cases {
		got, err := tarballTag(config{Options: Options{Version: tc.version}, Push: tc.push})
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("tarballTag(%q, %q) = %q, %v; want an error with %q", tc.push, tc.version, got, err, tc.wantErr)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("tarballTag(%q, %q) = %q, %v; want %q", tc.push, tc.version, got, err, tc.want)
		}
	}
}

// buildStaticFlotilla builds ./cmd/flotilla as make image does: static, for Linux, with the
// version and revision stamped.
func buildStaticFlotilla(t *testing.T) string {
	t.Helper()
	gomod, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		t.Fatalf("go env GOMOD: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "flotilla")
	cmd := exec.Command("go", "build", "-trimpath", "-o", bin, "-ldflags",
		"-s -w -X github.com/flotilla-dev/flotilla/internal/cli.version="+testVersion+
			" -X github.com/flotilla-dev/flotilla/internal/cli.revision="+testRevision,
		"./cmd/flotilla")
	cmd.Dir = filepath.Dir(strings.TrimSpace(string(gomod)))
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+runtime.GOARCH)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/flotilla: %v\n%s", err, out)
	}
	return bin
}

// writeTestCABundle writes a PEM bundle of one self-signed certificate, so the test does not
// depend on the host's ca-certificates.
func writeTestCABundle(t *testing.T) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "flotilla image test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "ca-certificates.crt")
	if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// readLayout reads the one image of the OCI layout in dir, as a registry client would.
func readLayout(t *testing.T, dir string) (v1.Image, v1.Descriptor) {
	t.Helper()
	p, err := layout.FromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := p.ImageIndex()
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(im.Manifests) != 1 {
		t.Fatalf("layout %s holds %d manifests, want 1", dir, len(im.Manifests))
	}
	img, err := idx.Image(im.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	return img, im.Manifests[0]
}

func digest(t *testing.T, img v1.Image) v1.Hash {
	t.Helper()
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// flatFS is an image's flattened filesystem: every entry's header, and regular files' data.
type flatFS struct {
	headers map[string]*tar.Header
	data    map[string][]byte
}

func (f flatFS) header(t *testing.T, name string) *tar.Header {
	t.Helper()
	h, ok := f.headers[name]
	if !ok {
		t.Fatalf("the image has no /%s", name)
	}
	return h
}

// extract flattens img's layers with mutate.Extract, as a container runtime unpacks them.
func extract(t *testing.T, img v1.Image) flatFS {
	t.Helper()
	rc := mutate.Extract(img)
	defer rc.Close()
	f := flatFS{headers: map[string]*tar.Header{}, data: map[string][]byte{}}
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return f
		}
		if err != nil {
			t.Fatal(err)
		}
		name := strings.TrimSuffix(h.Name, "/")
		f.headers[name] = h
		if h.Typeflag == tar.TypeReg {
			if f.data[name], err = io.ReadAll(tr); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func hasLine(data []byte, line string) bool {
	return slices.Contains(strings.Split(string(data), "\n"), line)
}
