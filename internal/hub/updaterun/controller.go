// Package updaterun is the hub's update-run orchestrator. A pure state machine (machine.go)
// decides each step; the reconciler here gathers the facts it needs (the strategy, the
// members with a provider and their MemberUpgradeProfiles, the run's MemberUpdates and
// Gates), applies the machine's plan, and writes the status.
package updaterun

import (
	"context"
	"errors"
	"fmt"
	"golang.org/x/sync/errgroup"
	"maps"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/clock"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	clusterv1beta1 "github.com/flotilla-dev/flotilla/api/cluster/v1beta1"
	updatesv1alpha1 "github.com/flotilla-dev/flotilla/api/updates/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/controllerdefaults"
)

// strategyIndex indexes runs by the UpdateStrategy they name.
const strategyIndex = "spec.updateStrategyName"

// Reconciler runs UpdateRuns.
type Reconciler struct {
	Client client.Client
	// Reader reads the run itself, uncached, unless the cached copy is the one last written
	// here: the run's status is written only here, and a step taken on a stale copy would
	// only end in a conflict. Default: the manager's API reader.
	Reader client.Reader
	// Clock tells the time; nil is the real clock. Tests may set a fake one.
	Clock clock.PassiveClock

	// written remembers the resourceVersion of each run's last status write, so that a
	// cached copy known to be current saves reading the run (a large object) again.
	mu      sync.Mutex
	written map[string]string
}

// fresh says whether the cached run is the one this reconciler last wrote.
func (r *Reconciler) fresh(run *updatesv1alpha1.UpdateRun) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.written[run.Name] != "" && r.written[run.Name] == run.ResourceVersion
}

func (r *Reconciler) wrote(run *updatesv1alpha1.UpdateRun) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.written == nil {
		r.written = map[string]string{}
	}
	r.written[run.Name] = run.ResourceVersion
}

// Options configure the update-run orchestrator.
type Options struct {
	// Clock tells the time; nil is the real clock.
	Clock clock.PassiveClock
}

// Setup registers the update-run orchestrator with mgr.
func Setup(mgr ctrl.Manager, opts Options) error {
	return (&Reconciler{Client: mgr.GetClient(), Reader: mgr.GetAPIReader(), Clock: opts.Clock}).register(mgr)
}

func (r *Reconciler) register(mgr ctrl.Manager) error {
	if err := mgr.GetFieldIndexer().IndexField(context.Background(), &updatesv1alpha1.UpdateRun{}, strategyIndex, func(o client.Object) []string {
		if name := o.(*updatesv1alpha1.UpdateRun).Spec.UpdateStrategyName; name != "" {
			return []string{name}
		}
		return nil
	}); err != nil {
		return err
	}
	byRunLabel := controllerdefaults.EnqueueByLabel(updatesv1alpha1.RunLabel)
	return ctrl.NewControllerManagedBy(mgr).
		Named("updaterun").
		For(&updatesv1alpha1.UpdateRun{}, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Watches(&updatesv1alpha1.MemberUpdate{}, byRunLabel).
		Watches(&updatesv1alpha1.Gate{}, byRunLabel).
		Watches(&updatesv1alpha1.UpdateStrategy{}, handler.EnqueueRequestsFromMapFunc(r.runsOfStrategy)).
		WithOptions(controllerOptions()).
		Complete(r)
}

func (r *Reconciler) runsOfStrategy(ctx context.Context, o client.Object) []reconcile.Request {
	var runs updatesv1alpha1.UpdateRunList
	if err := r.Client.List(ctx, &runs, client.MatchingFields{strategyIndex: o.GetName()}); err != nil {
		return nil
	}
	var out []reconcile.Request
	for _, run := range runs.Items {
		// Only runs that have not copied their strategy yet care about it.
		if run.Status.StrategySnapshot == nil {
			out = append(out, reconcile.Request{NamespacedName: types.NamespacedName{Name: run.Name}})
		}
	}
	return out
}

// Reconcile takes one step of a run.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	run := &updatesv1alpha1.UpdateRun{}
	if err := r.Client.Get(ctx, req.NamespacedName, run); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if run.Status.State == updatesv1alpha1.StateCompleted && run.Status.ObservedGeneration == run.Generation {
		return ctrl.Result{}, nil
	}
	if !r.fresh(run) {
		if err := r.Reader.Get(ctx, req.NamespacedName, run); err != nil {
			return ctrl.Result{}, client.IgnoreNotFound(err)
		}
	}
	if run.DeletionTimestamp != nil || (run.Status.State == updatesv1alpha1.StateCompleted && run.Status.ObservedGeneration == run.Generation) {
		return ctrl.Result{}, nil
	}
	facts, err := r.facts(ctx, run)
	if err != nil {
		return ctrl.Result{}, err
	}
	plan := Advance(run, facts)
	// The MemberUpdates are made while the status is written: both are independent
	// round trips, and a step of a large fleet waits for the slower of them only. A
	// MemberUpdate that could not be made is made at the next step, which sees its member
	// Running without one.
	ref := owner(run)
	opsDone := make(chan error, 1)
	go func() { opsDone <- r.ensureOperations(ctx, ref, plan.Operations, facts) }()
	result, err := r.apply(ctx, run, plan)
	if opsErr := <-opsDone; opsErr != nil && err == nil {
		return ctrl.Result{}, opsErr
	}
	return result, err
}

