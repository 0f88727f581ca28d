// Package propagation measures how fast a change to a selected resource travels through the
// hub: from a ConfigMap update to the Works of 100 members holding the new content, with the
// placement controller, scheduler, rollout and work generator running against a real hub API
// server (DESIGN.md: a change reaches 100 members with p99 <= 1 s). The members are simulated,
// so the member agents' apply is not included; test/bench/workapply measures that side, and
// test/e2e/placement logs the whole way for 3 real members. Run it with
//
//	go test -run '^$' -bench . -benchtime 10x ./test/bench/propagation/
//
// The placement allows every member to update at once (maxUnavailable 100%): without agents
// no member ever reports Available, and the figure is the hub's own speed. MEMBERS overrides
// 100.
package propagation

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	toolscache "k8s.io/client-go/tools/cache"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	clusterv1beta1 "github.com/flotilla-dev/flotilla/api/cluster/v1beta1"
	placementv1beta1 "github.com/flotilla-dev/flotilla/api/placement/v1beta1"
	"github.com/flotilla-dev/flotilla/internal/controllerdefaults"
	"github.com/flotilla-dev/flotilla/internal/hub/workgen"
	"github.com/flotilla-dev/flotilla/internal/localfleet"
	"github.com/flotilla-dev/flotilla/internal/scheme"
	"github.com/flotilla-dev/flotilla/internal/testenv"
	"github.com/flotilla-dev/flotilla/internal/testenv/placementtest"
)

var (
	fleet *localfleet.Fleet
	run   int
)

func TestMain(m *testing.M) { testenv.BenchMain(m, 0, &fleet) }

func memberCount() int {
	if n, err := strconv.Atoi(os.Getenv("MEMBERS")); err == nil && n > 0 {
		return n
	}
	return 100
}

// arrivals records, per Work, when it first held the awaited content.
type arrivals struct {
	mu   sync.Mutex
	want []byte
	seen map[string]time.Time
	all  chan struct{}
	n    int
}

func (a *arrivals) expect(want string, n int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.want, a.seen, a.all, a.n = []byte(want), map[string]time.Time{}, make(chan struct{}), n
}

