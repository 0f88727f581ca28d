package workapplier_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	placementv1beta1 "github.com/flotilla-dev/flotilla/api/placement/v1beta1"
)

// bigConfigMap is a ConfigMap of about size bytes, in keys of 100 KB, plus the small key "v".
func bigConfigMap(ns, name string, size int, v string) map[string]any {
	data := map[string]string{"v": v}
	for i := 0; i*100_000 < size; i++ {
		data[fmt.Sprintf("blob-%d", i)] = strings.Repeat(string(rune('a'+i%26)), 100_000)
	}
	return configMap(ns, name, data)
}

// bigCRD is a CRD of about size bytes: its schema carries long property descriptions, and the
// description of property "v" is the given text.
func bigCRD(group string, size int, v string) map[string]any {
	props := map[string]any{"v": map[string]any{"type": "string", "description": v}}
	for i := 0; i*50_000 < size; i++ {
		props[fmt.Sprintf("p%d", i)] = map[string]any{"type": "string", "description": strings.Repeat("d", 50_000)}
	}
	return map[string]any{
		"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
		"metadata": map[string]any{"name": "gadgets." + group},
		"spec": map[string]any{
			"group": group, "scope": "Namespaced",
			"names": map[string]any{"plural": "gadgets", "singular": "gadget", "kind": "Gadget", "listKind": "GadgetList"},
			"versions": []any{map[string]any{"name": "v1", "served": true, "storage": true,
				"schema": map[string]any{"openAPIV3Schema": map[string]any{"type": "object",
					"properties": map[string]any{"spec": map[string]any{"type": "object", "properties": props}}}}}},
		},
	}
}

