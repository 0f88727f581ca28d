// Package scheduling measures the hub half of placement at scale: one ClusterResourcePlacement
// scheduled over 1,000 MemberClusters on a real hub API server, with the placement
// controller, the scheduler and the rollout running. The members are simulated: their status
// is written as joined, healthy agents would. Run it with
//
//	go test -run '^$' -bench . -benchtime 1x -timeout 20m ./test/bench/scheduling/
//
// It prints the time from the placement's creation until all bindings exist, and until all
// are Bound to the resource snapshot; figures, not pass/fail. MEMBERS overrides 1,000.
package scheduling

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	placementv1beta1 "github.com/flotilla-dev/flotilla/api/placement/v1beta1"
	"github.com/flotilla-dev/flotilla/internal/controllerdefaults"
	"github.com/flotilla-dev/flotilla/internal/localfleet"
	"github.com/flotilla-dev/flotilla/internal/scheme"
	"github.com/flotilla-dev/flotilla/internal/testenv"
	"github.com/flotilla-dev/flotilla/internal/testenv/placementtest"
)

var fleet *localfleet.Fleet

func TestMain(m *testing.M) { testenv.BenchMain(m, 0, &fleet) }

type requestCounter struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *requestCounter) wrap(rt http.RoundTripper) http.RoundTripper {
	return roundTripFunc(func(req *http.Request) (*http.Response, error) {
		// /apis/<group>/<version>/<resource>[/<name>[/status]] for cluster-scoped kinds.
		parts := strings.Split(strings.Trim(req.URL.Path, "/"), "/")
		key := req.Method + " " + req.URL.Path
		if len(parts) >= 4 && parts[0] == "apis" {
			key = req.Method + " " + parts[3]
			if parts[len(parts)-1] == "status" {
				key += "/status"
			}
		}
		c.mu.Lock()
		c.n[key]++
		c.mu.Unlock()
		return rt.RoundTrip(req)
	})
}

