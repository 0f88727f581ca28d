// Package workgen is the hub's work generator. For each Bound or Unscheduled
// ClusterResourceBinding it writes the Works of the binding's resource snapshot into the
// member's namespace, fleet-member-<cluster>: one Work per snapshot (the master and each
// sub-indexed one). It copies what the member's work applier reports back into the
// binding: WorkSynchronized, Applied, Available and DiffReported, and the failed, drifted
// and diffed objects. A finalizer on the binding removes its Works before it goes.
package workgen

import (
	"context"
	"fmt"
	"strconv"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	clusterv1beta1 "github.com/flotilla-dev/flotilla/api/cluster/v1beta1"
	placementv1beta1 "github.com/flotilla-dev/flotilla/api/placement/v1beta1"
	placementac "github.com/flotilla-dev/flotilla/api/placement/v1beta1/applyconfiguration/placement/v1beta1"
	"github.com/flotilla-dev/flotilla/internal/controllerdefaults"
	"github.com/flotilla-dev/flotilla/internal/hub/scope"
	"github.com/flotilla-dev/flotilla/internal/hub/snapshot"
)

// Reconciler reconciles ClusterResourceBindings into Works.
type Reconciler struct {
	Client client.Client
}

// Options configure the work generator; it has none yet.
type Options struct{}

// Setup registers the work generator with mgr.
func Setup(mgr ctrl.Manager, _ Options) error {
	return (&Reconciler{Client: mgr.GetClient()}).register(mgr)
}

var (
	// specChanged passes a binding's spec changes, its deletion and finalizer changes (the
	// generation stays), not the status writes this controller makes.
	specChanged = predicate.Or[client.Object](predicate.GenerationChangedPredicate{}, predicate.LabelChangedPredicate{})
	// created passes snapshots as they appear: they never change.
	created = predicate.Funcs{UpdateFunc: func(event.UpdateEvent) bool { return false }}
)

func (r *Reconciler) register(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).
		Named("workgenerator").
		For(&placementv1beta1.ClusterResourceBinding{}, builder.WithPredicates(specChanged)).
		Watches(&placementv1beta1.ResourceBinding{}, &handler.EnqueueRequestForObject{}, builder.WithPredicates(specChanged)).
		Watches(&placementv1beta1.Work{}, scope.BindingOfWork()).
		Watches(&placementv1beta1.ClusterResourceSnapshot{}, handler.EnqueueRequestsFromMapFunc(r.bindingsOfSnapshot),
			builder.WithPredicates(created)).
		Watches(&placementv1beta1.ResourceSnapshot{}, handler.EnqueueRequestsFromMapFunc(r.bindingsOfSnapshot),
			builder.WithPredicates(created)).
		// A change of the placement's deleteStrategy reaches its Works.
		Watches(&placementv1beta1.ClusterResourcePlacement{}, handler.EnqueueRequestsFromMapFunc(r.bindingsOfPlacement),
			builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Watches(&placementv1beta1.ResourcePlacement{}, handler.EnqueueRequestsFromMapFunc(r.bindingsOfPlacement),
			builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		WithOptions(controllerdefaults.Options(4)).
		Complete(r)
}

// bindingsOfPlacement wakes a placement's bindings.
func (r *Reconciler) bindingsOfPlacement(ctx context.Context, o client.Object) []reconcile.Request {
	return r.bindingsOf(ctx, client.ObjectKeyFromObject(o))
}

// bindingsOfSnapshot wakes the bindings of a placement when one of its snapshots appears:
// a sub-indexed snapshot may land after the binding already points at its master.
func (r *Reconciler) bindingsOfSnapshot(ctx context.Context, o client.Object) []reconcile.Request {
	if key := scope.KeyOf(o); key.Name != "" {
		return r.bindingsOf(ctx, key)
	}
	return nil
}

func (r *Reconciler) bindingsOf(ctx context.Context, key scope.Key) []reconcile.Request {
	bindings, err := scope.ListBindings(ctx, r.Client, key, client.UnsafeDisableDeepCopy)
	if err != nil {
		return nil
	}
	reqs := make([]reconcile.Request, 0, len(bindings))
	for _, b := range bindings {
		reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(b)})
	}
	return reqs
}

