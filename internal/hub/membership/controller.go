// Package membership is the hub's MemberCluster controller. For each MemberCluster it keeps
// the member's namespace fleet-member-<name>, the RoleBinding that gives the member agent's
// identity the fixed ClusterRole flotilla-member-agent there, and the InternalMemberCluster that carries the hub's
// instruction (Join or Leave). It copies the agent's reports back into the MemberCluster's
// status and runs the leave flow when the MemberCluster is deleted.
package membership

import (
	"context"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	metav1ac "k8s.io/client-go/applyconfigurations/meta/v1"
	rbacv1ac "k8s.io/client-go/applyconfigurations/rbac/v1"
	"k8s.io/client-go/tools/record"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	clusterv1beta1 "github.com/flotilla-dev/flotilla/api/cluster/v1beta1"
	clusterac "github.com/flotilla-dev/flotilla/api/cluster/v1beta1/applyconfiguration/cluster/v1beta1"
	networkingv1alpha1 "github.com/flotilla-dev/flotilla/api/networking/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/controllerdefaults"
	"github.com/flotilla-dev/flotilla/internal/eligibility"
)

// DefaultForceDeleteWait is how long a deleted MemberCluster waits for its agent to leave
// before the hub removes it anyway.
const DefaultForceDeleteWait = 15 * time.Minute

// Reconciler reconciles MemberClusters.
type Reconciler struct {
	Client   client.Client
	Recorder record.EventRecorder
	// ForceDeleteWait is how long to wait for the agent to leave; 0 means the default.
	ForceDeleteWait time.Duration
	// Clock tells the time; nil is the real clock. Tests may set a fake one.
	Clock clock.PassiveClock
}

func (r *Reconciler) forceDeleteWait() time.Duration {
	if r.ForceDeleteWait > 0 {
		return r.ForceDeleteWait
	}
	return DefaultForceDeleteWait
}

// Options configure the membership controller.
type Options struct {
	// ForceDeleteWait is how long a deleted MemberCluster waits for its agent to leave; 0
	// means DefaultForceDeleteWait.
	ForceDeleteWait time.Duration
	// Recorder records Events; nil is the manager's, as flotilla-hub.
	Recorder record.EventRecorder
	// Clock tells the time; nil is the real clock.
	Clock clock.PassiveClock
}

// Setup registers the membership controller with mgr.
func Setup(mgr ctrl.Manager, opts Options) error {
	rec := opts.Recorder
	if rec == nil {
		rec = mgr.GetEventRecorderFor("flotilla-hub") //nolint:staticcheck // core/v1 Events, which kubectl describe shows
	}
	r := &Reconciler{Client: mgr.GetClient(), Recorder: rec, ForceDeleteWait: opts.ForceDeleteWait, Clock: opts.Clock}
	return r.register(mgr)
}

func (r *Reconciler) register(mgr ctrl.Manager) error {
	if err := mgr.GetFieldIndexer().IndexField(context.Background(), &clusterv1beta1.MemberCluster{}, identityIndex, indexIdentity); err != nil {
		return err
	}
	return ctrl.NewControllerManagedBy(mgr).
		Named("membercluster").
		For(&clusterv1beta1.MemberCluster{}).
		Owns(&corev1.Namespace{}).
		Owns(&rbacv1.RoleBinding{}).
		Watches(&clusterv1beta1.InternalMemberCluster{}, controllerdefaults.EnqueueByLabel(clusterv1beta1.MemberNameLabel)).
		// An export appearing or going changes the ServicesExported condition.
		Watches(&networkingv1alpha1.InternalServiceExport{}, handler.EnqueueRequestsFromMapFunc(memberOfNamespace),
			builder.WithPredicates(predicate.Funcs{UpdateFunc: func(event.UpdateEvent) bool { return false }})).
		// The agent's ServiceAccount going (revoked) or coming back changes AgentIdentity.
		WatchesMetadata(&corev1.ServiceAccount{}, handler.EnqueueRequestsFromMapFunc(r.membersOfServiceAccount),
			builder.WithPredicates(predicate.Funcs{UpdateFunc: func(event.UpdateEvent) bool { return false }})).
		WithOptions(controllerdefaults.Options(0)).
		Complete(r)
}

// memberOfNamespace enqueues the member whose hub namespace o is in.
func memberOfNamespace(_ context.Context, o client.Object) []reconcile.Request {
	member, ok := clusterv1beta1.MemberForNamespace(o.GetNamespace())
	if !ok {
		return nil
	}
	return []reconcile.Request{{NamespacedName: types.NamespacedName{Name: member}}}
}

