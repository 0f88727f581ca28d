package localfleet

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
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
// hack/build-tools.sh of the source tree the running binary was built from (see
// findBuildScript), with that script's progress going to progress.
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

// modulePath is Flotilla's Go module; sourceTree checks a tree's go.mod names it.
const modulePath = "github.com/flotilla-dev/flotilla"

// findBuildScript returns hack/build-tools.sh of the source tree this binary was compiled
// from, and nothing else. The compiler records the absolute path of every source file;
// runtime.Caller gives this file's, so the tree is two folders above it. The working
// directory and the folders above it play no part: a script planted there never runs. A
// binary built with -trimpath, or run where its tree is gone, records no usable path, and
// then the user is told to build the tools by hand.
func findBuildScript() (string, error) {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return "", errNoSourceTree
	}
	return buildScriptIn(file)
}

var errNoSourceTree = errors.New("this flotilla binary does not know the Flotilla source tree it was built from (built with -trimpath, or the tree is gone): run `make tools` in a Flotilla checkout, or set FLOTILLA_TOOLS_DIR to a folder that has them")

// buildScriptIn returns the build script of the tree that holds source, the path of
// internal/localfleet/binaries.go as compiled: it must be absolute, and the tree's go.mod
// must name Flotilla's module.
func buildScriptIn(source string) (string, error) {
	if !filepath.IsAbs(source) {
		return "", errNoSourceTree
	}
	root := filepath.Dir(filepath.Dir(filepath.Dir(source)))
	mod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil || !strings.HasPrefix(strings.TrimSpace(string(mod)), "module "+modulePath+"\n") {
		return "", errNoSourceTree
	}
	script := filepath.Join(root, "hack", "build-tools.sh")
	if info, err := os.Stat(script); err != nil || !info.Mode().IsRegular() {
		return "", errNoSourceTree
	}
	return script, nil
}
