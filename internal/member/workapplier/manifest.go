package workapplier

import (
	"fmt"
	"sort"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	placementv1beta1 "github.com/flotilla-dev/flotilla/api/placement/v1beta1"
)

// Apply waves, in order (shared/API.md): a later wave's objects may need an earlier wave's.
const (
	waveNamespaces = iota
	waveConfiguration
	waveRoles
	waveRoleBindings
	waveWorkloads
	waveWebhooks
	waveCount
)

// waveOf gives the wave of each kind that is not in waveWorkloads, the default: any kind
// not listed here (Deployments, Services, custom resources) is applied in the fifth wave.
var waveOf = map[schema.GroupKind]int{
	{Kind: "Namespace"}: waveNamespaces,
	{Group: "scheduling.k8s.io", Kind: "PriorityClass"}: waveNamespaces,
	{Kind: "ConfigMap"}:                                                               waveConfiguration,
	{Kind: "Secret"}:                                                                  waveConfiguration,
	{Kind: "ServiceAccount"}:                                                          waveConfiguration,
	{Kind: "ResourceQuota"}:                                                           waveConfiguration,
	{Kind: "LimitRange"}:                                                              waveConfiguration,
	{Kind: "PersistentVolume"}:                                                        waveConfiguration,
	{Kind: "PersistentVolumeClaim"}:                                                   waveConfiguration,
	{Group: "storage.k8s.io", Kind: "StorageClass"}:                                   waveConfiguration,
	{Group: "storage.k8s.io", Kind: "CSIDriver"}:                                      waveConfiguration,
	{Group: "networking.k8s.io", Kind: "IngressClass"}:                                waveConfiguration,
	{Group: "networking.k8s.io", Kind: "NetworkPolicy"}:                               waveConfiguration,
	{Group: "policy", Kind: "PodDisruptionBudget"}:                                    waveConfiguration,
	{Group: "apiextensions.k8s.io", Kind: "CustomResourceDefinition"}:                 waveConfiguration,
	{Group: "rbac.authorization.k8s.io", Kind: "ClusterRole"}:                         waveRoles,
	{Group: "rbac.authorization.k8s.io", Kind: "Role"}:                                waveRoles,
	{Group: "rbac.authorization.k8s.io", Kind: "ClusterRoleBinding"}:                  waveRoleBindings,
	{Group: "rbac.authorization.k8s.io", Kind: "RoleBinding"}:                         waveRoleBindings,
	{Group: "admissionregistration.k8s.io", Kind: "ValidatingWebhookConfiguration"}:   waveWebhooks,
	{Group: "admissionregistration.k8s.io", Kind: "MutatingWebhookConfiguration"}:     waveWebhooks,
	{Group: "admissionregistration.k8s.io", Kind: "ValidatingAdmissionPolicy"}:        waveWebhooks,
	{Group: "admissionregistration.k8s.io", Kind: "ValidatingAdmissionPolicyBinding"}: waveWebhooks,
	{Group: "apiregistration.k8s.io", Kind: "APIService"}:                             waveWebhooks,
}

func wave(gk schema.GroupKind) int {
	if w, ok := waveOf[gk]; ok {
		return w
	}
	return waveWorkloads
}

// manifest is one decoded manifest of a Work.
type manifest struct {
	ordinal int
	obj     *unstructured.Unstructured
	gvk     schema.GroupVersionKind
	// err is set when the manifest could not be decoded; obj is nil then.
	err error
}

// decode decodes a Work's manifests. A manifest that is not a Kubernetes object keeps its
// error, and the others are still applied.
func decode(work *placementv1beta1.Work) []manifest {
	out := make([]manifest, len(work.Spec.Workload.Manifests))
	for i, m := range work.Spec.Workload.Manifests {
		out[i].ordinal = i
		obj := &unstructured.Unstructured{}
		raw := m.Raw
		if len(raw) == 0 && m.Object != nil {
			out[i].err = fmt.Errorf("manifest %d is not raw JSON", i)
			continue
		}
		if err := obj.UnmarshalJSON(raw); err != nil {
			out[i].err = fmt.Errorf("manifest %d is not a Kubernetes object: %w", i, err)
			continue
		}
		out[i].obj = obj
		out[i].gvk = obj.GroupVersionKind()
	}
	return out
}

// inWaves groups the decodable manifests by wave, keeping the Work's order within each.
func inWaves(ms []manifest) [waveCount][]*manifest {
	var waves [waveCount][]*manifest
	for i := range ms {
		if ms[i].obj == nil {
			continue
		}
		w := wave(ms[i].gvk.GroupKind())
		waves[w] = append(waves[w], &ms[i])
	}
	for _, w := range waves {
		sort.SliceStable(w, func(a, b int) bool { return w[a].ordinal < w[b].ordinal })
	}
	return waves
}

// identifier names a manifest in the Work's status.
func (m *manifest) identifier() placementv1beta1.WorkResourceIdentifier {
	id := placementv1beta1.WorkResourceIdentifier{Ordinal: m.ordinal}
	if m.obj != nil {
		id.Group, id.Version, id.Kind = m.gvk.Group, m.gvk.Version, m.gvk.Kind
		id.Namespace, id.Name = m.obj.GetNamespace(), m.obj.GetName()
	}
	return id
}
