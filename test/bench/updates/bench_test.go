// Package updates measures the update orchestrator at fleet scale: one run over 1,000
// simulated members in 3 stages, against a real hub API server, with an instant provider
// (every operation completes at its first step). Everything the run takes is therefore
// orchestration overhead: the orchestrator's steps, the MemberUpdates, the hub executor's
// status writes and the watch round trips between them.
//
//	go test -run '^$' -bench UpdateRun -benchtime 1x ./test/bench/updates/
package updates

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	clusterv1beta1 "github.com/flotilla-dev/flotilla/api/cluster/v1beta1"
	u "github.com/flotilla-dev/flotilla/api/updates/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/hub/updaterun"
	"github.com/flotilla-dev/flotilla/internal/hub/upgradeexec"
	"github.com/flotilla-dev/flotilla/internal/localfleet"
	"github.com/flotilla-dev/flotilla/internal/providers"
	"github.com/flotilla-dev/flotilla/internal/scheme"
	"github.com/flotilla-dev/flotilla/internal/testenv"
)

var fleet *localfleet.Fleet

func TestMain(m *testing.M) { testenv.BenchMain(m, 0, &fleet) }

const members = 1000

// The plan: a canary stage, then two stages of growing groups, 1,000 members in all.
var plan = []struct {
	stage   string
	groups  int
	members int // per group
}{
	{"canary", 1, 50},
	{"early", 3, 100},
	{"late", 5, 130},
}

// instant is a hub-side provider whose operations complete at once. Its profiles show the
// image each member's last operation brought, since a Consistent run counts a member done
// only when its profile shows the selected image.
type instant struct {
	images *sync.Map // member -> node image version
}

func (instant) Name() string { return "instant" }

func (p instant) Profile(_ context.Context, m providers.Member) (*u.MemberUpgradeProfileStatus, error) {
	image := "1"
	if v, ok := p.images.Load(m.Name); ok {
		image = v.(string)
	}
	return &u.MemberUpgradeProfileStatus{
		Region: "eastus", KubernetesVersion: "v1.35.8", AvailableKubernetesVersions: []string{"1.35.8", "1.36.1"},
		NodePools:        []u.NodePoolProfile{{Name: "user", ImageFamily: "Ubuntu", NodeImageVersion: image, KubernetesVersion: "v1.35.8", Nodes: 3}},
		LatestNodeImages: map[string]string{"Ubuntu": "2"},
	}, nil
}

func (p instant) Step(_ context.Context, m providers.Member, op providers.Operation) (providers.Progress, error) {
	for _, v := range op.Spec.NodeImageVersions {
		if v.Family == "Ubuntu" {
			p.images.Store(m.Name, v.Version)
		}
	}
	return providers.Progress{Done: true, Message: "done at once"}, nil
}

func BenchmarkUpdateRun1000Members3Stages(b *testing.B) {
	ctx := context.Background()
	c, err := client.New(fleet.Hub.Config, client.Options{Scheme: scheme.Scheme})
	if err != nil {
		b.Fatal(err)
	}
	setupStart := time.Now()
	strategy := seed(b, c)
	mgr, err := ctrl.NewManager(fleet.Hub.Config, ctrl.Options{
		Scheme: scheme.Scheme, Metrics: metricsserver.Options{BindAddress: "0"},
		Controller: config.Controller{SkipNameValidation: ptr.To(true)},
	})
	if err != nil {
		b.Fatal(err)
	}
	if err := updaterun.Setup(mgr, updaterun.Options{}); err != nil {
		b.Fatal(err)
	}
	if err := upgradeexec.Setup(mgr, upgradeexec.Options{Providers: []providers.Provider{instant{images: &sync.Map{}}}}); err != nil {
		b.Fatal(err)
	}
	mctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() { _ = mgr.Start(mctx) }()
	waitProfiles(b, c)
	fmt.Fprintf(os.Stderr, "setup: %d members, their namespaces and published profiles in %s\n", members, time.Since(setupStart).Round(time.Millisecond))

	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		name := "bench-" + strconv.Itoa(i)
		run := &u.UpdateRun{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: u.UpdateRunSpec{UpdateStrategyName: strategy, State: u.RequestRunning, ManagedClusterUpdate: u.ManagedClusterUpdate{
				Upgrade: u.UpgradeSpec{Type: u.UpgradeNodeImageOnly}, NodeImageSelection: &u.NodeImageSelection{Type: u.NodeImageConsistent},
			}},
		}
		start := time.Now()
		if err := c.Create(ctx, run); err != nil {
			b.Fatal(err)
		}
		done := waitCompleted(b, c, name)
		total := time.Since(start)
		b.ReportMetric(total.Seconds(), "overhead-s/run")
		b.ReportMetric(float64(total.Microseconds())/1000/members, "ms/member")
		report(done, total)
		reportReconciles()
	}
}

// reportReconciles prints, from controller-runtime's metrics, how many steps the
// orchestrator and the hub executor took and how long they spent in them.
func reportReconciles() {
	families, err := metrics.Registry.Gather()
	if err != nil {
		return
	}
	count, sum := map[string]float64{}, map[string]float64{}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			var name string
			for _, l := range m.GetLabel() {
				if l.GetName() == "controller" {
					name = l.GetValue()
				}
			}
			if f.GetName() == "controller_runtime_reconcile_time_seconds" {
				count[name] += float64(m.GetHistogram().GetSampleCount())
				sum[name] += m.GetHistogram().GetSampleSum()
			}
		}
	}
	for _, name := range []string{"updaterun", "hub-upgrade-executor"} {
		if count[name] > 0 {
			fmt.Fprintf(os.Stderr, "  %s: %.0f reconciles, %.1fs in them (%.0f ms each on average)\n",
				name, count[name], sum[name], 1000*sum[name]/count[name])
		}
	}
	fmt.Fprintf(os.Stderr, "  (the machine's load average: %s)\n", loadAverage())
}

