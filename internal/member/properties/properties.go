// Package properties collects the facts a member agent reports about its cluster: node
// count, CPU and memory totals, and the Kubernetes version.
package properties

import (
	"context"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	clusterv1beta1 "github.com/flotilla-dev/flotilla/api/cluster/v1beta1"
	placementv1beta1 "github.com/flotilla-dev/flotilla/api/placement/v1beta1"
)

// Report is one observation of a member cluster.
type Report struct {
	Properties    map[clusterv1beta1.PropertyName]clusterv1beta1.PropertyValue
	ResourceUsage clusterv1beta1.ResourceUsage
	// Namespaces are the namespaces an AppliedWork owns, with its name.
	Namespaces map[string]string
}

// Collect lists the member's nodes and pods and asks its version. Available resources are
// the allocatable ones less the requests of the pods that are bound to a node and have not
// finished.
func Collect(ctx context.Context, cs kubernetes.Interface) (Report, error) {
	version, err := cs.Discovery().ServerVersion()
	if err != nil {
		return Report{}, fmt.Errorf("asking the API server for its version: %w", err)
	}
	nodes, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{ResourceVersion: "0"})
	if err != nil {
		return Report{}, fmt.Errorf("listing nodes: %w", err)
	}
	pods, err := cs.CoreV1().Pods("").List(ctx, metav1.ListOptions{ResourceVersion: "0"})
	if err != nil {
		return Report{}, fmt.Errorf("listing pods: %w", err)
	}
	namespaces, err := cs.CoreV1().Namespaces().List(ctx, metav1.ListOptions{ResourceVersion: "0"})
	if err != nil {
		return Report{}, fmt.Errorf("listing namespaces: %w", err)
	}
	capacity, allocatable := corev1.ResourceList{}, corev1.ResourceList{}
	for i := range nodes.Items {
		add(capacity, nodes.Items[i].Status.Capacity)
		add(allocatable, nodes.Items[i].Status.Allocatable)
	}
	requested := corev1.ResourceList{}
	for i := range pods.Items {
		p := &pods.Items[i]
		if p.Spec.NodeName == "" || p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
			continue
		}
		for _, c := range p.Spec.Containers {
			add(requested, c.Resources.Requests)
		}
	}
	available := corev1.ResourceList{}
	for _, name := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		q := allocatable[name].DeepCopy()
		q.Sub(requested[name])
		if q.Sign() < 0 {
			q = resource.Quantity{Format: q.Format}
		}
		available[name] = q
	}
	capacity = only(capacity, corev1.ResourceCPU, corev1.ResourceMemory)
	allocatable = only(allocatable, corev1.ResourceCPU, corev1.ResourceMemory)

	now := metav1.Now()
	value := func(v string) clusterv1beta1.PropertyValue {
		return clusterv1beta1.PropertyValue{Value: v, ObservationTime: now}
	}
	props := map[clusterv1beta1.PropertyName]clusterv1beta1.PropertyValue{
		clusterv1beta1.PropertyNodeCount:         value(fmt.Sprint(len(nodes.Items))),
		clusterv1beta1.PropertyKubernetesVersion: value(version.GitVersion),
		clusterv1beta1.PropertyTotalCPU:          value(quantity(capacity, corev1.ResourceCPU)),
		clusterv1beta1.PropertyTotalMemory:       value(quantity(capacity, corev1.ResourceMemory)),
		clusterv1beta1.PropertyAllocatableCPU:    value(quantity(allocatable, corev1.ResourceCPU)),
		clusterv1beta1.PropertyAllocatableMemory: value(quantity(allocatable, corev1.ResourceMemory)),
		clusterv1beta1.PropertyAvailableCPU:      value(quantity(available, corev1.ResourceCPU)),
		clusterv1beta1.PropertyAvailableMemory:   value(quantity(available, corev1.ResourceMemory)),
	}
	return Report{
		Properties: props,
		Namespaces: placedNamespaces(namespaces.Items),
		ResourceUsage: clusterv1beta1.ResourceUsage{
			Capacity: capacity, Allocatable: allocatable, Available: available, ObservationTime: now,
		},
	}, nil
}

// placedNamespaces maps the namespaces an AppliedWork owns to its name: those Flotilla
// placed.
func placedNamespaces(items []corev1.Namespace) map[string]string {
	var out map[string]string
	for i := range items {
		for _, ref := range items[i].OwnerReferences {
			if ref.Kind == "AppliedWork" && strings.HasPrefix(ref.APIVersion, placementv1beta1.GroupVersion.Group+"/") {
				if out == nil {
					out = map[string]string{}
				}
				out[items[i].Name] = ref.Name
			}
		}
	}
	return out
}

func add(sum, more corev1.ResourceList) {
	for name, q := range more {
		total := sum[name]
		total.Add(q)
		sum[name] = total
	}
}

func only(l corev1.ResourceList, names ...corev1.ResourceName) corev1.ResourceList {
	out := corev1.ResourceList{}
	for _, n := range names {
		if q, ok := l[n]; ok {
			out[n] = q
		} else {
			out[n] = resource.Quantity{}
		}
	}
	return out
}

func quantity(l corev1.ResourceList, name corev1.ResourceName) string {
	q := l[name]
	return q.String()
}
