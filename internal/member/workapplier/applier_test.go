package workapplier_test

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	clusterv1beta1 "github.com/flotilla-dev/flotilla/api/cluster/v1beta1"
	placementv1beta1 "github.com/flotilla-dev/flotilla/api/placement/v1beta1"
)

// TestWavesOwnershipAndAvailability places objects listed in reverse dependency order: the
// waves still create the namespace and the Role first, every object points to the
// AppliedWork, and the Work reports availability per kind.
func TestWavesOwnershipAndAvailability(t *testing.T) {
	_, ms := start(t)
	ctx := context.Background()
	ns := "waves"
	w := newWork(t, 0, "waves", nil,
		map[string]any{"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
			"metadata": map[string]any{"name": "reader", "namespace": ns},
			"roleRef":  map[string]any{"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "reader"},
			"subjects": []any{map[string]any{"kind": "User", "name": "jane"}}},
		map[string]any{"apiVersion": "v1", "kind": "Service", "metadata": map[string]any{"name": "web", "namespace": ns},
			"spec": map[string]any{"ports": []any{map[string]any{"port": 80}}}},
		map[string]any{"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": map[string]any{"name": "reader", "namespace": ns},
			"rules": []any{map[string]any{"apiGroups": []any{""}, "resources": []any{"configmaps"}, "verbs": []any{"get"}}}},
		configMap(ns, "settings", map[string]string{"color": "blue"}),
		map[string]any{"apiVersion": "batch/v1", "kind": "Job", "metadata": map[string]any{"name": "once", "namespace": ns},
			"spec": map[string]any{"template": map[string]any{"spec": map[string]any{"restartPolicy": "Never",
				"containers": []any{map[string]any{"name": "c", "image": "busybox"}}}}}},
		namespace(ns),
	)
	got := eventuallyWork(t, w, func(g Gomega, w *placementv1beta1.Work) {
		g.Expect(workCond(g, w, placementv1beta1.WorkConditionTypeApplied).Reason).To(Equal(placementv1beta1.WorkAllManifestsAppliedReason))
		avail := workCond(g, w, placementv1beta1.WorkConditionTypeAvailable)
		g.Expect(avail.Status).To(Equal(metav1.ConditionTrue))
		// The Job cannot be tracked, so the Work is available as "not trackable".
		g.Expect(avail.Reason).To(Equal(placementv1beta1.WorkNotTrackableReason))
	})
	g := NewWithT(t)
	g.Expect(got.Status.ManifestConditions).To(HaveLen(6))
	svc := got.Status.ManifestConditions[1]
	g.Expect(svc.Identifier).To(Equal(placementv1beta1.WorkResourceIdentifier{Ordinal: 1, Version: "v1", Kind: "Service", Resource: "services", Namespace: ns, Name: "web"}))
	g.Expect(cond(g, got, 1, placementv1beta1.WorkConditionTypeAvailable).Message).To(ContainSubstring("cluster IP"))
	g.Expect(cond(g, got, 4, placementv1beta1.WorkConditionTypeAvailable).Reason).To(Equal(placementv1beta1.ManifestNotTrackableReason))
	g.Expect(cond(g, got, 3, placementv1beta1.WorkConditionTypeAvailable).Reason).To(Equal(placementv1beta1.ManifestAvailableReason))

	aw := &placementv1beta1.AppliedWork{}
	g.Expect(ms[0].Get(ctx, client.ObjectKey{Name: "waves"}, aw)).To(Succeed())
	g.Expect(aw.Spec).To(Equal(placementv1beta1.AppliedWorkSpec{WorkName: "waves", WorkNamespace: w.Namespace}))
	g.Eventually(func(g Gomega) {
		g.Expect(ms[0].Get(ctx, client.ObjectKey{Name: "waves"}, aw)).To(Succeed())
		g.Expect(aw.Status.AppliedResources).To(HaveLen(6))
	}, timeout, poll).Should(Succeed())
	for _, obj := range []client.Object{&corev1.Namespace{}, &corev1.ConfigMap{}, &corev1.Service{}, &rbacv1.Role{}, &rbacv1.RoleBinding{}} {
		key := client.ObjectKey{Namespace: ns, Name: "settings"}
		switch obj.(type) {
		case *corev1.Namespace:
			key = client.ObjectKey{Name: ns}
		case *corev1.Service:
			key.Name = "web"
		case *rbacv1.Role, *rbacv1.RoleBinding:
			key.Name = "reader"
		}
		g.Expect(ms[0].Get(ctx, key, obj)).To(Succeed())
		g.Expect(ownedBy(obj, "waves")).To(BeTrue(), "%T %s has no ownerReference to its AppliedWork", obj, key)
		g.Expect(obj.GetAnnotations()).To(HaveKey(placementv1beta1.LastAppliedConfigAnnotation))
		g.Expect(obj.GetAnnotations()).NotTo(HaveKey(placementv1beta1.PreExistingAnnotation))
	}
	// The namespace, created in the first wave, is older than the RoleBinding of the fourth.
	nsObj, rb := &corev1.Namespace{}, &rbacv1.RoleBinding{}
	g.Expect(ms[0].Get(ctx, client.ObjectKey{Name: ns}, nsObj)).To(Succeed())
	g.Expect(ms[0].Get(ctx, client.ObjectKey{Namespace: ns, Name: "reader"}, rb)).To(Succeed())
	g.Expect(nsObj.ResourceVersion < rb.ResourceVersion || len(nsObj.ResourceVersion) < len(rb.ResourceVersion)).To(BeTrue())
}

// TestClientSideApply checks the three-way merge: member edits of managed fields are
// overwritten (whenToApply Always), member-only fields stay, and a field dropped from the
// manifest is removed.
func TestClientSideApply(t *testing.T) {
	_, ms := start(t)
	ctx := context.Background()
	w := newWork(t, 0, "csa", nil, namespace("csa"), configMap("csa", "app", map[string]string{"a": "1", "b": "2"}))
	eventuallyWork(t, w, func(g Gomega, w *placementv1beta1.Work) {
		g.Expect(workCond(g, w, placementv1beta1.WorkConditionTypeApplied).Status).To(Equal(metav1.ConditionTrue))
	})
	cm := &corev1.ConfigMap{}
	key := client.ObjectKey{Namespace: "csa", Name: "app"}
	g := NewWithT(t)
	g.Expect(ms[0].Get(ctx, key, cm)).To(Succeed())
	cm.Data["a"] = "edited"
	cm.Data["mine"] = "member-only"
	g.Expect(ms[0].Update(ctx, cm)).To(Succeed())
	g.Eventually(func(g Gomega) {
		g.Expect(ms[0].Get(ctx, key, cm)).To(Succeed())
		g.Expect(cm.Data).To(Equal(map[string]string{"a": "1", "b": "2", "mine": "member-only"}))
	}, timeout, poll).Should(Succeed())

	setManifests(t, w, nil, namespace("csa"), configMap("csa", "app", map[string]string{"a": "1"}))
	g.Eventually(func(g Gomega) {
		g.Expect(ms[0].Get(ctx, key, cm)).To(Succeed())
		g.Expect(cm.Data).To(Equal(map[string]string{"a": "1", "mine": "member-only"}))
	}, timeout, poll).Should(Succeed())
}

// TestDriftIfNotDrifted checks that, with whenToApply IfNotDrifted, an edit on the member
// is reported with its path and both values and left in place; and that partial comparison
// ignores a label the member added while full comparison reports it.
func TestDriftIfNotDrifted(t *testing.T) {
	_, ms := start(t)
	ctx := context.Background()
	s := &placementv1beta1.ApplyStrategy{WhenToApply: placementv1beta1.WhenToApplyTypeIfNotDrifted}
	objs := []any{namespace("drift"), configMap("drift", "value", map[string]string{"a": "1"}), configMap("drift", "label", map[string]string{"k": "v"})}
	w := newWork(t, 0, "drift", s, objs...)
	eventuallyWork(t, w, func(g Gomega, w *placementv1beta1.Work) {
		g.Expect(workCond(g, w, placementv1beta1.WorkConditionTypeApplied).Status).To(Equal(metav1.ConditionTrue))
	})
	g := NewWithT(t)
	value, label := &corev1.ConfigMap{}, &corev1.ConfigMap{}
	g.Expect(ms[0].Get(ctx, client.ObjectKey{Namespace: "drift", Name: "value"}, value)).To(Succeed())
	value.Data["a"] = "edited"
	g.Expect(ms[0].Update(ctx, value)).To(Succeed())
	g.Expect(ms[0].Get(ctx, client.ObjectKey{Namespace: "drift", Name: "label"}, label)).To(Succeed())
	label.Labels = map[string]string{"team": "member"}
	g.Expect(ms[0].Update(ctx, label)).To(Succeed())

	got := eventuallyWork(t, w, func(g Gomega, w *placementv1beta1.Work) {
		c := cond(g, w, 1, placementv1beta1.WorkConditionTypeApplied)
		g.Expect(c.Status).To(Equal(metav1.ConditionFalse))
		g.Expect(c.Reason).To(Equal(placementv1beta1.ManifestFoundDriftsReason))
		g.Expect(c.Message).To(ContainSubstring("/data/a"))
		g.Expect(w.Status.ManifestConditions[1].DriftDetails).NotTo(BeNil())
	})
	g.Expect(got.Status.ManifestConditions[1].DriftDetails.ObservedDrifts).To(Equal([]placementv1beta1.PatchDetail{
		{Path: "/data/a", ValueInMember: "edited", ValueInHub: "1"}}))
	g.Expect(workCond(g, got, placementv1beta1.WorkConditionTypeApplied).Reason).To(Equal(placementv1beta1.WorkNotAllManifestsAppliedReason))
	// Partial comparison: the member's extra label is not a drift.
	g.Expect(cond(g, got, 2, placementv1beta1.WorkConditionTypeApplied).Status).To(Equal(metav1.ConditionTrue))
	g.Expect(ms[0].Get(ctx, client.ObjectKey{Namespace: "drift", Name: "value"}, value)).To(Succeed())
	g.Expect(value.Data["a"]).To(Equal("edited"), "a drifted object was overwritten under IfNotDrifted")

	full := &placementv1beta1.ApplyStrategy{WhenToApply: placementv1beta1.WhenToApplyTypeIfNotDrifted, ComparisonOption: placementv1beta1.ComparisonOptionTypeFullComparison}
	setManifests(t, w, full, objs...)
	got = eventuallyWork(t, w, func(g Gomega, w *placementv1beta1.Work) {
		g.Expect(cond(g, w, 2, placementv1beta1.WorkConditionTypeApplied).Reason).To(Equal(placementv1beta1.ManifestFoundDriftsReason))
	})
	g.Expect(got.Status.ManifestConditions[2].DriftDetails.ObservedDrifts).To(Equal([]placementv1beta1.PatchDetail{
		{Path: "/metadata/labels/team", ValueInMember: "member"}}))

	// Always: the edit is overwritten, and the drift report goes away.
	setManifests(t, w, &placementv1beta1.ApplyStrategy{WhenToApply: placementv1beta1.WhenToApplyTypeAlways}, objs...)
	got = eventuallyWork(t, w, func(g Gomega, w *placementv1beta1.Work) {
		g.Expect(workCond(g, w, placementv1beta1.WorkConditionTypeApplied).Status).To(Equal(metav1.ConditionTrue))
	})
	g.Expect(got.Status.ManifestConditions[1].DriftDetails).To(BeNil())
	g.Expect(ms[0].Get(ctx, client.ObjectKey{Namespace: "drift", Name: "value"}, value)).To(Succeed())
	g.Expect(value.Data["a"]).To(Equal("1"))
}

// TestServerSideApply applies as field manager flotilla: without force a member edit of a
// managed field is a conflict reported with the server's message; with force it is
// overwritten.
func TestServerSideApply(t *testing.T) {
	_, ms := start(t)
	ctx := context.Background()
	objs := []any{namespace("ssa"), configMap("ssa", "app", map[string]string{"a": "1"})}
	w := newWork(t, 0, "ssa", &placementv1beta1.ApplyStrategy{Type: placementv1beta1.ApplyStrategyTypeServerSideApply}, objs...)
	eventuallyWork(t, w, func(g Gomega, w *placementv1beta1.Work) {
		g.Expect(workCond(g, w, placementv1beta1.WorkConditionTypeApplied).Status).To(Equal(metav1.ConditionTrue))
	})
	g := NewWithT(t)
	cm := &corev1.ConfigMap{}
	key := client.ObjectKey{Namespace: "ssa", Name: "app"}
	g.Expect(ms[0].Get(ctx, key, cm)).To(Succeed())
	managers := map[string]metav1.ManagedFieldsOperationType{}
	for _, f := range cm.ManagedFields {
		managers[f.Manager] = f.Operation
	}
	g.Expect(managers).To(HaveKeyWithValue(placementv1beta1.WorkFieldManager, metav1.ManagedFieldsOperationApply))
	g.Expect(ownedBy(cm, "ssa")).To(BeTrue())

	cm.Data["a"] = "edited"
	g.Expect(ms[0].Update(ctx, cm, client.FieldOwner("someone-else"))).To(Succeed())
	eventuallyWork(t, w, func(g Gomega, w *placementv1beta1.Work) {
		c := cond(g, w, 1, placementv1beta1.WorkConditionTypeApplied)
		g.Expect(c.Reason).To(Equal(placementv1beta1.ManifestFailedToApplyReason))
		g.Expect(c.Message).To(ContainSubstring("conflict"))
		g.Expect(c.Message).To(ContainSubstring("someone-else"))
	})
	setManifests(t, w, &placementv1beta1.ApplyStrategy{Type: placementv1beta1.ApplyStrategyTypeServerSideApply,
		ServerSideApplyConfig: &placementv1beta1.ServerSideApplyConfig{ForceConflicts: true}}, objs...)
	eventuallyWork(t, w, func(g Gomega, w *placementv1beta1.Work) {
		g.Expect(workCond(g, w, placementv1beta1.WorkConditionTypeApplied).Status).To(Equal(metav1.ConditionTrue))
	})
	g.Expect(ms[0].Get(ctx, key, cm)).To(Succeed())
	g.Expect(cm.Data["a"]).To(Equal("1"))
}

// TestTakeOver covers whenToTakeOver on objects that existed before Flotilla: Never leaves
// them, IfNoDiff takes only identical ones and reports the differences of the others,
// Always takes and overwrites. Deleting the Works never deletes what was taken over.
func TestTakeOver(t *testing.T) {
	_, ms := start(t)
	ctx := context.Background()
	g := NewWithT(t)
	g.Expect(ms[0].Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "takeover"}})).To(Succeed())
	for name, value := range map[string]string{"never": "member", "differs": "member", "same": "hub", "always": "member"} {
		g.Expect(ms[0].Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "takeover"},
			Data: map[string]string{"a": value}})).To(Succeed())
	}
	hubCM := func(name string) map[string]any { return configMap("takeover", name, map[string]string{"a": "hub"}) }

	never := newWork(t, 0, "takeover-never", &placementv1beta1.ApplyStrategy{WhenToTakeOver: placementv1beta1.WhenToTakeOverTypeNever}, hubCM("never"))
	ifNoDiff := newWork(t, 0, "takeover-ifnodiff", &placementv1beta1.ApplyStrategy{WhenToTakeOver: placementv1beta1.WhenToTakeOverTypeIfNoDiff}, hubCM("differs"), hubCM("same"))
	always := newWork(t, 0, "takeover-always", &placementv1beta1.ApplyStrategy{WhenToTakeOver: placementv1beta1.WhenToTakeOverTypeAlways}, hubCM("always"))

	eventuallyWork(t, never, func(g Gomega, w *placementv1beta1.Work) {
		c := cond(g, w, 0, placementv1beta1.WorkConditionTypeApplied)
		g.Expect(c.Reason).To(Equal(placementv1beta1.ManifestNotTakenOverReason))
		g.Expect(c.Message).To(ContainSubstring("whenToTakeOver is Never"))
	})
	got := eventuallyWork(t, ifNoDiff, func(g Gomega, w *placementv1beta1.Work) {
		g.Expect(cond(g, w, 0, placementv1beta1.WorkConditionTypeApplied).Reason).To(Equal(placementv1beta1.ManifestFailedToTakeOverReason))
		g.Expect(cond(g, w, 1, placementv1beta1.WorkConditionTypeApplied).Reason).To(Equal(placementv1beta1.ManifestAppliedReason))
	})
	g.Expect(got.Status.ManifestConditions[0].DiffDetails).NotTo(BeNil())
	g.Expect(got.Status.ManifestConditions[0].DiffDetails.ObservedDiffs).To(Equal([]placementv1beta1.PatchDetail{
		{Path: "/data/a", ValueInMember: "member", ValueInHub: "hub"}}))
	eventuallyWork(t, always, func(g Gomega, w *placementv1beta1.Work) {
		g.Expect(workCond(g, w, placementv1beta1.WorkConditionTypeApplied).Status).To(Equal(metav1.ConditionTrue))
	})

	get := func(name string) *corev1.ConfigMap {
		cm := &corev1.ConfigMap{}
		g.Expect(ms[0].Get(ctx, client.ObjectKey{Namespace: "takeover", Name: name}, cm)).To(Succeed())
		return cm
	}
	g.Expect(get("never").OwnerReferences).To(BeEmpty())
	g.Expect(get("never").Data["a"]).To(Equal("member"))
	g.Expect(get("differs").OwnerReferences).To(BeEmpty())
	g.Expect(get("differs").Data["a"]).To(Equal("member"))
	for name, work := range map[string]string{"same": "takeover-ifnodiff", "always": "takeover-always"} {
		cm := get(name)
		g.Expect(ownedBy(cm, work)).To(BeTrue(), name)
		g.Expect(cm.Annotations).To(HaveKeyWithValue(placementv1beta1.PreExistingAnnotation, "true"))
		g.Expect(cm.Data["a"]).To(Equal("hub"))
	}

	// Deleting the Works releases the taken-over objects and deletes none of them.
	deleteWork(t, ifNoDiff)
	deleteWork(t, always)
	g.Eventually(func(g Gomega) {
		for _, name := range []string{"same", "always"} {
			cm := &corev1.ConfigMap{}
			g.Expect(ms[0].Get(ctx, client.ObjectKey{Namespace: "takeover", Name: name}, cm)).To(Succeed())
			g.Expect(cm.OwnerReferences).To(BeEmpty())
		}
		err := ms[0].Get(ctx, client.ObjectKey{Name: "takeover-always"}, &placementv1beta1.AppliedWork{})
		g.Expect(apierrors.IsNotFound(err)).To(BeTrue())
	}, timeout, poll).Should(Succeed())
	// The garbage collector had the AppliedWork's deletion to act on; the objects survive it.
	g.Consistently(func(g Gomega) {
		g.Expect(ms[0].Get(ctx, client.ObjectKey{Namespace: "takeover", Name: "always"}, &corev1.ConfigMap{})).To(Succeed())
	}, 2*time.Second, 200*time.Millisecond).Should(Succeed())
}

