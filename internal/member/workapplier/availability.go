package workapplier

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes"

	placementv1beta1 "github.com/flotilla-dev/flotilla/api/placement/v1beta1"
)

// availability is the verdict on one applied object.
type availability struct {
	// status is True, False, or True with reason NotTrackable.
	available bool
	reason    string
	message   string
}

// dataKinds are available as soon as they are applied: they hold data or rules, and no
// controller has to act on them.
var dataKinds = map[schema.GroupKind]bool{
	{Kind: "ConfigMap"}: true, {Kind: "Secret"}: true, {Kind: "ServiceAccount"}: true,
	{Kind: "ResourceQuota"}: true, {Kind: "LimitRange"}: true, {Kind: "Namespace"}: true,
	{Group: "scheduling.k8s.io", Kind: "PriorityClass"}:                               true,
	{Group: "storage.k8s.io", Kind: "StorageClass"}:                                   true,
	{Group: "networking.k8s.io", Kind: "NetworkPolicy"}:                               true,
	{Group: "networking.k8s.io", Kind: "IngressClass"}:                                true,
	{Group: "policy", Kind: "PodDisruptionBudget"}:                                    true,
	{Group: "rbac.authorization.k8s.io", Kind: "ClusterRole"}:                         true,
	{Group: "rbac.authorization.k8s.io", Kind: "Role"}:                                true,
	{Group: "rbac.authorization.k8s.io", Kind: "ClusterRoleBinding"}:                  true,
	{Group: "rbac.authorization.k8s.io", Kind: "RoleBinding"}:                         true,
	{Group: "admissionregistration.k8s.io", Kind: "ValidatingWebhookConfiguration"}:   true,
	{Group: "admissionregistration.k8s.io", Kind: "MutatingWebhookConfiguration"}:     true,
	{Group: "admissionregistration.k8s.io", Kind: "ValidatingAdmissionPolicy"}:        true,
	{Group: "admissionregistration.k8s.io", Kind: "ValidatingAdmissionPolicyBinding"}: true,
}

func available(msg string, args ...any) availability {
	return availability{available: true, reason: placementv1beta1.ManifestAvailableReason, message: fmt.Sprintf(msg, args...)}
}

func notYet(msg string, args ...any) availability {
	return availability{reason: placementv1beta1.ManifestNotYetAvailableReason, message: fmt.Sprintf(msg, args...)}
}

// availabilityOf judges an object as it is on the member after the apply.
func availabilityOf(ctx context.Context, pods kubernetes.Interface, obj *unstructured.Unstructured) availability {
	gk := obj.GroupVersionKind().GroupKind()
	if dataKinds[gk] {
		return available("%s holds data and is available once applied", gk.Kind)
	}
	switch gk {
	case schema.GroupKind{Group: "apps", Kind: "Deployment"}:
		return workload(ctx, pods, obj, deploymentReady)
	case schema.GroupKind{Group: "apps", Kind: "StatefulSet"}:
		return workload(ctx, pods, obj, statefulSetReady)
	case schema.GroupKind{Group: "apps", Kind: "DaemonSet"}:
		return workload(ctx, pods, obj, daemonSetReady)
	case schema.GroupKind{Kind: "Service"}:
		return serviceAvailability(obj)
	case schema.GroupKind{Group: "apiextensions.k8s.io", Kind: "CustomResourceDefinition"}:
		if conditionTrue(obj, "Established") {
			return available("the CRD is established")
		}
		return notYet("the CRD is not established yet")
	}
	return availability{available: true, reason: placementv1beta1.ManifestNotTrackableReason,
		message: fmt.Sprintf("Flotilla cannot tell when a %s is available; it counts as available after the placement's unavailablePeriodSeconds", gk.Kind)}
}

// observed reports whether status.observedGeneration has caught up with the spec.
func observed(obj *unstructured.Unstructured) bool {
	og, _ := number(obj, "status", "observedGeneration")
	return og >= obj.GetGeneration()
}

func status(obj *unstructured.Unstructured, field string) int64 {
	v, _ := number(obj, "status", field)
	return v
}

func desiredReplicas(obj *unstructured.Unstructured) int64 {
	v, found := number(obj, "spec", "replicas")
	if !found {
		return 1
	}
	return v
}

// number reads an integer field whether it was decoded as int64 (the API machinery's
// decoder) or float64 (encoding/json).
func number(obj *unstructured.Unstructured, fields ...string) (int64, bool) {
	v, found, err := unstructured.NestedFieldNoCopy(obj.Object, fields...)
	if !found || err != nil {
		return 0, false
	}
	switch n := v.(type) {
	case int64:
		return n, true
	case float64:
		return int64(n), true
	case int:
		return int64(n), true
	}
	return 0, false
}

