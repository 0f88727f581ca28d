package placement_test

import (
	"context"
	"encoding/json"
	"sort"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	placementv1beta1 "github.com/flotilla-dev/flotilla/api/placement/v1beta1"
	"github.com/flotilla-dev/flotilla/internal/hub/placement"
	"github.com/flotilla-dev/flotilla/internal/localfleet"
	"github.com/flotilla-dev/flotilla/internal/testenv"
	"github.com/flotilla-dev/flotilla/internal/testenv/placementtest"
)

var (
	fleet *localfleet.Fleet
	c     client.Client
	ctx   = context.Background()
)

// snapshotLimit is small so that a few ConfigMaps split a selection into sub-indexed
// snapshots.
const snapshotLimit = 8 << 10

func TestMain(m *testing.M) { testenv.Main(m, 0, &fleet) }

var started bool

// setup runs the placement controller with the scheduler and the rollout (the hub half of
// propagation) once for the package.
func setup(t *testing.T) {
	t.Helper()
	if started {
		return
	}
	started = true
	placementtest.StartManager(&testing.T{}, fleet.Hub.Config,
		func(mgr ctrl.Manager) error {
			return placement.Setup(mgr, placement.Options{SnapshotSizeLimit: snapshotLimit})
		},
		placementtest.Scheduler, placementtest.Rollout)
	c = placementtest.Client(t, fleet.Hub.Config)
}

const wait = 20 * time.Second

func namespaceWithApp(t *testing.T, ns string, labels map[string]string) {
	t.Helper()
	g := NewWithT(t)
	g.Expect(c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: labels}})).To(Succeed())
	g.Expect(c.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "settings"},
		Data: map[string]string{"greeting": "hello"}})).To(Succeed())
	g.Expect(c.Create(ctx, &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "web"},
		Spec: appsv1.DeploymentSpec{
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "nginx"}}}},
		}})).To(Succeed())
}

func newCRP(name string, sels []placementv1beta1.ClusterResourceSelector, policy *placementv1beta1.PlacementPolicy) *placementv1beta1.ClusterResourcePlacement {
	return &placementv1beta1.ClusterResourcePlacement{ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: placementv1beta1.ClusterResourcePlacementSpec{ResourceSelectors: sels, Policy: policy}}
}

func nsSel(name string) placementv1beta1.ClusterResourceSelector {
	return placementv1beta1.ClusterResourceSelector{Version: "v1", Kind: "Namespace", Name: name}
}

func getCRP(g Gomega, name string) *placementv1beta1.ClusterResourcePlacement {
	crp := &placementv1beta1.ClusterResourcePlacement{}
	g.Expect(c.Get(ctx, client.ObjectKey{Name: name}, crp)).To(Succeed())
	return crp
}

// updateCRP changes a placement, retrying when the controllers wrote its status meanwhile.
func updateCRP(g Gomega, name string, change func(*placementv1beta1.ClusterResourcePlacement)) {
	g.Eventually(func() error {
		crp := &placementv1beta1.ClusterResourcePlacement{}
		if err := c.Get(ctx, client.ObjectKey{Name: name}, crp); err != nil {
			return err
		}
		change(crp)
		return c.Update(ctx, crp)
	}, wait).Should(Succeed())
}

func crpCondition(g Gomega, name string, t placementv1beta1.PlacementConditionType) *metav1.Condition {
	return meta.FindStatusCondition(getCRP(g, name).Status.Conditions, string(t))
}

// snapshotObjects returns "Kind/namespace/name" of every object in the latest snapshots of
// a placement, and the snapshots' names.
func snapshotObjects(g Gomega, crp string) (objs, names []string) {
	list := &placementv1beta1.ClusterResourceSnapshotList{}
	g.Expect(c.List(ctx, list, client.MatchingLabels{placementv1beta1.CRPTrackingLabel: crp, placementv1beta1.IsLatestSnapshotLabel: "true"})).To(Succeed())
	for _, s := range list.Items {
		names = append(names, s.Name)
		for _, r := range s.Spec.SelectedResources {
			u := &unstructured.Unstructured{}
			g.Expect(json.Unmarshal(r.Raw, &u.Object)).To(Succeed())
			objs = append(objs, u.GetKind()+"/"+u.GetNamespace()+"/"+u.GetName())
		}
	}
	sort.Strings(objs)
	sort.Strings(names)
	return objs, names
}