// TestReportDiff reports differences and changes nothing.
func TestReportDiff(t *testing.T) {
	_, ms := start(t)
	ctx := context.Background()
	g := NewWithT(t)
	g.Expect(ms[0].Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "reportdiff"}})).To(Succeed())
	g.Expect(ms[0].Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "present", Namespace: "reportdiff"},
		Data: map[string]string{"a": "member"}})).To(Succeed())
	w := newWork(t, 0, "reportdiff", &placementv1beta1.ApplyStrategy{Type: placementv1beta1.ApplyStrategyTypeReportDiff},
		configMap("reportdiff", "present", map[string]string{"a": "hub"}),
		configMap("reportdiff", "absent", map[string]string{"a": "hub"}))
	got := eventuallyWork(t, w, func(g Gomega, w *placementv1beta1.Work) {
		c := workCond(g, w, placementv1beta1.WorkConditionTypeDiffReported)
		g.Expect(c.Status).To(Equal(metav1.ConditionTrue))
		g.Expect(c.Reason).To(Equal(placementv1beta1.WorkAllManifestsDiffReportedReason))
	})
	g.Expect(got.Status.Conditions).To(HaveLen(1), "ReportDiff must not report Applied or Available")
	g.Expect(cond(g, got, 0, placementv1beta1.WorkConditionTypeDiffReported).Reason).To(Equal(placementv1beta1.ManifestFoundDiffReason))
	g.Expect(got.Status.ManifestConditions[0].DiffDetails.ObservedDiffs).To(Equal([]placementv1beta1.PatchDetail{
		{Path: "/data/a", ValueInMember: "member", ValueInHub: "hub"}}))
	g.Expect(got.Status.ManifestConditions[1].DiffDetails.ObservedDiffs[0].Path).To(Equal("/"))
	cm := &corev1.ConfigMap{}
	g.Expect(ms[0].Get(ctx, client.ObjectKey{Namespace: "reportdiff", Name: "present"}, cm)).To(Succeed())
	g.Expect(cm.Data["a"]).To(Equal("member"))
	g.Expect(cm.OwnerReferences).To(BeEmpty())
	err := ms[0].Get(ctx, client.ObjectKey{Namespace: "reportdiff", Name: "absent"}, cm)
	g.Expect(apierrors.IsNotFound(err)).To(BeTrue(), "ReportDiff created an object")
}

