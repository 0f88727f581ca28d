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

// Reconciler carries ClusterStagedUpdateRuns out.
type Reconciler struct {
	Client    client.Client
	APIReader client.Reader
	Clock     clock.PassiveClock
}

// Setup registers the controller with mgr.
func Setup(mgr ctrl.Manager, opts Options) error {
	if err := mgr.GetFieldIndexer().IndexField(context.Background(), &placementv1beta1.ClusterStagedUpdateRun{}, placementIndex, func(o client.Object) []string {
		return []string{o.(*placementv1beta1.ClusterStagedUpdateRun).Spec.PlacementName}
	}); err != nil {
		return err
	}
	r := &Reconciler{Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), Clock: opts.Clock}
	byPlacement := func(name func(client.Object) string) handler.EventHandler {
		return handler.EnqueueRequestsFromMapFunc(func(ctx context.Context, o client.Object) []reconcile.Request {
			return r.runsOf(ctx, name(o))
		})
	}
	tracked := func(o client.Object) string { return o.GetLabels()[placementv1beta1.CRPTrackingLabel] }
	return ctrl.NewControllerManagedBy(mgr).
		Named("stagedupdaterun").
		For(&placementv1beta1.ClusterStagedUpdateRun{}).
		Watches(&placementv1beta1.ClusterApprovalRequest{}, controllerdefaults.EnqueueByLabel(placementv1beta1.TargetUpdateRunLabel)).
		Watches(&placementv1beta1.ClusterResourceBinding{}, byPlacement(tracked)).
		Watches(&placementv1beta1.ClusterResourcePlacement{}, byPlacement(client.Object.GetName)).
		Watches(&placementv1beta1.ClusterSchedulingPolicySnapshot{}, byPlacement(tracked)).
		Watches(&placementv1beta1.ClusterResourceSnapshot{}, byPlacement(tracked)).
		Watches(&placementv1beta1.ClusterStagedUpdateStrategy{}, handler.EnqueueRequestsFromMapFunc(r.runsOfStrategy)).
		WithOptions(controllerdefaults.Options(2)).
		Complete(r)
}

func (r *Reconciler) runsOf(ctx context.Context, placement string) []reconcile.Request {
	if placement == "" {
		return nil
	}
	var runs placementv1beta1.ClusterStagedUpdateRunList
	if err := r.Client.List(ctx, &runs, client.MatchingFields{placementIndex: placement}); err != nil {
		return nil
	}
	out := make([]reconcile.Request, 0, len(runs.Items))
	for i := range runs.Items {
		out = append(out, reconcile.Request{NamespacedName: types.NamespacedName{Name: runs.Items[i].Name}})
	}
	return out
}

// runsOfStrategy wakes the runs not yet initialized that name the strategy: the others
// follow their copy of it.
func (r *Reconciler) runsOfStrategy(ctx context.Context, o client.Object) []reconcile.Request {
	var runs placementv1beta1.ClusterStagedUpdateRunList
	if err := r.Client.List(ctx, &runs); err != nil {
		return nil
	}
	var out []reconcile.Request
	for i := range runs.Items {
		run := &runs.Items[i]
		if run.Spec.StagedUpdateStrategyName == o.GetName() && !meta.IsStatusConditionTrue(run.Status.Conditions, placementv1beta1.UpdateRunInitializedConditionType) {
			out = append(out, reconcile.Request{NamespacedName: types.NamespacedName{Name: run.Name}})
		}
	}
	return out
}

