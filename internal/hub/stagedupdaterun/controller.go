package stagedupdaterun

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/clock"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	clusterv1beta1 "github.com/flotilla-dev/flotilla/api/cluster/v1beta1"
	placementv1beta1 "github.com/flotilla-dev/flotilla/api/placement/v1beta1"
	"github.com/flotilla-dev/flotilla/internal/controllerdefaults"
	"github.com/flotilla-dev/flotilla/internal/hub/rollout"
	"github.com/flotilla-dev/flotilla/internal/hub/scope"
	"github.com/flotilla-dev/flotilla/internal/hub/snapshot"
)

// placementIndex indexes runs by spec.placementName.
const placementIndex = "spec.placementName"

// Options configure the controller.
type Options struct {
	// Clock tells the time; nil is the real clock.
	Clock clock.PassiveClock
}

// picked are the members the scheduler picked for a policy snapshot, or nil when it has not
// scheduled the snapshot's current generation yet.
func picked(policy placementv1beta1.PolicySnapshotObj) []string {
	st := policy.GetPolicySnapshotStatus()
	c := meta.FindStatusCondition(st.Conditions, placementv1beta1.PolicySnapshotScheduledConditionType)
	if c == nil || c.ObservedGeneration != policy.GetGeneration() {
		return nil
	}
	out := []string{}
	for _, d := range st.ClusterDecisions {
		if d.Selected {
			out = append(out, d.ClusterName)
		}
	}
	return out
}

// snapshotsResource is what kubectl calls the key's resource snapshots.
func snapshotsResource(key scope.Key) string {
	if key.Namespace != "" {
		return "resourcesnapshots -n " + key.Namespace
	}
	return "clusterresourcesnapshots"
}

// Reconciler carries ClusterStagedUpdateRuns and StagedUpdateRuns out.
type Reconciler struct {
	Client    client.Client
	APIReader client.Reader
	Clock     clock.PassiveClock
}

// Setup registers the controller with mgr.
func Setup(mgr ctrl.Manager, opts Options) error {
	for _, run := range []placementv1beta1.UpdateRunObj{&placementv1beta1.ClusterStagedUpdateRun{}, &placementv1beta1.StagedUpdateRun{}} {
		if err := mgr.GetFieldIndexer().IndexField(context.Background(), run, placementIndex, func(o client.Object) []string {
			return []string{o.(placementv1beta1.UpdateRunObj).GetUpdateRunSpec().PlacementName}
		}); err != nil {
			return err
		}
	}
	r := &Reconciler{Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), Clock: opts.Clock}
	byPlacement := func(key func(client.Object) scope.Key) handler.EventHandler {
		return handler.EnqueueRequestsFromMapFunc(func(ctx context.Context, o client.Object) []reconcile.Request {
			return r.runsOf(ctx, key(o))
		})
	}
	// An approval request wakes its run, in its own namespace.
	byRunLabel := handler.EnqueueRequestsFromMapFunc(func(_ context.Context, o client.Object) []reconcile.Request {
		if name := o.GetLabels()[placementv1beta1.TargetUpdateRunLabel]; name != "" {
			return []reconcile.Request{{NamespacedName: types.NamespacedName{Namespace: o.GetNamespace(), Name: name}}}
		}
		return nil
	})
	b := ctrl.NewControllerManagedBy(mgr).
		Named("stagedupdaterun").
		For(&placementv1beta1.ClusterStagedUpdateRun{}).
		Watches(&placementv1beta1.StagedUpdateRun{}, &handler.EnqueueRequestForObject{}).
		Watches(&placementv1beta1.ClusterStagedUpdateStrategy{}, handler.EnqueueRequestsFromMapFunc(r.runsOfStrategy)).
		Watches(&placementv1beta1.StagedUpdateStrategy{}, handler.EnqueueRequestsFromMapFunc(r.runsOfStrategy)).
		Watches(&placementv1beta1.ClusterResourcePlacement{}, byPlacement(client.ObjectKeyFromObject)).
		Watches(&placementv1beta1.ResourcePlacement{}, byPlacement(client.ObjectKeyFromObject))
	for _, o := range []client.Object{&placementv1beta1.ClusterApprovalRequest{}, &placementv1beta1.ApprovalRequest{}} {
		b = b.Watches(o, byRunLabel)
	}
	for _, o := range []client.Object{&placementv1beta1.ClusterResourceBinding{}, &placementv1beta1.ResourceBinding{},
		&placementv1beta1.ClusterSchedulingPolicySnapshot{}, &placementv1beta1.SchedulingPolicySnapshot{},
		&placementv1beta1.ClusterResourceSnapshot{}, &placementv1beta1.ResourceSnapshot{}} {
		b = b.Watches(o, byPlacement(scope.KeyOf))
	}
	return b.WithOptions(controllerdefaults.Options(2)).Complete(r)
}

