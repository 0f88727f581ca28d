package scheduler

import (
	"context"
	"fmt"
	"reflect"
	"strconv"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
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
	placementv1beta1 "github.com/flotilla-dev/flotilla/api/placement/v1beta1"
	"github.com/flotilla-dev/flotilla/internal/controllerdefaults"
	"github.com/flotilla-dev/flotilla/internal/eligibility"
	"github.com/flotilla-dev/flotilla/internal/hub/scope"
	"github.com/flotilla-dev/flotilla/internal/hub/snapshot"
)

const (
	// recheckEvery re-runs scheduling now and then, because eligibility also changes with
	// time alone (a heartbeat that grows old sends no event).
	recheckEvery = time.Minute
	// maxNotPickedReported caps the clusters left out that a policy snapshot lists, besides
	// PickFixed's named ones, to keep the snapshot small in a large fleet.
	maxNotPickedReported = 20
)

// Reconciler schedules ClusterResourcePlacements: it reads the latest policy snapshot, picks
// clusters with the framework, creates or updates one ClusterResourceBinding per picked
// cluster, marks the others Unscheduled, and writes the decisions to the snapshot's status.
type Reconciler struct {
	// Client is the manager's client (hub.Options sets its rate limits).
	Client    client.Client
	Framework *Framework
	// Clock tells the time; nil is the real clock. Tests may set a fake one.
	Clock clock.PassiveClock
	// Hearing says how long the hub has heard heartbeats and how far it trusts staleness
	// (eligibility.Hearing); nil trusts heartbeat ages as they are.
	Hearing func() eligibility.Hearing

	// created remembers the bindings this scheduler created recently, by placement, until
	// the cache shows them: without it, a reconcile that runs before the cache caught up
	// would create them again (and fail with AlreadyExists, a wasted request each).
	mu      sync.Mutex
	created map[string]map[string]createdBinding
}

type createdBinding struct {
	binding placementv1beta1.BindingObj
	at      time.Time
}

// expectationTTL bounds how long a created binding is assumed to exist without the cache
// showing it.
const expectationTTL = 30 * time.Second

func (r *Reconciler) remember(crp string, b placementv1beta1.BindingObj) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.created == nil {
		r.created = map[string]map[string]createdBinding{}
	}
	if r.created[crp] == nil {
		r.created[crp] = map[string]createdBinding{}
	}
	r.created[crp][b.GetBindingSpec().TargetCluster] = createdBinding{binding: b, at: time.Now()}
}

// addExpected adds to byCluster the bindings created recently that the cache does not show
// yet, and forgets those it shows.
func (r *Reconciler) addExpected(crp string, byCluster map[string]placementv1beta1.BindingObj) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for cluster, cb := range r.created[crp] {
		if _, seen := byCluster[cluster]; seen || time.Since(cb.at) > expectationTTL {
			delete(r.created[crp], cluster)
			continue
		}
		byCluster[cluster] = cb.binding
	}
	if len(r.created[crp]) == 0 {
		delete(r.created, crp)
	}
}

func (r *Reconciler) hearing() eligibility.Hearing {
	if r.Hearing == nil {
		return eligibility.Hearing{}
	}
	return r.Hearing()
}

// Options configure the scheduler.
type Options struct {
	// Hearing says how long the hub has heard heartbeats and how far it trusts staleness;
	// nil trusts heartbeat ages as they are.
	Hearing func() eligibility.Hearing
	// Clock tells the time; nil is the real clock.
	Clock clock.PassiveClock
}

// Setup registers the scheduler, with the default plugins, with mgr.
func Setup(mgr ctrl.Manager, opts Options) error {
	return (&Reconciler{Client: mgr.GetClient(), Framework: Default(), Hearing: opts.Hearing, Clock: opts.Clock}).register(mgr)
}

func (r *Reconciler) register(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).
		Named("scheduler").
		For(&placementv1beta1.ClusterResourcePlacement{}, builder.WithPredicates(placementChanged)).
		Watches(&placementv1beta1.ClusterSchedulingPolicySnapshot{}, controllerdefaults.EnqueueByLabel(placementv1beta1.CRPTrackingLabel),
			builder.WithPredicates(policySnapshotChanged)).
		Watches(&placementv1beta1.ClusterResourceBinding{}, controllerdefaults.EnqueueByLabel(placementv1beta1.CRPTrackingLabel),
			builder.WithPredicates(bindingSpecOrDeletion())).
		Watches(&placementv1beta1.ResourcePlacement{}, &handler.EnqueueRequestForObject{}, builder.WithPredicates(placementChanged)).
		Watches(&placementv1beta1.SchedulingPolicySnapshot{}, scope.EnqueueParent(), builder.WithPredicates(policySnapshotChanged)).
		Watches(&placementv1beta1.ResourceBinding{}, scope.EnqueueParent(), builder.WithPredicates(bindingSpecOrDeletion())).
		Watches(&clusterv1beta1.MemberCluster{}, handler.EnqueueRequestsFromMapFunc(r.allPlacements),
			builder.WithPredicates(memberChangeThatMatters())).
		WithOptions(controllerdefaults.Options(4)).
		Complete(r)
}