// TestOwnershipConflict places one object from two Works: the second fails with
// ApplyConflictBetweenPlacements until it allows co-ownership; a co-owned object survives
// the deletion of one Work and goes with the last.
func TestOwnershipConflict(t *testing.T) {
	_, ms := start(t)
	ctx := context.Background()
	g := NewWithT(t)
	g.Expect(ms[0].Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "conflict"}})).To(Succeed())
	shared := configMap("conflict", "shared", map[string]string{"a": "1"})
	first := newWork(t, 0, "conflict-first", nil, shared)
	eventuallyWork(t, first, func(g Gomega, w *placementv1beta1.Work) {
		g.Expect(workCond(g, w, placementv1beta1.WorkConditionTypeApplied).Status).To(Equal(metav1.ConditionTrue))
	})
	second := newWork(t, 0, "conflict-second", nil, shared)
	eventuallyWork(t, second, func(g Gomega, w *placementv1beta1.Work) {
		c := cond(g, w, 0, placementv1beta1.WorkConditionTypeApplied)
		g.Expect(c.Reason).To(Equal(placementv1beta1.ApplyConflictBetweenPlacementsReason))
		g.Expect(c.Message).To(ContainSubstring("conflict-first"))
	})
	setManifests(t, second, &placementv1beta1.ApplyStrategy{AllowCoOwnership: true}, shared)
	eventuallyWork(t, second, func(g Gomega, w *placementv1beta1.Work) {
		g.Expect(workCond(g, w, placementv1beta1.WorkConditionTypeApplied).Status).To(Equal(metav1.ConditionTrue))
	})
	cm := &corev1.ConfigMap{}
	key := client.ObjectKey{Namespace: "conflict", Name: "shared"}
	g.Expect(ms[0].Get(ctx, key, cm)).To(Succeed())
	g.Expect(ownedBy(cm, "conflict-first") && ownedBy(cm, "conflict-second")).To(BeTrue())

	deleteWork(t, first)
	g.Eventually(func(g Gomega) {
		g.Expect(ms[0].Get(ctx, key, cm)).To(Succeed())
		g.Expect(ownedBy(cm, "conflict-first")).To(BeFalse())
		g.Expect(ownedBy(cm, "conflict-second")).To(BeTrue())
	}, timeout, poll).Should(Succeed())
	deleteWork(t, second)
	g.Eventually(func() bool {
		return apierrors.IsNotFound(ms[0].Get(ctx, key, cm))
	}, timeout, poll).Should(BeTrue(), "the co-owned object Flotilla created was not removed with its last Work")
}

