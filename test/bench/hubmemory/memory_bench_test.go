// Package hubmemory measures what the hub controllers hold in memory when idle with 1,000
// members (DESIGN.md: at most 150 MB RSS). It runs every hub controller in this process
// against a real hub API server, as `flotilla hub` does, waits until the membership
// controller has made every member ready to join, and then samples the process's resident
// memory. Run it with
//
//	go test -run '^$' -bench . -benchtime 1x -timeout 20m ./test/bench/hubmemory/
//
// The API servers and etcd are other processes, so the figure is the controllers' own (plus
// this benchmark's small client). MEMBERS overrides 1,000.
package hubmemory

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"

	clusterv1beta1 "github.com/flotilla-dev/flotilla/api/cluster/v1beta1"
	"github.com/flotilla-dev/flotilla/internal/controllerdefaults"
	"github.com/flotilla-dev/flotilla/internal/hub"
	"github.com/flotilla-dev/flotilla/internal/localfleet"
	"github.com/flotilla-dev/flotilla/internal/testenv"
	"github.com/flotilla-dev/flotilla/internal/testenv/placementtest"
)

var fleet *localfleet.Fleet

func TestMain(m *testing.M) { testenv.BenchMain(m, 0, &fleet) }

func memberCount() int {
	if n, err := strconv.Atoi(os.Getenv("MEMBERS")); err == nil && n > 0 {
		return n
	}
	return 1000
}

// rssBytes reads this process's resident set size from /proc.
func rssBytes() (int64, error) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if rest, ok := strings.CutPrefix(s.Text(), "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb * 1024, err
		}
	}
	return 0, fmt.Errorf("no VmRSS in /proc/self/status")
}

func BenchmarkHubIdleMemory(b *testing.B) {
	n := memberCount()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c := placementtest.Client(b, fleet.Hub.Config)
	var jobs []func(context.Context) error
	for i := range n {
		m := placementtest.Member{Name: fmt.Sprintf("sim-%04d", i)}
		jobs = append(jobs, func(ctx context.Context) error { return placementtest.CreateMember(ctx, c, m) })
	}
	if err := controllerdefaults.WriteAll(ctx, jobs); err != nil {
		b.Fatal(err)
	}

	mgr, err := hub.NewManager(fleet.Hub.Config, hub.Options{})
	if err != nil {
		b.Fatal(err)
	}
	go func() { _ = mgr.Start(ctx) }()

	// Idle means the membership controller has finished with every member.
	start := time.Now()
	deadline := start.Add(10 * time.Minute)
	for {
		list := &clusterv1beta1.MemberClusterList{}
		if err := c.List(ctx, list); err != nil {
			b.Fatal(err)
		}
		ready := 0
		for i := range list.Items {
			if meta.IsStatusConditionTrue(list.Items[i].Status.Conditions, clusterv1beta1.ConditionReadyToJoin) {
				ready++
			}
		}
		if ready >= n {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("after 10 minutes only %d of %d members are ready to join", ready, n)
		}
		time.Sleep(500 * time.Millisecond) // the resolution of the readiness check
	}
	settled := time.Since(start)

	// Sample for ten seconds of idling, after a collection, and report the highest.
	runtime.GC()
	var peak int64
	b.ResetTimer()
	for range 10 {
		rss, err := rssBytes()
		if err != nil {
			b.Fatal(err)
		}
		peak = max(peak, rss)
		time.Sleep(time.Second) // the sampling interval: idling is what is measured
	}
	b.StopTimer()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	mb := func(v uint64) float64 { return float64(v) / (1 << 20) }
	fmt.Fprintf(os.Stderr, "\nhub controllers idle with %d members (all ready to join after %s):\n", n, settled.Round(100*time.Millisecond))
	fmt.Fprintf(os.Stderr, "  peak RSS over 10 s: %.0f MB (target <= 150 MB)\n", mb(uint64(peak)))
	fmt.Fprintf(os.Stderr, "  Go heap in use: %.0f MB, Go runtime total: %.0f MB\n", mb(ms.HeapInuse), mb(ms.Sys))
	b.ReportMetric(mb(uint64(peak)), "MB-rss")
	b.ReportMetric(mb(ms.HeapInuse), "MB-heap")
}