// newRun returns an empty run of the scope of a request: a ClusterStagedUpdateRun without a
// namespace, a StagedUpdateRun with one.
func newRun(namespace string) placementv1beta1.UpdateRunObj {
	if namespace != "" {
		return &placementv1beta1.StagedUpdateRun{}
	}
	return &placementv1beta1.ClusterStagedUpdateRun{}
}

// runsOf lists the runs of a placement, in its scope.
func (r *Reconciler) runsOf(ctx context.Context, key scope.Key) []reconcile.Request {
	if key.Name == "" {
		return nil
	}
	runs, err := r.listRuns(ctx, key.Namespace, client.MatchingFields{placementIndex: key.Name})
	if err != nil {
		return nil
	}
	out := make([]reconcile.Request, 0, len(runs))
	for _, run := range runs {
		out = append(out, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(run)})
	}
	return out
}

func (r *Reconciler) listRuns(ctx context.Context, namespace string, opts ...client.ListOption) ([]placementv1beta1.UpdateRunObj, error) {
	var out []placementv1beta1.UpdateRunObj
	if namespace != "" {
		var list placementv1beta1.StagedUpdateRunList
		if err := r.Client.List(ctx, &list, append(opts, client.InNamespace(namespace))...); err != nil {
			return nil, err
		}
		for i := range list.Items {
			out = append(out, &list.Items[i])
		}
		return out, nil
	}
	var list placementv1beta1.ClusterStagedUpdateRunList
	if err := r.Client.List(ctx, &list, opts...); err != nil {
		return nil, err
	}
	for i := range list.Items {
		out = append(out, &list.Items[i])
	}
	return out, nil
}

// runsOfStrategy wakes the runs not yet initialized that name the strategy: the others
// follow their copy of it.
func (r *Reconciler) runsOfStrategy(ctx context.Context, o client.Object) []reconcile.Request {
	runs, err := r.listRuns(ctx, o.GetNamespace())
	if err != nil {
		return nil
	}
	var out []reconcile.Request
	for _, run := range runs {
		if run.GetUpdateRunSpec().StagedUpdateStrategyName == o.GetName() &&
			!meta.IsStatusConditionTrue(run.GetUpdateRunStatus().Conditions, placementv1beta1.UpdateRunInitializedConditionType) {
			out = append(out, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(run)})
		}
	}
	return out
}

