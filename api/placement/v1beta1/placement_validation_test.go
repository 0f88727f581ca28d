package v1beta1_test

import (
	"context"
	"fmt"
	"testing"

	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/flotilla-dev/flotilla/internal/scheme"
)

// crp builds a ClusterResourcePlacement as a user's manifest would, so that zero values
// reach the API server instead of being dropped by omitempty.
func crp(name string, spec map[string]any) *unstructured.Unstructured {
	if _, ok := spec["resourceSelectors"]; !ok {
		spec["resourceSelectors"] = []any{nsSelector("app")}
	}
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "placement.kubernetes-fleet.io/v1beta1",
		"kind":       "ClusterResourcePlacement",
		"metadata":   map[string]any{"name": name},
		"spec":       spec,
	}}
}

func nsSelector(name string) map[string]any {
	return map[string]any{"group": "", "version": "v1", "kind": "Namespace", "name": name}
}

func hubClient(t *testing.T) client.Client {
	t.Helper()
	c, err := client.New(fleet.Hub.Config, client.Options{Scheme: scheme.Scheme})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestClusterResourcePlacementValidation(t *testing.T) {
	c := hubClient(t)
	cases := []struct {
		name    string
		spec    map[string]any
		refused []string // substrings of the error; empty means accepted
	}{
		{name: "pickall default", spec: map[string]any{}},
		{name: "pickn", spec: map[string]any{"policy": map[string]any{"placementType": "PickN", "numberOfClusters": int64(2),
			"topologySpreadConstraints": []any{map[string]any{"topologyKey": "topology.kubernetes.io/region"}},
			"affinity": map[string]any{"clusterAffinity": map[string]any{
				"requiredDuringSchedulingIgnoredDuringExecution": map[string]any{"clusterSelectorTerms": []any{
					map[string]any{"propertySelector": map[string]any{"matchExpressions": []any{
						map[string]any{"name": "kubernetes-fleet.io/node-count", "operator": "Ge", "values": []any{"3"}}}}}}},
				"preferredDuringSchedulingIgnoredDuringExecution": []any{map[string]any{"weight": int64(-20),
					"preference": map[string]any{"propertySorter": map[string]any{"name": "kubernetes-fleet.io/node-count", "sortOrder": "Ascending"}}}},
			}}}}},
		{name: "pickfixed", spec: map[string]any{"policy": map[string]any{"placementType": "PickFixed", "clusterNames": []any{"a", "b"}}}},
		{name: "namespace accessible", spec: map[string]any{"statusReportingScope": "NamespaceAccessible"}},
		{name: "namespace accessible with two namespaces", spec: map[string]any{"statusReportingScope": "NamespaceAccessible",
			"resourceSelectors": []any{nsSelector("a"), nsSelector("b")}},
			refused: []string{"spec.statusReportingScope NamespaceAccessible needs exactly one resourceSelector of kind Namespace"}},
		{name: "namespace with resource selectors", spec: map[string]any{"resourceSelectors": []any{
			map[string]any{"group": "", "version": "v1", "kind": "Namespace", "name": "app", "selectionScope": "NamespaceWithResourceSelectors"},
			map[string]any{"group": "", "version": "v1", "kind": "ConfigMap", "name": "settings"}}}},
		{name: "namespace with resource selectors beside another namespace", spec: map[string]any{"resourceSelectors": []any{
			map[string]any{"group": "", "version": "v1", "kind": "Namespace", "name": "app", "selectionScope": "NamespaceWithResourceSelectors"},
			nsSelector("other")}},
			refused: []string{"a namespace selected as NamespaceWithResourceSelectors must be the only Namespace selector, and select by name"}},
		{name: "namespace with resource selectors by label", spec: map[string]any{"resourceSelectors": []any{
			map[string]any{"group": "", "version": "v1", "kind": "Namespace", "selectionScope": "NamespaceWithResourceSelectors",
				"labelSelector": map[string]any{"matchLabels": map[string]any{"a": "b"}}}}},
			refused: []string{"must be the only Namespace selector, and select by name"}},
		{name: "report back", spec: map[string]any{"strategy": map[string]any{"reportBackStrategy": map[string]any{"type": "Mirror", "destination": "WorkAPI"}}}},
		{name: "report back without destination", spec: map[string]any{"strategy": map[string]any{"reportBackStrategy": map[string]any{"type": "Mirror"}}},
			refused: []string{"reportBackStrategy.destination is required when type is Mirror"}},
		{name: "abandon", spec: map[string]any{"strategy": map[string]any{"deleteStrategy": map[string]any{"propagationPolicy": "Abandon"}}}},
		{name: "bad delete policy", spec: map[string]any{"strategy": map[string]any{"deleteStrategy": map[string]any{"propagationPolicy": "Orphan"}}},
			refused: []string{`Unsupported value: "Orphan"`}},
		{name: "pickn without numberOfClusters", spec: map[string]any{"policy": map[string]any{"placementType": "PickN"}},
			refused: []string{"numberOfClusters is required for PickN"}},
		{name: "numberOfClusters with pickall", spec: map[string]any{"policy": map[string]any{"numberOfClusters": int64(2)}},
			refused: []string{"allowed only for PickN"}},
		{name: "clusterNames with pickn", spec: map[string]any{"policy": map[string]any{"placementType": "PickN", "numberOfClusters": int64(1), "clusterNames": []any{"a"}}},
			refused: []string{"clusterNames is required for PickFixed and allowed only for PickFixed"}},
		{name: "pickfixed without names", spec: map[string]any{"policy": map[string]any{"placementType": "PickFixed"}},
			refused: []string{"clusterNames is required for PickFixed"}},
		{name: "pickfixed repeats a name", spec: map[string]any{"policy": map[string]any{"placementType": "PickFixed", "clusterNames": []any{"a", "a"}}},
			refused: []string{"spec.policy.clusterNames[1]", "Duplicate value"}},
		{name: "spread with pickall", spec: map[string]any{"policy": map[string]any{"topologySpreadConstraints": []any{map[string]any{"topologyKey": "k"}}}},
			refused: []string{"topologySpreadConstraints apply only to PickN"}},
		{name: "unknown placement type", spec: map[string]any{"policy": map[string]any{"placementType": "PickSome"}},
			refused: []string{"spec.policy.placementType", "Unsupported value"}},
		{name: "property operator", spec: map[string]any{"policy": map[string]any{"affinity": map[string]any{"clusterAffinity": map[string]any{
			"requiredDuringSchedulingIgnoredDuringExecution": map[string]any{"clusterSelectorTerms": []any{
				map[string]any{"propertySelector": map[string]any{"matchExpressions": []any{
					map[string]any{"name": "n", "operator": "In", "values": []any{"3"}}}}}}}}}}},
			refused: []string{"operator", "Unsupported value"}},
		{name: "two property values", spec: map[string]any{"policy": map[string]any{"affinity": map[string]any{"clusterAffinity": map[string]any{
			"requiredDuringSchedulingIgnoredDuringExecution": map[string]any{"clusterSelectorTerms": []any{
				map[string]any{"propertySelector": map[string]any{"matchExpressions": []any{
					map[string]any{"name": "n", "operator": "Eq", "values": []any{"3", "4"}}}}}}}}}}},
			refused: []string{"values", "must have at most 1 item"}},
		{name: "sorter in a required term", spec: map[string]any{"policy": map[string]any{"affinity": map[string]any{"clusterAffinity": map[string]any{
			"requiredDuringSchedulingIgnoredDuringExecution": map[string]any{"clusterSelectorTerms": []any{
				map[string]any{"propertySorter": map[string]any{"name": "n", "sortOrder": "Ascending"}}}}}}}},
			refused: []string{"cannot have a propertySorter"}},
		{name: "weight out of range", spec: map[string]any{"policy": map[string]any{"affinity": map[string]any{"clusterAffinity": map[string]any{
			"preferredDuringSchedulingIgnoredDuringExecution": []any{map[string]any{"weight": int64(101), "preference": map[string]any{}}}}}}},
			refused: []string{"weight", "less than or equal to 100"}},
		{name: "name and labelSelector", spec: map[string]any{"resourceSelectors": []any{map[string]any{"group": "", "version": "v1", "kind": "Namespace",
			"name": "a", "labelSelector": map[string]any{"matchLabels": map[string]any{"a": "b"}}}}},
			refused: []string{"name or labelSelector, not both"}},
		{name: "NamespaceOnly on a ClusterRole", spec: map[string]any{"resourceSelectors": []any{map[string]any{"group": "rbac.authorization.k8s.io",
			"version": "v1", "kind": "ClusterRole", "name": "a", "selectionScope": "NamespaceOnly"}}},
			refused: []string{"NamespaceOnly applies only to namespaces"}},
		{name: "no selectors", spec: map[string]any{"resourceSelectors": []any{}},
			refused: []string{"resourceSelectors", "at least 1 item"}},
		{name: "maxUnavailable 0", spec: map[string]any{"strategy": map[string]any{"rollingUpdate": map[string]any{"maxUnavailable": int64(0)}}},
			refused: []string{"maxUnavailable must be a number of at least 1"}},
		{name: "maxUnavailable 0%", spec: map[string]any{"strategy": map[string]any{"rollingUpdate": map[string]any{"maxUnavailable": "0%"}}},
			refused: []string{"maxUnavailable must be a number of at least 1"}},
		{name: "maxSurge 150%", spec: map[string]any{"strategy": map[string]any{"rollingUpdate": map[string]any{"maxSurge": "150%"}}},
			refused: []string{"maxSurge must be"}},
		{name: "rolling numbers", spec: map[string]any{"strategy": map[string]any{"rollingUpdate": map[string]any{"maxUnavailable": int64(2), "maxSurge": "50%", "unavailablePeriodSeconds": int64(5)}}}},
		{name: "rollingUpdate with External", spec: map[string]any{"strategy": map[string]any{"type": "External", "rollingUpdate": map[string]any{"maxSurge": int64(1)}}},
			refused: []string{"rollingUpdate applies only to type RollingUpdate"}},
		{name: "ssa config with client-side apply", spec: map[string]any{"strategy": map[string]any{"applyStrategy": map[string]any{"type": "ClientSideApply", "serverSideApplyConfig": map[string]any{"force": true}}}},
			refused: []string{"serverSideApplyConfig applies only to type ServerSideApply"}},
		{name: "revisionHistoryLimit 0", spec: map[string]any{"revisionHistoryLimit": int64(0)},
			refused: []string{"revisionHistoryLimit", "greater than or equal to 1"}},
		{name: "Exists toleration with a value", spec: map[string]any{"policy": map[string]any{"tolerations": []any{map[string]any{"key": "k", "operator": "Exists", "value": "v"}}}},
			refused: []string{"operator Exists takes no value"}},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			err := c.Create(context.Background(), crp(fmt.Sprintf("validation-%d", i), tc.spec))
			if len(tc.refused) == 0 {
				g.Expect(err).NotTo(HaveOccurred())
				return
			}
			g.Expect(err).To(HaveOccurred(), "the API server accepted %s", tc.name)
			for _, s := range tc.refused {
				g.Expect(err.Error()).To(ContainSubstring(s))
			}
		})
	}
}