// Reconcile brings one binding's Works and status up to date.
func (r *Reconciler) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	b, err := scope.GetBinding(ctx, r.Client, req.NamespacedName)
	if err != nil {
		return reconcile.Result{}, client.IgnoreNotFound(err)
	}
	ns := clusterv1beta1.NamespaceForMember(b.GetBindingSpec().TargetCluster)
	if b.GetDeletionTimestamp() != nil {
		return reconcile.Result{}, r.finish(ctx, b, ns)
	}
	if controllerutil.AddFinalizer(b, placementv1beta1.WorkFinalizer) {
		if err := r.Client.Update(ctx, b); err != nil {
			return reconcile.Result{}, err
		}
	}
	if b.GetBindingSpec().State == placementv1beta1.BindingStateScheduled {
		// Not released by the rollout yet: nothing is placed.
		return reconcile.Result{}, nil
	}

	before := b.GetBindingStatus().DeepCopy()
	works, synced, err := r.syncWorks(ctx, b, ns)
	if err != nil {
		return reconcile.Result{}, err
	}
	if synced {
		aggregate(b, works)
	} else {
		for _, t := range []placementv1beta1.ResourceConditionType{placementv1beta1.ResourcesAppliedConditionType,
			placementv1beta1.ResourcesAvailableConditionType, placementv1beta1.ResourcesDiffReportedConditionType} {
			meta.RemoveStatusCondition(&b.GetBindingStatus().Conditions, string(t))
		}
	}
	if !equality.Semantic.DeepEqual(before, b.GetBindingStatus()) {
		if err := r.Client.Status().Update(ctx, b); err != nil {
			return reconcile.Result{}, err
		}
	}
	return reconcile.Result{}, nil
}

// finish deletes the binding's Works and then lets the binding go.
func (r *Reconciler) finish(ctx context.Context, b placementv1beta1.BindingObj, ns string) error {
	if !controllerutil.ContainsFinalizer(b, placementv1beta1.WorkFinalizer) {
		return nil
	}
	if err := r.keepAbandonForDeletedPlacement(ctx, b, ns); err != nil {
		return err
	}
	err := r.Client.DeleteAllOf(ctx, &placementv1beta1.Work{}, client.InNamespace(ns), scope.WorksOf(b))
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("deleting the Works of binding %s: %w", b.GetName(), err)
	}
	controllerutil.RemoveFinalizer(b, placementv1beta1.WorkFinalizer)
	return r.Client.Update(ctx, b)
}

// syncWorks writes the binding's Works and deletes those it no longer needs. It returns the
// Works as written, and false when they could not all be written yet (WorkSynchronized says
// why).
func (r *Reconciler) syncWorks(ctx context.Context, b placementv1beta1.BindingObj, ns string) ([]*placementv1beta1.Work, bool, error) {
	notSynced := func(reason, format string, args ...any) ([]*placementv1beta1.Work, bool, error) {
		setCondition(b, placementv1beta1.ResourceWorkSynchronizedConditionType, metav1.ConditionFalse, reason, fmt.Sprintf(format, args...))
		return nil, false, nil
	}
	if b.GetBindingSpec().ResourceSnapshotName == "" {
		return notSynced(placementv1beta1.WorkNotSynchronizedYetReason, "the binding names no resource snapshot yet")
	}
	snapshots, err := r.snapshots(ctx, b.GetNamespace(), b.GetBindingSpec().ResourceSnapshotName)
	if err != nil {
		return notSynced(placementv1beta1.WorkNotSynchronizedYetReason, "%v", err)
	}
	crp := b.GetLabels()[placementv1beta1.CRPTrackingLabel]
	if crp == "" {
		crp = snapshots[0].GetLabels()[placementv1beta1.CRPTrackingLabel]
	}
	index := snapshots[0].GetLabels()[placementv1beta1.ResourceIndexLabel]
	contents, err := r.contents(ctx, b, scope.WorkPrefix(scope.Key{Namespace: b.GetNamespace(), Name: crp}), snapshots)
	if err != nil {
		setCondition(b, placementv1beta1.ResourceOverriddenConditionType, metav1.ConditionFalse, placementv1beta1.OverriddenFailedReason, err.Error())
		return notSynced(placementv1beta1.WorkNotSynchronizedYetReason,
			"the overrides could not be applied (see the Overridden condition); the member keeps what it had")
	}

	abandon, reportBack := r.placementStrategy(ctx, scope.Key{Namespace: b.GetNamespace(), Name: crp}) // read once for all the binding's Works
	var works []*placementv1beta1.Work
	keep := map[string]bool{}
	for _, c := range contents {
		name := c.name
		keep[name] = true
		w, err := r.writeWork(ctx, b, ns, crp, index, c, abandon, reportBack)
		if err != nil {
			if apierrors.IsNotFound(err) {
				return notSynced(placementv1beta1.SyncWorkFailedReason, "the member's namespace %s does not exist: is member %s still in the fleet?", ns, b.GetBindingSpec().TargetCluster)
			}
			setCondition(b, placementv1beta1.ResourceWorkSynchronizedConditionType, metav1.ConditionFalse,
				placementv1beta1.SyncWorkFailedReason, fmt.Sprintf("writing Work %s/%s: %v", ns, name, err))
			_ = r.Client.Status().Update(ctx, b)
			return nil, false, err
		}
		works = append(works, w)
	}
	var existing placementv1beta1.WorkList
	if err := r.Client.List(ctx, &existing, client.InNamespace(ns), scope.WorksOf(b)); err != nil {
		return nil, false, err
	}
	for i := range existing.Items {
		if w := &existing.Items[i]; !keep[w.Name] {
			if err := r.Client.Delete(ctx, w); client.IgnoreNotFound(err) != nil {
				return nil, false, err
			}
		}
	}
	setCondition(b, placementv1beta1.ResourceWorkSynchronizedConditionType, metav1.ConditionTrue, placementv1beta1.WorkSynchronizedReason,
		fmt.Sprintf("%d Work(s) in %s hold resource snapshot %s", len(works), ns, b.GetBindingSpec().ResourceSnapshotName))
	return works, true, nil
}

