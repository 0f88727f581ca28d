package rollout

import (
	"context"
	"fmt"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	placementv1beta1 "github.com/flotilla-dev/flotilla/api/placement/v1beta1"
	"github.com/flotilla-dev/flotilla/internal/controllerdefaults"
	"github.com/flotilla-dev/flotilla/internal/hub/scope"
	"github.com/flotilla-dev/flotilla/internal/hub/snapshot"
)

// Reconciler rolls placements out.
type Reconciler struct {
	// Client is the manager's client (hub.Options sets its rate limits).
	Client client.Client
	// APIReader reads past the cache, to retry a conflicting status write.
	APIReader client.Reader
	// Clock tells the time; nil is the real clock. Tests may set a fake one.
	Clock clock.PassiveClock

	// written remembers, by binding, the generation and condition message this controller
	// last wrote, so that a reconcile that runs before the cache shows the write does not
	// write it again.
	mu      sync.Mutex
	written map[bindingKey]writtenConditions
	// pointed remembers the bindings pointed at a snapshot recently, so that they are not
	// patched again while the cache still shows them as they were. Both are keyed by UID: a
	// binding deleted (say, by an eviction) and made again has the same name.
	pointed map[bindingKey]pointedAt
}

// bindingKey names one binding object: its name and UID, since a binding deleted and made
// again keeps its name, and a client that sets no UIDs still tells bindings apart by name.
type bindingKey struct {
	name string
	uid  types.UID
}

func keyOf(b placementv1beta1.BindingObj) bindingKey {
	return bindingKey{name: b.GetNamespace() + "/" + b.GetName(), uid: b.GetUID()}
}

type pointedAt struct {
	snapshot string
	at       time.Time
}

const expectationTTL = 30 * time.Second

func (r *Reconciler) rememberPointed(b placementv1beta1.BindingObj, snap string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.pointed == nil {
		r.pointed = map[bindingKey]pointedAt{}
	}
	r.pointed[keyOf(b)] = pointedAt{snapshot: snap, at: time.Now()}
}

// recentlyPointed says whether the binding was pointed at snap moments ago; it forgets the
// entry once the cache shows the binding at snap, or after expectationTTL.
func (r *Reconciler) recentlyPointed(b placementv1beta1.BindingObj, snap string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	p, ok := r.pointed[keyOf(b)]
	if !ok {
		return false
	}
	if time.Since(p.at) > expectationTTL || (b.GetBindingSpec().State == placementv1beta1.BindingStateBound && b.GetBindingSpec().ResourceSnapshotName == p.snapshot) || p.snapshot != snap {
		delete(r.pointed, keyOf(b))
		return false
	}
	return true
}

type writtenConditions struct {
	generation int64
	message    string
}

func (r *Reconciler) wrote(b placementv1beta1.BindingObj, message string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.written == nil {
		r.written = map[bindingKey]writtenConditions{}
	}
	r.written[keyOf(b)] = writtenConditions{generation: b.GetGeneration(), message: message}
}

// alreadyWritten says whether the conditions for this generation and message were written,
// and forgets entries the cache has caught up with.
func (r *Reconciler) alreadyWritten(b placementv1beta1.BindingObj, message string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	w, ok := r.written[keyOf(b)]
	if !ok {
		return false
	}
	if b.GetGeneration() > w.generation {
		delete(r.written, keyOf(b))
		return false
	}
	return w.message == message
}

// Options configure the rollout controller.
type Options struct {
	// Clock tells the time; nil is the real clock.
	Clock clock.PassiveClock
}

// Setup registers the rollout controller with mgr.
func Setup(mgr ctrl.Manager, opts Options) error {
	return (&Reconciler{Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), Clock: opts.Clock}).register(mgr)
}

