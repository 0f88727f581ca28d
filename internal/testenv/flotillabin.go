package testenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// BuildFlotilla builds the flotilla binary into the test's temporary folder, for tests that
// run it as its own process; with FLOTILLA_E2E_RACE=1 (`make test-race`) it is built with the
// race detector, so the processes it starts are checked too.
func BuildFlotilla(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "flotilla")
	args := []string{"build", "-o", bin}
	env := os.Environ()
	if os.Getenv("FLOTILLA_E2E_RACE") == "1" {
		args = append(args, "-race")
	} else {
		// Built as make image builds it (static, -trimpath), so that the image test and the
		// e2e tests share one build in the cache instead of compiling everything twice.
		args = append(args, "-trimpath")
		env = append(env, "CGO_ENABLED=0")
	}
	cmd := exec.Command("go", append(args, "github.com/flotilla-dev/flotilla/cmd/flotilla")...)
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}
