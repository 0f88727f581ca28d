package v1beta1

import "strings"

// Names of conditions, labels, annotations and properties, as KubeFleet spells them.
const (
	// ConditionReadyToJoin is set by the hub once the member's namespace, RBAC and IMC exist.
	ConditionReadyToJoin = "ReadyToJoin"
	// ConditionJoined is true while the member's agents report that they joined.
	ConditionJoined = "Joined"
	// ConditionHealthy is true while the member's agents report a healthy cluster.
	ConditionHealthy = "Healthy"
	// ConditionServicesExported is Flotilla's own: true while the member exports services
	// to the fleet. Deleting a Strict member is refused while it is true
	// (config/policies/23-member-delete-guard.yaml).
	ConditionServicesExported = "ServicesExported"
	// ConditionAgentIdentity is Flotilla's own: whether the ServiceAccount that spec.identity
	// names exists on the hub. Deleting it revokes every token of the agent at once.
	ConditionAgentIdentity = "AgentIdentity"

	// MemberClusterFinalizer holds a MemberCluster until its agent left and its namespace is gone.
	MemberClusterFinalizer = "kubernetes-fleet.io/membercluster-finalizer"
	// MemberNameLabel names the member on the MemberCluster and its hub objects.
	MemberNameLabel = "kubernetes-fleet.io/member-name"

	// CordonTaintKey and CordonTaintValue make the NoSchedule taint that cordons a member,
	// as KubeFleet's kubectl fleet draincluster writes it: no new placement reaches the
	// member unless it tolerates the taint.
	CordonTaintKey   = "cordon-key"
	CordonTaintValue = "cordon-value"

	// NamespacePrefix starts the name of each member's hub namespace.
	NamespacePrefix = "fleet-member-"

	// PropertyNodeCount is the number of nodes of the member.
	PropertyNodeCount PropertyName = "kubernetes-fleet.io/node-count"
	// PropertyKubernetesVersion is the member API server's version.
	PropertyKubernetesVersion PropertyName = "k8s.io/k8s-version"
	// PropertyTotalCPU and the others below sum the nodes' resources.
	PropertyTotalCPU          PropertyName = "resources.kubernetes-fleet.io/total-cpu"
	PropertyTotalMemory       PropertyName = "resources.kubernetes-fleet.io/total-memory"
	PropertyAllocatableCPU    PropertyName = "resources.kubernetes-fleet.io/allocatable-cpu"
	PropertyAllocatableMemory PropertyName = "resources.kubernetes-fleet.io/allocatable-memory"
	PropertyAvailableCPU      PropertyName = "resources.kubernetes-fleet.io/available-cpu"
	PropertyAvailableMemory   PropertyName = "resources.kubernetes-fleet.io/available-memory"

	// LocationLabel, ResourceGroupLabel and SubscriptionIDLabel are the AKS-style labels.
	LocationLabel       = "fleet.azure.com/location"
	ResourceGroupLabel  = "fleet.azure.com/resource-group"
	SubscriptionIDLabel = "fleet.azure.com/subscription-id"
	// RegionLabel is the standard topology label; every member gets it.
	RegionLabel = "topology.kubernetes.io/region"

	// UpdateGroupLabel puts a member into an update group.
	UpdateGroupLabel = "updates.flotilla.dev/group"
	// UpdateProviderAnnotation names the member's upgrade provider.
	UpdateProviderAnnotation = "updates.flotilla.dev/provider"
)

// NamespaceForMember returns the hub namespace of a member.
func NamespaceForMember(member string) string { return NamespacePrefix + member }

// MemberForNamespace is the member whose hub namespace ns is, if it is one.
func MemberForNamespace(ns string) (string, bool) {
	member, ok := strings.CutPrefix(ns, NamespacePrefix)
	return member, ok && member != ""
}

// RoleForMember returns the name of the Role the hub grants a member agent.
func RoleForMember(member string) string { return "fleet-role-" + member }

// RoleBindingForMember returns the name of the RoleBinding for a member agent.
func RoleBindingForMember(member string) string { return "fleet-rolebinding-" + member }