var (
	// placementChanged passes a placement's spec changes and the start of its deletion.
	placementChanged = predicate.Or(predicate.GenerationChangedPredicate{},
		predicate.Funcs{UpdateFunc: func(e event.UpdateEvent) bool {
			return (e.ObjectOld.GetDeletionTimestamp() == nil) != (e.ObjectNew.GetDeletionTimestamp() == nil)
		}})
	// policySnapshotChanged passes a new policy, a new numberOfClusters and a new latest.
	policySnapshotChanged = predicate.Or(predicate.GenerationChangedPredicate{}, predicate.AnnotationChangedPredicate{}, predicate.LabelChangedPredicate{})
)

func (r *Reconciler) allPlacements(ctx context.Context, _ client.Object) []reconcile.Request {
	out, err := scope.AllPlacements(ctx, r.Client)
	if err != nil {
		log.FromContext(ctx).Error(err, "listing placements to reschedule")
		return nil
	}
	return out
}

// bindingSpecOrDeletion passes what can leave a picked cluster without its binding: a
// binding being deleted or gone, or its state or decision changed by someone else. Not the
// status updates the work generator makes all the time, not the rollout moving bindings to
// Bound, nor creations (the scheduler makes them itself).
func bindingSpecOrDeletion() predicate.Predicate {
	return predicate.Funcs{
		CreateFunc: func(event.CreateEvent) bool { return false },
		UpdateFunc: func(e event.UpdateEvent) bool {
			o, ok1 := e.ObjectOld.(placementv1beta1.BindingObj)
			n, ok2 := e.ObjectNew.(placementv1beta1.BindingObj)
			if !ok1 || !ok2 {
				return true
			}
			return (o.GetDeletionTimestamp() == nil) != (n.GetDeletionTimestamp() == nil) ||
				(n.GetBindingSpec().State == placementv1beta1.BindingStateUnscheduled) != (o.GetBindingSpec().State == placementv1beta1.BindingStateUnscheduled) ||
				!equality.Semantic.DeepEqual(o.GetBindingSpec().ClusterDecision, n.GetBindingSpec().ClusterDecision) ||
				o.GetBindingSpec().SchedulingPolicySnapshotName != n.GetBindingSpec().SchedulingPolicySnapshotName
		},
	}
}

// memberChangeThatMatters passes member changes that can change a decision: labels,
// taints, deletion, the agent's Joined and Healthy statuses and property values; not the
// heartbeats, which would otherwise reschedule every placement every minute per member.
func memberChangeThatMatters() predicate.Predicate {
	return predicate.Funcs{
		UpdateFunc: func(e event.UpdateEvent) bool {
			o, ok1 := e.ObjectOld.(*clusterv1beta1.MemberCluster)
			n, ok2 := e.ObjectNew.(*clusterv1beta1.MemberCluster)
			if !ok1 || !ok2 {
				return true
			}
			return !reflect.DeepEqual(o.Labels, n.Labels) || !equality.Semantic.DeepEqual(o.Spec, n.Spec) ||
				(o.GetDeletionTimestamp() == nil) != (n.GetDeletionTimestamp() == nil) ||
				agentStatuses(o) != agentStatuses(n) || propertyValues(o) != propertyValues(n) || eligible(o) != eligible(n)
		},
	}
}

func eligible(mc *clusterv1beta1.MemberCluster) bool {
	ok, _ := eligibility.Eligible(mc, time.Now())
	return ok
}

func agentStatuses(mc *clusterv1beta1.MemberCluster) string {
	s := ""
	for _, a := range mc.Status.AgentStatus {
		for _, c := range a.Conditions {
			s += string(a.Type) + c.Type + string(c.Status) + ";"
		}
	}
	return s
}

func propertyValues(mc *clusterv1beta1.MemberCluster) string {
	s := fmt.Sprint(len(mc.Status.Properties))
	for k, v := range mc.Status.Properties {
		s += string(k) + "=" + v.Value + ";"
	}
	for k, v := range mc.Status.ResourceUsage.Available {
		s += string(k) + "=" + v.String() + ";"
	}
	return s
}

