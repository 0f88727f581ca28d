// Package serviceexport is the export side of the member agent's multi-cluster services.
// For each ServiceExport on the member it validates the Service of the same name, writes
// the export (the Service's properties and ready endpoints) to the hub as an
// InternalServiceExport in fleet-member-<name>, and copies the hub's verdict (Conflict and
// Ready) back onto the ServiceExport. A finalizer withdraws the hub side before the
// ServiceExport goes, without ever hanging the deletion for good.
package serviceexport

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/cluster"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"
	mcsv1beta1 "sigs.k8s.io/mcs-api/pkg/apis/v1beta1"

	clusterv1beta1 "github.com/flotilla-dev/flotilla/api/cluster/v1beta1"
	networkingv1alpha1 "github.com/flotilla-dev/flotilla/api/networking/v1alpha1"
	networkingac "github.com/flotilla-dev/flotilla/api/networking/v1alpha1/applyconfiguration/networking/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/controllerdefaults"
)

// DefaultWithdrawTimeout bounds how long a deleted ServiceExport waits for the hub to
// accept the withdrawal before its finalizer is removed anyway.
const DefaultWithdrawTimeout = 2 * time.Minute

// ReasonInvalidWeight is the Valid=False reason for a bad weight annotation. mcs-api has no
// reason for it; the message names the annotation.
const ReasonInvalidWeight = "InvalidWeight"

// Reconciler exports the member's ServiceExports to the hub.
type Reconciler struct {
	// Hub reads and writes InternalServiceExports in HubNamespace.
	Hub          client.Client
	HubNamespace string
	// Member is the member cluster.
	Member cluster.Cluster
	// MemberName is this member's name.
	MemberName string
	// WithdrawTimeout bounds the wait for the hub on deletion; zero means the default.
	WithdrawTimeout time.Duration
}

// Options configure the serviceexport controller.
type Options struct {
	// Member is the member cluster (client and cache), added to the manager.
	Member cluster.Cluster
	// MemberName is this member's name; its hub namespace is fleet-member-<name>.
	MemberName string
	// WithdrawTimeout is how long a deleted export waits for the hub; 0 means the default.
	WithdrawTimeout time.Duration
}

// Setup registers the serviceexport controller with the agent's hub manager.
func Setup(mgr manager.Manager, opts Options) error {
	return (&Reconciler{Hub: mgr.GetClient(), HubNamespace: clusterv1beta1.NamespaceForMember(opts.MemberName),
		Member: opts.Member, MemberName: opts.MemberName, WithdrawTimeout: opts.WithdrawTimeout}).register(mgr)
}

// register registers the controller: ServiceExports, Services and EndpointSlices
// on the member trigger it, and so do the InternalServiceExports the hub answers on.
func (r *Reconciler) register(mgr manager.Manager) error {
	byName := func(_ context.Context, o client.Object) []reconcile.Request {
		return []reconcile.Request{{NamespacedName: types.NamespacedName{Namespace: o.GetNamespace(), Name: o.GetName()}}}
	}
	bySliceService := func(_ context.Context, o client.Object) []reconcile.Request {
		svc := o.GetLabels()[discoveryv1.LabelServiceName]
		if svc == "" || o.GetLabels()[discoveryv1.LabelManagedBy] == networkingv1alpha1.ManagedBy {
			return nil
		}
		return []reconcile.Request{{NamespacedName: types.NamespacedName{Namespace: o.GetNamespace(), Name: svc}}}
	}
	byExport := func(_ context.Context, o client.Object) []reconcile.Request {
		ns, name, ok := networkingv1alpha1.SplitInternalName(o.GetName())
		if !ok {
			return nil
		}
		return []reconcile.Request{{NamespacedName: types.NamespacedName{Namespace: ns, Name: name}}}
	}
	return builder.ControllerManagedBy(mgr).
		Named("serviceexport").
		WatchesRawSource(source.Kind(r.Member.GetCache(), client.Object(&mcsv1beta1.ServiceExport{}), handler.EnqueueRequestsFromMapFunc(byName))).
		WatchesRawSource(source.Kind(r.Member.GetCache(), client.Object(&corev1.Service{}), handler.EnqueueRequestsFromMapFunc(byName))).
		WatchesRawSource(source.Kind(r.Member.GetCache(), client.Object(&discoveryv1.EndpointSlice{}), handler.EnqueueRequestsFromMapFunc(bySliceService))).
		Watches(&networkingv1alpha1.InternalServiceExport{}, handler.EnqueueRequestsFromMapFunc(byExport)).
		WithOptions(controllerdefaults.Options(0)).
		Complete(r)
}