func loadAverage() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	fields := strings.Fields(string(data))
	if len(fields) < 3 {
		return "unknown"
	}
	return strings.Join(fields[:3], " ")
}

// seed makes the members (update-only: a provider, no agent), their namespaces and the
// strategy, in parallel.
func seed(b *testing.B, c client.Client) string {
	b.Helper()
	ctx := context.Background()
	var stages []u.StageConfig
	type job struct{ name, group string }
	var jobs []job
	for _, st := range plan {
		sc := u.StageConfig{Name: st.stage}
		for g := 0; g < st.groups; g++ {
			group := st.stage + "-" + strconv.Itoa(g+1)
			sc.Groups = append(sc.Groups, u.GroupConfig{Name: group, MaxConcurrency: ptr.To(intstr.FromString("10%"))})
			for m := 0; m < st.members; m++ {
				jobs = append(jobs, job{name: fmt.Sprintf("%s-m%03d", group, m), group: group})
			}
		}
		stages = append(stages, sc)
	}
	if len(jobs) != members {
		b.Fatalf("the plan has %d members, not %d", len(jobs), members)
	}
	if err := c.Create(ctx, &u.UpdateStrategy{ObjectMeta: metav1.ObjectMeta{Name: "bench"}, Spec: u.UpdateStrategySpec{Stages: stages}}); err != nil {
		b.Fatal(err)
	}
	work := make(chan job)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range work {
				err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: clusterv1beta1.NamespaceForMember(j.name)}})
				if err == nil {
					err = c.Create(ctx, &clusterv1beta1.MemberCluster{
						ObjectMeta: metav1.ObjectMeta{Name: j.name, Labels: map[string]string{u.GroupLabel: j.group},
							Annotations: map[string]string{u.ProviderAnnotation: "instant"}},
						Spec: clusterv1beta1.MemberClusterSpec{Identity: localfleet.AgentIdentity(j.name)},
					})
				}
				if err != nil {
					mu.Lock()
					firstErr = err
					mu.Unlock()
				}
			}
		}()
	}
	for _, j := range jobs {
		work <- j
	}
	close(work)
	wg.Wait()
	if firstErr != nil {
		b.Fatal(firstErr)
	}
	return "bench"
}

func waitProfiles(b *testing.B, c client.Client) {
	b.Helper()
	deadline := time.Now().Add(5 * time.Minute)
	for {
		var list u.MemberUpgradeProfileList
		if err := c.List(context.Background(), &list); err == nil {
			published := 0
			for _, p := range list.Items {
				if p.Status.Region != "" {
					published++
				}
			}
			if published >= members {
				return
			}
		}
		if time.Now().After(deadline) {
			b.Fatal("the profiles were not published within 5 minutes")
		}
		time.Sleep(200 * time.Millisecond) // polling a real API server for set-up, outside the timed part
	}
}

func waitCompleted(b *testing.B, c client.Client, name string) *u.UpdateRun {
	b.Helper()
	deadline := time.Now().Add(10 * time.Minute)
	for {
		run := &u.UpdateRun{}
		if err := c.Get(context.Background(), client.ObjectKey{Name: name}, run); err == nil {
			switch run.Status.State {
			case u.StateCompleted:
				return run
			case u.StateFailed:
				b.Fatalf("run %s failed: %s", name, run.Status.Error)
			}
		}
		if time.Now().After(deadline) {
			b.Fatalf("run %s not done within 10 minutes", name)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// report prints the overhead and where it went, from the run's own timestamps.
func report(run *u.UpdateRun, total time.Duration) {
	fmt.Fprintf(os.Stderr, "\nupdate run over %d members in %d stages, instant provider\n", members, len(run.Status.Stages))
	fmt.Fprintf(os.Stderr, "  orchestration overhead (create to Completed): %s (target <= 30s)\n", total.Round(time.Millisecond))
	fmt.Fprintf(os.Stderr, "  per member: %.1f ms\n", float64(total.Microseconds())/1000/members)
	var gaps []time.Duration
	for _, s := range run.Status.Stages {
		n := 0
		for _, g := range s.Groups {
			n += len(g.Members)
			for _, m := range g.Members {
				if m.Status.StartTime != nil && m.Status.CompletedTime != nil {
					gaps = append(gaps, m.Status.CompletedTime.Sub(m.Status.StartTime.Time))
				}
			}
		}
		fmt.Fprintf(os.Stderr, "  stage %-7s %2d groups %4d members: %s\n", s.Name, len(s.Groups), n,
			s.Status.CompletedTime.Sub(s.Status.StartTime.Time).Round(time.Millisecond))
	}
	sort.Slice(gaps, func(i, j int) bool { return gaps[i] < gaps[j] })
	if len(gaps) > 0 {
		fmt.Fprintf(os.Stderr, "  member start to completion (MemberUpdate round trip): p50 %s, p99 %s\n",
			gaps[len(gaps)/2].Round(time.Millisecond), gaps[len(gaps)*99/100].Round(time.Millisecond))
	}
}
