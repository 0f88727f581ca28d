package v1alpha1

// Labels and annotations of the updates API.
const (
	// GroupLabel on a MemberCluster puts it into the update group of that name.
	GroupLabel = "updates.flotilla.dev/group"
	// ProviderAnnotation on a MemberCluster names its upgrade provider: local, aks or clusterapi.
	ProviderAnnotation = "updates.flotilla.dev/provider"
	// SimulateFailureAnnotation "true" on a MemberCluster makes each new operation of that
	// member fail, with a message saying so. The orchestrator copies it onto the
	// MemberUpdate, where the provider reads it.
	SimulateFailureAnnotation = "updates.flotilla.dev/simulate-failure"
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
