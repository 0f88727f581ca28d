package testenv

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/flotilla-dev/flotilla/internal/fleetup"
	"github.com/flotilla-dev/flotilla/internal/localfleet"
)

// FleetMain starts a whole local fleet (hub controllers, member agents, the local data plane)
// for a test package, waits until every member joined, runs the tests, stops the fleet and
// exits. opts.Dir and opts.Binaries are filled in here. Controller logs go to
// DIR/controllers.log, and DIR is kept when a test fails, so the logs can be read. ready, when
// not nil, runs once the fleet is up, to prepare what the tests share.
func FleetMain(m *testing.M, name string, opts fleetup.Options, fleet **fleetup.Fleet, ready func(*fleetup.Fleet) error) {
	os.Exit(runFleet(m, name, opts, fleet, ready))
}

func runFleet(m *testing.M, name string, opts fleetup.Options, fleet **fleetup.Fleet, ready func(*fleetup.Fleet) error) int {
	bins, err := Binaries()
	if err != nil {
		fmt.Fprintln(os.Stderr, "kube binaries:", err)
		return 1
	}
	dir, err := os.MkdirTemp("", "flotilla-"+name+"-")
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

	opts.Dir, opts.Binaries = dir, bins
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	f, err := fleetup.Up(ctx, opts)
	if err == nil {
		err = f.WaitJoined(ctx, 2*time.Minute)
	}
	if err == nil && ready != nil {
		err = ready(f)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "starting the %s test fleet: %v (logs in %s)\n", name, err, dir)
		if f != nil {
			f.Stop()
		}
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

// WorkloadFleetMain is FleetMain with the workload binaries (kube-scheduler and kwok, built
// when missing) in opts, so that the members run pods.
func WorkloadFleetMain(m *testing.M, name string, opts fleetup.Options, fleet **fleetup.Fleet, ready func(*fleetup.Fleet) error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	workloads, err := localfleet.FindWorkloadBinaries(ctx, true, os.Stderr)
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, "workload binaries:", err)
		os.Exit(1)
	}
	opts.Workloads = &workloads
	FleetMain(m, name, opts, fleet, ready)
}
