// Package workapplier is the member agent's Work controller. For each Work in the member's
// hub namespace it keeps an AppliedWork on the member, applies the Work's manifests in
// waves (namespaces first, webhooks last) under the Work's apply strategy, and writes back
// per manifest whether it was applied, whether the object is available, and what drifted or
// differs. Every object it creates carries an ownerReference to the AppliedWork, so that
// removing a Work removes what it placed through the member's garbage collector, while
// objects Flotilla did not create are only released, never deleted.
package workapplier

import (
	"context"
	"fmt"
	"golang.org/x/sync/errgroup"
	"strconv"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/workqueue"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/cluster"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	clusterv1beta1 "github.com/flotilla-dev/flotilla/api/cluster/v1beta1"
	placementv1beta1 "github.com/flotilla-dev/flotilla/api/placement/v1beta1"
	"github.com/flotilla-dev/flotilla/internal/controllerdefaults"
)

// Defaults of the Reconciler's timing.
const (
	// DefaultResyncPeriod is how often an applied Work is checked again for drift: edits on
	// the member are not watched (that would need an informer per placed kind).
	DefaultResyncPeriod = 30 * time.Second
	// DefaultMaxBackoff caps the wait before retrying a manifest that failed.
	DefaultMaxBackoff = 30 * time.Second
	// availabilityPoll caps the wait before looking again at an object that is not available.
	availabilityPoll = 5 * time.Second
	firstBackoff     = 250 * time.Millisecond
	// waveParallelism is how many manifests of one wave are applied at once.
	waveParallelism = 8
)

// Reconciler applies the Works of one member.
type Reconciler struct {
	// Hub is the agent's client of its hub namespace; HubReader reads around the cache.
	Hub       client.Client
	HubReader client.Reader
	// Member is the member cluster (client and cache).
	Member cluster.Cluster
	// Dynamic and Clientset reach the member's API server for arbitrary kinds and pods.
	Dynamic   dynamic.Interface
	Clientset kubernetes.Interface
	// MemberName is this member's name; HubNamespace is fleet-member-<name>.
	MemberName   string
	HubNamespace string
	// ResyncPeriod and MaxBackoff default to DefaultResyncPeriod and DefaultMaxBackoff.
	ResyncPeriod time.Duration
	MaxBackoff   time.Duration
	// HealthPollPeriod defaults to DefaultHealthPollPeriod.
	HealthPollPeriod time.Duration
	// RetryLimiter paces the retries of failed reconciles; nil means the fleet-wide
	// controllerdefaults one. Tests set a slow one to show that a member coming back does
	// not wait for it.
	RetryLimiter workqueue.TypedRateLimiter[reconcile.Request]

	attempts sync.Map // work name -> consecutive attempts that needed a retry
	created  sync.Map // UIDs of AppliedWorks this applier created, until their create event (an event that wins the race only costs one more reconcile)
}

// Options configure the work applier.
type Options struct {
	// Member is the member cluster (client and cache), added to the manager.
	Member cluster.Cluster
	// Dynamic and Clientset reach the member's API server for arbitrary kinds and pods.
	Dynamic   dynamic.Interface
	Clientset kubernetes.Interface
	// MemberName is this member's name; its hub namespace is fleet-member-<name>.
	MemberName string
	// ResyncPeriod, MaxBackoff, HealthPollPeriod and RetryLimiter are as the Reconciler's.
	ResyncPeriod     time.Duration
	MaxBackoff       time.Duration
	HealthPollPeriod time.Duration
	RetryLimiter     workqueue.TypedRateLimiter[reconcile.Request]
}