// Reconcile takes one step of a run.
func (r *Reconciler) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	run := newRun(req.Namespace)
	if err := r.Client.Get(ctx, req.NamespacedName, run); err != nil {
		return reconcile.Result{}, client.IgnoreNotFound(err)
	}
	if run.GetDeletionTimestamp() != nil {
		return reconcile.Result{}, nil
	}
	f, bindings, err := r.facts(ctx, run)
	if err != nil {
		return reconcile.Result{}, err
	}
	plan := Advance(run, f)
	for _, a := range plan.Approvals {
		if err := r.ensureApproval(ctx, run, a); err != nil {
			return reconcile.Result{}, err
		}
	}
	for _, name := range plan.Accept {
		if err := r.accept(ctx, run.GetNamespace(), name); err != nil {
			return reconcile.Result{}, err
		}
	}
	if len(plan.Bind) > 0 {
		t := rollout.Target{Snapshot: f.ResourceSnapshot, Strategy: plan.Status.AppliedStrategy, Overrides: map[string]rollout.Overrides{}}
		for _, s := range plan.Status.StagesStatus {
			for _, c := range s.Clusters {
				t.Overrides[c.ClusterName] = rollout.Overrides{Cluster: c.ClusterResourceOverrideSnapshots, Namespaced: c.ResourceOverrideSnapshots}
			}
		}
		for _, cluster := range plan.Bind {
			if b := bindings[cluster]; b != nil {
				if err := rollout.Bind(ctx, r.Client, r.APIReader, b, t); err != nil {
					return reconcile.Result{}, err
				}
			}
		}
	}
	for _, cluster := range plan.Delete {
		if b := bindings[cluster]; b != nil {
			uid := b.GetUID()
			if err := r.Client.Delete(ctx, b, client.Preconditions{UID: &uid}); err != nil && !apierrors.IsNotFound(err) {
				return reconcile.Result{}, fmt.Errorf("deleting the binding of member %s, which the placement no longer picks: %w", cluster, err)
			}
		}
	}
	if !equality.Semantic.DeepEqual(*run.GetUpdateRunStatus(), plan.Status) {
		*run.GetUpdateRunStatus() = plan.Status
		if err := r.Client.Status().Update(ctx, run); err != nil {
			return reconcile.Result{}, err
		}
	}
	return reconcile.Result{RequeueAfter: plan.RequeueAfter}, nil
}

// facts reads what one step needs. Bindings are returned by target cluster too, for the writes.
func (r *Reconciler) facts(ctx context.Context, run placementv1beta1.UpdateRunObj) (Facts, map[string]placementv1beta1.BindingObj, error) {
	f := Facts{Now: r.now(), MemberLabels: map[string]map[string]string{}, Bindings: map[string]*Binding{}, Approvals: map[string]Approval{}}
	spec := run.GetUpdateRunSpec()
	name := spec.PlacementName
	key := scope.Key{Namespace: run.GetNamespace(), Name: name}
	switch p, err := scope.GetPlacement(ctx, r.Client, key); {
	case apierrors.IsNotFound(err):
	case err != nil:
		return f, nil, err
	default:
		f.Placement = p
	}
	initialized := meta.IsStatusConditionTrue(run.GetUpdateRunStatus().Conditions, placementv1beta1.UpdateRunInitializedConditionType)
	if !initialized {
		strategy, err := r.strategy(ctx, run.GetNamespace(), spec.StagedUpdateStrategyName)
		if err != nil {
			return f, nil, err
		}
		f.Strategy = strategy
		policy, err := snapshot.LatestPolicySnapshot(ctx, r.Client, key)
		if err != nil {
			return f, nil, err
		}
		if policy != nil {
			f.PolicySnapshotIndex = strconv.Itoa(snapshot.Index(policy, placementv1beta1.PolicyIndexLabel))
			f.Picked = picked(policy)
		}
	}
	master, index, why, err := r.resourceSnapshot(ctx, run, initialized)
	if err != nil {
		return f, nil, err
	}
	f.ResourceSnapshotIndex, f.ResourceSnapshotError = index, why
	if master != nil {
		f.ResourceSnapshot = master.GetName()
	}
	list, err := scope.ListBindings(ctx, r.Client, key)
	if err != nil {
		return f, nil, err
	}
	bindings := map[string]placementv1beta1.BindingObj{}
	for _, b := range list {
		spec := b.GetBindingSpec()
		bindings[spec.TargetCluster] = b
		f.Bindings[spec.TargetCluster] = &Binding{Name: b.GetName(), State: spec.State, Snapshot: spec.ResourceSnapshotName,
			Generation: b.GetGeneration(), Deleting: b.GetDeletionTimestamp() != nil, Conditions: b.GetBindingStatus().Conditions}
	}
	if !initialized {
		var members clusterv1beta1.MemberClusterList
		if err := r.Client.List(ctx, &members); err != nil {
			return f, nil, err
		}
		for i := range members.Items {
			f.MemberLabels[members.Items[i].Name] = members.Items[i].Labels
		}
		if master != nil {
			if f.Overrides, err = rollout.OverridesFor(ctx, r.Client, key, master, list); err != nil {
				return f, nil, err
			}
		}
	}
	approvals, err := r.approvals(ctx, run)
	if err != nil {
		return f, nil, err
	}
	for _, a := range approvals {
		if a.GetApprovalRequestSpec().TargetUpdateRun != run.GetName() {
			continue // not this run's, whatever its label says
		}
		f.Approvals[a.GetName()] = Approval{Approved: meta.IsStatusConditionTrue(a.GetApprovalRequestStatus().Conditions, placementv1beta1.ApprovalRequestApprovedConditionType)}
	}
	return f, bindings, nil
}