// Reconcile schedules one placement.
func (r *Reconciler) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	key := req.NamespacedName
	crp, err := scope.GetPlacement(ctx, r.Client, key)
	if err != nil {
		return reconcile.Result{}, client.IgnoreNotFound(err)
	}
	if crp.GetDeletionTimestamp() != nil {
		return r.cleanUp(ctx, crp)
	}
	if !controllerutil.ContainsFinalizer(crp, placementv1beta1.SchedulerCleanupFinalizer) {
		patch := client.MergeFrom(crp.DeepCopyObject().(client.Object))
		controllerutil.AddFinalizer(crp, placementv1beta1.SchedulerCleanupFinalizer)
		if err := r.Client.Patch(ctx, crp, patch); err != nil {
			return reconcile.Result{}, fmt.Errorf("adding the scheduler's finalizer to %s: %w", crp.GetName(), err)
		}
	}
	policySnap, err := snapshot.LatestPolicySnapshot(ctx, r.Client, key)
	if err != nil || policySnap == nil {
		return reconcile.Result{}, err // the placement controller makes the snapshot first
	}
	// The lists are read-only here (writes work on copies), so the cache's objects are not
	// copied: with 1,000 members that is most of a reconcile's cost.
	members := &clusterv1beta1.MemberClusterList{}
	if err := r.Client.List(ctx, members, client.UnsafeDisableDeepCopy); err != nil {
		return reconcile.Result{}, err
	}
	bindings, err := scope.ListBindings(ctx, r.Client, key, client.UnsafeDisableDeepCopy)
	if err != nil {
		return reconcile.Result{}, err
	}

	byCluster := map[string]placementv1beta1.BindingObj{}
	placed := map[string]bool{}
	keepPlaced := true
	for _, b := range bindings {
		byCluster[b.GetBindingSpec().TargetCluster] = b
		if b.GetDeletionTimestamp() == nil && b.GetBindingSpec().State != placementv1beta1.BindingStateUnscheduled {
			placed[b.GetBindingSpec().TargetCluster] = true
			if b.GetBindingSpec().SchedulingPolicySnapshotName != policySnap.GetName() {
				keepPlaced = false
			}
		}
	}

	r.addExpected(key.String(), byCluster)
	for cluster, b := range byCluster {
		if b.GetDeletionTimestamp() == nil && b.GetBindingSpec().State != placementv1beta1.BindingStateUnscheduled && !placed[cluster] {
			placed[cluster] = true
			if b.GetBindingSpec().SchedulingPolicySnapshotName != policySnap.GetName() {
				keepPlaced = false
			}
		}
	}

	policy := policySnap.GetPolicySnapshotSpec().Policy.DeepCopy()
	if policy == nil {
		policy = &placementv1beta1.PlacementPolicy{PlacementType: placementv1beta1.PickAllPlacementType}
	}
	if policy.PlacementType == placementv1beta1.PickNPlacementType {
		// numberOfClusters is left out of the policy hash, so scaling keeps the snapshot;
		// the current number is in the snapshot's annotation.
		if n, err := strconv.Atoi(policySnap.GetAnnotations()[placementv1beta1.NumberOfClustersAnnotation]); err == nil {
			policy.NumberOfClusters = ptrInt32(int32(n))
		}
	}
	now := r.now()
	judgement := eligibility.Judge(members.Items, now, r.hearing())
	res := r.Framework.withJudgement(judgement).Schedule(policy, members.Items, placed, keepPlaced, now)
	held := heldStale(judgement, members.Items, placed, now)

	retry, err := r.writeBindings(ctx, crp, policySnap, res, byCluster)
	if err != nil {
		return reconcile.Result{}, err
	}
	if err := r.writeDecisions(ctx, policySnap, policy, res, judgement, held); err != nil {
		return reconcile.Result{}, err
	}
	if retry {
		return reconcile.Result{RequeueAfter: time.Second}, nil
	}
	return reconcile.Result{RequeueAfter: recheckEvery}, nil
}

func ptrInt32(i int32) *int32 { return &i }