// TestBadManifests: an unknown kind and an invalid object fail with the member server's
// message; the other manifests of the Work are still applied.
func TestBadManifests(t *testing.T) {
	_, ms := start(t)
	ctx := context.Background()
	w := newWork(t, 0, "bad", nil,
		namespace("bad"),
		map[string]any{"apiVersion": "example.com/v1", "kind": "Nope", "metadata": map[string]any{"name": "x", "namespace": "bad"}},
		map[string]any{"apiVersion": "v1", "kind": "Service", "metadata": map[string]any{"name": "web", "namespace": "bad"},
			"spec": map[string]any{"ports": []any{map[string]any{"port": 99999}}}},
		configMap("bad", "good", map[string]string{"a": "1"}),
	)
	got := eventuallyWork(t, w, func(g Gomega, w *placementv1beta1.Work) {
		c := workCond(g, w, placementv1beta1.WorkConditionTypeApplied)
		g.Expect(c.Status).To(Equal(metav1.ConditionFalse))
		g.Expect(c.Message).To(HavePrefix("2 of 4 manifests are applied"))
		g.Expect(cond(g, w, 3, placementv1beta1.WorkConditionTypeApplied).Status).To(Equal(metav1.ConditionTrue))
	})
	g := NewWithT(t)
	unknown := cond(g, got, 1, placementv1beta1.WorkConditionTypeApplied)
	g.Expect(unknown.Reason).To(Equal(placementv1beta1.ManifestFailedToApplyReason))
	g.Expect(unknown.Message).To(ContainSubstring(`no matches for kind "Nope" in version "example.com/v1"`))
	invalid := cond(g, got, 2, placementv1beta1.WorkConditionTypeApplied)
	g.Expect(invalid.Reason).To(Equal(placementv1beta1.ManifestFailedToApplyReason))
	g.Expect(invalid.Message).To(ContainSubstring("spec.ports[0].port: Invalid value: 99999"))
	g.Expect(ms[0].Get(ctx, client.ObjectKey{Namespace: "bad", Name: "good"}, &corev1.ConfigMap{})).To(Succeed())
}