// Setup registers the work applier with the agent's manager.
func Setup(mgr ctrl.Manager, opts Options) error {
	return (&Reconciler{
		Hub: mgr.GetClient(), HubReader: mgr.GetAPIReader(), HubNamespace: clusterv1beta1.NamespaceForMember(opts.MemberName),
		Member: opts.Member, Dynamic: opts.Dynamic, Clientset: opts.Clientset, MemberName: opts.MemberName,
		ResyncPeriod: opts.ResyncPeriod, MaxBackoff: opts.MaxBackoff, HealthPollPeriod: opts.HealthPollPeriod, RetryLimiter: opts.RetryLimiter,
	}).register(mgr)
}

func (r *Reconciler) register(mgr ctrl.Manager) error {
	if r.ResyncPeriod <= 0 {
		r.ResyncPeriod = DefaultResyncPeriod
	}
	if r.MaxBackoff <= 0 {
		r.MaxBackoff = DefaultMaxBackoff
	}
	if r.HealthPollPeriod <= 0 {
		r.HealthPollPeriod = DefaultHealthPollPeriod
	}
	opts := controllerdefaults.Options(4)
	if r.RetryLimiter != nil {
		opts.RateLimiter = r.RetryLimiter
	}
	health := &healthWatch{member: r.Clientset, name: r.MemberName, period: r.HealthPollPeriod,
		out: make(chan event.TypedGenericEvent[struct{}], 1), wentDown: r.markUnreachable}
	if err := mgr.Add(health); err != nil {
		return err
	}
	toWork := handler.TypedEnqueueRequestsFromMapFunc(func(_ context.Context, aw *placementv1beta1.AppliedWork) []reconcile.Request {
		if aw.Spec.WorkNamespace != r.HubNamespace {
			return nil
		}
		return []reconcile.Request{{NamespacedName: client.ObjectKey{Namespace: r.HubNamespace, Name: aw.Name}}}
	})
	// Deletes matter (someone removed an AppliedWork of a live Work), and so do the creates
	// of the initial list, which find AppliedWorks whose Work went while the agent was down.
	// The creates of AppliedWorks this applier just made, and all updates, are its own
	// writes: reacting to them would apply every new Work twice.
	awEvents := predicate.TypedFuncs[*placementv1beta1.AppliedWork]{
		CreateFunc: func(e event.TypedCreateEvent[*placementv1beta1.AppliedWork]) bool {
			_, ours := r.created.LoadAndDelete(e.Object.UID)
			return !ours
		},
		UpdateFunc: func(event.TypedUpdateEvent[*placementv1beta1.AppliedWork]) bool { return false },
	}
	return ctrl.NewControllerManagedBy(mgr).
		Named("workapplier").
		For(&placementv1beta1.Work{}, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		WatchesRawSource(source.Kind(r.Member.GetCache(), &placementv1beta1.AppliedWork{}, toWork, awEvents)).
		WatchesRawSource(source.Channel(health.out, handler.TypedEnqueueRequestsFromMapFunc(r.everyWork))).
		WithOptions(opts).
		Complete(r)
}

// Reconcile applies one Work, or cleans up after it when it is gone.
func (r *Reconciler) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	if req.Namespace != r.HubNamespace {
		return reconcile.Result{}, nil
	}
	work := &placementv1beta1.Work{}
	if err := r.Hub.Get(ctx, req.NamespacedName, work); err != nil {
		if !apierrors.IsNotFound(err) {
			return reconcile.Result{}, err
		}
		return reconcile.Result{}, r.workGone(ctx, req.Name)
	}
	if work.DeletionTimestamp != nil {
		return reconcile.Result{}, nil
	}
	if leaving, err := r.leaving(ctx); err != nil || leaving {
		// A member that leaves keeps what it has and applies nothing new.
		return reconcile.Result{RequeueAfter: r.ResyncPeriod}, err
	}

	aw, err := r.ensureAppliedWork(ctx, work)
	if err != nil {
		return reconcile.Result{}, err
	}
	s := *work.Spec.ApplyStrategy.Defaulted()
	manifests := decode(work)
	results := r.applyAll(ctx, manifests, aw, s)

	reportDiff := s.Type == placementv1beta1.ApplyStrategyTypeReportDiff
	status := newStatus(work, results, reportDiff, metav1.Now())
	if !equality.Semantic.DeepEqual(status, work.Status) {
		work.Status = status
		if err := r.Hub.Status().Update(ctx, work); err != nil {
			return reconcile.Result{}, fmt.Errorf("writing the status of Work %s: %w", work.Name, err)
		}
	}
	if !reportDiff {
		if err := r.recordApplied(ctx, aw, manifests, results); err != nil {
			return reconcile.Result{}, err
		}
	}
	return r.next(work.Name, results), nil
}

