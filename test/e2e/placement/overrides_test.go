package placement

import (
	"encoding/json"
	"testing"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	placementv1beta1 "github.com/flotilla-dev/flotilla/api/placement/v1beta1"
)

func jsonValue(g Gomega, v any) apiextensionsv1.JSON {
	data, err := json.Marshal(v)
	g.Expect(err).NotTo(HaveOccurred())
	return apiextensionsv1.JSON{Raw: data}
}

func onMemberLabel(value string) *placementv1beta1.ClusterSelector {
	return &placementv1beta1.ClusterSelector{ClusterSelectorTerms: []placementv1beta1.ClusterSelectorTerm{{
		LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"e2e.flotilla.dev/override": value}}}}}
}

// memberCondition returns a condition of the placement's status for one member.
func memberCondition(g Gomega, crp, member string, t placementv1beta1.ResourceConditionType) *metav1.Condition {
	p := &placementv1beta1.ClusterResourcePlacement{}
	g.Expect(fleet.Hub.Get(ctx, client.ObjectKey{Name: crp}, p)).To(Succeed())
	for _, ps := range p.Status.PlacementStatuses {
		if ps.ClusterName == member {
			return meta.FindStatusCondition(ps.Conditions, string(t))
		}
	}
	return nil
}

// TestOverrides places a namespace with a Deployment and a ConfigMap on three members, with
// a ClusterResourceOverride that labels the namespace with the member's name on the first,
// a ResourceOverride that changes the image on the second and a Delete rule that leaves the
// ConfigMap off the second. Each member gets its own version. A patch that cannot apply on
// the third gives Overridden=False there only, and the third keeps what it had.
func TestOverrides(t *testing.T) {
	g := NewWithT(t)
	ms := memberNames()
	first, second, third := "first", "second", "third"
	setLabel(g, ms[0], "e2e.flotilla.dev/override", &first)
	setLabel(g, ms[1], "e2e.flotilla.dev/override", &second)
	setLabel(g, ms[2], "e2e.flotilla.dev/override", &third)
	defer func() {
		for _, m := range ms {
			setLabel(g, m, "e2e.flotilla.dev/override", nil)
		}
	}()
	app(g, "ovr")
	// A ConfigMap of its own for the broken override below: one override per resource.
	g.Expect(fleet.Hub.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "ovr", Name: "extra"},
		Data: map[string]string{"k": "v"}})).To(Succeed())
	g.Expect(fleet.Hub.Create(ctx, &placementv1beta1.ClusterResourceOverride{
		ObjectMeta: metav1.ObjectMeta{Name: "ovr-label"},
		Spec: placementv1beta1.ClusterResourceOverrideSpec{
			Placement:                &placementv1beta1.PlacementRef{Name: "ovr"},
			ClusterResourceSelectors: []placementv1beta1.ClusterResourceSelector{{Version: "v1", Kind: "Namespace", Name: "ovr"}},
			Policy: &placementv1beta1.OverridePolicy{OverrideRules: []placementv1beta1.OverrideRule{{
				ClusterSelector: onMemberLabel(first),
				JSONPatchOverrides: []placementv1beta1.JSONPatchOverride{{Operator: placementv1beta1.JSONPatchAdd,
					Path: "/metadata/labels", Value: jsonValue(g, map[string]string{"placed-on": "${MEMBER-CLUSTER-NAME}"})}},
			}}},
		}})).To(Succeed())
	g.Expect(fleet.Hub.Create(ctx, &placementv1beta1.ResourceOverride{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ovr", Name: "ovr-image"},
		Spec: placementv1beta1.ResourceOverrideSpec{
			ResourceSelectors: []placementv1beta1.ResourceSelector{{Group: "apps", Version: "v1", Kind: "Deployment", Name: "web"}},
			Policy: &placementv1beta1.OverridePolicy{OverrideRules: []placementv1beta1.OverrideRule{{
				ClusterSelector: onMemberLabel(second),
				JSONPatchOverrides: []placementv1beta1.JSONPatchOverride{{Operator: placementv1beta1.JSONPatchReplace,
					Path: "/spec/template/spec/containers/0/image", Value: jsonValue(g, "nginx:1.27")}},
			}}},
		}})).To(Succeed())
	g.Expect(fleet.Hub.Create(ctx, &placementv1beta1.ResourceOverride{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ovr", Name: "ovr-no-settings"},
		Spec: placementv1beta1.ResourceOverrideSpec{
			Placement:         &placementv1beta1.PlacementRef{Name: "ovr"},
			ResourceSelectors: []placementv1beta1.ResourceSelector{{Version: "v1", Kind: "ConfigMap", Name: "settings"}},
			Policy: &placementv1beta1.OverridePolicy{OverrideRules: []placementv1beta1.OverrideRule{{
				ClusterSelector: onMemberLabel(second), OverrideType: placementv1beta1.DeleteOverrideType}}},
		}})).To(Succeed())
	g.Expect(fleet.Hub.Create(ctx, crp("ovr", "ovr", nil))).To(Succeed())

	type view struct {
		label, image string
		settings     bool
	}
	look := func(g Gomega, m string) view {
		mc := memberClient(g, m)
		ns := &corev1.Namespace{}
		g.Expect(mc.Get(ctx, client.ObjectKey{Name: "ovr"}, ns)).To(Succeed())
		d := &appsv1.Deployment{}
		g.Expect(mc.Get(ctx, client.ObjectKey{Namespace: "ovr", Name: "web"}, d)).To(Succeed())
		err := mc.Get(ctx, client.ObjectKey{Namespace: "ovr", Name: "settings"}, &corev1.ConfigMap{})
		g.Expect(err == nil || apierrors.IsNotFound(err)).To(BeTrue(), "%v", err)
		return view{label: ns.Labels["placed-on"], image: d.Spec.Template.Spec.Containers[0].Image, settings: err == nil}
	}
	g.Eventually(func(g Gomega) []view {
		return []view{look(g, ms[0]), look(g, ms[1]), look(g, ms[2])}
	}, wait).Should(Equal([]view{
		{label: ms[0], image: "nginx", settings: true},
		{label: "", image: "nginx:1.27", settings: false},
		{label: "", image: "nginx", settings: true},
	}))
	g.Eventually(func(g Gomega) string {
		return crpCondition(g, "ovr", placementv1beta1.CRPOverriddenConditionType).Reason
	}, wait).Should(Equal(placementv1beta1.OverriddenSucceededReason))
	p := &placementv1beta1.ClusterResourcePlacement{}
	g.Expect(fleet.Hub.Get(ctx, client.ObjectKey{Name: "ovr"}, p)).To(Succeed())
	for _, ps := range p.Status.PlacementStatuses {
		switch ps.ClusterName {
		case ms[0]:
			g.Expect(ps.ApplicableClusterResourceOverrides).To(Equal([]string{"ovr-label-0"}))
			g.Expect(ps.ApplicableResourceOverrides).To(BeEmpty())
		case ms[1]:
			g.Expect(ps.ApplicableClusterResourceOverrides).To(BeEmpty())
			g.Expect(ps.ApplicableResourceOverrides).To(ConsistOf(
				placementv1beta1.NamespacedName{Namespace: "ovr", Name: "ovr-image-0"},
				placementv1beta1.NamespacedName{Namespace: "ovr", Name: "ovr-no-settings-0"}))
		}
	}

	// A patch that cannot apply on the third member: Overridden=False there only, and the
	// third keeps what it had.
	g.Expect(fleet.Hub.Create(ctx, &placementv1beta1.ResourceOverride{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ovr", Name: "ovr-broken"},
		Spec: placementv1beta1.ResourceOverrideSpec{
			ResourceSelectors: []placementv1beta1.ResourceSelector{{Version: "v1", Kind: "ConfigMap", Name: "extra"}},
			Policy: &placementv1beta1.OverridePolicy{OverrideRules: []placementv1beta1.OverrideRule{{
				ClusterSelector: onMemberLabel(third),
				JSONPatchOverrides: []placementv1beta1.JSONPatchOverride{{Operator: placementv1beta1.JSONPatchReplace,
					Path: "/data/missing", Value: jsonValue(g, "x")}},
			}}},
		}})).To(Succeed())
	g.Eventually(func(g Gomega) *metav1.Condition {
		return memberCondition(g, "ovr", ms[2], placementv1beta1.ResourceOverriddenConditionType)
	}, wait).Should(And(
		HaveField("Status", metav1.ConditionFalse),
		HaveField("Reason", placementv1beta1.OverriddenFailedReason),
		HaveField("Message", ContainSubstring("ResourceOverride snapshot ovr/ovr-broken-0, overrideRules[0].jsonPatchOverrides[0] (replace /data/missing)"))))
	for _, m := range ms[:2] {
		g.Expect(memberCondition(g, "ovr", m, placementv1beta1.ResourceOverriddenConditionType).Status).To(Equal(metav1.ConditionTrue))
	}
	g.Expect(crpCondition(g, "ovr", placementv1beta1.CRPOverriddenConditionType).Status).To(Equal(metav1.ConditionFalse))
	g.Consistently(func(g Gomega) view { return look(g, ms[2]) }, "2s").Should(Equal(view{image: "nginx", settings: true}))

	// Fixing the override (here: deleting it) lets the third member converge again.
	g.Expect(fleet.Hub.Delete(ctx, &placementv1beta1.ResourceOverride{ObjectMeta: metav1.ObjectMeta{Namespace: "ovr", Name: "ovr-broken"}})).To(Succeed())
	g.Eventually(func(g Gomega) metav1.ConditionStatus {
		return memberCondition(g, "ovr", ms[2], placementv1beta1.ResourceOverriddenConditionType).Status
	}, wait).Should(Equal(metav1.ConditionTrue))

	g.Expect(fleet.Hub.Delete(ctx, crp("ovr", "", nil))).To(Succeed())
	g.Eventually(func(g Gomega) []string { return holders(g, "ovr", "hello") }, wait).Should(BeEmpty())
}