func TestNamespaceWithResourcesSnapshotAndChange(t *testing.T) {
	setup(t)
	g := NewWithT(t)
	namespaceWithApp(t, "shop", nil)
	g.Expect(c.Create(ctx, newCRP("shop", []placementv1beta1.ClusterResourceSelector{nsSel("shop")}, nil))).To(Succeed())

	// kube-root-ca.crt and the default ServiceAccount are left out.
	g.Eventually(func(g Gomega) []string { objs, _ := snapshotObjects(g, "shop"); return objs }, wait).
		Should(Equal([]string{"ConfigMap/shop/settings", "Deployment/shop/web", "Namespace//shop"}))
	master := &placementv1beta1.ClusterResourceSnapshot{}
	g.Expect(c.Get(ctx, client.ObjectKey{Name: "shop-0-snapshot"}, master)).To(Succeed())
	g.Expect(master.Labels).To(HaveKeyWithValue(placementv1beta1.ResourceIndexLabel, "0"))
	g.Expect(master.Annotations).To(HaveKey(placementv1beta1.ResourceHashAnnotation))
	g.Expect(master.Annotations).To(HaveKeyWithValue(placementv1beta1.NumberOfResourceSnapshotsAnnotation, "1"))
	for _, r := range master.Spec.SelectedResources {
		// Cleaned of status and server-set fields.
		g.Expect(string(r.Raw)).NotTo(ContainSubstring(`"status"`))
		g.Expect(string(r.Raw)).NotTo(ContainSubstring(`"uid"`))
		g.Expect(string(r.Raw)).NotTo(ContainSubstring(`"resourceVersion"`))
		g.Expect(string(r.Raw)).NotTo(ContainSubstring(`"managedFields"`))
	}
	g.Eventually(func(g Gomega) {
		crp := getCRP(g, "shop")
		g.Expect(crp.Status.ObservedResourceIndex).To(Equal("0"))
		g.Expect(crp.Status.SelectedResources).To(ContainElement(placementv1beta1.ResourceIdentifier{Group: "apps", Version: "v1", Kind: "Deployment", Namespace: "shop", Name: "web"}))
	}, wait).Should(Succeed())

	// A change on the hub makes a new snapshot within a second.
	cm := &corev1.ConfigMap{}
	g.Expect(c.Get(ctx, client.ObjectKey{Namespace: "shop", Name: "settings"}, cm)).To(Succeed())
	cm.Data["greeting"] = "bonjour"
	changed := time.Now()
	g.Expect(c.Update(ctx, cm)).To(Succeed())
	g.Eventually(func(g Gomega) {
		s := &placementv1beta1.ClusterResourceSnapshot{}
		g.Expect(c.Get(ctx, client.ObjectKey{Name: "shop-1-snapshot"}, s)).To(Succeed())
		g.Expect(s.Labels).To(HaveKeyWithValue(placementv1beta1.IsLatestSnapshotLabel, "true"))
	}, time.Second, 20*time.Millisecond).Should(Succeed())
	t.Logf("a ConfigMap change made a new resource snapshot in %s", time.Since(changed).Round(time.Millisecond))
	g.Eventually(func(g Gomega) map[string]string {
		s := &placementv1beta1.ClusterResourceSnapshot{}
		g.Expect(c.Get(ctx, client.ObjectKey{Name: "shop-0-snapshot"}, s)).To(Succeed())
		return s.Labels
	}, wait).Should(HaveKeyWithValue(placementv1beta1.IsLatestSnapshotLabel, "false"))

	// A status-only change does not.
	dep := &appsv1.Deployment{}
	g.Expect(c.Get(ctx, client.ObjectKey{Namespace: "shop", Name: "web"}, dep)).To(Succeed())
	dep.Status.ObservedGeneration = 7
	g.Expect(c.Status().Update(ctx, dep)).To(Succeed())
	g.Consistently(func() error {
		return c.Get(ctx, client.ObjectKey{Name: "shop-2-snapshot"}, &placementv1beta1.ClusterResourceSnapshot{})
	}, 2*time.Second).ShouldNot(Succeed())
}

func TestNamespaceOnlyAndLabelSelection(t *testing.T) {
	setup(t)
	g := NewWithT(t)
	namespaceWithApp(t, "team-a", map[string]string{"team": "yes"})
	namespaceWithApp(t, "team-b", map[string]string{"team": "yes"})
	g.Expect(c.Create(ctx, newCRP("teams", []placementv1beta1.ClusterResourceSelector{{Version: "v1", Kind: "Namespace",
		LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"team": "yes"}}, SelectionScope: placementv1beta1.NamespaceOnly}}, nil))).To(Succeed())
	g.Eventually(func(g Gomega) []string { objs, _ := snapshotObjects(g, "teams"); return objs }, wait).
		Should(Equal([]string{"Namespace//team-a", "Namespace//team-b"}))
}

