package testenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flotilla-dev/flotilla/internal/localfleet"
)

// RepoRoot is the folder of Flotilla's go.mod, found upwards from the test's folder.
func RepoRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && strings.HasPrefix(string(data), "module github.com/flotilla-dev/flotilla\n") {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod of github.com/flotilla-dev/flotilla above the test's folder")
		}
		dir = parent
	}
}

// Helm returns the pinned helm command (hack/helm), built into the tools cache when missing.
func Helm(t *testing.T) string {
	t.Helper()
	root := RepoRoot(t)
	cmd := exec.Command(filepath.Join(root, "hack", "build-tools.sh"), "helm")
	cmd.Env = append(os.Environ(), "FLOTILLA_TOOLS_DIR="+localfleet.ToolsDir())
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building helm: %v\n%s", err, out)
	}
	data, err := os.ReadFile(filepath.Join(root, "hack", "helm", "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) == 3 && f[0] == "require" && f[1] == "helm.sh/helm/v4" {
			return filepath.Join(localfleet.ToolsDir(), "helm-"+f[2])
		}
	}
	t.Fatal("hack/helm/go.mod pins no helm.sh/helm/v4")
	return ""
}
