package placement

import (
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Resources that a placement never places (shared/API.md, "Never placed"). They are either
// the fleet's own machinery, made by controllers on every cluster anyway, or meaningless
// elsewhere.

// ReservedNamespace says whether a namespace is never placed, and why.
func ReservedNamespace(name string) (bool, string) {
	switch {
	case strings.HasPrefix(name, "fleet-"):
		return true, "namespaces starting with fleet- belong to the fleet"
	case strings.HasPrefix(name, "kube-"):
		return true, "namespaces starting with kube- belong to Kubernetes"
	case name == "default":
		return true, "the default namespace exists on every cluster"
	}
	return false, ""
}

// skippedGroups are API groups none of whose kinds are placed.
var skippedGroups = map[string]string{
	"cluster.kubernetes-fleet.io":   "Flotilla's own API",
	"placement.kubernetes-fleet.io": "Flotilla's own API",
	"updates.flotilla.dev":          "Flotilla's own API",
	"networking.flotilla.dev":       "Flotilla's own API",
	"metrics.k8s.io":                "metrics are computed by each cluster",
	"coordination.k8s.io":           "leases are held by each cluster's own components",
	"events.k8s.io":                 "events are recorded by each cluster",
}

// skippedKinds are group/kind pairs never placed.
var skippedKinds = map[schema.GroupKind]string{
	{Group: "", Kind: "Event"}:           "events are recorded by each cluster",
	{Group: "", Kind: "Pod"}:             "pods are made by each cluster's workload controllers",
	{Group: "", Kind: "Node"}:            "nodes belong to each cluster",
	{Group: "", Kind: "Endpoints"}:       "endpoints are maintained by each cluster's controllers",
	{Group: "", Kind: "ComponentStatus"}: "component statuses belong to each cluster",
	{Group: "", Kind: "Binding"}:         "pod bindings are made by each cluster's scheduler",
}

// envelopes are the kinds of Flotilla's own API that are selected: the work generator
// places the objects they wrap, not the envelopes.
var envelopes = map[schema.GroupKind]bool{
	{Group: "placement.kubernetes-fleet.io", Kind: "ClusterResourceEnvelope"}: true,
	{Group: "placement.kubernetes-fleet.io", Kind: "ResourceEnvelope"}:        true,
}

// SkippedKind says whether a kind is never placed, and why.
func SkippedKind(gk schema.GroupKind) (bool, string) {
	if envelopes[gk] {
		return false, ""
	}
	if why, ok := skippedGroups[gk.Group]; ok {
		return true, why
	}
	if why, ok := skippedKinds[gk]; ok && why != "" {
		return true, why
	}
	return false, ""
}

// SkippedObject says whether one object of an otherwise placeable kind is never placed:
// what each cluster's own controllers make for it.
func SkippedObject(u *unstructured.Unstructured) bool {
	gk := u.GroupVersionKind().GroupKind()
	if skip, _ := SkippedKind(gk); skip {
		return true
	}
	if ns := u.GetNamespace(); ns != "" {
		if reserved, _ := ReservedNamespace(ns); reserved {
			return true
		}
	}
	switch gk {
	case schema.GroupKind{Group: "apps", Kind: "ReplicaSet"}, schema.GroupKind{Group: "apps", Kind: "ControllerRevision"}:
		return len(u.GetOwnerReferences()) > 0
	case schema.GroupKind{Group: "", Kind: "ConfigMap"}:
		return u.GetName() == "kube-root-ca.crt"
	case schema.GroupKind{Group: "", Kind: "ServiceAccount"}:
		return u.GetName() == "default"
	case schema.GroupKind{Group: "", Kind: "Secret"}:
		t, _, _ := unstructured.NestedString(u.Object, "type")
		return t == "kubernetes.io/service-account-token"
	case schema.GroupKind{Group: "discovery.k8s.io", Kind: "EndpointSlice"}:
		_, managed := u.GetLabels()["endpointslice.kubernetes.io/managed-by"]
		return managed
	case schema.GroupKind{Group: "batch", Kind: "Job"}:
		// Jobs made by a CronJob follow their CronJob.
		return len(u.GetOwnerReferences()) > 0
	}
	return false
}