func (a *arrivals) observe(obj any) {
	w, ok := obj.(*placementv1beta1.Work)
	if !ok {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.want == nil {
		return
	}
	key := w.Namespace + "/" + w.Name
	if _, done := a.seen[key]; done {
		return
	}
	for _, m := range w.Spec.Workload.Manifests {
		if bytes.Contains(m.Raw, a.want) {
			a.seen[key] = time.Now()
			if len(a.seen) == a.n {
				close(a.all)
			}
			return
		}
	}
}

func (a *arrivals) wait(b *testing.B, d time.Duration) map[string]time.Time {
	b.Helper()
	a.mu.Lock()
	all := a.all
	a.mu.Unlock()
	select {
	case <-all:
	case <-time.After(d):
		a.mu.Lock()
		defer a.mu.Unlock()
		b.Fatalf("after %s only %d of %d Works hold %s", d, len(a.seen), a.n, a.want)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.seen
}

// stages notes when the new resource snapshot appeared and when the last binding pointed at
// it, to show where the time goes.
type stages struct {
	mu                     sync.Mutex
	snapshotAt, bindingsAt time.Time
	snapshotName           string
}

func (st *stages) reset() {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.snapshotAt, st.bindingsAt, st.snapshotName = time.Time{}, time.Time{}, ""
}

func (st *stages) snapshot(obj any) {
	if s, ok := obj.(*placementv1beta1.ClusterResourceSnapshot); ok {
		st.mu.Lock()
		defer st.mu.Unlock()
		if st.snapshotAt.IsZero() {
			st.snapshotAt, st.snapshotName = time.Now(), s.Name
		}
	}
}

func (st *stages) binding(obj any) {
	if bd, ok := obj.(*placementv1beta1.ClusterResourceBinding); ok {
		st.mu.Lock()
		defer st.mu.Unlock()
		if st.snapshotName != "" && bd.Spec.ResourceSnapshotName == st.snapshotName {
			st.bindingsAt = time.Now()
		}
	}
}

func BenchmarkChangeReachesMembers(b *testing.B) {
	n := memberCount()
	ctx := context.Background()
	var err error
	c := placementtest.Client(b, fleet.Hub.Config)
	var jobs []func(context.Context) error
	for i := range n {
		m := placementtest.Member{Name: fmt.Sprintf("sim-%03d", i), Labels: map[string]string{"bench": "yes"}}
		jobs = append(jobs, func(ctx context.Context) error {
			// The membership controller, which would make the namespace, is not running.
			ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: clusterv1beta1.NamespaceForMember(m.Name)}}
			if err := c.Create(ctx, ns); client.IgnoreAlreadyExists(err) != nil {
				return err
			}
			return placementtest.CreateMember(ctx, c, m)
		})
	}
	if err := controllerdefaults.WriteAll(ctx, jobs); err != nil {
		b.Fatal(err)
	}
	// The benchmark function runs more than once (b.N grows); each run has its own values.
	run++
	if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "bench-app"}}); client.IgnoreAlreadyExists(err) != nil {
		b.Fatal(err)
	}
	round := func(i int) string { return fmt.Sprintf("run-%d-round-%d", run, i) }
	settings := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "bench-app", Name: "settings"}}
	if err := c.Get(ctx, client.ObjectKeyFromObject(settings), settings); client.IgnoreNotFound(err) != nil {
		b.Fatal(err)
	}
	settings.Data = map[string]string{"value": round(0)}
	if settings.ResourceVersion == "" {
		err = c.Create(ctx, settings)
	} else {
		err = c.Update(ctx, settings)
	}
	if err != nil {
		b.Fatal(err)
	}

	// Watch the Works through an informer, and note when each first holds the new value.
	seen := &arrivals{}
	works, err := cache.New(fleet.Hub.Config, cache.Options{Scheme: scheme.Scheme})
	if err != nil {
		b.Fatal(err)
	}
	informer, err := works.GetInformer(ctx, &placementv1beta1.Work{})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := informer.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
		AddFunc:    seen.observe,
		UpdateFunc: func(_, obj any) { seen.observe(obj) },
	}); err != nil {
		b.Fatal(err)
	}
	st := &stages{}
	for obj, h := range map[client.Object]toolscache.ResourceEventHandlerFuncs{
		&placementv1beta1.ClusterResourceSnapshot{}: {AddFunc: st.snapshot},
		&placementv1beta1.ClusterResourceBinding{}:  {UpdateFunc: func(_, o any) { st.binding(o) }},
	} {
		inf, err := works.GetInformer(ctx, obj)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := inf.AddEventHandler(h); err != nil {
			b.Fatal(err)
		}
	}
	cacheCtx, stopCache := context.WithCancel(ctx)
	defer stopCache()
	go func() { _ = works.Start(cacheCtx) }()
	works.WaitForCacheSync(ctx)

	placementtest.StartManager(b, fleet.Hub.Config, placementtest.PlacementController, placementtest.Scheduler, placementtest.Rollout,
		func(mgr ctrl.Manager) error { return workgen.Setup(mgr, workgen.Options{}) })

	all := intstr.FromString("100%")
	seen.expect(strconv.Quote(round(0)), n)
	crp := &placementv1beta1.ClusterResourcePlacement{ObjectMeta: metav1.ObjectMeta{Name: "bench"},
		Spec: placementv1beta1.ClusterResourcePlacementSpec{
			ResourceSelectors: []placementv1beta1.ClusterResourceSelector{{Version: "v1", Kind: "Namespace", Name: "bench-app"}},
			Strategy:          placementv1beta1.RolloutStrategy{RollingUpdate: &placementv1beta1.RollingUpdateConfig{MaxUnavailable: &all, MaxSurge: &all}},
		}}
	if err := c.Create(ctx, crp); client.IgnoreAlreadyExists(err) != nil {
		b.Fatal(err)
	}
	start := time.Now()
	seen.wait(b, 5*time.Minute)
	b.Logf("first placement on %d members: all Works written in %s", n, time.Since(start).Round(time.Millisecond))

	var latencies []time.Duration
	var toSnapshot, toBindings time.Duration
	b.ResetTimer()
	for i := 1; i <= b.N; i++ {
		value := round(i)
		seen.expect(strconv.Quote(value), n)
		st.reset()
		settings.Data["value"] = value
		start := time.Now()
		if err := c.Update(ctx, settings); err != nil {
			b.Fatal(err)
		}
		for _, at := range seen.wait(b, 2*time.Minute) {
			latencies = append(latencies, at.Sub(start))
		}
		st.mu.Lock()
		toSnapshot += st.snapshotAt.Sub(start)
		toBindings += st.bindingsAt.Sub(start)
		st.mu.Unlock()
	}
	b.StopTimer()
	sort.Slice(latencies, func(i, j int) bool { return latencies[i] < latencies[j] })
	pct := func(p float64) time.Duration { return latencies[int(p*float64(len(latencies)-1))] }
	fmt.Fprintf(os.Stderr, "\na ConfigMap change reaching the Works of %d members, %d changes:\n", n, b.N)
	fmt.Fprintf(os.Stderr, "  p50 %s, p99 %s, max %s (target: p99 <= 1s to the members)\n",
		pct(0.5).Round(time.Millisecond), pct(0.99).Round(time.Millisecond), latencies[len(latencies)-1].Round(time.Millisecond))
	fmt.Fprintf(os.Stderr, "  on average: new resource snapshot after %s, every binding pointing at it after %s\n",
		(toSnapshot / time.Duration(b.N)).Round(time.Millisecond), (toBindings / time.Duration(b.N)).Round(time.Millisecond))
	b.ReportMetric(float64(pct(0.99).Milliseconds()), "ms-p99")
	b.ReportMetric(float64(pct(0.5).Milliseconds()), "ms-p50")
}
