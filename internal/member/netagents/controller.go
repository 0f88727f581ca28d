// Package netagents reports the member agent's two networking agents in the
// InternalMemberCluster's agentStatus, which the hub copies onto the MemberCluster:
// ServiceExportImportAgent (the serviceexport and serviceimport controllers) and
// MultiClusterServiceAgent (the multiclusterservice controller). Both run inside the member
// agent, so they are Joined while it is, and Healthy while their CRDs are served on the
// member; each report is a heartbeat.
package netagents

import (
	"context"
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	mcsv1beta1 "sigs.k8s.io/mcs-api/pkg/apis/v1beta1"

	clusterv1beta1 "github.com/flotilla-dev/flotilla/api/cluster/v1beta1"
	networkingv1alpha1 "github.com/flotilla-dev/flotilla/api/networking/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/controllerdefaults"
)

// Condition reasons of the networking agents.
const (
	ReasonJoined    = "AgentJoined"
	ReasonLeft      = "AgentLeft"
	ReasonHealthy   = "AgentHealthy"
	ReasonUnhealthy = "AgentUnhealthy"
)

// Reconciler reports the networking agents' status.
type Reconciler struct {
	Hub        client.Client
	Member     client.Client
	MemberName string
}

// Options configure the networking agent-status controller.
type Options struct {
	// Member is the member cluster's client.
	Member client.Client
	// MemberName is this member's name.
	MemberName string
}

// Setup registers the controller with the agent's hub manager.
func Setup(mgr manager.Manager, opts Options) error {
	return (&Reconciler{Hub: mgr.GetClient(), Member: opts.Member, MemberName: opts.MemberName}).register(mgr)
}

func (r *Reconciler) register(mgr manager.Manager) error {
	return builder.ControllerManagedBy(mgr).
		Named("networking-agents").
		For(&clusterv1beta1.InternalMemberCluster{}, builder.WithPredicates(predicate.GenerationChangedPredicate{},
			predicate.NewPredicateFuncs(func(o client.Object) bool { return o.GetName() == r.MemberName }))).
		WithOptions(controllerdefaults.Options(0)).
		Complete(r)
}

// Reconcile writes one report and comes back after the heartbeat period.
func (r *Reconciler) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	imc := &clusterv1beta1.InternalMemberCluster{}
	if err := r.Hub.Get(ctx, req.NamespacedName, imc); err != nil || imc.DeletionTimestamp != nil {
		return reconcile.Result{}, client.IgnoreNotFound(err)
	}
	before := imc.DeepCopy()
	joined := imc.Spec.State == clusterv1beta1.ClusterStateJoin
	now := metav1.Now()
	checks := map[clusterv1beta1.AgentType]client.ObjectList{
		clusterv1beta1.ServiceExportImportAgent: &mcsv1beta1.ServiceExportList{},
		clusterv1beta1.MultiClusterServiceAgent: &networkingv1alpha1.MultiClusterServiceList{},
	}
	for _, t := range []clusterv1beta1.AgentType{clusterv1beta1.ServiceExportImportAgent, clusterv1beta1.MultiClusterServiceAgent} {
		a := entry(imc, t)
		a.LastReceivedHeartbeat = now
		j := metav1.Condition{Type: clusterv1beta1.ConditionJoined, Status: metav1.ConditionTrue, Reason: ReasonJoined,
			ObservedGeneration: imc.Generation, Message: fmt.Sprintf("the %s runs in the member agent", t)}
		if !joined {
			j.Status, j.Reason, j.Message = metav1.ConditionFalse, ReasonLeft, fmt.Sprintf("the %s left with the member agent", t)
		}
		meta.SetStatusCondition(&a.Conditions, j)
		if !joined {
			continue
		}
		h := metav1.Condition{Type: clusterv1beta1.ConditionHealthy, Status: metav1.ConditionTrue, Reason: ReasonHealthy,
			ObservedGeneration: imc.Generation, Message: "its APIs are served on the member"}
		// Listing one object proves the CRD is served and the cache works.
		if err := r.Member.List(ctx, checks[t], client.Limit(1)); err != nil {
			h.Status, h.Reason, h.Message = metav1.ConditionFalse, ReasonUnhealthy, fmt.Sprintf("its API is not usable on the member: %v", err)
		}
		meta.SetStatusCondition(&a.Conditions, h)
	}
	if err := r.Hub.Status().Patch(ctx, imc, client.MergeFromWithOptions(before, client.MergeFromWithOptimisticLock{})); err != nil {
		return reconcile.Result{}, err
	}
	if !joined {
		return reconcile.Result{}, nil
	}
	period := time.Duration(imc.Spec.HeartbeatPeriodSeconds) * time.Second
	if period <= 0 {
		period = time.Minute
	}
	return reconcile.Result{RequeueAfter: period}, nil
}

func entry(imc *clusterv1beta1.InternalMemberCluster, t clusterv1beta1.AgentType) *clusterv1beta1.AgentStatus {
	for i := range imc.Status.AgentStatus {
		if imc.Status.AgentStatus[i].Type == t {
			return &imc.Status.AgentStatus[i]
		}
	}
	imc.Status.AgentStatus = append(imc.Status.AgentStatus, clusterv1beta1.AgentStatus{Type: t})
	return &imc.Status.AgentStatus[len(imc.Status.AgentStatus)-1]
}