// applyAll applies the manifests wave by wave; within a wave, several at once. A failed
// manifest does not stop the others, nor the next waves.
func (r *Reconciler) applyAll(ctx context.Context, manifests []manifest, aw *placementv1beta1.AppliedWork, s placementv1beta1.ApplyStrategy) []result {
	a := &applier{dynamic: r.Dynamic, mapper: r.Member.GetRESTMapper(), pods: r.Clientset}
	results := make([]result, len(manifests))
	for i := range manifests {
		if manifests[i].err != nil {
			results[i] = failed(placementv1beta1.ManifestDecodingErredReason, false, "%v", manifests[i].err)
			results[i].id = manifests[i].identifier()
		}
	}
	for _, wave := range inWaves(manifests) {
		var g errgroup.Group
		g.SetLimit(waveParallelism)
		for _, m := range wave {
			g.Go(func() error {
				results[m.ordinal] = a.process(ctx, m, aw, s)
				return nil
			})
		}
		_ = g.Wait() // each manifest's outcome is in results
	}
	return results
}

// next says when to look at the Work again: soon, with backoff, while something failed or
// is not available yet; after the resync period otherwise, to catch drift.
func (r *Reconciler) next(name string, results []result) reconcile.Result {
	retry, waiting := false, false
	for _, res := range results {
		retry = retry || res.retry
		waiting = waiting || (res.avail != nil && !res.avail.available)
	}
	if !retry && !waiting {
		r.attempts.Delete(name)
		return reconcile.Result{RequeueAfter: r.ResyncPeriod}
	}
	n := 0
	if v, ok := r.attempts.Load(name); ok {
		n = v.(int)
	}
	r.attempts.Store(name, n+1)
	limit := r.MaxBackoff
	if !retry && availabilityPoll < limit {
		limit = availabilityPoll
	}
	wait := firstBackoff << min(n, 16)
	if wait > limit || wait <= 0 {
		wait = limit
	}
	return reconcile.Result{RequeueAfter: wait}
}

// leaving reports whether the hub told this member to leave, or already removed it.
func (r *Reconciler) leaving(ctx context.Context) (bool, error) {
	imc := &clusterv1beta1.InternalMemberCluster{}
	err := r.Hub.Get(ctx, client.ObjectKey{Namespace: r.HubNamespace, Name: r.MemberName}, imc)
	// Gone, or no longer readable (the hub removed the member's namespace and with it the
	// agent's rights there): the member has left.
	if apierrors.IsNotFound(err) || apierrors.IsForbidden(err) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	return imc.Spec.State == clusterv1beta1.ClusterStateLeave || imc.DeletionTimestamp != nil, nil
}