// cleanUp deletes a deleted placement's bindings and lets the placement go once they are
// gone. Each binding is held by the work generator until its Works are removed, so when the
// placement disappears, the members have let go of what it placed. (The bindings are also
// owned by the placement, but garbage collection can take long to notice a kind it learned
// recently; this does not wait for it.)
func (r *Reconciler) cleanUp(ctx context.Context, crp placementv1beta1.PlacementObj) (reconcile.Result, error) {
	if !controllerutil.ContainsFinalizer(crp, placementv1beta1.SchedulerCleanupFinalizer) {
		return reconcile.Result{}, nil
	}
	bindings, err := scope.ListBindings(ctx, r.Client, client.ObjectKeyFromObject(crp))
	if err != nil {
		return reconcile.Result{}, err
	}
	var jobs []func(context.Context) error
	for _, b := range bindings {
		if b.GetDeletionTimestamp() != nil {
			continue
		}
		jobs = append(jobs, func(ctx context.Context) error {
			if err := r.Client.Delete(ctx, b); err != nil && !apierrors.IsNotFound(err) {
				return fmt.Errorf("deleting binding %s of deleted placement %s: %w", b.GetName(), crp.GetName(), err)
			}
			return nil
		})
	}
	if err := controllerdefaults.WriteAll(ctx, jobs); err != nil {
		return reconcile.Result{}, err
	}
	if len(bindings) > 0 {
		// Binding deletions are watched; the recheck is a backstop.
		return reconcile.Result{RequeueAfter: 5 * time.Second}, nil
	}
	patch := client.MergeFrom(crp.DeepCopyObject().(client.Object))
	controllerutil.RemoveFinalizer(crp, placementv1beta1.SchedulerCleanupFinalizer)
	if err := r.Client.Patch(ctx, crp, patch); err != nil {
		return reconcile.Result{}, client.IgnoreNotFound(err)
	}
	return reconcile.Result{}, nil
}

// writeBindings makes the bindings match the result. retry is true when a picked cluster's
// old binding is still being deleted, so its new one must wait.
func (r *Reconciler) writeBindings(ctx context.Context, crp placementv1beta1.PlacementObj,
	policySnap placementv1beta1.PolicySnapshotObj, res Result,
	byCluster map[string]placementv1beta1.BindingObj) (retry bool, err error) {
	var jobs []func(context.Context) error
	picked := map[string]bool{}
	for _, d := range res.Picked {
		picked[d.ClusterName] = true
		b := byCluster[d.ClusterName]
		switch {
		case b == nil:
			jobs = append(jobs, r.createBinding(crp, policySnap, d))
		case b.GetDeletionTimestamp() != nil:
			retry = true
		case b.GetBindingSpec().State == placementv1beta1.BindingStateUnscheduled ||
			b.GetBindingSpec().SchedulingPolicySnapshotName != policySnap.GetName() || !equality.Semantic.DeepEqual(b.GetBindingSpec().ClusterDecision, d):
			jobs = append(jobs, r.rescheduleBinding(b, policySnap, d))
		}
	}
	for cluster, b := range byCluster {
		if !picked[cluster] && b.GetDeletionTimestamp() == nil && b.GetBindingSpec().State != placementv1beta1.BindingStateUnscheduled {
			jobs = append(jobs, r.unscheduleBinding(b))
		}
	}
	return retry, controllerdefaults.WriteAll(ctx, jobs)
}

func (r *Reconciler) createBinding(crp placementv1beta1.PlacementObj, policySnap placementv1beta1.PolicySnapshotObj,
	d placementv1beta1.ClusterDecision) func(context.Context) error {
	return func(ctx context.Context) error {
		key := client.ObjectKeyFromObject(crp)
		b := scope.NewBinding(key)
		b.SetNamespace(key.Namespace)
		b.SetName(placementv1beta1.BindingName(crp.GetName(), d.ClusterName))
		b.SetLabels(map[string]string{placementv1beta1.CRPTrackingLabel: crp.GetName()})
		owner := metav1.NewControllerRef(crp, placementv1beta1.GroupVersion.WithKind(scope.PlacementKind(key)))
		// Garbage collection must not wait on a binding: its own finalizer already holds it.
		owner.BlockOwnerDeletion = nil
		b.SetOwnerReferences([]metav1.OwnerReference{*owner})
		*b.GetBindingSpec() = placementv1beta1.ResourceBindingSpec{
			State:                        placementv1beta1.BindingStateScheduled,
			SchedulingPolicySnapshotName: policySnap.GetName(),
			TargetCluster:                d.ClusterName,
			ClusterDecision:              d,
		}
		if err := r.Client.Create(ctx, b); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("creating binding %s for cluster %s: %w", b.GetName(), d.ClusterName, err)
		}
		r.remember(key.String(), b)
		return nil
	}
}