// apply makes the plan's gates and writes the status.
func (r *Reconciler) apply(ctx context.Context, run *updatesv1alpha1.UpdateRun, plan Plan) (ctrl.Result, error) {
	for _, g := range plan.Gates {
		if err := r.ensureGate(ctx, run, g); err != nil {
			return ctrl.Result{}, err
		}
	}
	for _, name := range plan.SkipGates {
		if err := r.skipGate(ctx, name); err != nil {
			return ctrl.Result{}, err
		}
	}
	if !equality.Semantic.DeepEqual(run.Status, plan.Status) {
		run.Status = plan.Status
		if err := r.Client.Status().Update(ctx, run); err != nil {
			if apierrors.IsConflict(err) {
				return ctrl.Result{RequeueAfter: time.Millisecond}, nil // read the run again at once
			}
			return ctrl.Result{}, err
		}
		r.wrote(run)
	}
	return ctrl.Result{RequeueAfter: plan.RequeueAfter}, nil
}

// facts reads what the machine needs. Members and profiles come from the cache, so this
// stays cheap for a thousand members.
func (r *Reconciler) facts(ctx context.Context, run *updatesv1alpha1.UpdateRun) (Facts, error) {
	f := Facts{
		Now:        r.now(),
		Members:    map[string]*MemberFacts{},
		Operations: map[string]*updatesv1alpha1.MemberUpdateStatus{},
		Gates:      map[string]updatesv1alpha1.GateState{},
	}
	if name := run.Spec.UpdateStrategyName; name != "" && run.Spec.Strategy == nil {
		s := &updatesv1alpha1.UpdateStrategy{}
		err := r.Client.Get(ctx, client.ObjectKey{Name: name}, s)
		switch {
		case err == nil:
			f.Strategy = &s.Spec
		case apierrors.IsNotFound(err):
			f.StrategyError = fmt.Sprintf("UpdateStrategy %q not found: create it, or fix spec.updateStrategyName", name)
		default:
			return f, err
		}
	}
	if (run.Status.State == "" || run.Status.State == updatesv1alpha1.StateNotStarted) && run.Spec.State != updatesv1alpha1.RequestRunning {
		return f, nil
	}
	var members clusterv1beta1.MemberClusterList
	// The cached objects are only read, never changed: no need to copy a thousand of them.
	if err := r.Client.List(ctx, &members, client.UnsafeDisableDeepCopy); err != nil {
		return f, err
	}
	for _, mc := range members.Items {
		provider := mc.Annotations[updatesv1alpha1.ProviderAnnotation]
		if provider == "" || mc.DeletionTimestamp != nil {
			continue
		}
		f.Members[mc.Name] = &MemberFacts{
			Name: mc.Name, Group: mc.Labels[updatesv1alpha1.GroupLabel], Provider: provider,
			Settings: updatesv1alpha1.ProviderSettings(mc.Annotations),
		}
	}
	var profiles updatesv1alpha1.MemberUpgradeProfileList
	if err := r.Client.List(ctx, &profiles, client.UnsafeDisableDeepCopy); err != nil {
		return f, err
	}
	for i := range profiles.Items {
		p := &profiles.Items[i]
		if mf := f.Members[p.Name]; mf != nil && p.Namespace == clusterv1beta1.NamespaceForMember(p.Name) {
			mf.Profile = &p.Status
		}
	}
	var ops updatesv1alpha1.MemberUpdateList
	if err := r.Client.List(ctx, &ops, client.MatchingLabels{updatesv1alpha1.RunLabel: run.Name}, client.UnsafeDisableDeepCopy); err != nil {
		return f, err
	}
	for i := range ops.Items {
		op := &ops.Items[i]
		if metav1.IsControlledBy(op, run) {
			f.Operations[op.Labels[updatesv1alpha1.MemberLabel]] = &op.Status
		}
	}
	var gates updatesv1alpha1.GateList
	if err := r.Client.List(ctx, &gates, client.MatchingLabels{updatesv1alpha1.RunLabel: run.Name}); err != nil {
		return f, err
	}
	for _, g := range gates.Items {
		if metav1.IsControlledBy(&g, run) {
			f.Gates[g.Name] = g.Spec.State
		}
	}
	return f, nil
}

