package v1alpha1

import (
	"strings"

	clusterv1beta1 "github.com/flotilla-dev/flotilla/api/cluster/v1beta1"
)

// Labels and annotations of the updates API.
const (
	// GroupLabel on a MemberCluster puts it into the update group of that name.
	GroupLabel = clusterv1beta1.UpdateGroupLabel
	// ProviderAnnotation on a MemberCluster names its upgrade provider: local, aks or clusterapi.
	ProviderAnnotation = clusterv1beta1.UpdateProviderAnnotation
	// ProviderSettingsPrefix starts the MemberCluster annotations that are the provider's
	// per-member settings. The orchestrator copies them onto each MemberUpdate of the
	// member, so a provider that runs inside the member sees them too.
	ProviderSettingsPrefix = "updates.flotilla.dev/"
	// SimulateFailureAnnotation "true" on a MemberCluster makes each new operation of that
	// member fail, with a message saying so. Only the local provider reads it.
	SimulateFailureAnnotation = ProviderSettingsPrefix + "simulate-failure"
	// RunLabel on a MemberUpdate or Gate names its UpdateRun.
	RunLabel = "updates.flotilla.dev/update-run"
	// MemberLabel on a MemberUpdate names its member.
	MemberLabel = "updates.flotilla.dev/member"

	// NodeImageCatalogName is the hub ConfigMap (in fleet-system) that lists, per region, the
	// Kubernetes versions and newest node images the local provider offers.
	NodeImageCatalogName = "flotilla-node-images"
	// CatalogNamespace holds the catalog.
	CatalogNamespace = "fleet-system"

	// ProviderLocal is the provider of the local fleet's members.
	ProviderLocal = "local"
)

// ProviderSettings returns the annotations under ProviderSettingsPrefix, or nil.
func ProviderSettings(annotations map[string]string) map[string]string {
	var out map[string]string
	for k, v := range annotations {
		if strings.HasPrefix(k, ProviderSettingsPrefix) {
			if out == nil {
				out = map[string]string{}
			}
			out[k] = v
		}
	}
	return out
}