func (c *requestCounter) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	keys := make([]string, 0, len(c.n))
	for k := range c.n {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var out []string
	for _, k := range keys {
		if c.n[k] >= 10 {
			out = append(out, fmt.Sprintf("%s=%d", k, c.n[k]))
		}
	}
	return strings.Join(out, " ")
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func memberCount() int {
	if n, err := strconv.Atoi(os.Getenv("MEMBERS")); err == nil && n > 0 {
		return n
	}
	return 1000
}

// createMembers creates n eligible MemberClusters, 64 at a time.
func createMembers(b *testing.B, c client.Client, n int) {
	b.Helper()
	start := time.Now()
	var jobs []func(context.Context) error
	for i := range n {
		m := placementtest.Member{Name: fmt.Sprintf("sim-%04d", i), Labels: map[string]string{"bench": "yes",
			"topology.kubernetes.io/region": []string{"eastus", "westus", "westeurope"}[i%3]}}
		jobs = append(jobs, func(ctx context.Context) error { return placementtest.CreateMember(ctx, c, m) })
	}
	if err := controllerdefaults.WriteAll(context.Background(), jobs); err != nil {
		b.Fatal(err)
	}
	b.Logf("created %d simulated members in %s", n, time.Since(start).Round(time.Millisecond))
}

func BenchmarkScheduleOneCRPOverManyMembers(b *testing.B) {
	n := memberCount()
	c := placementtest.Client(b, fleet.Hub.Config)
	createMembers(b, c, n)
	ctx := context.Background()
	if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "bench-app"}}); err != nil {
		b.Fatal(err)
	}
	if err := c.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "bench-app", Name: "settings"},
		Data: map[string]string{"k": "v"}}); err != nil {
		b.Fatal(err)
	}
	// Count the controllers' requests by verb and resource, to show where the time goes.
	counts := &requestCounter{n: map[string]int{}}
	cfg := rest.CopyConfig(fleet.Hub.Config)
	cfg.WrapTransport = counts.wrap
	placementtest.StartManager(b, cfg, placementtest.PlacementController, placementtest.Scheduler, placementtest.Rollout)
	defer func() { b.Logf("controller requests: %s", counts) }()

	// Watch the bindings through an informer: polling the API server for 1,000 bindings
	// several times a second would load it more than the controllers do.
	watchCfg := rest.CopyConfig(fleet.Hub.Config)
	bindingCache, err := cache.New(watchCfg, cache.Options{Scheme: scheme.Scheme})
	if err != nil {
		b.Fatal(err)
	}
	cacheCtx, stopCache := context.WithCancel(ctx)
	defer stopCache()
	if _, err := bindingCache.GetInformer(ctx, &placementv1beta1.ClusterResourceBinding{}); err != nil {
		b.Fatal(err)
	}
	go func() { _ = bindingCache.Start(cacheCtx) }()
	bindingCache.WaitForCacheSync(ctx)

	var created, bound []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		name := fmt.Sprintf("bench-%d", i)
		crp := &placementv1beta1.ClusterResourcePlacement{ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: placementv1beta1.ClusterResourcePlacementSpec{
				ResourceSelectors: []placementv1beta1.ClusterResourceSelector{{Version: "v1", Kind: "Namespace", Name: "bench-app"}},
				Policy: &placementv1beta1.PlacementPolicy{Affinity: &placementv1beta1.Affinity{ClusterAffinity: &placementv1beta1.ClusterAffinity{
					RequiredDuringSchedulingIgnoredDuringExecution: &placementv1beta1.ClusterSelector{ClusterSelectorTerms: []placementv1beta1.ClusterSelectorTerm{
						{LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"bench": "yes"}}}}}}}},
			}}
		start := time.Now()
		if err := c.Create(ctx, crp); err != nil {
			b.Fatal(err)
		}
		var tCreated time.Duration
		lastProgress := time.Now()
		deadline := time.Now().Add(5 * time.Minute)
		for {
			list := &placementv1beta1.ClusterResourceBindingList{}
			if err := bindingCache.List(ctx, list, client.MatchingLabels{placementv1beta1.CRPTrackingLabel: name}); err != nil {
				b.Fatal(err)
			}
			nBound := 0
			for _, bd := range list.Items {
				if bd.Spec.State == placementv1beta1.BindingStateBound && bd.Spec.ResourceSnapshotName != "" {
					nBound++
				}
			}
			if tCreated == 0 && len(list.Items) >= n {
				tCreated = time.Since(start)
			}
			if nBound >= n {
				break
			}
			if os.Getenv("BENCH_PROGRESS") != "" && time.Since(lastProgress) > time.Second {
				lastProgress = time.Now()
				snaps := &placementv1beta1.ClusterResourceSnapshotList{}
				_ = c.List(ctx, snaps)
				fmt.Fprintf(os.Stderr, "%s: %d bindings, %d bound, %d snapshots\n", time.Since(start).Round(100*time.Millisecond), len(list.Items), nBound, len(snaps.Items))
			}
			if time.Now().After(deadline) {
				b.Fatalf("after 5 minutes: %d bindings, %d bound, want %d", len(list.Items), nBound, n)
			}
			time.Sleep(50 * time.Millisecond) // the measurement's resolution (reads memory), not a wait of the system
		}
		created = append(created, tCreated)
		bound = append(bound, time.Since(start))
	}
	b.StopTimer()
	var sumC, sumB time.Duration
	for i := range created {
		sumC += created[i]
		sumB += bound[i]
	}
	b.ReportMetric(float64(n), "members")
	b.ReportMetric((sumC / time.Duration(len(created))).Seconds(), "s-to-create-all-bindings")
	b.ReportMetric((sumB / time.Duration(len(bound))).Seconds(), "s-to-bind-all")
	fmt.Printf("one CRP over %d members: all bindings created in %s, all Bound in %s (mean of %d)\n",
		n, (sumC / time.Duration(len(created))).Round(time.Millisecond), (sumB / time.Duration(len(bound))).Round(time.Millisecond), len(created))
}
