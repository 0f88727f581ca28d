// Package placement is the hub's ClusterResourcePlacement controller. For each placement it
// keeps a policy snapshot of the current policy, selects the resources (through dynamic
// informers on every selected type, so a change is seen at once), keeps resource snapshots
// of the selection, and writes the placement's status from the policy snapshot's decisions
// and the bindings. The scheduler (internal/hub/scheduler) and the rollout
// (internal/hub/rollout) take it from there.
package placement

import (
	"context"
	"errors"
	"sync"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/workqueue"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	placementv1beta1 "github.com/flotilla-dev/flotilla/api/placement/v1beta1"
	"github.com/flotilla-dev/flotilla/internal/controllerdefaults"
	"github.com/flotilla-dev/flotilla/internal/hub/scope"
	"github.com/flotilla-dev/flotilla/internal/hub/snapshot"
)

// Reconciler reconciles ClusterResourcePlacements.
type Reconciler struct {
	Client  client.Client
	Mapper  meta.RESTMapper
	Watcher *Watcher
	// SnapshotSizeLimit is the bytes of objects per resource snapshot; 0 means the default.
	SnapshotSizeLimit int

	mu       sync.Mutex
	queue    workqueue.TypedRateLimitingInterface[reconcile.Request]
	interest map[types.NamespacedName]*Selection // by placement: what its last selection watched
	// lastWrite is when each placement's status was last written, to space out the writes
	// of large statuses.
	lastWrite map[types.NamespacedName]time.Time
}

// largeStatus is the number of per-member statuses above which status writes are spaced by
// largeStatusInterval: such a status is hundreds of kilobytes, and during a rollout over
// many members it would otherwise be rewritten several times a second.
const (
	largeStatus         = 100
	largeStatusInterval = time.Second
)

// writeDelay says how long to wait before writing a status of n member entries.
func (r *Reconciler) writeDelay(name types.NamespacedName, n int) time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	if n <= largeStatus {
		return 0
	}
	if since := time.Since(r.lastWrite[name]); since < largeStatusInterval {
		return largeStatusInterval - since
	}
	return 0
}

func (r *Reconciler) wroteStatus(name types.NamespacedName) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lastWrite[name] = time.Now()
}

// Options configure the placement controller.
type Options struct {
	// SnapshotSizeLimit is the bytes of objects per resource snapshot; 0 means the default.
	SnapshotSizeLimit int
}

// Setup builds the placement controller and its resource watcher and registers both.
func Setup(mgr ctrl.Manager, opts Options) error {
	// The watcher lists every selected type when it first needs it, with the manager's
	// rate limits (hub.Options), so that it does not queue behind client-go's default.
	w, err := NewWatcher(rest.CopyConfig(mgr.GetConfig()))
	if err != nil {
		return err
	}
	if err := mgr.Add(w); err != nil {
		return err
	}
	r := &Reconciler{Client: mgr.GetClient(), Mapper: mgr.GetRESTMapper(), Watcher: w, SnapshotSizeLimit: opts.SnapshotSizeLimit}
	return r.register(mgr)
}

// register registers the controller; r.Watcher must be added to the manager.
func (r *Reconciler) register(mgr ctrl.Manager) error {
	r.interest = map[types.NamespacedName]*Selection{}
	r.lastWrite = map[types.NamespacedName]time.Time{}
	r.Watcher.OnChange = r.resourceChanged
	return ctrl.NewControllerManagedBy(mgr).
		Named("clusterresourceplacement").
		For(&placementv1beta1.ClusterResourcePlacement{}, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Watches(&placementv1beta1.ClusterSchedulingPolicySnapshot{}, controllerdefaults.EnqueueByLabel(placementv1beta1.CRPTrackingLabel)).
		Watches(&placementv1beta1.ClusterResourceSnapshot{}, controllerdefaults.EnqueueByLabel(placementv1beta1.CRPTrackingLabel),
			builder.WithPredicates(predicate.Funcs{UpdateFunc: func(event.UpdateEvent) bool { return false }})).
		Watches(&placementv1beta1.ClusterResourceBinding{}, coalescedParent{}).
		Watches(&placementv1beta1.ResourcePlacement{}, &handler.EnqueueRequestForObject{}, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Watches(&placementv1beta1.SchedulingPolicySnapshot{}, scope.EnqueueParent()).
		Watches(&placementv1beta1.ResourceSnapshot{}, scope.EnqueueParent(),
			builder.WithPredicates(predicate.Funcs{UpdateFunc: func(event.UpdateEvent) bool { return false }})).
		Watches(&placementv1beta1.ResourceBinding{}, coalescedParent{}).
		Watches(&apiextensionsv1.CustomResourceDefinition{}, handler.EnqueueRequestsFromMapFunc(r.crdChanged)).
		WatchesRawSource(source.Func(func(_ context.Context, q workqueue.TypedRateLimitingInterface[reconcile.Request]) error {
			r.mu.Lock()
			r.queue = q
			r.mu.Unlock()
			return nil
		})).
		WithOptions(controllerdefaults.Options(4)).
		Complete(r)
}

// statusCoalescing is how long binding changes are gathered before a placement's status is
// rewritten: a rollout over many members changes every binding within moments, and one
// status write for the lot is much cheaper than one each (the status lists every member).
const statusCoalescing = 200 * time.Millisecond

// coalescedParent enqueues a binding's placement after statusCoalescing; the work queue
// folds the events of that window into one reconcile.
type coalescedParent struct{}

func (coalescedParent) add(o client.Object, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
	if key := scope.KeyOf(o); key.Name != "" {
		q.AddAfter(reconcile.Request{NamespacedName: key}, statusCoalescing)
	}
}

func (h coalescedParent) Create(_ context.Context, e event.CreateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
	h.add(e.Object, q)
}

func (h coalescedParent) Update(_ context.Context, e event.UpdateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
	h.add(e.ObjectNew, q)
}

func (h coalescedParent) Delete(_ context.Context, e event.DeleteEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
	h.add(e.Object, q)
}

func (h coalescedParent) Generic(_ context.Context, e event.GenericEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
	h.add(e.Object, q)
}

// crdChanged forgets the discovered types and rechecks every placement: a new CRD can make
// an invalid selector valid, or add a kind inside a selected namespace.
func (r *Reconciler) crdChanged(ctx context.Context, _ client.Object) []reconcile.Request {
	r.Watcher.ForgetDiscovery()
	out, err := scope.AllPlacements(ctx, r.Client)
	if err != nil {
		return nil
	}
	return out
}

// resourceChanged enqueues the placements whose last selection covers the object's type (a
// cluster-scoped object) or its namespace (a namespaced one). The work queue folds a burst
// of changes into one reconcile per placement.
func (r *Reconciler) resourceChanged(gvr schema.GroupVersionResource, obj *unstructured.Unstructured) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.queue == nil {
		return
	}
	ns := obj.GetNamespace()
	for name, sel := range r.interest {
		if (ns == "" && sel.Resources[gvr]) || (ns != "" && (sel.Namespaces[ns] || sel.Scoped[gvr] == ns)) {
			r.queue.Add(reconcile.Request{NamespacedName: name})
		}
	}
}

func (r *Reconciler) setInterest(name types.NamespacedName, sel *Selection) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if sel == nil {
		delete(r.interest, name)
		return
	}
	r.interest[name] = &Selection{Resources: sel.Resources, Namespaces: sel.Namespaces, Scoped: sel.Scoped}
}