// TestDeletionGarbageCollects deletes a Work: its AppliedWork goes, and the member's
// garbage collector removes what the Work created.
func TestDeletionGarbageCollects(t *testing.T) {
	_, ms := start(t)
	ctx := context.Background()
	w := newWork(t, 0, "gc", nil, namespace("gc"), configMap("gc", "a", nil),
		map[string]any{"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": map[string]any{"name": "flotilla-gc-test"}})
	eventuallyWork(t, w, func(g Gomega, w *placementv1beta1.Work) {
		g.Expect(workCond(g, w, placementv1beta1.WorkConditionTypeAvailable).Status).To(Equal(metav1.ConditionTrue))
	})
	deleteWork(t, w)
	g := NewWithT(t)
	g.Eventually(func(g Gomega) {
		g.Expect(apierrors.IsNotFound(ms[0].Get(ctx, client.ObjectKey{Name: "gc"}, &placementv1beta1.AppliedWork{}))).To(BeTrue())
		g.Expect(apierrors.IsNotFound(ms[0].Get(ctx, client.ObjectKey{Name: "flotilla-gc-test"}, &rbacv1.ClusterRole{}))).To(BeTrue())
		ns := &corev1.Namespace{}
		err := ms[0].Get(ctx, client.ObjectKey{Name: "gc"}, ns)
		g.Expect(apierrors.IsNotFound(err) || ns.DeletionTimestamp != nil).To(BeTrue())
	}, timeout, poll).Should(Succeed())
}