// resourceSnapshot finds the master snapshot of the run's index: the one it recorded once
// initialized, else the one its spec names, else the latest. why says what is missing.
func (r *Reconciler) resourceSnapshot(ctx context.Context, run placementv1beta1.UpdateRunObj, initialized bool) (placementv1beta1.ResourceSnapshotObj, string, string, error) {
	name := run.GetUpdateRunSpec().PlacementName
	key := scope.Key{Namespace: run.GetNamespace(), Name: name}
	index := run.GetUpdateRunSpec().ResourceSnapshotIndex
	if initialized {
		index = run.GetUpdateRunStatus().ResourceSnapshotIndexUsed
	}
	if index == "" {
		latest, err := snapshot.LatestResourceSnapshot(ctx, r.Client, key)
		if err != nil || latest == nil {
			return nil, "", fmt.Sprintf("%s %q has no resource snapshot yet", scope.PlacementKind(key), name), err
		}
		return latest, strconv.Itoa(snapshot.Index(latest, placementv1beta1.ResourceIndexLabel)), "", nil
	}
	i, err := strconv.Atoi(index)
	if err != nil || i < 0 {
		return nil, index, fmt.Sprintf("spec.resourceSnapshotIndex %q is not a resource snapshot index (a number, from 0): create a run with the index of a snapshot that `kubectl get %s -l %s=%s --show-labels` lists",
			index, snapshotsResource(key), placementv1beta1.CRPTrackingLabel, name), nil
	}
	parts, _, err := snapshot.ResourceSnapshotsOfIndex(ctx, r.Client, key, i)
	if err != nil {
		return nil, index, "", err
	}
	for _, part := range parts {
		if snapshot.IsMaster(part) {
			return part, index, "", nil
		}
	}
	return nil, index, fmt.Sprintf("%s %q has no resource snapshot of index %s: `kubectl get %s -l %s=%s --show-labels` lists those there are (older ones are removed past the placement's revisionHistoryLimit)",
		scope.PlacementKind(key), name, index, snapshotsResource(key), placementv1beta1.CRPTrackingLabel, name), nil
}

// strategy reads the run's strategy (a ClusterStagedUpdateStrategy, or a StagedUpdateStrategy
// of the run's namespace), or nil when there is none.
func (r *Reconciler) strategy(ctx context.Context, namespace, name string) (*placementv1beta1.UpdateStrategySpec, error) {
	var err error
	var spec *placementv1beta1.UpdateStrategySpec
	if namespace != "" {
		s := &placementv1beta1.StagedUpdateStrategy{}
		err, spec = r.Client.Get(ctx, types.NamespacedName{Namespace: namespace, Name: name}, s), &s.Spec
	} else {
		s := &placementv1beta1.ClusterStagedUpdateStrategy{}
		err, spec = r.Client.Get(ctx, types.NamespacedName{Name: name}, s), &s.Spec
	}
	switch {
	case apierrors.IsNotFound(err):
		return nil, nil
	case err != nil:
		return nil, err
	}
	return spec, nil
}

