// Package imc is the member agent's InternalMemberCluster controller. While the hub says
// Join, it sends a heartbeat every heartbeatPeriodSeconds: the member's health (its API
// server's /readyz) and properties. When the hub says Leave, it reports that it left and
// stops; what was placed on the member stays.
package imc

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	ctrl "sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	clusterv1beta1 "github.com/flotilla-dev/flotilla/api/cluster/v1beta1"
	"github.com/flotilla-dev/flotilla/internal/controllerdefaults"
	"github.com/flotilla-dev/flotilla/internal/member/properties"
	"github.com/flotilla-dev/flotilla/internal/readyz"
)

// Condition reasons the member agent reports, as KubeFleet's member agent spells them.
const (
	ReasonJoined    = "InternalMemberClusterJoined"
	ReasonLeft      = "InternalMemberClusterLeft"
	ReasonHealthy   = "InternalMemberClusterHealthy"
	ReasonUnhealthy = "InternalMemberClusterUnhealthy"
)

// Reconciler reconciles the member's own InternalMemberCluster on the hub.
type Reconciler struct {
	// Hub reads and writes in fleet-member-<name> on the hub, as the agent's identity.
	Hub client.Client
	// Member reaches the member cluster's API server.
	Member kubernetes.Interface
	// MemberName is the name of this member.
	MemberName string

	mu            sync.Mutex
	lastHeartbeat time.Time
	lastErr       error
}

// Options configure the heartbeat controller.
type Options struct {
	// Member reaches the member cluster's API server.
	Member kubernetes.Interface
	// MemberName is this member's name.
	MemberName string
	// Hub, when set, replaces the manager's client for the heartbeat's writes (tests
	// inject failures with it).
	Hub client.Client
}

// Setup registers the heartbeat controller with the agent's hub manager, and its readiness
// check: the agent is ready while its heartbeats reach the hub.
func Setup(mgr manager.Manager, opts Options) error {
	hub := opts.Hub
	if hub == nil {
		hub = mgr.GetClient()
	}
	r := &Reconciler{Hub: hub, Member: opts.Member, MemberName: opts.MemberName}
	if err := r.register(mgr); err != nil {
		return err
	}
	return mgr.AddReadyzCheck("heartbeat", r.Ready)
}

func (r *Reconciler) register(mgr manager.Manager) error {
	return ctrl.ControllerManagedBy(mgr).
		Named("internalmembercluster").
		// Only spec changes (Join, Leave, a new period) matter; the agent's own status
		// writes must not trigger heartbeats.
		For(&clusterv1beta1.InternalMemberCluster{}, ctrl.WithPredicates(predicate.GenerationChangedPredicate{},
			predicate.NewPredicateFuncs(func(o client.Object) bool { return o.GetName() == r.MemberName }))).
		WithOptions(controllerdefaults.Options(0)).
		Complete(r)
}

// Reconcile sends one heartbeat, or reports the leave.
func (r *Reconciler) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	imc := &clusterv1beta1.InternalMemberCluster{}
	if err := r.Hub.Get(ctx, req.NamespacedName, imc); err != nil {
		// Gone means the hub removed the member; there is nothing to report to.
		return reconcile.Result{}, client.IgnoreNotFound(err)
	}
	if imc.DeletionTimestamp != nil {
		return reconcile.Result{}, nil
	}
	if imc.Spec.State == clusterv1beta1.ClusterStateLeave {
		return reconcile.Result{}, r.reportLeft(ctx, imc)
	}
	period := time.Duration(imc.Spec.HeartbeatPeriodSeconds) * time.Second
	if period <= 0 {
		period = time.Minute
	}
	err := r.heartbeat(ctx, imc)
	r.record(err)
	if err != nil {
		// A failed heartbeat is retried at the period, not by the workqueue's backoff: the
		// hub judges staleness by the period, so the next try must never come later than
		// that. The error stays visible in the agent's readiness check.
		if apierrors.IsUnauthorized(err) {
			err = fmt.Errorf("the hub refused the agent's credentials (401 Unauthorized): its identity was revoked or its token expired; "+
				"the agent does nothing on the hub and deletes nothing on the member until valid credentials are stored: "+
				"run `flotilla member join %s` to issue new ones", r.MemberName)
			r.record(err)
		}
		log.FromContext(ctx).Error(err, "heartbeat failed; retrying at the heartbeat period", "period", period)
		return reconcile.Result{RequeueAfter: period}, nil
	}
	return reconcile.Result{RequeueAfter: period}, nil
}