// Reconcile brings one member's hub objects and status up to date.
func (r *Reconciler) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	mc := &clusterv1beta1.MemberCluster{}
	if err := r.Client.Get(ctx, req.NamespacedName, mc); err != nil {
		return reconcile.Result{}, client.IgnoreNotFound(err)
	}
	if mc.DeletionTimestamp != nil {
		return r.leave(ctx, mc)
	}
	if err := r.ensureFinalizerAndLabel(ctx, mc); err != nil {
		return reconcile.Result{}, err
	}
	imc, err := r.ensureMemberObjects(ctx, mc)
	if bad := identityError(""); errors.As(err, &bad) {
		// Nothing to retry: the MemberCluster's next change brings it back here.
		meta.SetStatusCondition(&mc.Status.Conditions, metav1.Condition{
			Type: clusterv1beta1.ConditionReadyToJoin, Status: metav1.ConditionFalse, Reason: ReasonNotReadyToJoin,
			ObservedGeneration: mc.Generation, Message: err.Error(),
		})
		r.copyAgentStatus(mc, imc)
		return reconcile.Result{}, r.updateStatus(ctx, mc)
	}
	if err != nil {
		meta.SetStatusCondition(&mc.Status.Conditions, metav1.Condition{
			Type: clusterv1beta1.ConditionReadyToJoin, Status: metav1.ConditionFalse, Reason: ReasonNotReadyToJoin,
			ObservedGeneration: mc.Generation, Message: err.Error(),
		})
		if uerr := r.Client.Status().Update(ctx, mc); uerr != nil {
			log.FromContext(ctx).Error(uerr, "recording ReadyToJoin=False")
		}
		return reconcile.Result{}, err
	}
	meta.SetStatusCondition(&mc.Status.Conditions, metav1.Condition{
		Type: clusterv1beta1.ConditionReadyToJoin, Status: metav1.ConditionTrue, Reason: ReasonReadyToJoin,
		ObservedGeneration: mc.Generation,
		Message:            fmt.Sprintf("namespace %s, its RBAC and the InternalMemberCluster are ready for the member agent", imc.Namespace),
	})
	recheck := r.copyAgentStatus(mc, imc)
	if err := r.setAgentIdentity(ctx, mc); err != nil {
		return reconcile.Result{}, err
	}
	var exports networkingv1alpha1.InternalServiceExportList
	if err := r.Client.List(ctx, &exports, client.InNamespace(imc.Namespace)); err != nil {
		return reconcile.Result{}, err
	}
	meta.SetStatusCondition(&mc.Status.Conditions, servicesExported(mc, exports.Items))
	if err := r.updateStatus(ctx, mc); err != nil {
		return reconcile.Result{}, err
	}
	return reconcile.Result{RequeueAfter: recheck}, nil
}

func (r *Reconciler) ensureFinalizerAndLabel(ctx context.Context, mc *clusterv1beta1.MemberCluster) error {
	if controllerutil.ContainsFinalizer(mc, clusterv1beta1.MemberClusterFinalizer) &&
		mc.Labels[clusterv1beta1.MemberNameLabel] == mc.Name {
		return nil
	}
	before := mc.DeepCopy()
	controllerutil.AddFinalizer(mc, clusterv1beta1.MemberClusterFinalizer)
	if mc.Labels == nil {
		mc.Labels = map[string]string{}
	}
	mc.Labels[clusterv1beta1.MemberNameLabel] = mc.Name
	return r.Client.Patch(ctx, mc, client.MergeFromWithOptions(before, client.MergeFromWithOptimisticLock{}))
}

// fieldOwner is the field manager of the objects this controller applies.
const fieldOwner = "flotilla-membership"