func TestPlacementTypeIsImmutable(t *testing.T) {
	g := NewWithT(t)
	c := hubClient(t)
	ctx := context.Background()
	obj := crp("immutable-type", map[string]any{})
	g.Expect(c.Create(ctx, obj)).To(Succeed())
	// Defaults filled in: the policy is absent, so the type is PickAll; PickN must be refused.
	g.Expect(unstructured.SetNestedField(obj.Object, map[string]any{"placementType": "PickN", "numberOfClusters": int64(1)}, "spec", "policy")).To(Succeed())
	err := c.Update(ctx, obj)
	g.Expect(err).To(HaveOccurred())
	g.Expect(err.Error()).To(ContainSubstring("placementType is immutable"))

	// An explicit PickAll is the same type, so it is accepted; removing the policy is not.
	g.Expect(c.Get(ctx, client.ObjectKeyFromObject(obj), obj)).To(Succeed())
	g.Expect(unstructured.SetNestedField(obj.Object, map[string]any{"placementType": "PickAll"}, "spec", "policy")).To(Succeed())
	g.Expect(c.Update(ctx, obj)).To(Succeed())
	unstructured.RemoveNestedField(obj.Object, "spec", "policy")
	err = c.Update(ctx, obj)
	g.Expect(err).To(HaveOccurred())
	g.Expect(err.Error()).To(ContainSubstring("spec.policy cannot be removed"))
}