// snapshots returns the master snapshot and its sub-indexed snapshots, in sub-index order.
func (r *Reconciler) snapshots(ctx context.Context, ns, master string) ([]placementv1beta1.ResourceSnapshotObj, error) {
	m, err := scope.GetResourceSnapshot(ctx, r.Client, types.NamespacedName{Namespace: ns, Name: master})
	if err != nil {
		return nil, fmt.Errorf("reading resource snapshot %s: %w", master, err)
	}
	want := 1
	if n, err := strconv.Atoi(m.GetAnnotations()[placementv1beta1.NumberOfResourceSnapshotsAnnotation]); err == nil && n > 1 {
		want = n
	}
	if want == 1 {
		return []placementv1beta1.ResourceSnapshotObj{m}, nil
	}
	parts, complete, err := snapshot.ResourceSnapshotsOfIndex(ctx, r.Client, scope.KeyOf(m), snapshot.Index(m, placementv1beta1.ResourceIndexLabel))
	if err != nil {
		return nil, err
	}
	if !complete {
		return nil, fmt.Errorf("resource snapshot %s has %d of its %d parts so far", master, len(parts), want)
	}
	return parts, nil
}

// fieldOwner is the field manager of the Works this controller applies.
const fieldOwner = "flotilla-workgen"

func (r *Reconciler) writeWork(ctx context.Context, b placementv1beta1.BindingObj, ns, crp, index string,
	c workContent, abandon bool, reportBack *placementv1beta1.ReportBackStrategy) (*placementv1beta1.Work, error) {
	name := c.name
	manifests := make([]*placementac.ManifestApplyConfiguration, len(c.raws))
	for i, raw := range c.raws {
		manifests[i] = placementac.Manifest()
		manifests[i].Raw = raw
	}
	spec := placementac.WorkSpec().WithWorkload(placementac.WorkloadTemplate().WithManifests(manifests...))
	if b.GetBindingSpec().ApplyStrategy != nil {
		strategy, err := controllerdefaults.Convert[placementac.ApplyStrategyApplyConfiguration](b.GetBindingSpec().ApplyStrategy)
		if err != nil {
			return nil, err
		}
		spec.WithApplyStrategy(strategy)
	}
	if reportBack != nil && reportBack.Type == placementv1beta1.ReportBackMirror {
		rb, err := controllerdefaults.Convert[placementac.ReportBackStrategyApplyConfiguration](reportBack)
		if err != nil {
			return nil, err
		}
		spec.WithReportBackStrategy(rb)
	}
	labels := map[string]string{
		placementv1beta1.CRPTrackingLabel:                 crp,
		placementv1beta1.ParentBindingLabel:               b.GetName(),
		placementv1beta1.ParentResourceSnapshotIndexLabel: index,
	}
	if ns := b.GetNamespace(); ns != "" {
		labels[placementv1beta1.ParentNamespaceLabel] = ns
	}
	if e := c.envelope; e != nil {
		labels[placementv1beta1.EnvelopeTypeLabel] = string(e.Type)
		labels[placementv1beta1.EnvelopeNameLabel] = e.Name
		labels[placementv1beta1.EnvelopeNamespaceLabel] = e.Namespace
	}
	annotations := map[string]string{placementv1beta1.ParentResourceSnapshotNameAnnotation: b.GetBindingSpec().ResourceSnapshotName}
	if abandon {
		annotations[placementv1beta1.DeletePropagationAnnotation] = string(placementv1beta1.DeletePropagationPolicyAbandon)
	}
	w := &placementv1beta1.Work{}
	err := controllerdefaults.Apply(ctx, r.Client, fieldOwner, placementac.Work(name, ns).
		WithLabels(labels).
		WithAnnotations(annotations).
		WithSpec(spec), w)
	return w, err
}

func setCondition(b placementv1beta1.BindingObj, t placementv1beta1.ResourceConditionType, s metav1.ConditionStatus, reason, msg string) {
	// The rollout counts unavailablePeriodSeconds for untrackable objects from Available's
	// lastTransitionTime, so Available restarts its clock for each new generation of the
	// binding; otherwise a new snapshot would count as ready at once.
	if old := meta.FindStatusCondition(b.GetBindingStatus().Conditions, string(t)); old != nil &&
		t == placementv1beta1.ResourcesAvailableConditionType && old.ObservedGeneration != b.GetGeneration() {
		old.LastTransitionTime = metav1.Now()
	}
	meta.SetStatusCondition(&b.GetBindingStatus().Conditions, metav1.Condition{
		Type: string(t), Status: s, Reason: reason, Message: msg, ObservedGeneration: b.GetGeneration(),
	})
}