// ensureMemberObjects applies the namespace, RoleBinding and IMC, and removes the per-member
// Role of older hubs.
func (r *Reconciler) ensureMemberObjects(ctx context.Context, mc *clusterv1beta1.MemberCluster) (*clusterv1beta1.InternalMemberCluster, error) {
	ns := clusterv1beta1.NamespaceForMember(mc.Name)
	labels := map[string]string{clusterv1beta1.MemberNameLabel: mc.Name}
	ref, err := controllerdefaults.ControllerRef(mc, r.Client.Scheme())
	if err != nil {
		return nil, err
	}

	namespace := &corev1.Namespace{}
	if err := controllerdefaults.Apply(ctx, r.Client, fieldOwner,
		corev1ac.Namespace(ns).WithLabels(labels).WithOwnerReferences(ref), namespace); err != nil {
		return nil, fmt.Errorf("namespace %s: %w", ns, err)
	}
	if namespace.DeletionTimestamp != nil {
		return nil, fmt.Errorf("namespace %s is still being deleted from an earlier membership; the join continues once it is gone", ns)
	}

	problem := identityProblem(mc.Spec.Identity)
	if err := r.ensureBinding(ctx, mc, ns, labels, ref, problem == ""); err != nil {
		return nil, err
	}
	if err := r.removeLegacyRole(ctx, mc, ns); err != nil {
		return nil, err
	}

	imc := &clusterv1beta1.InternalMemberCluster{}
	if err := controllerdefaults.Apply(ctx, r.Client, fieldOwner,
		clusterac.InternalMemberCluster(mc.Name, ns).WithLabels(labels).WithOwnerReferences(ref).
			WithSpec(clusterac.InternalMemberClusterSpec().
				WithState(clusterv1beta1.ClusterStateJoin).
				WithHeartbeatPeriodSeconds(heartbeatPeriod(mc))), imc); err != nil {
		return nil, fmt.Errorf("internalmembercluster %s/%s: %w", ns, mc.Name, err)
	}
	if problem != "" {
		return imc, identityError(problem)
	}
	return imc, nil
}

// identityError is a spec.identity the hub refuses to bind. Only the user can fix it, so it
// is reported on the MemberCluster and not retried.
type identityError string

func (e identityError) Error() string { return string(e) }

// ensureBinding keeps the RoleBinding fleet-rolebinding-<name>, which binds the fixed
// ClusterRole flotilla-member-agent to spec.identity in the member's namespace. bindIdentity
// false leaves it without a subject (the identity is one the hub refuses to bind).
//
// A RoleBinding's roleRef cannot change. A binding written by an older hub refers to the
// per-member Role fleet-role-<name>; it is deleted and made again with the new roleRef.
func (r *Reconciler) ensureBinding(ctx context.Context, mc *clusterv1beta1.MemberCluster, ns string, labels map[string]string,
	ref *metav1ac.OwnerReferenceApplyConfiguration, bindIdentity bool) error {
	name := clusterv1beta1.RoleBindingForMember(mc.Name)
	role := agentRoleRef()
	want := rbacv1ac.RoleBinding(name, ns).WithLabels(labels).WithOwnerReferences(ref).
		WithRoleRef(rbacv1ac.RoleRef().WithAPIGroup(role.APIGroup).WithKind(role.Kind).WithName(role.Name))
	if id := mc.Spec.Identity; bindIdentity && id.Name != "" {
		subject := rbacv1ac.Subject().WithKind(id.Kind).WithName(id.Name)
		if id.APIGroup != "" {
			subject.WithAPIGroup(id.APIGroup)
		}
		if id.Namespace != "" {
			subject.WithNamespace(id.Namespace)
		}
		want.WithSubjects(subject)
	}
	binding := &rbacv1.RoleBinding{}
	err := r.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, binding)
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("rolebinding %s/%s: %w", ns, name, err)
	}
	if err == nil && binding.RoleRef != role {
		log.FromContext(ctx).Info("replacing a member's RoleBinding with one to the fixed agent ClusterRole",
			"member", mc.Name, "oldRoleRef", binding.RoleRef.Kind+"/"+binding.RoleRef.Name)
		if err := r.Client.Delete(ctx, binding, client.Preconditions{UID: &binding.UID}); client.IgnoreNotFound(err) != nil {
			return fmt.Errorf("rolebinding %s/%s: replacing the binding to %s: %w", ns, name, binding.RoleRef.Name, err)
		}
	}
	if err := controllerdefaults.Apply(ctx, r.Client, fieldOwner, want, nil); err != nil {
		return fmt.Errorf("rolebinding %s/%s for spec.identity: %w", ns, name, err)
	}
	return nil
}

// removeLegacyRole deletes the per-member Role fleet-role-<name> that older hubs wrote, once
// the RoleBinding no longer refers to it. Only a Role this MemberCluster controls is removed.
func (r *Reconciler) removeLegacyRole(ctx context.Context, mc *clusterv1beta1.MemberCluster, ns string) error {
	role := &rbacv1.Role{}
	err := r.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: clusterv1beta1.RoleForMember(mc.Name)}, role)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("role %s/%s: %w", ns, role.Name, err)
	}
	if !metav1.IsControlledBy(role, mc) {
		return nil
	}
	log.FromContext(ctx).Info("removing the per-member Role of an older hub; the agent's rights now come from "+AgentClusterRole,
		"member", mc.Name, "role", role.Name)
	if err := r.Client.Delete(ctx, role, client.Preconditions{UID: &role.UID}); client.IgnoreNotFound(err) != nil {
		return fmt.Errorf("role %s/%s: removing the per-member Role of an older hub: %w", ns, role.Name, err)
	}
	return nil
}