func TestDefaults(t *testing.T) {
	g := NewWithT(t)
	c := hubClient(t)
	obj := crp("defaults", map[string]any{"policy": map[string]any{"placementType": "PickN", "numberOfClusters": int64(1),
		"topologySpreadConstraints": []any{map[string]any{"topologyKey": "k"}}},
		"strategy": map[string]any{"rollingUpdate": map[string]any{}, "applyStrategy": map[string]any{}}})
	g.Expect(c.Create(context.Background(), obj)).To(Succeed())
	get := func(path ...string) any {
		v, _, _ := unstructured.NestedFieldNoCopy(obj.Object, path...)
		return v
	}
	g.Expect(get("spec", "revisionHistoryLimit")).To(Equal(int64(10)))
	g.Expect(get("spec", "strategy", "type")).To(Equal("RollingUpdate"))
	g.Expect(get("spec", "strategy", "rollingUpdate", "maxUnavailable")).To(Equal("25%"))
	g.Expect(get("spec", "strategy", "rollingUpdate", "maxSurge")).To(Equal("25%"))
	g.Expect(get("spec", "strategy", "rollingUpdate", "unavailablePeriodSeconds")).To(Equal(int64(60)))
	g.Expect(get("spec", "strategy", "applyStrategy", "type")).To(Equal("ClientSideApply"))
	g.Expect(get("spec", "strategy", "applyStrategy", "whenToTakeOver")).To(Equal("Always"))
	g.Expect(get("spec", "resourceSelectors")).To(ConsistOf(HaveKeyWithValue("selectionScope", "NamespaceWithResources")))
	sel := get("spec", "policy", "topologySpreadConstraints").([]any)[0].(map[string]any)
	g.Expect(sel).To(HaveKeyWithValue("maxSkew", int64(1)))
	g.Expect(sel).To(HaveKeyWithValue("whenUnsatisfiable", "DoNotSchedule"))
}

