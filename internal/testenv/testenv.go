// Package testenv starts the real API servers that integration tests share: one local
// fleet per test package, started in TestMain.
package testenv

import (
	"context"
	"flag"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/go-logr/logr"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/flotilla-dev/flotilla/internal/install"
	"github.com/flotilla-dev/flotilla/internal/localfleet"
)

// Binaries finds the cached kube binaries, building them when missing (the first `go test`
// on a new machine takes several minutes for that).
func Binaries() (localfleet.Binaries, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	return localfleet.FindBinaries(ctx, true, os.Stderr)
}

// Main starts a fleet with the given number of members for the package's tests, runs
// them, stops the fleet and exits. The fleet's folder is kept when a test failed, so its
// logs can be read.
func Main(m *testing.M, members int, fleet **localfleet.Fleet) {
	os.Exit(run(m, members, fleet))
}

func run(m *testing.M, members int, fleet **localfleet.Fleet) int {
	bins, err := Binaries()
	if err != nil {
		fmt.Fprintln(os.Stderr, "kube binaries:", err)
		return 1
	}
	dir, err := os.MkdirTemp("", "flotilla-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	f, err := localfleet.Start(ctx, localfleet.Options{Members: members, Dir: dir, Binaries: bins})
	if err != nil {
		fmt.Fprintln(os.Stderr, "starting the test fleet:", err)
		return 1
	}
	if err := install.Hub(ctx, f.Hub.Config); err != nil {
		fmt.Fprintln(os.Stderr, "installing Flotilla on the test fleet's hub:", err)
		f.Stop()
		return 1
	}
	*fleet = f
	code := m.Run()
	f.Stop()
	if code == 0 {
		os.RemoveAll(dir)
	} else {
		fmt.Fprintln(os.Stderr, "test fleet logs kept in", dir)
	}
	return code
}

// BenchMain is Main for a benchmark package: it starts the fleet only when a benchmark is
// asked for (-bench), so that `go test ./...` does not pay for a fleet it would not use, and
// it discards controller logs, which would drown the figures.
func BenchMain(m *testing.M, members int, fleet **localfleet.Fleet) {
	flag.Parse()
	if f := flag.Lookup("test.bench"); f == nil || f.Value.String() == "" {
		os.Exit(m.Run())
	}
	ctrl.SetLogger(logr.Discard())
	Main(m, members, fleet)
}
