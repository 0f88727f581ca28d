package membership

import (
	rbacv1 "k8s.io/api/rbac/v1"
)

// agentRules are what a member agent may do in its own hub namespace, fleet-member-<name>.
// It reads its InternalMemberCluster and writes only its status; it owns the per-member
// objects of the placement, update and networking APIs; it writes events and leases.
// Nothing grants it anything outside that namespace.
func agentRules() []rbacv1.PolicyRule {
	return []rbacv1.PolicyRule{
		{
			APIGroups: []string{"cluster.kubernetes-fleet.io"},
			Resources: []string{"internalmemberclusters"},
			Verbs:     []string{"get", "list", "watch"},
		},
		{
			APIGroups: []string{"cluster.kubernetes-fleet.io"},
			Resources: []string{"internalmemberclusters/status"},
			Verbs:     []string{"get", "update", "patch"},
		},
		{
			APIGroups: []string{"placement.kubernetes-fleet.io", "updates.flotilla.dev", "networking.flotilla.dev", "multicluster.x-k8s.io"},
			Resources: []string{"*"},
			Verbs:     []string{"get", "list", "watch", "create", "update", "patch", "delete"},
		},
		{
			APIGroups: []string{""},
			Resources: []string{"events"},
			Verbs:     []string{"create", "patch"},
		},
		{
			APIGroups: []string{"coordination.k8s.io"},
			Resources: []string{"leases"},
			Verbs:     []string{"get", "list", "watch", "create", "update", "patch"},
		},
	}
}