func TestInvalidSelectors(t *testing.T) {
	setup(t)
	cases := []struct {
		name string
		sel  placementv1beta1.ClusterResourceSelector
		want string
	}{
		{"reserved-ns", nsSel("kube-system"), "namespace kube-system, which is reserved"},
		{"fleet-ns", nsSel("fleet-member-x"), "reserved"},
		{"unknown-kind", placementv1beta1.ClusterResourceSelector{Group: "example.com", Version: "v1", Kind: "Gizmo"}, "which the hub does not serve"},
		{"namespaced-kind", placementv1beta1.ClusterResourceSelector{Version: "v1", Kind: "ConfigMap", Name: "x"}, "which is namespaced"},
		{"never-placed", placementv1beta1.ClusterResourceSelector{Version: "v1", Kind: "Node"}, "never placed"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			g.Expect(c.Create(ctx, newCRP("invalid-"+tc.name, []placementv1beta1.ClusterResourceSelector{tc.sel}, nil))).To(Succeed())
			g.Eventually(func(g Gomega) {
				cond := crpCondition(g, "invalid-"+tc.name, placementv1beta1.CRPScheduledConditionType)
				g.Expect(cond).NotTo(BeNil())
				g.Expect(cond.Status).To(Equal(metav1.ConditionFalse))
				g.Expect(cond.Reason).To(Equal(placementv1beta1.InvalidResourceSelectorsReason))
				g.Expect(cond.Message).To(ContainSubstring(tc.want))
				g.Expect(cond.Message).To(ContainSubstring("spec.resourceSelectors[0]"))
			}, wait).Should(Succeed())
		})
	}
}

func TestCustomResourcesAndCRDs(t *testing.T) {
	setup(t)
	g := NewWithT(t)
	crd := &apiextensionsv1.CustomResourceDefinition{
		ObjectMeta: metav1.ObjectMeta{Name: "widgets.example.com", Labels: map[string]string{"ship": "yes"}},
		Spec: apiextensionsv1.CustomResourceDefinitionSpec{
			Group: "example.com", Scope: apiextensionsv1.ClusterScoped,
			Names: apiextensionsv1.CustomResourceDefinitionNames{Plural: "widgets", Singular: "widget", Kind: "Widget", ListKind: "WidgetList"},
			Versions: []apiextensionsv1.CustomResourceDefinitionVersion{{Name: "v1", Served: true, Storage: true,
				Schema: &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: &apiextensionsv1.JSONSchemaProps{Type: "object",
					XPreserveUnknownFields: ptr.To(true)}}}},
		},
	}
	// The placement exists before the CRD: it is invalid until the kind is served.
	g.Expect(c.Create(ctx, newCRP("widgets", []placementv1beta1.ClusterResourceSelector{
		{Group: "example.com", Version: "v1", Kind: "Widget", LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"ship": "yes"}}},
		{Group: "apiextensions.k8s.io", Version: "v1", Kind: "CustomResourceDefinition", Name: "widgets.example.com"},
	}, nil))).To(Succeed())
	g.Eventually(func(g Gomega) string {
		cond := crpCondition(g, "widgets", placementv1beta1.CRPScheduledConditionType)
		g.Expect(cond).NotTo(BeNil())
		return cond.Reason
	}, wait).Should(Equal(placementv1beta1.InvalidResourceSelectorsReason))
	g.Expect(c.Create(ctx, crd)).To(Succeed())
	g.Eventually(func() error {
		w := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "example.com/v1", "kind": "Widget",
			"metadata": map[string]any{"name": "w1", "labels": map[string]any{"ship": "yes"}}, "spec": map[string]any{"size": int64(3)}}}
		return c.Create(ctx, w)
	}, wait).Should(Succeed())
	g.Eventually(func(g Gomega) []string { objs, _ := snapshotObjects(g, "widgets"); return objs }, wait).
		Should(Equal([]string{"CustomResourceDefinition//widgets.example.com", "Widget//w1"}))
}

func TestLargeSelectionIsSplit(t *testing.T) {
	setup(t)
	g := NewWithT(t)
	g.Expect(c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "big"}})).To(Succeed())
	for _, n := range []string{"a", "b", "c", "d", "e"} {
		g.Expect(c.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "big", Name: n},
			Data: map[string]string{"blob": strings.Repeat(n, 3000)}})).To(Succeed())
	}
	g.Expect(c.Create(ctx, newCRP("big", []placementv1beta1.ClusterResourceSelector{nsSel("big")}, nil))).To(Succeed())
	g.Eventually(func(g Gomega) {
		objs, names := snapshotObjects(g, "big")
		g.Expect(objs).To(HaveLen(6))
		g.Expect(names).To(Equal([]string{"big-0-0", "big-0-1", "big-0-snapshot"}))
	}, wait).Should(Succeed())
	master := &placementv1beta1.ClusterResourceSnapshot{}
	g.Expect(c.Get(ctx, client.ObjectKey{Name: "big-0-snapshot"}, master)).To(Succeed())
	g.Expect(master.Annotations).To(HaveKeyWithValue(placementv1beta1.NumberOfResourceSnapshotsAnnotation, "3"))
	sub := &placementv1beta1.ClusterResourceSnapshot{}
	g.Expect(c.Get(ctx, client.ObjectKey{Name: "big-0-1"}, sub)).To(Succeed())
	g.Expect(sub.Annotations).To(HaveKeyWithValue(placementv1beta1.SubindexOfResourceSnapshotAnnotation, "1"))
}