func TestBindingValidation(t *testing.T) {
	g := NewWithT(t)
	c := hubClient(t)
	ctx := context.Background()
	b := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "placement.kubernetes-fleet.io/v1beta1",
		"kind":       "ClusterResourceBinding",
		"metadata":   map[string]any{"name": "b1"},
		"spec": map[string]any{"state": "Scheduled", "targetCluster": "m1", "schedulingPolicySnapshotName": "crp-0",
			"resourceSnapshotName": "", "clusterDecision": map[string]any{"clusterName": "m1", "selected": true, "reason": "picked"}},
	}}
	g.Expect(c.Create(ctx, b)).To(Succeed())
	g.Expect(unstructured.SetNestedField(b.Object, "m2", "spec", "targetCluster")).To(Succeed())
	err := c.Update(ctx, b)
	g.Expect(err).To(HaveOccurred())
	g.Expect(err.Error()).To(ContainSubstring("targetCluster of a binding is immutable"))
	g.Expect(c.Get(ctx, client.ObjectKeyFromObject(b), b)).To(Succeed())
	g.Expect(unstructured.SetNestedField(b.Object, "Gone", "spec", "state")).To(Succeed())
	err = c.Update(ctx, b)
	g.Expect(err).To(HaveOccurred())
	g.Expect(err.Error()).To(ContainSubstring("spec.state"))
}

func TestPolicySnapshotIsImmutable(t *testing.T) {
	g := NewWithT(t)
	c := hubClient(t)
	ctx := context.Background()
	s := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "placement.kubernetes-fleet.io/v1beta1",
		"kind":       "ClusterSchedulingPolicySnapshot",
		"metadata":   map[string]any{"name": "p-0"},
		"spec":       map[string]any{"policyHash": "YWJj", "policy": map[string]any{"placementType": "PickN", "numberOfClusters": int64(1)}},
	}}
	g.Expect(c.Create(ctx, s)).To(Succeed())
	g.Expect(unstructured.SetNestedField(s.Object, int64(2), "spec", "policy", "numberOfClusters")).To(Succeed())
	err := c.Update(ctx, s)
	g.Expect(err).To(HaveOccurred())
	g.Expect(err.Error()).To(ContainSubstring("immutable"))
}