func (r *Reconciler) ensureAppliedWork(ctx context.Context, work *placementv1beta1.Work) (*placementv1beta1.AppliedWork, error) {
	aw := &placementv1beta1.AppliedWork{}
	err := r.Member.GetAPIReader().Get(ctx, client.ObjectKey{Name: work.Name}, aw)
	policy := work.Annotations[placementv1beta1.DeletePropagationAnnotation]
	if err == nil {
		if aw.DeletionTimestamp != nil {
			return nil, fmt.Errorf("AppliedWork %s is being deleted; applying again once it is gone", aw.Name)
		}
		return aw, r.keepDeletePolicy(ctx, aw, policy)
	}
	if !apierrors.IsNotFound(err) {
		return nil, err
	}
	aw = &placementv1beta1.AppliedWork{
		ObjectMeta: metav1.ObjectMeta{Name: work.Name},
		Spec:       placementv1beta1.AppliedWorkSpec{WorkName: work.Name, WorkNamespace: work.Namespace},
	}
	if policy != "" {
		aw.Annotations = map[string]string{placementv1beta1.DeletePropagationAnnotation: policy}
	}
	if err := r.Member.GetClient().Create(ctx, aw); err != nil {
		return nil, fmt.Errorf("creating AppliedWork %s on the member: %w", work.Name, err)
	}
	r.created.Store(aw.UID, struct{}{})
	log.FromContext(ctx).V(1).Info("created AppliedWork", "name", aw.Name)
	return aw, nil
}

// keepDeletePolicy records the Work's delete propagation policy on its AppliedWork, which
// outlives the Work: when the Work is gone, the AppliedWork says whether to abandon.
func (r *Reconciler) keepDeletePolicy(ctx context.Context, aw *placementv1beta1.AppliedWork, policy string) error {
	if aw.Annotations[placementv1beta1.DeletePropagationAnnotation] == policy {
		return nil
	}
	value := "null"
	if policy != "" {
		value = strconv.Quote(policy)
	}
	patch := []byte(`{"metadata":{"annotations":{"` + placementv1beta1.DeletePropagationAnnotation + `":` + value + `}}}`)
	if err := r.Member.GetClient().Patch(ctx, aw, client.RawPatch(types.MergePatchType, patch)); err != nil {
		return fmt.Errorf("recording the delete policy on AppliedWork %s: %w", aw.Name, err)
	}
	return nil
}

// sameObject reports whether two identifiers name the same object (ordinal and version aside).
func sameObject(a, b placementv1beta1.WorkResourceIdentifier) bool {
	return a.Group == b.Group && a.Kind == b.Kind && a.Namespace == b.Namespace && a.Name == b.Name
}

// recordApplied writes the AppliedWork's list of placed objects and removes the objects that
// left the Work.
func (r *Reconciler) recordApplied(ctx context.Context, aw *placementv1beta1.AppliedWork, manifests []manifest, results []result) error {
	var current []placementv1beta1.AppliedResourceMeta
	inWork := func(id placementv1beta1.WorkResourceIdentifier) bool {
		for _, res := range results {
			if sameObject(res.id, id) {
				return true
			}
		}
		return false
	}
	for _, res := range results {
		if res.owned {
			current = append(current, placementv1beta1.AppliedResourceMeta{WorkResourceIdentifier: res.id, UID: res.uid})
		}
	}
	decodedAll := true
	for _, m := range manifests {
		decodedAll = decodedAll && m.err == nil
	}
	var stale []placementv1beta1.AppliedResourceMeta
	for _, prev := range aw.Status.AppliedResources {
		switch {
		case inWork(prev.WorkResourceIdentifier):
			// Still in the Work: keep it listed even when this attempt could not confirm it
			// (a read failed), so it is never lost.
			found := false
			for _, c := range current {
				found = found || sameObject(c.WorkResourceIdentifier, prev.WorkResourceIdentifier)
			}
			if !found {
				current = append(current, prev)
			}
		case decodedAll:
			stale = append(stale, prev)
		default:
			// A manifest that could not be decoded may be this object: keep it.
			current = append(current, prev)
		}
	}
	for _, s := range stale {
		if err := r.removeObject(ctx, aw, s); err != nil {
			return err
		}
	}
	if equality.Semantic.DeepEqual(current, aw.Status.AppliedResources) {
		return nil
	}
	aw.Status.AppliedResources = current
	if err := r.Member.GetClient().Status().Update(ctx, aw); err != nil {
		return fmt.Errorf("recording the placed objects in AppliedWork %s: %w", aw.Name, err)
	}
	return nil
}
