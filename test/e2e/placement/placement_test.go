package placement

import (
	"bytes"
	"context"
	"sort"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	clusterv1beta1 "github.com/flotilla-dev/flotilla/api/cluster/v1beta1"
	placementv1beta1 "github.com/flotilla-dev/flotilla/api/placement/v1beta1"
	"github.com/flotilla-dev/flotilla/internal/cli"
	"github.com/flotilla-dev/flotilla/internal/scheme"
)

const wait = 60 * time.Second

var ctx = context.Background()

func memberClient(g Gomega, name string) client.Client {
	c, err := client.New(fleet.Member(name).Config, client.Options{Scheme: scheme.Scheme})
	g.Expect(err).NotTo(HaveOccurred())
	return c
}

func memberNames() []string {
	var out []string
	for _, m := range fleet.Members {
		out = append(out, m.Name)
	}
	return out
}

// app creates, on the hub, a namespace with a ConfigMap and a Deployment.
func app(g Gomega, ns string) {
	g.Expect(fleet.Hub.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})).To(Succeed())
	g.Expect(fleet.Hub.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "settings"},
		Data: map[string]string{"greeting": "hello"}})).To(Succeed())
	g.Expect(fleet.Hub.Create(ctx, &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "web"},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(int32(1)),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "nginx"}}}},
		}})).To(Succeed())
}

// holders returns the members that have the app's ConfigMap with the given greeting and
// its Deployment.
func holders(g Gomega, ns, greeting string) []string {
	var out []string
	for _, m := range memberNames() {
		mc := memberClient(g, m)
		cm := &corev1.ConfigMap{}
		err := mc.Get(ctx, client.ObjectKey{Namespace: ns, Name: "settings"}, cm)
		if apierrors.IsNotFound(err) || (err == nil && cm.DeletionTimestamp != nil) {
			continue
		}
		g.Expect(err).NotTo(HaveOccurred())
		if cm.Data["greeting"] != greeting {
			continue
		}
		d := &appsv1.Deployment{}
		if err := mc.Get(ctx, client.ObjectKey{Namespace: ns, Name: "web"}, d); err != nil {
			continue
		}
		out = append(out, m)
	}
	sort.Strings(out)
	return out
}

func crp(name, ns string, policy *placementv1beta1.PlacementPolicy) *placementv1beta1.ClusterResourcePlacement {
	return &placementv1beta1.ClusterResourcePlacement{ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: placementv1beta1.ClusterResourcePlacementSpec{
			ResourceSelectors: []placementv1beta1.ClusterResourceSelector{{Version: "v1", Kind: "Namespace", Name: ns}},
			Policy:            policy,
		}}
}

func setLabel(g Gomega, member, key string, value *string) {
	g.Eventually(func() error {
		mc := &clusterv1beta1.MemberCluster{}
		if err := fleet.Hub.Get(ctx, client.ObjectKey{Name: member}, mc); err != nil {
			return err
		}
		if value == nil {
			delete(mc.Labels, key)
		} else {
			mc.Labels[key] = *value
		}
		return fleet.Hub.Update(ctx, mc)
	}, wait).Should(Succeed())
}

func crpCondition(g Gomega, name string, t placementv1beta1.PlacementConditionType) metav1.Condition {
	p := &placementv1beta1.ClusterResourcePlacement{}
	g.Expect(fleet.Hub.Get(ctx, client.ObjectKey{Name: name}, p)).To(Succeed())
	c := meta.FindStatusCondition(p.Status.Conditions, string(t))
	g.Expect(c).NotTo(BeNil(), "no %s on %s: %v", t, name, p.Status.Conditions)
	return *c
}

