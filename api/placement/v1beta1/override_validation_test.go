package v1beta1_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

func override(kind, version, name string, spec map[string]any) *unstructured.Unstructured {
	meta := map[string]any{"name": name}
	if kind == "ResourceOverride" {
		meta["namespace"] = "default"
	}
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "placement.kubernetes-fleet.io/" + version,
		"kind":       kind,
		"metadata":   meta,
		"spec":       spec,
	}}
}

func patchRule(patches ...map[string]any) map[string]any {
	ps := make([]any, len(patches))
	for i, p := range patches {
		ps[i] = p
	}
	return map[string]any{"policy": map[string]any{"overrideRules": []any{map[string]any{
		"clusterSelector":    map[string]any{"clusterSelectorTerms": []any{map[string]any{"labelSelector": map[string]any{"matchLabels": map[string]any{"env": "prod"}}}}},
		"jsonPatchOverrides": ps,
	}}}}
}

func withSelectors(spec map[string]any, key string, sel ...map[string]any) map[string]any {
	out := make([]any, len(sel))
	for i, s := range sel {
		out[i] = s
	}
	spec[key] = out
	return spec
}

// named is a copy of a selector for another object of the same kind.
func named(sel map[string]any, name string) map[string]any {
	out := map[string]any{}
	for k, v := range sel {
		out[k] = v
	}
	out["name"] = name
	return out
}

func TestOverrideValidation(t *testing.T) {
	c := hubClient(t)
	role := map[string]any{"group": "rbac.authorization.k8s.io", "version": "v1", "kind": "ClusterRole", "name": "reader"}
	deploy := map[string]any{"group": "apps", "version": "v1", "kind": "Deployment", "name": "web"}
	label := map[string]any{"op": "add", "path": "/metadata/labels/cluster", "value": "${MEMBER-CLUSTER-NAME}"}
	cases := []struct {
		name, kind, version string
		spec                map[string]any
		refused             []string
	}{
		{name: "cro", kind: "ClusterResourceOverride", version: "v1beta1",
			spec: withSelectors(patchRule(label), "clusterResourceSelectors", role)},
		// The accepted overrides select different resources: one override per resource
		// (TestOverrideUniqueness).
		{name: "cro-v1alpha1", kind: "ClusterResourceOverride", version: "v1alpha1",
			spec: withSelectors(patchRule(label), "clusterResourceSelectors", named(role, "writer"))},
		{name: "ro-v1", kind: "ResourceOverride", version: "v1",
			spec: withSelectors(patchRule(map[string]any{"op": "replace", "path": "/spec/template/spec/containers/0/image", "value": "nginx:1.27"}), "resourceSelectors", deploy)},
		{name: "ro-delete", kind: "ResourceOverride", version: "v1beta1",
			spec: withSelectors(map[string]any{"policy": map[string]any{"overrideRules": []any{map[string]any{"overrideType": "Delete"}}}}, "resourceSelectors", named(deploy, "api"))},
		{name: "ro-placement", kind: "ResourceOverride", version: "v1beta1",
			spec: func() map[string]any {
				s := withSelectors(patchRule(label), "resourceSelectors", named(deploy, "db"))
				s["placement"] = map[string]any{"name": "web"}
				return s
			}()},
		{name: "path-kind", kind: "ResourceOverride", version: "v1beta1",
			spec:    withSelectors(patchRule(map[string]any{"op": "replace", "path": "/kind", "value": "Pod"}), "resourceSelectors", deploy),
			refused: []string{"may not change kind, apiVersion, metadata, metadata.name, metadata.namespace or status"}},
		{name: "path-name", kind: "ClusterResourceOverride", version: "v1beta1",
			spec:    withSelectors(patchRule(map[string]any{"op": "replace", "path": "/metadata/name", "value": "x"}), "clusterResourceSelectors", role),
			refused: []string{"may not change kind"}},
		{name: "path-status", kind: "ResourceOverride", version: "v1beta1",
			spec:    withSelectors(patchRule(map[string]any{"op": "remove", "path": "/status/replicas"}), "resourceSelectors", deploy),
			refused: []string{"may not change kind"}},
		{name: "path-relative", kind: "ResourceOverride", version: "v1beta1",
			spec:    withSelectors(patchRule(map[string]any{"op": "remove", "path": "spec/replicas"}), "resourceSelectors", deploy),
			refused: []string{"must be a JSON pointer to a field inside the object"}},
		{name: "bad-op", kind: "ResourceOverride", version: "v1beta1",
			spec:    withSelectors(patchRule(map[string]any{"op": "move", "path": "/spec/replicas"}), "resourceSelectors", deploy),
			refused: []string{`Unsupported value: "move"`}},
		{name: "delete-with-patches", kind: "ResourceOverride", version: "v1beta1",
			spec: withSelectors(map[string]any{"policy": map[string]any{"overrideRules": []any{map[string]any{
				"overrideType": "Delete", "jsonPatchOverrides": []any{label}}}}}, "resourceSelectors", deploy),
			refused: []string{"a Delete rule takes none"}},
		{name: "patch-without-patches", kind: "ResourceOverride", version: "v1beta1",
			spec:    withSelectors(map[string]any{"policy": map[string]any{"overrideRules": []any{map[string]any{}}}}, "resourceSelectors", deploy),
			refused: []string{"a JSONPatch rule needs jsonPatchOverrides"}},
		{name: "duplicate-selector", kind: "ResourceOverride", version: "v1beta1",
			spec:    withSelectors(patchRule(label), "resourceSelectors", deploy, deploy),
			refused: []string{"each resource may be selected once"}},
		{name: "cro-label-selector", kind: "ClusterResourceOverride", version: "v1beta1",
			spec: withSelectors(patchRule(label), "clusterResourceSelectors", map[string]any{"group": "", "version": "v1", "kind": "Namespace",
				"labelSelector": map[string]any{"matchLabels": map[string]any{"a": "b"}}}),
			refused: []string{"an override selects each resource by name"}},
		{name: "cro-namespaced-placement", kind: "ClusterResourceOverride", version: "v1beta1",
			spec: func() map[string]any {
				s := withSelectors(patchRule(label), "clusterResourceSelectors", role)
				s["placement"] = map[string]any{"name": "web", "scope": "Namespaced"}
				return s
			}(),
			refused: []string{"a ClusterResourceOverride can only name a ClusterResourcePlacement"}},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			err := c.Create(context.Background(), override(tc.kind, tc.version, fmt.Sprintf("o%d", i), tc.spec))
			if len(tc.refused) == 0 {
				g.Expect(err).NotTo(HaveOccurred())
				return
			}
			g.Expect(err).To(HaveOccurred())
			for _, s := range tc.refused {
				g.Expect(err.Error()).To(ContainSubstring(s))
			}
		})
	}

	// The placement cannot change after creation.
	g := NewWithT(t)
	o := &unstructured.Unstructured{}
	o.SetAPIVersion("placement.kubernetes-fleet.io/v1beta1")
	o.SetKind("ResourceOverride")
	g.Expect(c.Get(context.Background(), clientKey("default", "o4"), o)).To(Succeed())
	g.Expect(unstructured.SetNestedField(o.Object, "other", "spec", "placement", "name")).To(Succeed())
	err := c.Update(context.Background(), o)
	g.Expect(err).To(HaveOccurred())
	g.Expect(err.Error()).To(ContainSubstring("spec.placement is immutable"))
}