// Reconcile brings the hub side of one ServiceExport in line with the member.
func (r *Reconciler) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	member := r.Member.GetClient()
	se := &mcsv1beta1.ServiceExport{}
	if err := member.Get(ctx, req.NamespacedName, se); err != nil {
		if !apierrors.IsNotFound(err) {
			return reconcile.Result{}, err
		}
		// No ServiceExport: nothing of this service may stay exported.
		_, err := r.withdraw(ctx, req.NamespacedName)
		return reconcile.Result{}, err
	}
	if se.DeletionTimestamp != nil {
		return r.finalize(ctx, se)
	}
	if !controllerutil.ContainsFinalizer(se, networkingv1alpha1.ServiceExportFinalizer) {
		controllerutil.AddFinalizer(se, networkingv1alpha1.ServiceExportFinalizer)
		if err := member.Update(ctx, se); err != nil {
			return reconcile.Result{}, err
		}
	}

	before := se.DeepCopy()
	svc := &corev1.Service{}
	err := member.Get(ctx, req.NamespacedName, svc)
	switch {
	case apierrors.IsNotFound(err) || (err == nil && svc.DeletionTimestamp != nil):
		if _, err := r.withdraw(ctx, req.NamespacedName); err != nil {
			return reconcile.Result{}, err
		}
		setInvalid(se, mcsv1beta1.ServiceExportReasonNoService,
			fmt.Sprintf("there is no Service %s in namespace %s: create it, or delete this ServiceExport", se.Name, se.Namespace))
		return reconcile.Result{}, r.writeStatus(ctx, before, se)
	case err != nil:
		return reconcile.Result{}, err
	case svc.Spec.Type == corev1.ServiceTypeExternalName:
		if _, err := r.withdraw(ctx, req.NamespacedName); err != nil {
			return reconcile.Result{}, err
		}
		setInvalid(se, mcsv1beta1.ServiceExportReasonInvalidServiceType,
			fmt.Sprintf("Service %s has type ExternalName, which cannot be exported; only ClusterIP and headless Services can", svc.Name))
		return reconcile.Result{}, r.writeStatus(ctx, before, se)
	}
	weight, werr := ParseWeight(se.Annotations)
	if werr != nil {
		// The earlier export, if any, stays as it was until the annotation is fixed.
		setInvalid(se, ReasonInvalidWeight, werr.Error())
		return reconcile.Result{}, r.writeStatus(ctx, before, se)
	}

	slices := &discoveryv1.EndpointSliceList{}
	if err := member.List(ctx, slices, client.InNamespace(svc.Namespace), client.MatchingLabels{discoveryv1.LabelServiceName: svc.Name}); err != nil {
		return reconcile.Result{}, err
	}
	spec := BuildExport(r.MemberName, se, svc, slices.Items, weight)
	ise, err := r.write(ctx, spec)
	if err != nil {
		return reconcile.Result{}, err
	}
	meta.SetStatusCondition(&se.Status.Conditions, metav1.Condition{
		Type: string(mcsv1beta1.ServiceExportConditionValid), Status: metav1.ConditionTrue,
		Reason: string(mcsv1beta1.ServiceExportReasonValid), ObservedGeneration: se.Generation,
		Message: fmt.Sprintf("Service %s is exported to the fleet with weight %d", svc.Name, weight),
	})
	copyHubConditions(se, ise)
	return reconcile.Result{}, r.writeStatus(ctx, before, se)
}

// fieldOwner is the field manager of the InternalServiceExports this controller applies.
const fieldOwner = "flotilla-serviceexport"

// write applies the InternalServiceExport with spec, when the hub's copy differs, and returns
// it.
func (r *Reconciler) write(ctx context.Context, spec networkingv1alpha1.InternalServiceExportSpec) (*networkingv1alpha1.InternalServiceExport, error) {
	key := client.ObjectKey{Namespace: r.HubNamespace, Name: networkingv1alpha1.InternalName(spec.ServiceNamespace, spec.ServiceName)}
	ise := &networkingv1alpha1.InternalServiceExport{}
	err := r.Hub.Get(ctx, key, ise)
	if err != nil && !apierrors.IsNotFound(err) {
		return nil, err
	}
	if err == nil && equality.Semantic.DeepEqual(ise.Spec, spec) {
		return ise, nil
	}
	ac, err := controllerdefaults.Convert[networkingac.InternalServiceExportSpecApplyConfiguration](spec)
	if err != nil {
		return nil, err
	}
	if err := controllerdefaults.Apply(ctx, r.Hub, fieldOwner, networkingac.InternalServiceExport(key.Name, key.Namespace).WithSpec(ac), ise); err != nil {
		return nil, fmt.Errorf("writing the export to the hub: %w", err)
	}
	return ise, nil
}