// TestPickAllWithLabelAffinity places an app on the members with a label, follows a change
// of its ConfigMap to them, moves when a member is relabeled, and leaves the members when
// the placement is deleted.
func TestPickAllWithLabelAffinity(t *testing.T) {
	g := NewWithT(t)
	ms := memberNames()
	yes := "yes"
	setLabel(g, ms[0], "e2e.flotilla.dev/pick", &yes)
	setLabel(g, ms[1], "e2e.flotilla.dev/pick", &yes)
	app(g, "pickall")
	g.Expect(fleet.Hub.Create(ctx, crp("pickall", "pickall", &placementv1beta1.PlacementPolicy{
		Affinity: &placementv1beta1.Affinity{ClusterAffinity: &placementv1beta1.ClusterAffinity{
			RequiredDuringSchedulingIgnoredDuringExecution: &placementv1beta1.ClusterSelector{ClusterSelectorTerms: []placementv1beta1.ClusterSelectorTerm{
				{LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"e2e.flotilla.dev/pick": "yes"}}}}}}},
	}))).To(Succeed())
	start := time.Now()
	g.Eventually(func(g Gomega) []string { return holders(g, "pickall", "hello") }, wait).Should(Equal([]string{ms[0], ms[1]}))
	t.Logf("placed on both members in %s", time.Since(start).Round(10*time.Millisecond))
	g.Consistently(func(g Gomega) []string { return holders(g, "pickall", "hello") }, "2s").Should(Equal([]string{ms[0], ms[1]}))
	g.Eventually(func(g Gomega) metav1.ConditionStatus {
		return crpCondition(g, "pickall", placementv1beta1.CRPAppliedConditionType).Status
	}, wait).Should(Equal(metav1.ConditionTrue))

	// A change of the ConfigMap on the hub reaches every chosen member.
	changed := time.Now()
	g.Eventually(func() error {
		cm := &corev1.ConfigMap{}
		if err := fleet.Hub.Get(ctx, client.ObjectKey{Namespace: "pickall", Name: "settings"}, cm); err != nil {
			return err
		}
		cm.Data["greeting"] = "bonjour"
		return fleet.Hub.Update(ctx, cm)
	}, wait).Should(Succeed())
	g.Eventually(func(g Gomega) []string { return holders(g, "pickall", "bonjour") }, wait, 50*time.Millisecond).Should(Equal([]string{ms[0], ms[1]}))
	t.Logf("the ConfigMap change reached both members in %s", time.Since(changed).Round(10*time.Millisecond))

	// Relabeling moves the placement: off the second member, onto the third.
	start = time.Now()
	setLabel(g, ms[1], "e2e.flotilla.dev/pick", nil)
	setLabel(g, ms[2], "e2e.flotilla.dev/pick", &yes)
	g.Eventually(func(g Gomega) []string { return holders(g, "pickall", "bonjour") }, wait).Should(Equal([]string{ms[0], ms[2]}))
	t.Logf("relabeling moved the placement in %s", time.Since(start).Round(10*time.Millisecond))

	// Deleting the placement removes what it placed from the members.
	start = time.Now()
	g.Expect(fleet.Hub.Delete(ctx, crp("pickall", "", nil))).To(Succeed())
	g.Eventually(func(g Gomega) []string { return holders(g, "pickall", "bonjour") }, wait).Should(BeEmpty())
	t.Logf("deleting the placement removed it from the members in %s", time.Since(start).Round(10*time.Millisecond))
	for _, m := range ms {
		setLabel(g, m, "e2e.flotilla.dev/pick", nil)
	}
}

// TestPickN places on one member, then on two.
func TestPickN(t *testing.T) {
	g := NewWithT(t)
	app(g, "pickn")
	g.Expect(fleet.Hub.Create(ctx, crp("pickn", "pickn", &placementv1beta1.PlacementPolicy{
		PlacementType: placementv1beta1.PickNPlacementType, NumberOfClusters: ptr.To(int32(1))}))).To(Succeed())
	g.Eventually(func(g Gomega) []string { return holders(g, "pickn", "hello") }, wait).Should(HaveLen(1))
	g.Consistently(func(g Gomega) []string { return holders(g, "pickn", "hello") }, "2s").Should(HaveLen(1))
	first := holders(g, "pickn", "hello")[0]

	g.Eventually(func() error {
		p := &placementv1beta1.ClusterResourcePlacement{}
		if err := fleet.Hub.Get(ctx, client.ObjectKey{Name: "pickn"}, p); err != nil {
			return err
		}
		p.Spec.Policy.NumberOfClusters = ptr.To(int32(2))
		return fleet.Hub.Update(ctx, p)
	}, wait).Should(Succeed())
	g.Eventually(func(g Gomega) []string { return holders(g, "pickn", "hello") }, wait).Should(And(HaveLen(2), ContainElement(first)))
	g.Eventually(func(g Gomega) string {
		return crpCondition(g, "pickn", placementv1beta1.CRPScheduledConditionType).Reason
	}, wait).Should(Equal(placementv1beta1.SchedulingPolicyFulfilledReason))
	g.Expect(fleet.Hub.Delete(ctx, crp("pickn", "", nil))).To(Succeed())
	g.Eventually(func(g Gomega) []string { return holders(g, "pickn", "hello") }, wait).Should(BeEmpty())
}

