package workapplier_test

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	clusterv1beta1 "github.com/flotilla-dev/flotilla/api/cluster/v1beta1"
	placementv1beta1 "github.com/flotilla-dev/flotilla/api/placement/v1beta1"
	"github.com/flotilla-dev/flotilla/internal/localfleet"
	"github.com/flotilla-dev/flotilla/internal/member"
	"github.com/flotilla-dev/flotilla/internal/scheme"
	"github.com/flotilla-dev/flotilla/internal/testenv"
)

var fleet *localfleet.Fleet

// Members 0 and 1 run the agents of start(); member 2 is TestAppliesAtOnceWhenTheMemberComesBack's.
func TestMain(m *testing.M) { testenv.Main(m, 3, &fleet) }

const (
	timeout = 30 * time.Second
	poll    = 100 * time.Millisecond
)

var (
	startOnce sync.Once
	hubClient client.Client
	members   []client.Client
	startErr  error
)

// start runs a member agent per member (heartbeat and work applier), as the real agent
// does, against hand-made hub namespaces and InternalMemberClusters (no hub controllers).
func start(t *testing.T) (client.Client, []client.Client) {
	t.Helper()
	startOnce.Do(func() {
		ctx := context.Background()
		if hubClient, startErr = client.New(fleet.Hub.Config, client.Options{Scheme: scheme.Scheme}); startErr != nil {
			return
		}
		for _, m := range fleet.Members[:outageMember] {
			c, err := client.New(m.Config, client.Options{Scheme: scheme.Scheme})
			if err != nil {
				startErr = err
				return
			}
			members = append(members, c)
			ns := clusterv1beta1.NamespaceForMember(m.Name)
			if startErr = hubClient.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); startErr != nil {
				return
			}
			imc := &clusterv1beta1.InternalMemberCluster{
				ObjectMeta: metav1.ObjectMeta{Name: m.Name, Namespace: ns},
				Spec:       clusterv1beta1.InternalMemberClusterSpec{State: clusterv1beta1.ClusterStateJoin, HeartbeatPeriodSeconds: 5},
			}
			if startErr = hubClient.Create(ctx, imc); startErr != nil {
				return
			}
			mgr, err := member.NewManager(context.Background(), fleet.Hub.Config, m.Config, member.Options{Name: m.Name, WorkResyncPeriod: 500 * time.Millisecond})
			if err != nil {
				startErr = err
				return
			}
			go func() { _ = mgr.Start(context.Background()) }()
		}
	})
	if startErr != nil {
		t.Fatalf("starting the agents: %v", startErr)
	}
	return hubClient, members
}

// raw turns objects into a Work's manifests.
func manifests(t *testing.T, objs ...any) []placementv1beta1.Manifest {
	t.Helper()
	var out []placementv1beta1.Manifest
	for _, o := range objs {
		data, ok := o.(string)
		var b []byte
		if ok {
			b = []byte(data)
		} else {
			var err error
			if b, err = json.Marshal(o); err != nil {
				t.Fatal(err)
			}
		}
		m := placementv1beta1.Manifest{}
		m.Raw = b
		out = append(out, m)
	}
	return out
}

func newWork(t *testing.T, memberIdx int, name string, s *placementv1beta1.ApplyStrategy, objs ...any) *placementv1beta1.Work {
	t.Helper()
	hub, _ := start(t)
	w := &placementv1beta1.Work{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: clusterv1beta1.NamespaceForMember(fleet.Members[memberIdx].Name)},
		Spec:       placementv1beta1.WorkSpec{Workload: placementv1beta1.WorkloadTemplate{Manifests: manifests(t, objs...)}, ApplyStrategy: s},
	}
	if err := hub.Create(context.Background(), w); err != nil {
		t.Fatalf("creating Work %s: %v", name, err)
	}
	return w
}

// setManifests replaces a Work's manifests (and strategy, when given).
func setManifests(t *testing.T, w *placementv1beta1.Work, s *placementv1beta1.ApplyStrategy, objs ...any) {
	t.Helper()
	hub, _ := start(t)
	NewWithT(t).Eventually(func(g Gomega) {
		g.Expect(hub.Get(context.Background(), client.ObjectKeyFromObject(w), w)).To(Succeed())
		w.Spec.Workload.Manifests = manifests(t, objs...)
		if s != nil {
			w.Spec.ApplyStrategy = s
		}
		g.Expect(hub.Update(context.Background(), w)).To(Succeed())
	}, timeout, poll).Should(Succeed())
}

// eventuallyWork polls the Work until check passes for its current generation.
func eventuallyWork(t *testing.T, w *placementv1beta1.Work, check func(g Gomega, w *placementv1beta1.Work)) *placementv1beta1.Work {
	t.Helper()
	hub, _ := start(t)
	got := &placementv1beta1.Work{}
	NewWithT(t).Eventually(func(g Gomega) {
		g.Expect(hub.Get(context.Background(), client.ObjectKeyFromObject(w), got)).To(Succeed())
		applied := meta.FindStatusCondition(got.Status.Conditions, placementv1beta1.WorkConditionTypeApplied)
		diff := meta.FindStatusCondition(got.Status.Conditions, placementv1beta1.WorkConditionTypeDiffReported)
		g.Expect(applied != nil || diff != nil).To(BeTrue(), "no status yet")
		for _, c := range got.Status.Conditions {
			g.Expect(c.ObservedGeneration).To(Equal(got.Generation), "status of an older generation")
		}
		check(g, got)
	}, timeout, poll).Should(Succeed())
	return got
}

// cond returns the manifest's condition of the type, failing when absent.
func cond(g Gomega, w *placementv1beta1.Work, ordinal int, typ string) metav1.Condition {
	g.Expect(len(w.Status.ManifestConditions)).To(BeNumerically(">", ordinal))
	c := meta.FindStatusCondition(w.Status.ManifestConditions[ordinal].Conditions, typ)
	g.Expect(c).NotTo(BeNil(), "manifest %d has no %s condition", ordinal, typ)
	return *c
}

func workCond(g Gomega, w *placementv1beta1.Work, typ string) metav1.Condition {
	c := meta.FindStatusCondition(w.Status.Conditions, typ)
	g.Expect(c).NotTo(BeNil(), "the Work has no %s condition", typ)
	return *c
}

func namespace(name string) map[string]any {
	return map[string]any{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": name}}
}

func configMap(ns, name string, data map[string]string) map[string]any {
	return map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": name, "namespace": ns}, "data": data}
}

func deleteWork(t *testing.T, w *placementv1beta1.Work) {
	t.Helper()
	hub, _ := start(t)
	if err := hub.Delete(context.Background(), w); client.IgnoreNotFound(err) != nil {
		t.Fatal(err)
	}
}

// ownedBy reports whether obj carries an ownerReference to the AppliedWork of that name.
func ownedBy(obj client.Object, appliedWork string) bool {
	for _, ref := range obj.GetOwnerReferences() {
		if ref.Kind == placementv1beta1.AppliedWorkKind && ref.Name == appliedWork {
			return true
		}
	}
	return false
}