// copyAgentStatus copies what the agents reported, and sets Joined and Healthy from it. It
// returns when to look again, so that a heartbeat that stops coming is noticed.
func (r *Reconciler) copyAgentStatus(mc *clusterv1beta1.MemberCluster, imc *clusterv1beta1.InternalMemberCluster) time.Duration {
	mc.Status.Properties = imc.Status.Properties
	mc.Status.ResourceUsage = imc.Status.ResourceUsage
	mc.Status.AgentStatus = imc.Status.AgentStatus
	mc.Status.Namespaces = imc.Status.Namespaces

	period := time.Duration(heartbeatPeriod(mc)) * time.Second
	joined := metav1.Condition{Type: clusterv1beta1.ConditionJoined, ObservedGeneration: mc.Generation}
	healthy := metav1.Condition{Type: clusterv1beta1.ConditionHealthy, ObservedGeneration: mc.Generation}
	agent := eligibility.AgentStatusOf(imc.Status.AgentStatus, clusterv1beta1.MemberAgent)
	switch agent {
	case nil:
		joined.Status, joined.Reason, joined.Message = metav1.ConditionUnknown, ReasonJoinUnknown, "the member agent has not reported yet"
		healthy.Status, healthy.Reason, healthy.Message = metav1.ConditionUnknown, ReasonHealthUnknown, "the member agent has not reported yet"
	default:
		joined = fromAgent(joined, meta.FindStatusCondition(agent.Conditions, clusterv1beta1.ConditionJoined),
			ReasonJoined, ReasonNotJoined, ReasonJoinUnknown)
		healthy = fromAgent(healthy, meta.FindStatusCondition(agent.Conditions, clusterv1beta1.ConditionHealthy),
			ReasonHealthy, ReasonUnhealthy, ReasonHealthUnknown)
		// Joined=False after a Leave is a finished leave, not a failed join.
		if left, _ := agentLeft(imc); left && joined.Status == metav1.ConditionFalse {
			joined.Reason = ReasonLeft
		}
		// An agent that stops reporting cannot say so: three missed heartbeats make the
		// member's health unknown.
		if joined.Status == metav1.ConditionTrue {
			if age := r.now().Sub(agent.LastReceivedHeartbeat.Time); age > 3*period {
				healthy.Status, healthy.Reason = metav1.ConditionUnknown, ReasonHeartbeatTimeout
				healthy.Message = fmt.Sprintf("no heartbeat from the member agent for %s (the period is %s)", age.Round(time.Second), period)
			}
		}
	}
	meta.SetStatusCondition(&mc.Status.Conditions, joined)
	meta.SetStatusCondition(&mc.Status.Conditions, healthy)
	return period
}

// fromAgent turns an agent's condition into the member's, with the hub's reasons.
func fromAgent(c metav1.Condition, agent *metav1.Condition, trueReason, falseReason, unknownReason string) metav1.Condition {
	if agent == nil {
		c.Status, c.Reason, c.Message = metav1.ConditionUnknown, unknownReason, "the member agent has not reported this condition"
		return c
	}
	c.Status, c.Message = agent.Status, agent.Message
	switch agent.Status {
	case metav1.ConditionTrue:
		c.Reason = trueReason
	case metav1.ConditionFalse:
		c.Reason = falseReason
	default:
		c.Reason = unknownReason
	}
	return c
}