func owner(run *updatesv1alpha1.UpdateRun) metav1.OwnerReference {
	return metav1.OwnerReference{
		APIVersion: updatesv1alpha1.GroupVersion.String(), Kind: "UpdateRun", Name: run.Name, UID: run.UID,
		Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(false),
	}
}

// ensureOperations creates the MemberUpdates the plan asks for and the cache does not hold
// yet, several at once: a stage of a large fleet starts many members in one step.
func (r *Reconciler) ensureOperations(ctx context.Context, run metav1.OwnerReference, ops []Operation, f Facts) error {
	var todo []*updatesv1alpha1.MemberUpdate
	for _, op := range ops {
		if f.Operations[op.Member] == nil {
			var settings map[string]string
			if mf := f.Members[op.Member]; mf != nil {
				settings = mf.Settings
			}
			todo = append(todo, memberUpdate(run, op, settings))
		}
	}
	errs := make([]error, len(todo))
	var g errgroup.Group
	g.SetLimit(createParallelism)
	for i, mu := range todo {
		g.Go(func() error {
			errs[i] = r.createOperation(ctx, mu)
			return nil
		})
	}
	_ = g.Wait() // every creation is tried; errs holds each one's outcome
	return errors.Join(errs...)
}

// createParallelism bounds the MemberUpdates created at once.
const createParallelism = 16

// memberUpdate is the MemberUpdate of one operation. It carries the member's provider
// settings, so that a provider running inside the member, which cannot read MemberClusters,
// sees them.
func memberUpdate(run metav1.OwnerReference, op Operation, settings map[string]string) *updatesv1alpha1.MemberUpdate {
	return &updatesv1alpha1.MemberUpdate{
		ObjectMeta: metav1.ObjectMeta{
			Name: run.Name, Namespace: clusterv1beta1.NamespaceForMember(op.Member),
			Labels:          map[string]string{updatesv1alpha1.RunLabel: run.Name, updatesv1alpha1.MemberLabel: op.Member},
			Annotations:     maps.Clone(settings),
			OwnerReferences: []metav1.OwnerReference{run},
		},
		Spec: op.Spec,
	}
}

func (r *Reconciler) createOperation(ctx context.Context, mu *updatesv1alpha1.MemberUpdate) error {
	err := r.Client.Create(ctx, mu)
	if apierrors.IsAlreadyExists(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("creating the MemberUpdate of %s: %w", mu.Labels[updatesv1alpha1.MemberLabel], err)
	}
	return nil
}

func (r *Reconciler) ensureGate(ctx context.Context, run *updatesv1alpha1.UpdateRun, g GateToEnsure) error {
	gate := &updatesv1alpha1.Gate{
		ObjectMeta: metav1.ObjectMeta{
			Name: g.Name, Labels: map[string]string{updatesv1alpha1.RunLabel: run.Name},
			OwnerReferences: []metav1.OwnerReference{owner(run)},
		},
		Spec: updatesv1alpha1.GateSpec{
			Type: updatesv1alpha1.GateTypeApproval, DisplayName: g.DisplayName, Target: g.Target, State: updatesv1alpha1.GatePending,
		},
	}
	err := r.Client.Create(ctx, gate)
	if apierrors.IsAlreadyExists(err) {
		return nil
	}
	return err
}

func (r *Reconciler) skipGate(ctx context.Context, name string) error {
	gate := &updatesv1alpha1.Gate{}
	if err := r.Client.Get(ctx, client.ObjectKey{Name: name}, gate); err != nil {
		return client.IgnoreNotFound(err)
	}
	if gate.Spec.State != updatesv1alpha1.GatePending {
		return nil
	}
	before := gate.DeepCopy()
	gate.Spec.State = updatesv1alpha1.GateSkipped
	return r.Client.Patch(ctx, gate, client.MergeFrom(before))
}

// now is the time by Clock, or by the real clock when Clock is nil.
func (r *Reconciler) now() time.Time {
	if r.Clock == nil {
		return time.Now()
	}
	return r.Clock.Now()
}
