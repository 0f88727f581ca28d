package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
)

// writeLayout writes img as the one image of an OCI image layout in dir, named refName (the
// org.opencontainers.image.ref.name annotation, which `skopeo copy oci:DIR:NAME` and crane
// look for). What was in dir is replaced, so the layout never collects the images of older
// builds; a dir that is neither empty nor an OCI layout is refused rather than deleted.
func writeLayout(dir, refName string, img v1.Image) error {
	if err := checkReplaceable(dir); err != nil {
		return err
	}
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		return err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return err
	}
	return p.AppendImage(img,
		layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": refName}),
		layout.WithPlatform(v1.Platform{OS: cf.OS, Architecture: cf.Architecture}),
	)
}

// checkReplaceable guards the RemoveAll above against a mistyped --out such as "." or $HOME.
func checkReplaceable(dir string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) || (err == nil && len(entries) == 0) {
		return nil
	}
	if err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(dir, "oci-layout")); err != nil {
		return fmt.Errorf("--out %s is not empty and not an OCI image layout (no oci-layout file): not replacing it", dir)
	}
	return nil
}
