package localfleet

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// ToolsPin names the pinned versions of hack/tools/go.mod. It is part of the cache folder's
// name, so a change of pin builds into a new folder. A test keeps it equal to hack/tools/PIN.
const ToolsPin = "k8s-1.35.8-etcd-3.6.5-ct-0.20.1"

// KubeVersion is the version of the pinned kube-apiserver, which fake kubelets report too.
const KubeVersion = "v1.35.8"

// Binaries are the paths of the Kubernetes components a local fleet runs.
type Binaries struct {
	Etcd                  string
	KubeAPIServer         string
	KubeControllerManager string
}

// ToolsDir is the cache folder hack/build-tools.sh builds into: $FLOTILLA_TOOLS_DIR, or else
// ${XDG_CACHE_HOME:-$HOME/.cache}/flotilla/tools-<pin>. It lies outside the repository, so git
// never sees it and every checkout on the machine shares one build.
func ToolsDir() string {
	if d := os.Getenv("FLOTILLA_TOOLS_DIR"); d != "" {
		return d
	}
	cache := os.Getenv("XDG_CACHE_HOME")
	if cache == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			home = os.TempDir()
		}
		cache = filepath.Join(home, ".cache")
	}
	return filepath.Join(cache, "flotilla", "tools-"+ToolsPin)
}

func (b Binaries) missing() []string {
	var names []string
	for _, p := range []string{b.Etcd, b.KubeAPIServer, b.KubeControllerManager} {
		if info, err := os.Stat(p); err != nil || info.Mode()&0o111 == 0 {
			names = append(names, filepath.Base(p))
		}
	}
	return names
}

func binariesIn(dir string) Binaries {
	return Binaries{
		Etcd:                  filepath.Join(dir, "etcd"),
		KubeAPIServer:         filepath.Join(dir, "kube-apiserver"),
		KubeControllerManager: filepath.Join(dir, "kube-controller-manager"),
	}
}

// FindBinaries returns the cached binaries. When some are missing and build is true, it runs
// hack/build-tools.sh of the Flotilla checkout it finds (from the working directory or the
// running executable upwards), with that script's progress going to progress.
func FindBinaries(ctx context.Context, build bool, progress io.Writer) (Binaries, error) {
	dir := ToolsDir()
	bins := binariesIn(dir)
	err := buildMissing(ctx, dir, bins.missing, build, progress, "make tools",
		"etcd", "kube-apiserver", "kube-controller-manager")
	return bins, err
}

// buildMissing builds the named tools into dir with hack/build-tools.sh when missing reports
// some absent and build is true. hint is the command that builds them by hand.
func buildMissing(ctx context.Context, dir string, missing func() []string, build bool, progress io.Writer, hint string, names ...string) error {
	absent := missing()
	if len(absent) == 0 {
		return nil
	}
	if !build {
		return fmt.Errorf("%s not found in %s: run `%s` in the Flotilla checkout to build them", strings.Join(absent, ", "), dir, hint)
	}
	script, err := findBuildScript()
	if err != nil {
		return fmt.Errorf("%s not found in %s, and %w", strings.Join(absent, ", "), dir, err)
	}
	if _, err := exec.LookPath("go"); err != nil {
		return fmt.Errorf("%s not found in %s, and building them needs a Go toolchain on PATH", strings.Join(absent, ", "), dir)
	}
	fmt.Fprintf(progress, "%s missing from %s: building them with %s\n", strings.Join(absent, ", "), dir, script)
	cmd := exec.CommandContext(ctx, "bash", append([]string{script}, names...)...)
	cmd.Env = append(os.Environ(), "FLOTILLA_TOOLS_DIR="+dir)
	cmd.Stdout, cmd.Stderr = progress, progress
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("building %s with %s: %w", strings.Join(names, ", "), script, err)
	}
	if absent := missing(); len(absent) > 0 {
		return fmt.Errorf("%s still missing from %s after the build", strings.Join(absent, ", "), dir)
	}
	return nil
}

// findBuildScript looks for hack/build-tools.sh above the working directory and above the
// running executable.
func findBuildScript() (string, error) {
	var starts []string
	if wd, err := os.Getwd(); err == nil {
		starts = append(starts, wd)
	}
	if exe, err := os.Executable(); err == nil {
		starts = append(starts, filepath.Dir(exe))
	}
	for _, start := range starts {
		for dir := start; ; dir = filepath.Dir(dir) {
			candidate := filepath.Join(dir, "hack", "build-tools.sh")
			if _, err := os.Stat(candidate); err == nil {
				return candidate, nil
			}
			if filepath.Dir(dir) == dir {
				break
			}
		}
	}
	return "", errors.New("no Flotilla checkout (hack/build-tools.sh) was found above the working directory to build them from: run `make tools` in a checkout, or set FLOTILLA_TOOLS_DIR to a folder that has them")
}
