// Package networking runs multi-cluster services end to end on a local fleet: exports in
// two members, the import in all three, and a MultiClusterService whose load balancer (the
// local data plane) spreads real TCP connections over processes standing in for pods.
package networking

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/flotilla-dev/flotilla/internal/fleetup"
	"github.com/flotilla-dev/flotilla/internal/scheme"
	"github.com/flotilla-dev/flotilla/internal/testenv"
)

var (
	fleet   *fleetup.Fleet
	members = map[string]client.Client{}
)

func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	bins, err := testenv.Binaries()
	if err != nil {
		fmt.Fprintln(os.Stderr, "kube binaries:", err)
		return 1
	}
	dir, err := os.MkdirTemp("", "flotilla-e2e-networking-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	logFile, err := os.Create(filepath.Join(dir, "controllers.log"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer logFile.Close()
	ctrl.SetLogger(zap.New(zap.WriteTo(logFile), zap.UseDevMode(true)))
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	fleet, err = fleetup.Up(ctx, fleetup.Options{Members: 3, Dir: dir, Binaries: bins, HeartbeatSeconds: 2})
	if err == nil {
		err = fleet.WaitJoined(ctx, 2*time.Minute)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "starting the e2e fleet:", err, "(logs in", dir+")")
		if fleet != nil {
			fleet.Stop()
		}
		return 1
	}
	for _, mem := range fleet.Members {
		if members[mem.Name], err = client.New(mem.Config, client.Options{Scheme: scheme.Scheme}); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	code := m.Run()
	fleet.Stop()
	if code == 0 {
		os.RemoveAll(dir)
	} else {
		fmt.Fprintln(os.Stderr, "e2e fleet logs kept in", dir)
	}
	return code
}