// TestCRDAndCustomResource places a custom resource before its CRD in one Work: the CR
// fails until the CRD is served, is retried with backoff, and then applies.
func TestCRDAndCustomResource(t *testing.T) {
	_, ms := start(t)
	ctx := context.Background()
	cr := map[string]any{"apiVersion": "test.flotilla.dev/v1", "kind": "Widget", "metadata": map[string]any{"name": "w1"},
		"spec": map[string]any{"size": 3}}
	crd := map[string]any{
		"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
		"metadata": map[string]any{"name": "widgets.test.flotilla.dev"},
		"spec": map[string]any{
			"group": "test.flotilla.dev", "scope": "Cluster",
			"names": map[string]any{"plural": "widgets", "singular": "widget", "kind": "Widget", "listKind": "WidgetList"},
			"versions": []any{map[string]any{"name": "v1", "served": true, "storage": true,
				"schema": map[string]any{"openAPIV3Schema": map[string]any{"type": "object",
					"x-kubernetes-preserve-unknown-fields": true}}}},
		},
	}
	w := newWork(t, 0, "crd", nil, cr, crd)
	got := eventuallyWork(t, w, func(g Gomega, w *placementv1beta1.Work) {
		g.Expect(workCond(g, w, placementv1beta1.WorkConditionTypeApplied).Status).To(Equal(metav1.ConditionTrue))
		g.Expect(workCond(g, w, placementv1beta1.WorkConditionTypeAvailable).Status).To(Equal(metav1.ConditionTrue))
	})
	g := NewWithT(t)
	g.Expect(cond(g, got, 1, placementv1beta1.WorkConditionTypeAvailable).Message).To(ContainSubstring("established"))
	g.Expect(got.Status.ManifestConditions[0].Identifier.Resource).To(Equal("widgets"))
	widget := &unstructured.Unstructured{}
	widget.SetAPIVersion("test.flotilla.dev/v1")
	widget.SetKind("Widget")
	g.Expect(ms[0].Get(ctx, client.ObjectKey{Name: "w1"}, widget)).To(Succeed())
	g.Expect(ownedBy(widget, "crd")).To(BeTrue())
}

