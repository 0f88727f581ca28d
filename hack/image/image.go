package main

import (
	"fmt"
	"os"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Options says what goes into the image.
type Options struct {
	Binary   string    // the static flotilla binary
	Arch     string    // its GOARCH, the image's architecture
	Version  string    // org.opencontainers.image.version
	Revision string    // org.opencontainers.image.revision; no label when empty
	Source   string    // org.opencontainers.image.source
	CABundle string    // PEM bundle to ship; "" for none
	Created  time.Time // every mtime and the config's created time
}

// Build makes the flotilla image from nothing (no base is pulled): a layer with the user
// files, /home/nonroot, /tmp and the CA bundle, then a layer with the binary, so a new
// binary changes only the second layer. The same Options and binary give the same digest.
func Build(o Options) (v1.Image, error) {
	if err := checkBinary(o.Binary, o.Arch); err != nil {
		return nil, err
	}
	binary, err := os.ReadFile(o.Binary)
	if err != nil {
		return nil, err
	}
	caBundle, err := readCABundle(o.CABundle)
	if err != nil {
		return nil, err
	}
	base, err := tarLayer(baseFiles(caBundle), o.Created)
	if err != nil {
		return nil, fmt.Errorf("base layer: %w", err)
	}
	bin, err := tarLayer(binaryFiles(binary), o.Created)
	if err != nil {
		return nil, fmt.Errorf("binary layer: %w", err)
	}

	// empty.Image is a Docker v2 manifest; an OCI layout and current registries want OCI.
	img := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	created := v1.Time{Time: o.Created}
	img, err = mutate.Append(img,
		mutate.Addendum{Layer: base, History: v1.History{Created: created, CreatedBy: "hack/image: users, /home/nonroot, /tmp, CA bundle"}},
		mutate.Addendum{Layer: bin, History: v1.History{Created: created, CreatedBy: "hack/image: /" + binaryPath}},
	)
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS = "linux"
	cf.Architecture = o.Arch
	cf.Created = created
	cf.Config = imageConfig(o, caBundle != nil)
	return mutate.ConfigFile(img, cf)
}

// imageConfig is how the container runs: flotilla as nonroot in its home, with the labels
// that tie the image to its source.
func imageConfig(o Options, withCABundle bool) v1.Config {
	// PATH lets a pod say command: [flotilla, hub] instead of the full path.
	env := []string{"PATH=/usr/local/bin"}
	if withCABundle {
		env = append(env, "SSL_CERT_FILE=/"+caBundlePath)
	}
	labels := map[string]string{
		"org.opencontainers.image.title":   "flotilla",
		"org.opencontainers.image.version": o.Version,
		"org.opencontainers.image.source":  o.Source,
	}
	if o.Revision != "" {
		labels["org.opencontainers.image.revision"] = o.Revision
	}
	return v1.Config{
		Entrypoint: []string{"/" + binaryPath},
		User:       fmt.Sprintf("%d:%d", nonrootUID, nonrootUID),
		WorkingDir: "/" + nonrootHome,
		Env:        env,
		Labels:     labels,
	}
}