// Reconcile takes one step of a run.
func (r *Reconciler) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	run := &placementv1beta1.ClusterStagedUpdateRun{}
	if err := r.Client.Get(ctx, req.NamespacedName, run); err != nil {
		return reconcile.Result{}, client.IgnoreNotFound(err)
	}
	if run.DeletionTimestamp != nil {
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
		if err := r.accept(ctx, name); err != nil {
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
	if !equality.Semantic.DeepEqual(run.Status, plan.Status) {
		run.Status = plan.Status
		if err := r.Client.Status().Update(ctx, run); err != nil {
			return reconcile.Result{}, err
		}
	}
	return reconcile.Result{RequeueAfter: plan.RequeueAfter}, nil
}

// facts reads what one step needs. Bindings are returned by target cluster too, for the writes.
func (r *Reconciler) facts(ctx context.Context, run *placementv1beta1.ClusterStagedUpdateRun) (Facts, map[string]placementv1beta1.BindingObj, error) {
	f := Facts{Now: r.now(), MemberLabels: map[string]map[string]string{}, Bindings: map[string]*Binding{}, Approvals: map[string]Approval{}}
	name := run.Spec.PlacementName
	key := scope.Key{Name: name}
	crp := &placementv1beta1.ClusterResourcePlacement{}
	switch err := r.Client.Get(ctx, types.NamespacedName{Name: name}, crp); {
	case apierrors.IsNotFound(err):
		crp = nil
	case err != nil:
		return f, nil, err
	}
	f.Placement = crp
	initialized := meta.IsStatusConditionTrue(run.Status.Conditions, placementv1beta1.UpdateRunInitializedConditionType)
	if !initialized {
		s := &placementv1beta1.ClusterStagedUpdateStrategy{}
		switch err := r.Client.Get(ctx, types.NamespacedName{Name: run.Spec.StagedUpdateStrategyName}, s); {
		case apierrors.IsNotFound(err):
		case err != nil:
			return f, nil, err
		default:
			f.Strategy = &s.Spec
		}
		policy, err := snapshot.LatestPolicySnapshot(ctx, r.Client, key)
		if err != nil {
			return f, nil, err
		}
		if policy != nil {
			f.PolicySnapshotIndex = strconv.Itoa(snapshot.Index(policy, placementv1beta1.PolicyIndexLabel))
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
	var approvals placementv1beta1.ClusterApprovalRequestList
	if err := r.Client.List(ctx, &approvals, client.MatchingLabels{placementv1beta1.TargetUpdateRunLabel: run.Name}); err != nil {
		return f, nil, err
	}
	for i := range approvals.Items {
		a := &approvals.Items[i]
		if a.Spec.TargetUpdateRun != run.Name {
			continue // not this run's, whatever its label says
		}
		f.Approvals[a.Name] = Approval{Approved: meta.IsStatusConditionTrue(a.Status.Conditions, placementv1beta1.ApprovalRequestApprovedConditionType)}
	}
	return f, bindings, nil
}

// resourceSnapshot finds the master snapshot of the run's index: the one it recorded once
// initialized, else the one its spec names, else the latest. why says what is missing.
func (r *Reconciler) resourceSnapshot(ctx context.Context, run *placementv1beta1.ClusterStagedUpdateRun, initialized bool) (placementv1beta1.ResourceSnapshotObj, string, string, error) {
	name := run.Spec.PlacementName
	key := scope.Key{Name: name}
	index := run.Spec.ResourceSnapshotIndex
	if initialized {
		index = run.Status.ResourceSnapshotIndexUsed
	}
	if index == "" {
		latest, err := snapshot.LatestResourceSnapshot(ctx, r.Client, key)
		if err != nil || latest == nil {
			return nil, "", fmt.Sprintf("ClusterResourcePlacement %q has no resource snapshot yet", name), err
		}
		return latest, strconv.Itoa(snapshot.Index(latest, placementv1beta1.ResourceIndexLabel)), "", nil
	}
	i, err := strconv.Atoi(index)
	if err != nil || i < 0 {
		return nil, index, fmt.Sprintf("spec.resourceSnapshotIndex %q is not a resource snapshot index (a number, from 0): create a run with the index of a snapshot that `kubectl get clusterresourcesnapshots -l %s=%s --show-labels` lists",
			index, placementv1beta1.CRPTrackingLabel, name), nil
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
	return nil, index, fmt.Sprintf("ClusterResourcePlacement %q has no resource snapshot of index %s: `kubectl get clusterresourcesnapshots -l %s=%s --show-labels` lists those there are (older ones are removed past the placement's revisionHistoryLimit)",
		name, index, placementv1beta1.CRPTrackingLabel, name), nil
}

func (r *Reconciler) ensureApproval(ctx context.Context, run *placementv1beta1.ClusterStagedUpdateRun, a ApprovalToEnsure) error {
	ar := &placementv1beta1.ClusterApprovalRequest{
		ObjectMeta: metav1.ObjectMeta{Name: a.Name, Labels: map[string]string{
			placementv1beta1.TargetUpdateRunLabel:           run.Name,
			placementv1beta1.TargetUpdatingStageNameLabel:   a.Stage,
			placementv1beta1.TaskTypeLabel:                  a.TaskType,
			placementv1beta1.IsLatestUpdateRunApprovalLabel: "true",
		}, OwnerReferences: []metav1.OwnerReference{{APIVersion: placementv1beta1.GroupVersion.String(), Kind: "ClusterStagedUpdateRun",
			Name: run.Name, UID: run.UID, Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(true)}}},
		Spec: placementv1beta1.ApprovalRequestSpec{TargetUpdateRun: run.Name, TargetStage: a.Stage},
	}
	if err := r.Client.Create(ctx, ar); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating ClusterApprovalRequest %s: %w", a.Name, err)
	}
	return nil
}

// accept records on an approval request that the run has taken its approval in.
func (r *Reconciler) accept(ctx context.Context, name string) error {
	ar := &placementv1beta1.ClusterApprovalRequest{}
	if err := r.Client.Get(ctx, types.NamespacedName{Name: name}, ar); err != nil {
		return client.IgnoreNotFound(err)
	}
	if meta.IsStatusConditionTrue(ar.Status.Conditions, placementv1beta1.ApprovalRequestApprovalAcceptedConditionType) {
		return nil
	}
	meta.SetStatusCondition(&ar.Status.Conditions, metav1.Condition{Type: placementv1beta1.ApprovalRequestApprovalAcceptedConditionType,
		Status: metav1.ConditionTrue, Reason: placementv1beta1.ApprovalRequestApprovalAcceptedReason, ObservedGeneration: ar.Generation,
		Message: "the update run has seen the approval and goes on"})
	return client.IgnoreNotFound(r.Client.Status().Update(ctx, ar))
}

func (r *Reconciler) now() time.Time {
	if r.Clock == nil {
		return time.Now()
	}
	return r.Clock.Now()
}
