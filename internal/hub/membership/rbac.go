package membership

import (
	"fmt"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"
)

// AgentClusterRole is the fixed ClusterRole every member agent gets in its own hub namespace
// (config/policies/12-member-agent-rbac.yaml). The hub binds it from each member's RoleBinding,
// which limits it to that namespace. The hub never writes rules: it may bind this one role
// and no other, and it has no `escalate`, so it cannot hand out rights it was not given.
const AgentClusterRole = "flotilla-member-agent"

// agentRoleRef is what each member's RoleBinding refers to.
func agentRoleRef() rbacv1.RoleRef {
	return rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: AgentClusterRole}
}

// identityProblem says what is wrong with a MemberCluster's spec.identity, or "" when the
// hub may bind it. The admission policy flotilla-member-identity refuses the same values; the
// controller checks again for MemberClusters written before that policy existed.
//
// Names in the system: space are the API server's own: system:unauthenticated,
// system:authenticated, system:masters, the nodes and the controllers. Binding one of them
// would hand the member's rights to everyone, or to a component that is not the agent. Only
// ServiceAccounts, which are system:serviceaccount:<namespace>:<name> users, are allowed from
// that space: a single ServiceAccount is a single identity.
func identityProblem(s rbacv1.Subject) string {
	if s.Name == "" {
		return "" // a member with no agent identity: the RoleBinding has no subject
	}
	switch s.Kind {
	case rbacv1.ServiceAccountKind:
		return ""
	case rbacv1.UserKind:
		if !strings.HasPrefix(s.Name, "system:") {
			return ""
		}
		if _, ok := serviceAccountOf(s); ok {
			return ""
		}
		return fmt.Sprintf("spec.identity: the user %q is one of the API server's own system: identities; "+
			"name the member agent's own user or ServiceAccount instead", s.Name)
	case rbacv1.GroupKind:
		if !strings.HasPrefix(s.Name, "system:") {
			return ""
		}
		return fmt.Sprintf("spec.identity: the group %q is one of the API server's own system: groups and would give "+
			"the member's rights to everyone in it; name the member agent's own user or ServiceAccount instead", s.Name)
	default:
		return fmt.Sprintf("spec.identity.kind %q is not a subject kind; use ServiceAccount, User or Group", s.Kind)
	}
}