func (r *Reconciler) register(mgr ctrl.Manager) error {
	return watchOverrides(ctrl.NewControllerManagedBy(mgr).
		Named("rollout").
		For(&placementv1beta1.ClusterResourcePlacement{}, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Watches(&placementv1beta1.ClusterResourceBinding{}, controllerdefaults.EnqueueByLabel(placementv1beta1.CRPTrackingLabel)).
		Watches(&placementv1beta1.ClusterResourceSnapshot{}, controllerdefaults.EnqueueByLabel(placementv1beta1.CRPTrackingLabel),
			builder.WithPredicates(predicate.Funcs{UpdateFunc: func(event.UpdateEvent) bool { return false }})).
		Watches(&placementv1beta1.ResourcePlacement{}, &handler.EnqueueRequestForObject{}, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Watches(&placementv1beta1.ResourceBinding{}, scope.EnqueueParent()).
		Watches(&placementv1beta1.ResourceSnapshot{}, scope.EnqueueParent(),
			builder.WithPredicates(predicate.Funcs{UpdateFunc: func(event.UpdateEvent) bool { return false }})), r.Client).
		WithOptions(controllerdefaults.Options(4)).
		Complete(r)
}

// Reconcile takes one rollout step for a placement.
func (r *Reconciler) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	key := req.NamespacedName
	p, err := scope.GetPlacement(ctx, r.Client, key)
	if err != nil {
		return reconcile.Result{}, client.IgnoreNotFound(err)
	}
	spec := p.GetPlacementSpec()
	if p.GetDeletionTimestamp() != nil || spec.Strategy.Type == placementv1beta1.ExternalRolloutStrategyType {
		// External: another controller moves the bindings.
		return reconcile.Result{}, nil
	}
	latest, err := snapshot.LatestResourceSnapshot(ctx, r.Client, key)
	if err != nil || latest == nil {
		return reconcile.Result{}, err
	}
	if _, complete, err := snapshot.ResourceSnapshotsOfIndex(ctx, r.Client, key,
		snapshot.Index(latest, placementv1beta1.ResourceIndexLabel)); err != nil || !complete {
		// The cache has not seen every part of the snapshot yet.
		return reconcile.Result{RequeueAfter: 100 * time.Millisecond}, err
	}
	// Read-only: every write below works on a copy.
	bindings, err := scope.ListBindings(ctx, r.Client, key, client.UnsafeDisableDeepCopy)
	if err != nil {
		return reconcile.Result{}, err
	}
	overrides, err := OverridesFor(ctx, r.Client, key, latest, bindings)
	if err != nil {
		return reconcile.Result{}, err
	}
	t := Target{Snapshot: latest.GetName(), Strategy: spec.Strategy.ApplyStrategy.Defaulted(), Overrides: overrides}
	plan := MakePlan(bindings, t, spec.Strategy.RollingUpdate, r.now())

	var jobs []func(context.Context) error
	changed := map[string]bool{}
	for _, b := range append(append([]placementv1beta1.BindingObj{}, plan.Bind...), plan.Update...) {
		changed[b.GetName()] = true
		if r.recentlyPointed(b, t.Snapshot) {
			continue
		}
		jobs = append(jobs, r.pointAtLatest(b, t))
	}
	for _, b := range plan.Delete {
		jobs = append(jobs, func(ctx context.Context) error {
			uid := b.GetUID()
			if err := r.Client.Delete(ctx, b.DeepCopyObject().(client.Object), client.Preconditions{UID: &uid}); err != nil && !apierrors.IsNotFound(err) {
				return fmt.Errorf("deleting unscheduled binding %s: %w", b.GetName(), err)
			}
			return nil
		})
	}
	// Bindings left as they are still get their RolloutStarted condition brought up to date.
	for _, b := range bindings {
		if changed[b.GetName()] || b.GetDeletionTimestamp() != nil || b.GetBindingSpec().State == placementv1beta1.BindingStateUnscheduled {
			continue
		}
		why := plan.Waiting[b.GetName()]
		if needsConditions(b, t, why) && !r.alreadyWritten(b, conditionsMessage(b, t, why)) {
			jobs = append(jobs, func(ctx context.Context) error { return r.setConditions(ctx, b, t, why) })
		}
	}
	if err := controllerdefaults.WriteAll(ctx, jobs); err != nil {
		return reconcile.Result{}, err
	}
	return reconcile.Result{RequeueAfter: plan.RecheckAfter}, nil
}

// pointAtLatest binds a binding to the latest snapshot and records RolloutStarted.
func (r *Reconciler) pointAtLatest(b placementv1beta1.BindingObj, t Target) func(context.Context) error {
	return func(ctx context.Context) error {
		nb := b.DeepCopyObject().(placementv1beta1.BindingObj)
		patch := client.MergeFrom(b.DeepCopyObject().(client.Object))
		nb.GetBindingSpec().State = placementv1beta1.BindingStateBound
		nb.GetBindingSpec().ResourceSnapshotName = t.Snapshot
		nb.GetBindingSpec().ApplyStrategy = t.Strategy.DeepCopy()
		ov := t.Overrides[b.GetBindingSpec().TargetCluster]
		nb.GetBindingSpec().ClusterResourceOverrideSnapshots = ov.Cluster
		nb.GetBindingSpec().ResourceOverrideSnapshots = ov.Namespaced
		if err := r.Client.Patch(ctx, nb, patch); err != nil {
			return fmt.Errorf("binding %s to snapshot %s: %w", b.GetName(), t.Snapshot, client.IgnoreNotFound(err))
		}
		r.rememberPointed(b, t.Snapshot)
		return r.setConditions(ctx, nb, t, "")
	}
}

// desiredConditions are the conditions the rollout owns on a binding: RolloutStarted, and
// Overridden when no override applies (the work generator, which applies overrides, sets
// Overridden otherwise).
func desiredConditions(b placementv1beta1.BindingObj, t Target, waiting string) []metav1.Condition {
	latest := t.Snapshot
	if b.GetBindingSpec().State == placementv1beta1.BindingStateBound && upToDate(b, t) {
		started := metav1.Condition{Type: string(placementv1beta1.ResourceRolloutStartedConditionType), Status: metav1.ConditionTrue,
			Reason: placementv1beta1.RolloutStartedReason, ObservedGeneration: b.GetGeneration(),
			Message: "the binding points at the latest resource snapshot " + latest}
		if !t.Overrides[b.GetBindingSpec().TargetCluster].None() {
			return []metav1.Condition{started}
		}
		return []metav1.Condition{started,
			{Type: string(placementv1beta1.ResourceOverriddenConditionType), Status: metav1.ConditionTrue,
				Reason: placementv1beta1.OverrideNotSpecifiedReason, ObservedGeneration: b.GetGeneration(),
				Message: "no override is specified"},
		}
	}
	if waiting == "" {
		waiting = "waiting for the rollout"
	}
	return []metav1.Condition{{Type: string(placementv1beta1.ResourceRolloutStartedConditionType), Status: metav1.ConditionFalse,
		Reason: placementv1beta1.RolloutNotStartedYetReason, ObservedGeneration: b.GetGeneration(),
		Message: "the rollout of resource snapshot " + latest + " has not reached this cluster: " + waiting}}
}

func conditionsMessage(b placementv1beta1.BindingObj, t Target, waiting string) string {
	return desiredConditions(b, t, waiting)[0].Message
}

func needsConditions(b placementv1beta1.BindingObj, t Target, waiting string) bool {
	for _, want := range desiredConditions(b, t, waiting) {
		have := meta.FindStatusCondition(b.GetBindingStatus().Conditions, want.Type)
		if have == nil || have.Status != want.Status || have.Reason != want.Reason || have.ObservedGeneration != want.ObservedGeneration || have.Message != want.Message {
			return true
		}
	}
	return false
}

// setConditions writes the rollout's conditions, retrying on conflicts with the work
// generator, which writes the others.
func (r *Reconciler) setConditions(ctx context.Context, b placementv1beta1.BindingObj, t Target, waiting string) error {
	cur := b.DeepCopyObject().(placementv1beta1.BindingObj)
	first := true
	return retry.RetryOnConflict(retry.DefaultBackoff, func() error {
		if !first {
			if err := r.APIReader.Get(ctx, client.ObjectKeyFromObject(b), cur); err != nil {
				return client.IgnoreNotFound(err)
			}
		}
		first = false
		for _, c := range desiredConditions(cur, t, waiting) {
			meta.SetStatusCondition(&cur.GetBindingStatus().Conditions, c)
		}
		if cur.GetBindingSpec().State != placementv1beta1.BindingStateBound || !upToDate(cur, t) {
			meta.RemoveStatusCondition(&cur.GetBindingStatus().Conditions, string(placementv1beta1.ResourceOverriddenConditionType))
		}
		err := r.Client.Status().Update(ctx, cur)
		if apierrors.IsNotFound(err) {
			return nil
		}
		if err == nil {
			r.wrote(cur, conditionsMessage(cur, t, waiting))
		}
		return err
	})
}

// now is the time by Clock, or by the real clock when Clock is nil.
func (r *Reconciler) now() time.Time {
	if r.Clock == nil {
		return time.Now()
	}
	return r.Clock.Now()
}