// Reconcile brings one placement's snapshots and status up to date.
func (r *Reconciler) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	key := req.NamespacedName
	interest := key
	crp, err := scope.GetPlacement(ctx, r.Client, key)
	if err != nil {
		if client.IgnoreNotFound(err) == nil {
			r.setInterest(interest, nil)
			r.mu.Lock()
			delete(r.lastWrite, interest)
			r.mu.Unlock()
		}
		return reconcile.Result{}, client.IgnoreNotFound(err)
	}
	if crp.GetDeletionTimestamp() != nil {
		// Snapshots and bindings are owned by the placement; garbage collection removes them.
		r.setInterest(interest, nil)
		return reconcile.Result{}, nil
	}
	policySnap, err := r.ensurePolicySnapshot(ctx, crp)
	if err != nil {
		return reconcile.Result{}, err
	}

	in := statusInput{crp: crp, policySnap: policySnap, resourceIdx: crp.GetPlacementStatus().ObservedResourceIndex}
	sel, err := (&selector{mapper: r.Mapper, watcher: r.Watcher, namespace: key.Namespace}).Select(crp.GetPlacementSpec().ResourceSelectors)
	var invalid *InvalidSelectorError
	var notSynced *notSyncedError
	switch {
	case errors.As(err, &invalid):
		in.invalid = invalid.Msg
	case errors.As(err, &notSynced):
		return reconcile.Result{RequeueAfter: 100 * time.Millisecond}, nil
	case err != nil:
		return reconcile.Result{}, err
	default:
		r.setInterest(interest, sel)
		master, err := r.ensureResourceSnapshot(ctx, crp, sel)
		if err != nil {
			return reconcile.Result{}, err
		}
		in.selection = sel
		in.resourceIdx = master.GetLabels()[placementv1beta1.ResourceIndexLabel]
	}

	// Read-only: the status is built from copies of what it needs.
	if in.bindings, err = scope.ListBindings(ctx, r.Client, key, client.UnsafeDisableDeepCopy); err != nil {
		return reconcile.Result{}, err
	}
	status := buildStatus(in)
	if err := r.writeNamespacedStatus(ctx, crp, status); err != nil {
		return reconcile.Result{}, err
	}
	if equality.Semantic.DeepEqual(status, *crp.GetPlacementStatus()) {
		return reconcile.Result{}, nil
	}
	if wait := r.writeDelay(interest, len(status.PlacementStatuses)); wait > 0 {
		return reconcile.Result{RequeueAfter: wait}, nil
	}
	*crp.GetPlacementStatus() = status
	if err := r.Client.Status().Update(ctx, crp); err != nil {
		return reconcile.Result{}, err
	}
	r.wroteStatus(interest)
	return reconcile.Result{}, nil
}

// LatestResourceIndex is exported for the CLI and tests: the index of the latest resource
// snapshot of a placement, or -1.
func LatestResourceIndex(ctx context.Context, c client.Reader, crp string) (int, error) {
	s, err := snapshot.LatestResourceSnapshot(ctx, c, client.ObjectKey{Name: crp})
	if err != nil || s == nil {
		return -1, err
	}
	return snapshot.Index(s, placementv1beta1.ResourceIndexLabel), nil
}