// TestPickFixedWithAnUnknownName places on the one real member it names and reports the
// unknown one.
func TestPickFixedWithAnUnknownName(t *testing.T) {
	g := NewWithT(t)
	ms := memberNames()
	app(g, "pickfixed")
	g.Expect(fleet.Hub.Create(ctx, crp("pickfixed", "pickfixed", &placementv1beta1.PlacementPolicy{
		PlacementType: placementv1beta1.PickFixedPlacementType, ClusterNames: []string{ms[2], "no-such-member"}}))).To(Succeed())
	g.Eventually(func(g Gomega) []string { return holders(g, "pickfixed", "hello") }, wait).Should(Equal([]string{ms[2]}))
	g.Eventually(func(g Gomega) {
		cond := crpCondition(g, "pickfixed", placementv1beta1.CRPScheduledConditionType)
		g.Expect(cond.Status).To(Equal(metav1.ConditionFalse))
		g.Expect(cond.Reason).To(Equal(placementv1beta1.SchedulingPolicyUnfulfilledReason))
		p := &placementv1beta1.ClusterResourcePlacement{}
		g.Expect(fleet.Hub.Get(ctx, client.ObjectKey{Name: "pickfixed"}, p)).To(Succeed())
		var unknown *placementv1beta1.ResourcePlacementStatus
		for i := range p.Status.PlacementStatuses {
			if p.Status.PlacementStatuses[i].ClusterName == "no-such-member" {
				unknown = &p.Status.PlacementStatuses[i]
			}
		}
		g.Expect(unknown).NotTo(BeNil())
		g.Expect(unknown.Conditions[0].Message).To(ContainSubstring("no member cluster named no-such-member"))
	}, wait).Should(Succeed())

	// The user verbs show the same.
	var out, errOut bytes.Buffer
	kubeconfig := fleet.Fleet.Hub.KubeconfigPath
	g.Eventually(func(g Gomega) {
		out.Reset()
		g.Expect(cli.Main([]string{"placement", "list", "--kubeconfig", kubeconfig}, &out, &errOut)).To(Equal(0), errOut.String())
		g.Expect(out.String()).To(MatchRegexp(`pickfixed\s+PickFixed\s+1/2\s+1\s+`))
	}, wait).Should(Succeed())
	out.Reset()
	g.Expect(cli.Main([]string{"placement", "status", "pickfixed", "--kubeconfig", kubeconfig}, &out, &errOut)).To(Equal(0), errOut.String())
	g.Expect(out.String()).To(ContainSubstring("cluster " + ms[2]))
	g.Expect(out.String()).To(ContainSubstring("cluster no-such-member"))
	g.Expect(out.String()).To(ContainSubstring("no member cluster named no-such-member"))
	errOut.Reset()
	g.Expect(cli.Main([]string{"placement", "status", "nope", "--kubeconfig", kubeconfig}, &out, &errOut)).To(Equal(1))
	g.Expect(errOut.String()).To(ContainSubstring(`no ClusterResourcePlacement named "nope"`))

	g.Expect(fleet.Hub.Delete(ctx, crp("pickfixed", "", nil))).To(Succeed())
	g.Eventually(func(g Gomega) []string { return holders(g, "pickfixed", "hello") }, wait).Should(BeEmpty())
}