// leave runs the leave flow: tell the agent to leave, wait until it has (or until the force
// wait is over), then remove the member's namespace and the finalizer.
func (r *Reconciler) leave(ctx context.Context, mc *clusterv1beta1.MemberCluster) (reconcile.Result, error) {
	if !controllerutil.ContainsFinalizer(mc, clusterv1beta1.MemberClusterFinalizer) {
		return reconcile.Result{}, nil
	}
	ns := clusterv1beta1.NamespaceForMember(mc.Name)
	imc := &clusterv1beta1.InternalMemberCluster{}
	err := r.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: mc.Name}, imc)
	if err != nil && !apierrors.IsNotFound(err) {
		return reconcile.Result{}, err
	}
	if err == nil && imc.DeletionTimestamp == nil {
		left, leftMessage := agentLeft(imc)
		waited := r.now().Sub(mc.DeletionTimestamp.Time)
		if !left && waited < r.forceDeleteWait() {
			if imc.Spec.State != clusterv1beta1.ClusterStateLeave {
				before := imc.DeepCopy()
				imc.Spec.State = clusterv1beta1.ClusterStateLeave
				if err := r.Client.Patch(ctx, imc, client.MergeFrom(before)); err != nil {
					return reconcile.Result{}, err
				}
			}
			r.copyAgentStatus(mc, imc)
			meta.SetStatusCondition(&mc.Status.Conditions, metav1.Condition{
				Type: clusterv1beta1.ConditionJoined, Status: metav1.ConditionUnknown, Reason: ReasonJoinUnknown,
				ObservedGeneration: mc.Generation,
				Message: fmt.Sprintf("waiting for the member agent to leave; the hub removes the member anyway at %s",
					mc.DeletionTimestamp.Add(r.forceDeleteWait()).UTC().Format(time.RFC3339)),
			})
			if err := r.updateStatus(ctx, mc); err != nil {
				return reconcile.Result{}, err
			}
			return reconcile.Result{RequeueAfter: r.forceDeleteWait() - waited}, nil
		}
		if !left {
			r.Recorder.Eventf(mc, corev1.EventTypeWarning, "ForceDeleted",
				"the member agent did not leave within %s; removing the member anyway", r.forceDeleteWait())
			log.FromContext(ctx).Info("force-deleting member whose agent did not leave", "member", mc.Name, "waited", waited)
		} else {
			log.FromContext(ctx).Info("member agent left", "member", mc.Name, "message", leftMessage)
			r.copyAgentStatus(mc, imc)
			if err := r.updateStatus(ctx, mc); err != nil {
				return reconcile.Result{}, err
			}
		}
	}

	namespace := &corev1.Namespace{}
	err = r.Client.Get(ctx, client.ObjectKey{Name: ns}, namespace)
	if err != nil && !apierrors.IsNotFound(err) {
		return reconcile.Result{}, err
	}
	if err == nil {
		if namespace.DeletionTimestamp == nil {
			if err := r.Client.Delete(ctx, namespace, client.PropagationPolicy(metav1.DeletePropagationBackground)); client.IgnoreNotFound(err) != nil {
				return reconcile.Result{}, err
			}
		}
		// The namespace watch brings us back once it is gone; poll as well in case it lingers.
		return reconcile.Result{RequeueAfter: 2 * time.Second}, nil
	}
	before := mc.DeepCopy()
	controllerutil.RemoveFinalizer(mc, clusterv1beta1.MemberClusterFinalizer)
	return reconcile.Result{}, r.Client.Patch(ctx, mc, client.MergeFrom(before))
}

// agentLeft says whether the member agent acknowledged the Leave: its Joined condition is
// False for the IMC's current generation, or it never reported at all.
func agentLeft(imc *clusterv1beta1.InternalMemberCluster) (bool, string) {
	agent := eligibility.AgentStatusOf(imc.Status.AgentStatus, clusterv1beta1.MemberAgent)
	if agent == nil {
		return true, "the agent never reported"
	}
	joined := meta.FindStatusCondition(agent.Conditions, clusterv1beta1.ConditionJoined)
	if imc.Spec.State == clusterv1beta1.ClusterStateLeave && joined != nil &&
		joined.Status == metav1.ConditionFalse && joined.ObservedGeneration >= imc.Generation {
		return true, joined.Message
	}
	return false, ""
}

func (r *Reconciler) updateStatus(ctx context.Context, mc *clusterv1beta1.MemberCluster) error {
	current := &clusterv1beta1.MemberCluster{}
	if err := r.Client.Get(ctx, client.ObjectKeyFromObject(mc), current); err != nil {
		return err
	}
	if equality.Semantic.DeepEqual(current.Status, mc.Status) {
		return nil
	}
	return r.Client.Status().Update(ctx, mc)
}

func heartbeatPeriod(mc *clusterv1beta1.MemberCluster) int32 {
	if mc.Spec.HeartbeatPeriodSeconds > 0 {
		return mc.Spec.HeartbeatPeriodSeconds
	}
	return 60
}

// now is the time by Clock, or by the real clock when Clock is nil.
func (r *Reconciler) now() time.Time {
	if r.Clock == nil {
		return time.Now()
	}
	return r.Clock.Now()
}
