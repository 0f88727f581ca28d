// Package workapply measures the member's work applier: how fast one Work of 100 manifests
// is applied on a real member API server, from the Work's creation on the hub to its
// Applied=True status. Run it with
//
//	go test -run '^$' -bench . -benchtime 5x ./test/bench/workapply/
//
// It prints manifests per second; it is a figure, not a pass/fail test.
package workapply

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	clusterv1beta1 "github.com/flotilla-dev/flotilla/api/cluster/v1beta1"
	placementv1beta1 "github.com/flotilla-dev/flotilla/api/placement/v1beta1"
	"github.com/flotilla-dev/flotilla/internal/localfleet"
	"github.com/flotilla-dev/flotilla/internal/member"
	"github.com/flotilla-dev/flotilla/internal/scheme"
	"github.com/flotilla-dev/flotilla/internal/testenv"
)

var fleet *localfleet.Fleet

func TestMain(m *testing.M) { testenv.BenchMain(m, 1, &fleet) }

const manifestsPerWork = 100

// manifests returns 100 objects of five kinds in a namespace (plus the namespace itself as
// the first), listed in an order the waves have to sort out.
func manifests(b *testing.B, ns string) []placementv1beta1.Manifest {
	b.Helper()
	objs := []map[string]any{{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": ns}}}
	for i := 0; len(objs) < manifestsPerWork; i++ {
		name := fmt.Sprintf("obj-%03d", i)
		meta := map[string]any{"name": name, "namespace": ns, "labels": map[string]any{"app": "bench"}}
		switch i % 5 {
		case 0:
			objs = append(objs, map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": map[string]any{"key": name}})
		case 1:
			objs = append(objs, map[string]any{"apiVersion": "v1", "kind": "Secret", "metadata": meta, "stringData": map[string]any{"key": name}})
		case 2:
			objs = append(objs, map[string]any{"apiVersion": "v1", "kind": "Service", "metadata": meta,
				"spec": map[string]any{"ports": []any{map[string]any{"port": 80}}, "selector": map[string]any{"app": name}}})
		case 3:
			objs = append(objs, map[string]any{"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta})
		case 4:
			objs = append(objs, map[string]any{"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": meta,
				"rules": []any{map[string]any{"apiGroups": []any{""}, "resources": []any{"configmaps"}, "verbs": []any{"get"}}}})
		}
	}
	// The namespace last: the first wave must still create it first.
	objs = append(objs[1:], objs[0])
	out := make([]placementv1beta1.Manifest, len(objs))
	for i, o := range objs {
		data, err := json.Marshal(o)
		if err != nil {
			b.Fatal(err)
		}
		out[i].Raw = data
	}
	return out
}

var (
	setupOnce sync.Once
	hub       client.Client
	hubNS     string
	setupErr  error
	works     int
)

// setup starts the member agent once; the benchmark function runs several times.
func setup() error {
	setupOnce.Do(func() {
		ctx := context.Background()
		if hub, setupErr = client.New(fleet.Hub.Config, client.Options{Scheme: scheme.Scheme}); setupErr != nil {
			return
		}
		name := fleet.Members[0].Name
		hubNS = clusterv1beta1.NamespaceForMember(name)
		if setupErr = hub.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: hubNS}}); setupErr != nil {
			return
		}
		if setupErr = hub.Create(ctx, &clusterv1beta1.InternalMemberCluster{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: hubNS},
			Spec: clusterv1beta1.InternalMemberClusterSpec{State: clusterv1beta1.ClusterStateJoin, HeartbeatPeriodSeconds: 60}}); setupErr != nil {
			return
		}
		agent, err := member.NewManager(context.Background(), fleet.Hub.Config, fleet.Members[0].Config, member.Options{Name: name})
		if err != nil {
			setupErr = err
			return
		}
		go func() { _ = agent.Start(ctx) }()
	})
	return setupErr
}

func BenchmarkApply100Manifests(b *testing.B) {
	ctx := context.Background()
	if err := setup(); err != nil {
		b.Fatal(err)
	}
	ns := hubNS
	var total time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		works++
		w := &placementv1beta1.Work{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("bench-%d", works), Namespace: ns}}
		w.Spec.Workload.Manifests = manifests(b, w.Name)
		start := time.Now()
		if err := hub.Create(ctx, w); err != nil {
			b.Fatal(err)
		}
		// Poll the hub every 20 ms: the measured time has that resolution.
		err := wait.PollUntilContextTimeout(ctx, 20*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
			if err := hub.Get(ctx, client.ObjectKeyFromObject(w), w); err != nil {
				return false, err
			}
			c := meta.FindStatusCondition(w.Status.Conditions, placementv1beta1.WorkConditionTypeApplied)
			if c == nil || c.ObservedGeneration != w.Generation {
				return false, nil
			}
			if c.Status != metav1.ConditionTrue {
				return false, fmt.Errorf("work %s: %s", w.Name, c.Message)
			}
			return true, nil
		})
		if err != nil {
			b.Fatal(err)
		}
		total += time.Since(start)
	}
	b.StopTimer()
	perWork := total / time.Duration(b.N)
	rate := float64(manifestsPerWork) / perWork.Seconds()
	b.ReportMetric(rate, "manifests/s")
	b.ReportMetric(float64(perWork.Milliseconds()), "ms/work")
	fmt.Printf("applied a Work of %d manifests in %s on average over %d runs: %.0f manifests/s\n", manifestsPerWork, perWork.Round(time.Millisecond), b.N, rate)
}
