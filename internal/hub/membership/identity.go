package membership

import (
	"context"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	clusterv1beta1 "github.com/flotilla-dev/flotilla/api/cluster/v1beta1"
)

// Reasons of the AgentIdentity condition.
const (
	ReasonIdentityFound    = "AgentIdentityFound"
	ReasonIdentityNotFound = "AgentIdentityNotFound"
)

// identityIndex indexes MemberClusters by the ServiceAccount their spec.identity names, so
// that a ServiceAccount deleted or made again brings its member back.
const identityIndex = "spec.identity.serviceAccount"

// serviceAccountOf is the namespace/name of the ServiceAccount an identity names, if it
// names one: as kind ServiceAccount or as the user system:serviceaccount:<ns>:<name>.
func serviceAccountOf(s rbacv1.Subject) (types.NamespacedName, bool) {
	switch s.Kind {
	case rbacv1.ServiceAccountKind:
		if s.Name != "" && s.Namespace != "" {
			return types.NamespacedName{Namespace: s.Namespace, Name: s.Name}, true
		}
	case rbacv1.UserKind:
		parts := strings.Split(s.Name, ":")
		if len(parts) == 4 && parts[0] == "system" && parts[1] == "serviceaccount" && parts[2] != "" && parts[3] != "" {
			return types.NamespacedName{Namespace: parts[2], Name: parts[3]}, true
		}
	}
	return types.NamespacedName{}, false
}

func indexIdentity(o client.Object) []string {
	mc, ok := o.(*clusterv1beta1.MemberCluster)
	if !ok {
		return nil
	}
	if sa, ok := serviceAccountOf(mc.Spec.Identity); ok {
		return []string{sa.String()}
	}
	return nil
}

// membersOfServiceAccount enqueues the members whose identity is the ServiceAccount o.
func (r *Reconciler) membersOfServiceAccount(ctx context.Context, o client.Object) []reconcile.Request {
	var list clusterv1beta1.MemberClusterList
	key := types.NamespacedName{Namespace: o.GetNamespace(), Name: o.GetName()}.String()
	if err := r.Client.List(ctx, &list, client.MatchingFields{identityIndex: key}); err != nil {
		return nil
	}
	reqs := make([]reconcile.Request, 0, len(list.Items))
	for i := range list.Items {
		reqs = append(reqs, reconcile.Request{NamespacedName: types.NamespacedName{Name: list.Items[i].Name}})
	}
	return reqs
}

// agentIdentity is the AgentIdentity condition: whether the ServiceAccount the identity
// names exists. ok false means the identity is not a ServiceAccount, which the hub cannot
// look up, and the condition is left out.
func agentIdentity(mc *clusterv1beta1.MemberCluster, exists bool) (metav1.Condition, bool) {
	sa, ok := serviceAccountOf(mc.Spec.Identity)
	if !ok {
		return metav1.Condition{}, false
	}
	if exists {
		return metav1.Condition{
			Type: clusterv1beta1.ConditionAgentIdentity, Status: metav1.ConditionTrue, Reason: ReasonIdentityFound,
			ObservedGeneration: mc.Generation,
			Message:            fmt.Sprintf("the agent authenticates as ServiceAccount %s, which exists on the hub", sa),
		}, true
	}
	return metav1.Condition{
		Type: clusterv1beta1.ConditionAgentIdentity, Status: metav1.ConditionFalse, Reason: ReasonIdentityNotFound,
		ObservedGeneration: mc.Generation,
		Message: fmt.Sprintf("spec.identity names ServiceAccount %s, which does not exist on the hub: every token of the agent is "+
			"revoked and it can no longer report nor receive work; run `flotilla member join %s` to issue a new identity", sa, mc.Name),
	}, true
}

// serviceAccountExists looks the identity's ServiceAccount up in the metadata cache.
func (r *Reconciler) serviceAccountExists(ctx context.Context, mc *clusterv1beta1.MemberCluster) (bool, error) {
	sa, ok := serviceAccountOf(mc.Spec.Identity)
	if !ok {
		return false, nil
	}
	obj := &metav1.PartialObjectMetadata{}
	obj.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("ServiceAccount"))
	err := r.Client.Get(ctx, sa, obj)
	if apierrors.IsNotFound(err) {
		return false, nil
	}
	return err == nil, err
}

// setAgentIdentity sets or leaves out the AgentIdentity condition.
func (r *Reconciler) setAgentIdentity(ctx context.Context, mc *clusterv1beta1.MemberCluster) error {
	exists, err := r.serviceAccountExists(ctx, mc)
	if err != nil {
		return fmt.Errorf("looking up the agent's ServiceAccount: %w", err)
	}
	if cond, ok := agentIdentity(mc, exists); ok {
		meta.SetStatusCondition(&mc.Status.Conditions, cond)
	} else {
		meta.RemoveStatusCondition(&mc.Status.Conditions, clusterv1beta1.ConditionAgentIdentity)
	}
	return nil
}