func (r *Reconciler) rescheduleBinding(b placementv1beta1.BindingObj, policySnap placementv1beta1.PolicySnapshotObj,
	d placementv1beta1.ClusterDecision) func(context.Context) error {
	return func(ctx context.Context) error {
		patch := client.MergeFrom(b.DeepCopyObject().(client.Object))
		nb := b.DeepCopyObject().(placementv1beta1.BindingObj)
		if nb.GetBindingSpec().State == placementv1beta1.BindingStateUnscheduled {
			nb.GetBindingSpec().State = placementv1beta1.BindingStateScheduled
		}
		nb.GetBindingSpec().SchedulingPolicySnapshotName = policySnap.GetName()
		nb.GetBindingSpec().ClusterDecision = d
		if err := r.Client.Patch(ctx, nb, patch); err != nil {
			return fmt.Errorf("updating binding %s: %w", b.GetName(), err)
		}
		return nil
	}
}

func (r *Reconciler) unscheduleBinding(b placementv1beta1.BindingObj) func(context.Context) error {
	return func(ctx context.Context) error {
		patch := client.MergeFrom(b.DeepCopyObject().(client.Object))
		nb := b.DeepCopyObject().(placementv1beta1.BindingObj)
		nb.GetBindingSpec().State = placementv1beta1.BindingStateUnscheduled
		if err := r.Client.Patch(ctx, nb, patch); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("unscheduling binding %s: %w", b.GetName(), err)
		}
		return nil
	}
}

// writeDecisions records the decisions and the Scheduled condition on the policy snapshot.
func (r *Reconciler) writeDecisions(ctx context.Context, policySnap placementv1beta1.PolicySnapshotObj,
	policy *placementv1beta1.PlacementPolicy, res Result, judgement eligibility.Judgement, held []string) error {
	updated := policySnap.DeepCopyObject().(placementv1beta1.PolicySnapshotObj)
	decisions := append([]placementv1beta1.ClusterDecision{}, res.Picked...)
	notPicked := res.NotPicked
	if policy.PlacementType != placementv1beta1.PickFixedPlacementType && len(notPicked) > maxNotPickedReported {
		notPicked = notPicked[:maxNotPickedReported]
	}
	decisions = append(decisions, notPicked...)
	if len(decisions) > 1000 {
		decisions = decisions[:1000]
	}
	updated.GetPolicySnapshotStatus().ClusterDecisions = decisions
	if g, err := strconv.ParseInt(policySnap.GetAnnotations()[placementv1beta1.CRPGenerationAnnotation], 10, 64); err == nil {
		updated.GetPolicySnapshotStatus().ObservedCRPGeneration = g
	}
	cond := metav1.Condition{Type: placementv1beta1.PolicySnapshotScheduledConditionType, ObservedGeneration: policySnap.GetGeneration()}
	switch {
	case res.Fulfilled():
		cond.Status, cond.Reason = metav1.ConditionTrue, placementv1beta1.SchedulingPolicyFulfilledReason
		cond.Message = fmt.Sprintf("picked %d cluster(s) as the %s policy asks", len(res.Picked), typeOf(policy))
	default:
		cond.Status, cond.Reason = metav1.ConditionFalse, placementv1beta1.SchedulingPolicyUnfulfilledReason
		cond.Message = fmt.Sprintf("the %s policy wants %d cluster(s) but only %d fit; the placement goes to those, and %s",
			typeOf(policy), res.Wanted, len(res.Picked), unfulfilledHint(res))
	}
	if len(held) > 0 {
		cond.Reason = StaleClustersKeptReason
		cond.Message = heldMessage(judgement, held) + "; " + cond.Message
	}
	meta.SetStatusCondition(&updated.GetPolicySnapshotStatus().Conditions, cond)
	if equality.Semantic.DeepEqual(updated.GetPolicySnapshotStatus(), policySnap.GetPolicySnapshotStatus()) {
		return nil
	}
	if err := r.Client.Status().Update(ctx, updated); err != nil {
		return fmt.Errorf("recording decisions on %s: %w", policySnap.GetName(), err)
	}
	return nil
}

func typeOf(p *placementv1beta1.PlacementPolicy) placementv1beta1.PlacementType {
	if p.PlacementType == "" {
		return placementv1beta1.PickAllPlacementType
	}
	return p.PlacementType
}

func unfulfilledHint(res Result) string {
	if len(res.NotPicked) == 0 {
		return "there are no more member clusters"
	}
	return "the first cluster left out says why: " + res.NotPicked[0].ClusterName + ": " + res.NotPicked[0].Reason
}

// now is the time by Clock, or by the real clock when Clock is nil.
func (r *Reconciler) now() time.Time {
	if r.Clock == nil {
		return time.Now()
	}
	return r.Clock.Now()
}