func clientKey(namespace, name string) client.ObjectKey {
	return client.ObjectKey{Namespace: namespace, Name: name}
}

// TestOverrideUniqueness refuses a second override of the same resource for the same
// placement (the API server's policy reads the other overrides), and names the override
// that holds it; another resource, or another placement, is fine.
func TestOverrideUniqueness(t *testing.T) {
	c := hubClient(t)
	ctx := context.Background()
	g := NewWithT(t)
	cm := map[string]any{"group": "", "version": "v1", "kind": "ConfigMap", "name": "unique"}
	label := map[string]any{"op": "add", "path": "/metadata/labels/team", "value": "a"}
	withPlacement := func(spec map[string]any, placement string) map[string]any {
		spec["placement"] = map[string]any{"name": placement}
		return spec
	}
	g.Expect(c.Create(ctx, override("ResourceOverride", "v1beta1", "first", withPlacement(withSelectors(patchRule(label), "resourceSelectors", cm), "shop")))).To(Succeed())

	// Refused once the API server has seen the first (its policy reads a cache of them).
	second := override("ResourceOverride", "v1", "second", withPlacement(withSelectors(patchRule(label), "resourceSelectors", named(cm, "other"), cm), "shop"))
	g.Eventually(func(g Gomega) {
		err := c.Create(ctx, second.DeepCopy())
		if err == nil {
			g.Expect(c.Delete(ctx, second.DeepCopy())).To(Succeed())
		}
		g.Expect(err).To(HaveOccurred(), "a second override of ConfigMap unique for placement shop was accepted")
		g.Expect(err.Error()).To(And(ContainSubstring("spec.resourceSelectors: ConfigMap unique is already overridden for this placement by the ResourceOverride first"),
			ContainSubstring("add these rules to first instead")))
	}, 30*time.Second, 200*time.Millisecond).Should(Succeed())

	// An override without a placement applies to every placement: it meets the first too.
	g.Expect(c.Create(ctx, override("ResourceOverride", "v1beta1", "everywhere", withSelectors(patchRule(label), "resourceSelectors", cm)))).
		To(MatchError(ContainSubstring("already overridden for this placement by the ResourceOverride first")))
	// Another placement, or another resource, is fine.
	g.Expect(c.Create(ctx, override("ResourceOverride", "v1beta1", "elsewhere", withPlacement(withSelectors(patchRule(label), "resourceSelectors", cm), "blog")))).To(Succeed())
	g.Expect(c.Create(ctx, override("ResourceOverride", "v1beta1", "neighbour", withPlacement(withSelectors(patchRule(label), "resourceSelectors", named(cm, "other")), "shop")))).To(Succeed())
	// The first can still be changed: it does not meet itself.
	first := &unstructured.Unstructured{}
	first.SetAPIVersion("placement.kubernetes-fleet.io/v1beta1")
	first.SetKind("ResourceOverride")
	g.Expect(c.Get(ctx, clientKey("default", "first"), first)).To(Succeed())
	first.SetLabels(map[string]string{"changed": "yes"})
	g.Expect(c.Update(ctx, first)).To(Succeed())

	// The same for ClusterResourceOverrides.
	ns := map[string]any{"group": "", "version": "v1", "kind": "Namespace", "name": "unique"}
	g.Expect(c.Create(ctx, override("ClusterResourceOverride", "v1beta1", "ns-first", withSelectors(patchRule(label), "clusterResourceSelectors", ns)))).To(Succeed())
	g.Eventually(func(g Gomega) {
		dup := override("ClusterResourceOverride", "v1", "ns-second", withPlacement(withSelectors(patchRule(label), "clusterResourceSelectors", ns), "shop"))
		err := c.Create(ctx, dup.DeepCopy())
		if err == nil {
			g.Expect(c.Delete(ctx, dup)).To(Succeed())
		}
		g.Expect(err).To(MatchError(ContainSubstring("spec.clusterResourceSelectors: Namespace unique is already overridden for this placement by the ClusterResourceOverride ns-first")))
	}, 30*time.Second, 200*time.Millisecond).Should(Succeed())
}