func TestRevisionHistoryLimitAndPolicySnapshots(t *testing.T) {
	setup(t)
	g := NewWithT(t)
	g.Expect(c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "hist"}})).To(Succeed())
	g.Expect(c.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "hist", Name: "v"}, Data: map[string]string{"v": "0"}})).To(Succeed())
	crp := newCRP("hist", []placementv1beta1.ClusterResourceSelector{nsSel("hist")},
		&placementv1beta1.PlacementPolicy{PlacementType: placementv1beta1.PickNPlacementType, NumberOfClusters: ptr.To(int32(1))})
	crp.Spec.RevisionHistoryLimit = ptr.To(int32(2))
	g.Expect(c.Create(ctx, crp)).To(Succeed())
	for i := 1; i <= 3; i++ {
		idx := i - 1
		g.Eventually(func() error {
			return c.Get(ctx, client.ObjectKey{Name: placementv1beta1.ResourceSnapshotName("hist", idx)}, &placementv1beta1.ClusterResourceSnapshot{})
		}, wait).Should(Succeed())
		cm := &corev1.ConfigMap{}
		g.Expect(c.Get(ctx, client.ObjectKey{Namespace: "hist", Name: "v"}, cm)).To(Succeed())
		cm.Data["v"] = string(rune('0' + i))
		g.Expect(c.Update(ctx, cm)).To(Succeed())
	}
	g.Eventually(func(g Gomega) []string {
		list := &placementv1beta1.ClusterResourceSnapshotList{}
		g.Expect(c.List(ctx, list, client.MatchingLabels{placementv1beta1.CRPTrackingLabel: "hist"})).To(Succeed())
		var names []string
		for _, s := range list.Items {
			names = append(names, s.Name)
		}
		sort.Strings(names)
		return names
	}, wait).Should(Equal([]string{"hist-2-snapshot", "hist-3-snapshot"}))

	// Scaling keeps the policy snapshot and updates its annotation; another policy makes a new one.
	g.Eventually(func() error {
		return c.Get(ctx, client.ObjectKey{Name: "hist-0"}, &placementv1beta1.ClusterSchedulingPolicySnapshot{})
	}, wait).Should(Succeed())
	updateCRP(g, "hist", func(p *placementv1beta1.ClusterResourcePlacement) { p.Spec.Policy.NumberOfClusters = ptr.To(int32(3)) })
	g.Eventually(func(g Gomega) map[string]string {
		s := &placementv1beta1.ClusterSchedulingPolicySnapshot{}
		g.Expect(c.Get(ctx, client.ObjectKey{Name: "hist-0"}, s)).To(Succeed())
		return s.Annotations
	}, wait).Should(And(HaveKeyWithValue(placementv1beta1.NumberOfClustersAnnotation, "3"), HaveKeyWithValue(placementv1beta1.CRPGenerationAnnotation, "2")))
	updateCRP(g, "hist", func(p *placementv1beta1.ClusterResourcePlacement) {
		p.Spec.Policy.Tolerations = []placementv1beta1.Toleration{{Key: "k", Operator: corev1.TolerationOpExists}}
	})
	g.Eventually(func(g Gomega) map[string]string {
		s := &placementv1beta1.ClusterSchedulingPolicySnapshot{}
		g.Expect(c.Get(ctx, client.ObjectKey{Name: "hist-1"}, s)).To(Succeed())
		return s.Labels
	}, wait).Should(And(HaveKeyWithValue(placementv1beta1.PolicyIndexLabel, "1"), HaveKeyWithValue(placementv1beta1.IsLatestSnapshotLabel, "true")))
	g.Eventually(func(g Gomega) map[string]string {
		s := &placementv1beta1.ClusterSchedulingPolicySnapshot{}
		g.Expect(c.Get(ctx, client.ObjectKey{Name: "hist-0"}, s)).To(Succeed())
		return s.Labels
	}, wait).Should(HaveKeyWithValue(placementv1beta1.IsLatestSnapshotLabel, "false"))
}

func updateConfigMap(g Gomega, ns, name, value string) {
	g.Eventually(func() error {
		cm := &corev1.ConfigMap{}
		if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, cm); err != nil {
			return err
		}
		cm.Data["greeting"] = value
		return c.Update(ctx, cm)
	}, wait).Should(Succeed())
}