// A readiness rule returns ok, or a message saying what is missing.
type readiness func(obj *unstructured.Unstructured) (bool, string)

func deploymentReady(obj *unstructured.Unstructured) (bool, string) {
	want := desiredReplicas(obj)
	updated, avail, total := status(obj, "updatedReplicas"), status(obj, "availableReplicas"), status(obj, "replicas")
	if updated == want && avail == want && total == want {
		return true, fmt.Sprintf("all %d replicas are updated and available", want)
	}
	return false, fmt.Sprintf("%d of %d replicas are updated and %d available", updated, want, avail)
}

func statefulSetReady(obj *unstructured.Unstructured) (bool, string) {
	want := desiredReplicas(obj)
	updated, avail := status(obj, "updatedReplicas"), status(obj, "availableReplicas")
	current, _, _ := unstructured.NestedString(obj.Object, "status", "currentRevision")
	update, _, _ := unstructured.NestedString(obj.Object, "status", "updateRevision")
	if updated == want && avail == want && current == update {
		return true, fmt.Sprintf("all %d replicas are updated and available", want)
	}
	return false, fmt.Sprintf("%d of %d replicas are updated and %d available", updated, want, avail)
}

func daemonSetReady(obj *unstructured.Unstructured) (bool, string) {
	want := status(obj, "desiredNumberScheduled")
	updated, avail := status(obj, "updatedNumberScheduled"), status(obj, "numberAvailable")
	if updated == want && avail == want {
		return true, fmt.Sprintf("all %d pods are updated and available", want)
	}
	return false, fmt.Sprintf("%d of %d pods are updated and %d available", updated, want, avail)
}

// workload judges a Deployment, StatefulSet or DaemonSet. When it is not available yet, it
// looks for a pod the scheduler cannot place, so the reason says why rather than "not yet".
func workload(ctx context.Context, cs kubernetes.Interface, obj *unstructured.Unstructured, ready readiness) availability {
	if !observed(obj) {
		return notYet("the %s controller has not observed generation %d yet", obj.GetKind(), obj.GetGeneration())
	}
	ok, msg := ready(obj)
	if ok {
		return available("%s", msg)
	}
	if pod, why := unschedulablePod(ctx, cs, obj); pod != "" {
		return availability{reason: placementv1beta1.ManifestPodsUnschedulableReason,
			message: fmt.Sprintf("%s; pod %s cannot be scheduled: %s", msg, pod, why)}
	}
	return notYet("%s", msg)
}

func unschedulablePod(ctx context.Context, cs kubernetes.Interface, obj *unstructured.Unstructured) (string, string) {
	if cs == nil {
		return "", ""
	}
	sel, found, _ := unstructured.NestedMap(obj.Object, "spec", "selector")
	if !found {
		return "", ""
	}
	var ls metav1.LabelSelector
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(sel, &ls); err != nil {
		return "", ""
	}
	selector, err := metav1.LabelSelectorAsSelector(&ls)
	if err != nil {
		return "", ""
	}
	pods, err := cs.CoreV1().Pods(obj.GetNamespace()).List(ctx, metav1.ListOptions{LabelSelector: selector.String(), Limit: 50})
	if err != nil {
		return "", ""
	}
	for _, p := range pods.Items {
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse && c.Reason == corev1.PodReasonUnschedulable {
				return p.Name, c.Message
			}
		}
	}
	return "", ""
}

func serviceAvailability(obj *unstructured.Unstructured) availability {
	typ, _, _ := unstructured.NestedString(obj.Object, "spec", "type")
	switch typ {
	case "ExternalName":
		return available("an ExternalName Service is available once applied")
	case "LoadBalancer":
		ingress, _, _ := unstructured.NestedSlice(obj.Object, "status", "loadBalancer", "ingress")
		if len(ingress) > 0 {
			return available("the load balancer has an ingress address")
		}
		return notYet("the LoadBalancer Service has no ingress address yet")
	}
	ip, _, _ := unstructured.NestedString(obj.Object, "spec", "clusterIP")
	if ip != "" {
		return available("the Service has cluster IP %s", ip)
	}
	return notYet("the Service has no cluster IP yet")
}

func conditionTrue(obj *unstructured.Unstructured, typ string) bool {
	conds, _, _ := unstructured.NestedSlice(obj.Object, "status", "conditions")
	for _, c := range conds {
		m, _ := c.(map[string]any)
		if m["type"] == typ && m["status"] == "True" {
			return true
		}
	}
	return false
}