// TestLeavingMemberKeepsObjects: once the hub tells the member to leave, deleting its Work
// (as the hub does when it removes the member's namespace) leaves the placed objects alone.
func TestLeavingMemberKeepsObjects(t *testing.T) {
	hub, ms := start(t)
	ctx := context.Background()
	w := newWork(t, 1, "leave", nil, namespace("leave"), configMap("leave", "kept", map[string]string{"a": "1"}))
	eventuallyWork(t, w, func(g Gomega, w *placementv1beta1.Work) {
		g.Expect(workCond(g, w, placementv1beta1.WorkConditionTypeApplied).Status).To(Equal(metav1.ConditionTrue))
	})
	g := NewWithT(t)
	imc := &clusterv1beta1.InternalMemberCluster{}
	key := client.ObjectKey{Namespace: w.Namespace, Name: fleet.Members[1].Name}
	g.Eventually(func(g Gomega) {
		g.Expect(hub.Get(ctx, key, imc)).To(Succeed())
		imc.Spec.State = clusterv1beta1.ClusterStateLeave
		g.Expect(hub.Update(ctx, imc)).To(Succeed())
	}, timeout, poll).Should(Succeed())
	deleteWork(t, w)
	g.Consistently(func(g Gomega) {
		cm := &corev1.ConfigMap{}
		g.Expect(ms[1].Get(ctx, client.ObjectKey{Namespace: "leave", Name: "kept"}, cm)).To(Succeed())
		g.Expect(ms[1].Get(ctx, client.ObjectKey{Name: "leave"}, &placementv1beta1.AppliedWork{})).To(Succeed())
	}, 3*time.Second, 200*time.Millisecond).Should(Succeed())

	// What stays is still tied to its AppliedWork: deleting that on the member (how an
	// administrator cleans up after a member left) lets the member's garbage collector
	// remove it. The agent does nothing here; this is Kubernetes acting on the ownerReferences.
	aw := &placementv1beta1.AppliedWork{}
	g.Expect(ms[1].Get(ctx, client.ObjectKey{Name: "leave"}, aw)).To(Succeed())
	g.Expect(ms[1].Delete(ctx, aw)).To(Succeed())
	g.Eventually(func(g Gomega) {
		err := ms[1].Get(ctx, client.ObjectKey{Namespace: "leave", Name: "kept"}, &corev1.ConfigMap{})
		g.Expect(apierrors.IsNotFound(err)).To(BeTrue(), "the ConfigMap is still there")
		ns := &corev1.Namespace{}
		err = ms[1].Get(ctx, client.ObjectKey{Name: "leave"}, ns)
		g.Expect(apierrors.IsNotFound(err) || ns.DeletionTimestamp != nil).To(BeTrue(), "the namespace is not being deleted")
	}, 90*time.Second, 200*time.Millisecond).Should(Succeed())
}