func (r *Reconciler) heartbeat(ctx context.Context, imc *clusterv1beta1.InternalMemberCluster) error {
	before := imc.DeepCopy()
	now := metav1.Now()
	agent := agentStatus(imc)
	agent.LastReceivedHeartbeat = now
	meta.SetStatusCondition(&agent.Conditions, metav1.Condition{
		Type: clusterv1beta1.ConditionJoined, Status: metav1.ConditionTrue, Reason: ReasonJoined,
		ObservedGeneration: imc.Generation, Message: "the member agent joined the fleet",
	})
	health := metav1.Condition{Type: clusterv1beta1.ConditionHealthy, ObservedGeneration: imc.Generation}
	if err := r.probe(ctx); err != nil {
		health.Status, health.Reason = metav1.ConditionFalse, ReasonUnhealthy
		health.Message = fmt.Sprintf("the member API server's /readyz failed: %v", err)
	} else {
		health.Status, health.Reason = metav1.ConditionTrue, ReasonHealthy
		health.Message = "the member API server's /readyz answers ok"
		// Properties are only collected from a healthy API server; a failed collection keeps
		// the last values, whose observation times show their age.
		if report, err := properties.Collect(ctx, r.Member); err != nil {
			log.FromContext(ctx).Error(err, "collecting member properties")
		} else {
			imc.Status.Properties = report.Properties
			imc.Status.ResourceUsage = report.ResourceUsage
			imc.Status.Namespaces = report.Namespaces
		}
	}
	meta.SetStatusCondition(&agent.Conditions, health)
	if err := r.Hub.Status().Patch(ctx, imc, client.MergeFromWithOptions(before, client.MergeFromWithOptimisticLock{})); err != nil {
		return fmt.Errorf("writing the heartbeat to the hub: %w", err)
	}
	return nil
}

// probe asks the member API server whether it is ready, bounded so a hung server cannot
// hold up the heartbeat.
func (r *Reconciler) probe(ctx context.Context) error {
	return readyz.Check(ctx, r.Member.Discovery().RESTClient(), 5*time.Second)
}

func (r *Reconciler) reportLeft(ctx context.Context, imc *clusterv1beta1.InternalMemberCluster) error {
	agent := agentStatus(imc)
	joined := meta.FindStatusCondition(agent.Conditions, clusterv1beta1.ConditionJoined)
	if joined != nil && joined.Status == metav1.ConditionFalse && joined.ObservedGeneration == imc.Generation {
		return nil
	}
	before := imc.DeepCopy()
	agent = agentStatus(imc)
	agent.LastReceivedHeartbeat = metav1.Now()
	meta.SetStatusCondition(&agent.Conditions, metav1.Condition{
		Type: clusterv1beta1.ConditionJoined, Status: metav1.ConditionFalse, Reason: ReasonLeft,
		ObservedGeneration: imc.Generation,
		Message:            "the member agent left the fleet; resources placed on the member were kept",
	})
	if err := r.Hub.Status().Patch(ctx, imc, client.MergeFromWithOptions(before, client.MergeFromWithOptimisticLock{})); err != nil {
		return fmt.Errorf("reporting the leave to the hub: %w", err)
	}
	log.FromContext(ctx).Info("left the fleet", "member", r.MemberName)
	return nil
}

// agentStatus returns the MemberAgent entry of the IMC's status, adding it if missing.
func agentStatus(imc *clusterv1beta1.InternalMemberCluster) *clusterv1beta1.AgentStatus {
	for i := range imc.Status.AgentStatus {
		if imc.Status.AgentStatus[i].Type == clusterv1beta1.MemberAgent {
			return &imc.Status.AgentStatus[i]
		}
	}
	imc.Status.AgentStatus = append(imc.Status.AgentStatus, clusterv1beta1.AgentStatus{Type: clusterv1beta1.MemberAgent})
	return &imc.Status.AgentStatus[len(imc.Status.AgentStatus)-1]
}

func (r *Reconciler) record(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lastErr = err
	if err == nil {
		r.lastHeartbeat = time.Now()
	}
}

// Ready is the agent's own readiness check: it fails while heartbeats do not reach the hub.
func (r *Reconciler) Ready(_ *http.Request) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.lastErr != nil {
		return r.lastErr
	}
	if r.lastHeartbeat.IsZero() {
		return fmt.Errorf("no heartbeat sent yet")
	}
	return nil
}