// withdraw deletes the hub side of a service's export. It reports true once nothing is
// left: also when the hub namespace or the networking API is gone, or the agent lost its
// rights there, since the hub then dropped the export with them.
func (r *Reconciler) withdraw(ctx context.Context, key types.NamespacedName) (bool, error) {
	ise := &networkingv1alpha1.InternalServiceExport{ObjectMeta: metav1.ObjectMeta{
		Namespace: r.HubNamespace, Name: networkingv1alpha1.InternalName(key.Namespace, key.Name),
	}}
	err := r.Hub.Delete(ctx, ise)
	if err == nil || apierrors.IsNotFound(err) || apierrors.IsForbidden(err) || meta.IsNoMatchError(err) {
		return true, nil
	}
	return false, fmt.Errorf("withdrawing the export of %s from the hub: %w", key, err)
}

// finalize withdraws the export and releases the ServiceExport. When the hub does not
// answer, it retries with backoff, but only for WithdrawTimeout: after that the finalizer
// is removed anyway, so deleting a ServiceExport never hangs for good. The hub drops a stale
// export when the member leaves; until then its endpoints stay listed.
func (r *Reconciler) finalize(ctx context.Context, se *mcsv1beta1.ServiceExport) (reconcile.Result, error) {
	if !controllerutil.ContainsFinalizer(se, networkingv1alpha1.ServiceExportFinalizer) {
		return reconcile.Result{}, nil
	}
	done, err := r.withdraw(ctx, client.ObjectKeyFromObject(se))
	if !done {
		timeout := r.WithdrawTimeout
		if timeout <= 0 {
			timeout = DefaultWithdrawTimeout
		}
		if time.Since(se.DeletionTimestamp.Time) < timeout {
			return reconcile.Result{}, err
		}
		log.FromContext(ctx).Error(err, "the hub did not accept the withdrawal in time; releasing the ServiceExport anyway",
			"timeout", timeout)
	}
	controllerutil.RemoveFinalizer(se, networkingv1alpha1.ServiceExportFinalizer)
	return reconcile.Result{}, client.IgnoreNotFound(r.Member.GetClient().Update(ctx, se))
}

func (r *Reconciler) writeStatus(ctx context.Context, before, se *mcsv1beta1.ServiceExport) error {
	if equality.Semantic.DeepEqual(before.Status, se.Status) {
		return nil
	}
	return r.Member.GetClient().Status().Patch(ctx, se, client.MergeFrom(before))
}

func setInvalid(se *mcsv1beta1.ServiceExport, reason mcsv1beta1.ServiceExportConditionReason, msg string) {
	meta.SetStatusCondition(&se.Status.Conditions, metav1.Condition{
		Type: string(mcsv1beta1.ServiceExportConditionValid), Status: metav1.ConditionFalse,
		Reason: string(reason), Message: msg, ObservedGeneration: se.Generation,
	})
	if reason != ReasonInvalidWeight {
		// Nothing is exported any more: no Ready, no Conflict to report.
		meta.SetStatusCondition(&se.Status.Conditions, metav1.Condition{
			Type: string(mcsv1beta1.ServiceExportConditionReady), Status: metav1.ConditionFalse,
			Reason: string(mcsv1beta1.ServiceExportReasonFailed), ObservedGeneration: se.Generation,
			Message: "the export is invalid, so nothing is exported: " + msg,
		})
		meta.RemoveStatusCondition(&se.Status.Conditions, string(mcsv1beta1.ServiceExportConditionConflict))
	}
}

// copyHubConditions copies Conflict and Ready from the hub's InternalServiceExport.
func copyHubConditions(se *mcsv1beta1.ServiceExport, ise *networkingv1alpha1.InternalServiceExport) {
	for _, t := range []mcsv1beta1.ServiceExportConditionType{mcsv1beta1.ServiceExportConditionConflict, mcsv1beta1.ServiceExportConditionReady} {
		if c := meta.FindStatusCondition(ise.Status.Conditions, string(t)); c != nil {
			meta.SetStatusCondition(&se.Status.Conditions, metav1.Condition{
				Type: c.Type, Status: c.Status, Reason: c.Reason, Message: c.Message, ObservedGeneration: se.Generation,
			})
			continue
		}
		if t == mcsv1beta1.ServiceExportConditionReady {
			meta.SetStatusCondition(&se.Status.Conditions, metav1.Condition{
				Type: string(t), Status: metav1.ConditionUnknown, Reason: string(mcsv1beta1.ServiceExportReasonPending),
				ObservedGeneration: se.Generation, Message: "the export was written to the hub, which has not resolved it yet",
			})
		}
	}
}