// TestAppliedWorkDeletedByHand: when someone deletes the AppliedWork of a live Work, the
// applier makes a new one and re-adopts the objects (their reference to the old one is
// stale) or re-creates those the garbage collector removed first, rather than reporting a
// conflict with itself; either way they end up owned by the new AppliedWork alone.
func TestAppliedWorkDeletedByHand(t *testing.T) {
	_, ms := start(t)
	ctx := context.Background()
	w := newWork(t, 0, "readopt", nil, namespace("readopt"), configMap("readopt", "c", map[string]string{"a": "1"}))
	eventuallyWork(t, w, func(g Gomega, w *placementv1beta1.Work) {
		g.Expect(workCond(g, w, placementv1beta1.WorkConditionTypeApplied).Status).To(Equal(metav1.ConditionTrue))
	})
	g := NewWithT(t)
	old := &placementv1beta1.AppliedWork{}
	g.Expect(ms[0].Get(ctx, client.ObjectKey{Name: "readopt"}, old)).To(Succeed())
	g.Expect(ms[0].Delete(ctx, old)).To(Succeed())
	g.Eventually(func(g Gomega) {
		aw := &placementv1beta1.AppliedWork{}
		g.Expect(ms[0].Get(ctx, client.ObjectKey{Name: "readopt"}, aw)).To(Succeed())
		g.Expect(aw.UID).NotTo(Equal(old.UID))
		cm := &corev1.ConfigMap{}
		g.Expect(ms[0].Get(ctx, client.ObjectKey{Namespace: "readopt", Name: "c"}, cm)).To(Succeed())
		var uids []string
		for _, ref := range cm.OwnerReferences {
			uids = append(uids, string(ref.UID))
		}
		g.Expect(uids).To(Equal([]string{string(aw.UID)}))
		g.Expect(cm.Annotations).NotTo(HaveKey(placementv1beta1.PreExistingAnnotation))
	}, timeout, poll).Should(Succeed())
	eventuallyWork(t, w, func(g Gomega, w *placementv1beta1.Work) {
		g.Expect(workCond(g, w, placementv1beta1.WorkConditionTypeApplied).Status).To(Equal(metav1.ConditionTrue))
	})
}