// TestLargeObjects places a 900 KB ConfigMap and a 700 KB CRD, far over the 256 KiB that all
// annotations of an object may take, under both apply types: they are applied, a change on
// the hub reaches the member, a member edit is overwritten under Always, and under
// IfNotDrifted it is reported as a drift and left in place.
func TestLargeObjects(t *testing.T) {
	for _, typ := range []placementv1beta1.ApplyStrategyType{placementv1beta1.ApplyStrategyTypeClientSideApply, placementv1beta1.ApplyStrategyTypeServerSideApply} {
		t.Run(string(typ), func(t *testing.T) {
			hub, ms := start(t)
			ctx := context.Background()
			g := NewWithT(t)
			name := "large-" + strings.ToLower(string(typ))
			// Server-side apply without force reports a member edit as a conflict (see
			// TestServerSideApply); with force it puts the hub's value back.
			always := &placementv1beta1.ApplyStrategy{Type: typ}
			if typ == placementv1beta1.ApplyStrategyTypeServerSideApply {
				always.ServerSideApplyConfig = &placementv1beta1.ServerSideApplyConfig{ForceConflicts: true}
			}
			cmWork := newWork(t, 0, name+"-cm", always, namespace(name), bigConfigMap(name, "big", 900_000, "1"))
			group := name + ".test.flotilla.dev"
			crdWork := newWork(t, 0, name+"-crd", always, bigCRD(group, 700_000, "one"))
			for _, w := range []*placementv1beta1.Work{cmWork, crdWork} {
				eventuallyWork(t, w, func(g Gomega, w *placementv1beta1.Work) {
					g.Expect(workCond(g, w, placementv1beta1.WorkConditionTypeApplied).Status).To(Equal(metav1.ConditionTrue), "%+v", w.Status.ManifestConditions)
				})
			}
			cm, crd := &corev1.ConfigMap{}, &apiextensionsv1.CustomResourceDefinition{}
			cmKey, crdKey := client.ObjectKey{Namespace: name, Name: "big"}, client.ObjectKey{Name: "gadgets." + group}
			g.Expect(ms[0].Get(ctx, cmKey, cm)).To(Succeed())
			g.Expect(len(cm.Data["blob-8"])).To(Equal(100_000))
			g.Expect(cm.Annotations).NotTo(HaveKey(placementv1beta1.LastAppliedConfigAnnotation))
			g.Expect(cm.Annotations).To(HaveKey(placementv1beta1.LastAppliedHashAnnotation))
			g.Expect(ms[0].Get(ctx, crdKey, crd)).To(Succeed())
			g.Expect(crd.Annotations).NotTo(HaveKey(placementv1beta1.LastAppliedConfigAnnotation))

			// A change on the hub reaches the member; under client-side apply a key dropped
			// from the manifest is removed (the merge's base comes from the managed fields).
			changed := bigConfigMap(name, "big", 900_000, "2")
			delete(changed["data"].(map[string]string), "blob-8")
			setManifests(t, cmWork, nil, namespace(name), changed)
			setManifests(t, crdWork, nil, bigCRD(group, 700_000, "two"))
			g.Eventually(func(g Gomega) {
				g.Expect(ms[0].Get(ctx, cmKey, cm)).To(Succeed())
				g.Expect(cm.Data["v"]).To(Equal("2"))
				g.Expect(cm.Data).NotTo(HaveKey("blob-8"))
				g.Expect(ms[0].Get(ctx, crdKey, crd)).To(Succeed())
				g.Expect(crd.Spec.Versions[0].Schema.OpenAPIV3Schema.Properties["spec"].Properties["v"].Description).To(Equal("two"))
			}, timeout, poll).Should(Succeed())

			// Whenever Always: a member edit is put back.
			cm.Data["v"] = "edited"
			g.Expect(ms[0].Update(ctx, cm)).To(Succeed())
			g.Eventually(func(g Gomega) {
				g.Expect(ms[0].Get(ctx, cmKey, cm)).To(Succeed())
				g.Expect(cm.Data["v"]).To(Equal("2"))
			}, timeout, poll).Should(Succeed())

			// IfNotDrifted: a member edit is a drift with its path and both values, left alone,
			// both while the hub's manifest stays and after it changes.
			ifNotDrifted := always.DeepCopy()
			ifNotDrifted.WhenToApply = placementv1beta1.WhenToApplyTypeIfNotDrifted
			setManifests(t, cmWork, ifNotDrifted, namespace(name), changed)
			eventuallyWork(t, cmWork, func(g Gomega, w *placementv1beta1.Work) {
				g.Expect(workCond(g, w, placementv1beta1.WorkConditionTypeApplied).Status).To(Equal(metav1.ConditionTrue))
			})
			// The edit is retried until it sticks: a reconcile still in flight under Always may
			// put the hub's value back once.
			hubKey := client.ObjectKeyFromObject(cmWork)
			for _, v := range []string{"2", "3"} {
				if v != "2" {
					setManifests(t, cmWork, ifNotDrifted, namespace(name), bigConfigMap(name, "big", 900_000, v))
				}
				g.Eventually(func(g Gomega) {
					g.Expect(ms[0].Get(ctx, cmKey, cm)).To(Succeed())
					if cm.Data["v"] != "edited" {
						cm.Data["v"] = "edited"
						g.Expect(ms[0].Update(ctx, cm, client.FieldOwner("someone-else"))).To(Succeed())
					}
					w := &placementv1beta1.Work{}
					g.Expect(hub.Get(ctx, hubKey, w)).To(Succeed())
					c := cond(g, w, 1, placementv1beta1.WorkConditionTypeApplied)
					g.Expect(c.ObservedGeneration).To(Equal(w.Generation))
					g.Expect(c.Reason).To(Equal(placementv1beta1.ManifestFoundDriftsReason))
					g.Expect(w.Status.ManifestConditions[1].DriftDetails.ObservedDrifts).To(Equal([]placementv1beta1.PatchDetail{
						{Path: "/data/v", ValueInMember: "edited", ValueInHub: v}}), "hub manifest v=%s", v)
				}, timeout, poll).Should(Succeed())
				g.Expect(ms[0].Get(ctx, cmKey, cm)).To(Succeed())
				g.Expect(cm.Data["v"]).To(Equal("edited"), "a drifted object was overwritten under IfNotDrifted")
			}
			deleteWork(t, cmWork)
			deleteWork(t, crdWork)
		})
	}
}
