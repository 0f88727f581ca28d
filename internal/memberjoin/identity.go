// Package memberjoin does on the hub what joining a member takes, the one way both
// `flotilla member join` and the local fleet do it: the agent's identity (a ServiceAccount
// that may renew its own token and nothing else in its namespace), short-lived tokens for
// it, and the MemberCluster that names it.
package memberjoin

import (
	"context"
	"fmt"

	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	rbacv1ac "k8s.io/client-go/applyconfigurations/rbac/v1"
	"k8s.io/client-go/kubernetes"

	clusterv1beta1 "github.com/flotilla-dev/flotilla/api/cluster/v1beta1"
)

// SystemNamespace is the hub namespace the agents' identities live in.
const SystemNamespace = "fleet-system"

// FieldManager owns what joining writes.
const FieldManager = "flotilla-member-join"

// ManagedByLabel marks the objects joining wrote, so that unjoining removes those and no
// other.
const (
	ManagedByLabel = "app.kubernetes.io/managed-by"
	ManagedByValue = "flotilla-member-join"
)

// Identity is the hub ServiceAccount the member's agent authenticates as.
func Identity(member string) rbacv1.Subject {
	return rbacv1.Subject{Kind: rbacv1.ServiceAccountKind, Name: member + "-agent", Namespace: SystemNamespace}
}

// RenewalRoleName is the Role that lets the agent request tokens for its own ServiceAccount.
func RenewalRoleName(member string) string { return "flotilla-agent-token-" + member }

func labels(member string) map[string]string {
	return map[string]string{clusterv1beta1.MemberNameLabel: member, ManagedByLabel: ManagedByValue}
}

// EnsureIdentity applies the agent's ServiceAccount, and a Role and RoleBinding that let it
// create tokens for itself: serviceaccounts/token, create, on its own name only. Its rights
// in its member namespace come from the hub's RoleBinding there, once the MemberCluster names
// it. EnsureIdentity is idempotent.
func EnsureIdentity(ctx context.Context, hub kubernetes.Interface, member string) (rbacv1.Subject, error) {
	id := Identity(member)
	apply := metav1.ApplyOptions{FieldManager: FieldManager, Force: true}
	if _, err := hub.CoreV1().ServiceAccounts(id.Namespace).Apply(ctx,
		corev1ac.ServiceAccount(id.Name, id.Namespace).WithLabels(labels(member)), apply); err != nil {
		return id, fmt.Errorf("applying the agent ServiceAccount %s/%s: %w", id.Namespace, id.Name, err)
	}
	role := RenewalRoleName(member)
	if _, err := hub.RbacV1().Roles(id.Namespace).Apply(ctx,
		rbacv1ac.Role(role, id.Namespace).WithLabels(labels(member)).WithRules(
			rbacv1ac.PolicyRule().WithAPIGroups("").WithResources("serviceaccounts/token").
				WithVerbs("create").WithResourceNames(id.Name)), apply); err != nil {
		return id, fmt.Errorf("applying the Role %s/%s that lets the agent renew its token: %w", id.Namespace, role, err)
	}
	if _, err := hub.RbacV1().RoleBindings(id.Namespace).Apply(ctx,
		rbacv1ac.RoleBinding(role, id.Namespace).WithLabels(labels(member)).
			WithRoleRef(rbacv1ac.RoleRef().WithAPIGroup(rbacv1.GroupName).WithKind("Role").WithName(role)).
			WithSubjects(rbacv1ac.Subject().WithKind(id.Kind).WithName(id.Name).WithNamespace(id.Namespace)), apply); err != nil {
		return id, fmt.Errorf("applying the RoleBinding %s/%s: %w", id.Namespace, role, err)
	}
	return id, nil
}

// RemoveIdentity deletes what EnsureIdentity made: the RoleBinding, the Role and the
// ServiceAccount, whose tokens stop working at once. Objects of the same names that joining
// did not make are left alone.
func RemoveIdentity(ctx context.Context, hub kubernetes.Interface, member string) error {
	id := Identity(member)
	role := RenewalRoleName(member)
	type object struct {
		kind, name string
		labels     func() (map[string]string, error)
		remove     func() error
	}
	none := metav1.DeleteOptions{}
	objects := []object{
		{"RoleBinding", role, func() (map[string]string, error) {
			o, err := hub.RbacV1().RoleBindings(id.Namespace).Get(ctx, role, metav1.GetOptions{})
			if err != nil {
				return nil, err
			}
			return o.Labels, nil
		}, func() error { return hub.RbacV1().RoleBindings(id.Namespace).Delete(ctx, role, none) }},
		{"Role", role, func() (map[string]string, error) {
			o, err := hub.RbacV1().Roles(id.Namespace).Get(ctx, role, metav1.GetOptions{})
			if err != nil {
				return nil, err
			}
			return o.Labels, nil
		}, func() error { return hub.RbacV1().Roles(id.Namespace).Delete(ctx, role, none) }},
		{"ServiceAccount", id.Name, func() (map[string]string, error) {
			o, err := hub.CoreV1().ServiceAccounts(id.Namespace).Get(ctx, id.Name, metav1.GetOptions{})
			if err != nil {
				return nil, err
			}
			return o.Labels, nil
		}, func() error { return hub.CoreV1().ServiceAccounts(id.Namespace).Delete(ctx, id.Name, none) }},
	}
	for _, o := range objects {
		l, err := o.labels()
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			return fmt.Errorf("reading %s %s/%s: %w", o.kind, id.Namespace, o.name, err)
		}
		if l[ManagedByLabel] != ManagedByValue || l[clusterv1beta1.MemberNameLabel] != member {
			continue // not made by joining
		}
		if err := o.remove(); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("deleting %s %s/%s: %w", o.kind, id.Namespace, o.name, err)
		}
	}
	return nil
}