// approvals lists the run's approval requests, by their run label.
func (r *Reconciler) approvals(ctx context.Context, run placementv1beta1.UpdateRunObj) ([]placementv1beta1.ApprovalRequestObj, error) {
	labels := client.MatchingLabels{placementv1beta1.TargetUpdateRunLabel: run.GetName()}
	var out []placementv1beta1.ApprovalRequestObj
	if ns := run.GetNamespace(); ns != "" {
		var list placementv1beta1.ApprovalRequestList
		if err := r.Client.List(ctx, &list, labels, client.InNamespace(ns)); err != nil {
			return nil, err
		}
		for i := range list.Items {
			out = append(out, &list.Items[i])
		}
		return out, nil
	}
	var list placementv1beta1.ClusterApprovalRequestList
	if err := r.Client.List(ctx, &list, labels); err != nil {
		return nil, err
	}
	for i := range list.Items {
		out = append(out, &list.Items[i])
	}
	return out, nil
}

func newApproval(namespace string) placementv1beta1.ApprovalRequestObj {
	if namespace != "" {
		return &placementv1beta1.ApprovalRequest{}
	}
	return &placementv1beta1.ClusterApprovalRequest{}
}

func (r *Reconciler) ensureApproval(ctx context.Context, run placementv1beta1.UpdateRunObj, a ApprovalToEnsure) error {
	ar := newApproval(run.GetNamespace())
	ar.SetNamespace(run.GetNamespace())
	ar.SetName(a.Name)
	ar.SetLabels(map[string]string{
		placementv1beta1.TargetUpdateRunLabel:           run.GetName(),
		placementv1beta1.TargetUpdatingStageNameLabel:   a.Stage,
		placementv1beta1.TaskTypeLabel:                  a.TaskType,
		placementv1beta1.IsLatestUpdateRunApprovalLabel: "true",
	})
	kind := "ClusterStagedUpdateRun"
	if run.GetNamespace() != "" {
		kind = "StagedUpdateRun"
	}
	ar.SetOwnerReferences([]metav1.OwnerReference{{APIVersion: placementv1beta1.GroupVersion.String(), Kind: kind,
		Name: run.GetName(), UID: run.GetUID(), Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(true)}})
	*ar.GetApprovalRequestSpec() = placementv1beta1.ApprovalRequestSpec{TargetUpdateRun: run.GetName(), TargetStage: a.Stage}
	if err := r.Client.Create(ctx, ar); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating approval request %s: %w", a.Name, err)
	}
	return nil
}

// accept records on an approval request that the run has taken its approval in.
func (r *Reconciler) accept(ctx context.Context, namespace, name string) error {
	ar := newApproval(namespace)
	if err := r.Client.Get(ctx, types.NamespacedName{Namespace: namespace, Name: name}, ar); err != nil {
		return client.IgnoreNotFound(err)
	}
	st := ar.GetApprovalRequestStatus()
	if meta.IsStatusConditionTrue(st.Conditions, placementv1beta1.ApprovalRequestApprovalAcceptedConditionType) {
		return nil
	}
	meta.SetStatusCondition(&st.Conditions, metav1.Condition{Type: placementv1beta1.ApprovalRequestApprovalAcceptedConditionType,
		Status: metav1.ConditionTrue, Reason: placementv1beta1.ApprovalRequestApprovalAcceptedReason, ObservedGeneration: ar.GetGeneration(),
		Message: "the update run has seen the approval and goes on"})
	return client.IgnoreNotFound(r.Client.Status().Update(ctx, ar))
}

func (r *Reconciler) now() time.Time {
	if r.Clock == nil {
		return time.Now()
	}
	return r.Clock.Now()
}
