// Package networking is the hub's multi-cluster services controller. For each exported
// service (namespace/name) it resolves the fleet-wide import from the members'
// InternalServiceExports with the rules of KEP-1645 (resolve.go), reports Conflict and
// Ready on each export, decides which MultiClusterService in the fleet holds the import,
// and hands the import to every member as an InternalServiceImport in its hub namespace.
// It also keeps a ServiceImport in the service's namespace on the hub, when the hub has
// that namespace. When no export remains, every import of the service is deleted.
package networking

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	mcsv1beta1 "sigs.k8s.io/mcs-api/pkg/apis/v1beta1"

	clusterv1beta1 "github.com/flotilla-dev/flotilla/api/cluster/v1beta1"
	networkingv1alpha1 "github.com/flotilla-dev/flotilla/api/networking/v1alpha1"
	networkingac "github.com/flotilla-dev/flotilla/api/networking/v1alpha1/applyconfiguration/networking/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/controllerdefaults"
)

// serviceKeyIndex indexes the internal exports and imports by <namespace>/<name> of their service.
const serviceKeyIndex = "networking.flotilla.dev/service"

// Reconciler resolves the imports of exported services.
type Reconciler struct {
	Client client.Client
	// APIReader reads what the manager does not cache: namespaces in general.
	APIReader client.Reader
}

// Options configure the hub networking controller; it has none yet.
type Options struct{}

// Setup registers the hub networking controller with mgr.
func Setup(mgr manager.Manager, _ Options) error {
	return (&Reconciler{Client: mgr.GetClient(), APIReader: mgr.GetAPIReader()}).register(mgr)
}

func (r *Reconciler) register(mgr manager.Manager) error {
	ctx := context.Background()
	if err := mgr.GetFieldIndexer().IndexField(ctx, &networkingv1alpha1.InternalServiceExport{}, serviceKeyIndex, func(o client.Object) []string {
		e := o.(*networkingv1alpha1.InternalServiceExport)
		return []string{e.Spec.ServiceNamespace + "/" + e.Spec.ServiceName}
	}); err != nil {
		return err
	}
	if err := mgr.GetFieldIndexer().IndexField(ctx, &networkingv1alpha1.InternalServiceImport{}, serviceKeyIndex, func(o client.Object) []string {
		i := o.(*networkingv1alpha1.InternalServiceImport)
		return []string{i.Spec.ServiceNamespace + "/" + i.Spec.ServiceName}
	}); err != nil {
		return err
	}
	byName := func(_ context.Context, o client.Object) []reconcile.Request {
		ns, name, ok := networkingv1alpha1.SplitInternalName(o.GetName())
		if !ok {
			return nil
		}
		return []reconcile.Request{{NamespacedName: types.NamespacedName{Namespace: ns, Name: name}}}
	}
	// A member joining or leaving changes who gets every import.
	everyService := func(ctx context.Context, _ client.Object) []reconcile.Request {
		var list networkingv1alpha1.InternalServiceExportList
		if err := r.Client.List(ctx, &list); err != nil {
			return nil
		}
		seen := map[types.NamespacedName]bool{}
		var reqs []reconcile.Request
		for _, e := range list.Items {
			key := types.NamespacedName{Namespace: e.Spec.ServiceNamespace, Name: e.Spec.ServiceName}
			if !seen[key] {
				seen[key] = true
				reqs = append(reqs, reconcile.Request{NamespacedName: key})
			}
		}
		return reqs
	}
	return builder.ControllerManagedBy(mgr).
		Named("networking").
		Watches(&networkingv1alpha1.InternalServiceExport{}, handler.EnqueueRequestsFromMapFunc(byName)).
		Watches(&networkingv1alpha1.InternalServiceImport{}, handler.EnqueueRequestsFromMapFunc(byName)).
		Watches(&clusterv1beta1.MemberCluster{}, handler.EnqueueRequestsFromMapFunc(everyService), builder.WithPredicates(membershipChanged)).
		WithOptions(controllerdefaults.Options(0)).
		Complete(r)
}

// membershipChanged passes MemberCluster events that change who gets imports: a member
// appearing, going, starting to leave, or becoming ready to join. Heartbeats do not pass.
var membershipChanged = predicate.Funcs{
	UpdateFunc: func(e event.UpdateEvent) bool {
		o, n := e.ObjectOld.(*clusterv1beta1.MemberCluster), e.ObjectNew.(*clusterv1beta1.MemberCluster)
		return (o.DeletionTimestamp == nil) != (n.DeletionTimestamp == nil) ||
			meta.IsStatusConditionTrue(o.Status.Conditions, clusterv1beta1.ConditionReadyToJoin) !=
				meta.IsStatusConditionTrue(n.Status.Conditions, clusterv1beta1.ConditionReadyToJoin)
	},
}

// Reconcile resolves one service (req is its namespace and name).
func (r *Reconciler) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	members, err := r.members(ctx)
	if err != nil {
		return reconcile.Result{}, err
	}
	key := req.Namespace + "/" + req.Name
	var exportList networkingv1alpha1.InternalServiceExportList
	if err := r.Client.List(ctx, &exportList, client.MatchingFields{serviceKeyIndex: key}); err != nil {
		return reconcile.Result{}, err
	}
	var importList networkingv1alpha1.InternalServiceImportList
	if err := r.Client.List(ctx, &importList, client.MatchingFields{serviceKeyIndex: key}); err != nil {
		return reconcile.Result{}, err
	}

	// Only exports of current members, from their own namespace, count.
	var exports []*networkingv1alpha1.InternalServiceExport
	var specs []networkingv1alpha1.InternalServiceExportSpec
	for i := range exportList.Items {
		e := &exportList.Items[i]
		if e.DeletionTimestamp != nil || !members[e.Spec.Cluster] || e.Namespace != clusterv1beta1.NamespaceForMember(e.Spec.Cluster) {
			continue
		}
		exports = append(exports, e)
		specs = append(specs, e.Spec)
	}
	if len(exports) == 0 {
		return reconcile.Result{}, r.deleteImports(ctx, req.NamespacedName, importList.Items)
	}

	res := Resolve(specs)
	res.Import.LoadBalancer = holder(importList.Items)
	var errs []error
	for _, e := range exports {
		errs = append(errs, r.reportOnExport(ctx, e, res, len(members)))
	}
	have := map[string]*networkingv1alpha1.InternalServiceImport{}
	for i := range importList.Items {
		have[importList.Items[i].Namespace] = &importList.Items[i]
	}
	for m := range members {
		ns := clusterv1beta1.NamespaceForMember(m)
		errs = append(errs, r.writeImport(ctx, ns, req.NamespacedName, have[ns], res.Import))
		delete(have, ns)
	}
	for _, stale := range have {
		errs = append(errs, client.IgnoreNotFound(r.Client.Delete(ctx, stale)))
	}
	errs = append(errs, r.writeHubServiceImport(ctx, req.NamespacedName, res))
	return reconcile.Result{}, errors.Join(errs...)
}

// members returns the members that have a hub namespace and are not leaving.
func (r *Reconciler) members(ctx context.Context) (map[string]bool, error) {
	var list clusterv1beta1.MemberClusterList
	if err := r.Client.List(ctx, &list); err != nil {
		return nil, err
	}
	out := map[string]bool{}
	for _, mc := range list.Items {
		if mc.DeletionTimestamp == nil && meta.IsStatusConditionTrue(mc.Status.Conditions, clusterv1beta1.ConditionReadyToJoin) {
			out[mc.Name] = true
		}
	}
	return out, nil
}

// holder decides which MultiClusterService holds the import: the current holder while it
// still claims it, else the oldest claim (the member name breaks ties).
func holder(imports []networkingv1alpha1.InternalServiceImport) *networkingv1alpha1.MultiClusterServiceHolder {
	type claim struct {
		networkingv1alpha1.MultiClusterServiceHolder
		since time.Time
	}
	var claims []claim
	var current *networkingv1alpha1.MultiClusterServiceHolder
	for _, imp := range imports {
		if imp.Spec.LoadBalancer != nil {
			current = imp.Spec.LoadBalancer
		}
		c := imp.Status.MultiClusterService
		if c == nil || imp.DeletionTimestamp != nil {
			continue
		}
		claims = append(claims, claim{networkingv1alpha1.MultiClusterServiceHolder{
			Cluster: strings.TrimPrefix(imp.Namespace, clusterv1beta1.NamespacePrefix), Name: c.Name,
		}, c.Since.Time})
	}
	for _, c := range claims {
		if current != nil && c.MultiClusterServiceHolder == *current {
			return current.DeepCopy()
		}
	}
	if len(claims) == 0 {
		return nil
	}
	sort.Slice(claims, func(i, j int) bool {
		if !claims[i].since.Equal(claims[j].since) {
			return claims[i].since.Before(claims[j].since)
		}
		return claims[i].Cluster < claims[j].Cluster
	})
	return &claims[0].MultiClusterServiceHolder
}

// reportOnExport writes Conflict and Ready on an export.
func (r *Reconciler) reportOnExport(ctx context.Context, e *networkingv1alpha1.InternalServiceExport, res Resolution, importers int) error {
	before := e.DeepCopy()
	conflict := metav1.Condition{
		Type: string(mcsv1beta1.ServiceExportConditionConflict), Status: metav1.ConditionFalse,
		Reason: string(mcsv1beta1.ServiceExportReasonNoConflicts), ObservedGeneration: e.Generation,
		Message: "this export agrees with every other export of the service",
	}
	if c, ok := res.Conflicts[e.Spec.Cluster]; ok {
		conflict.Status, conflict.Reason, conflict.Message = metav1.ConditionTrue, c.Reason(), c.Message
	}
	meta.SetStatusCondition(&e.Status.Conditions, conflict)
	ready := metav1.Condition{
		Type: string(mcsv1beta1.ServiceExportConditionReady), Status: metav1.ConditionTrue,
		Reason: string(mcsv1beta1.ServiceExportReasonReady), ObservedGeneration: e.Generation,
		Message: fmt.Sprintf("the service is imported by the %d members of the fleet", importers),
	}
	switch {
	case res.Excluded[e.Spec.Cluster]:
		ready.Status, ready.Reason = metav1.ConditionFalse, string(mcsv1beta1.ServiceExportReasonFailed)
		ready.Message = "this export conflicts with the oldest export, so its endpoints are not part of the import; see the Conflict condition"
	case e.Spec.Weight == 0:
		ready.Message += "; weight 0, so this cluster's endpoints are withdrawn"
	}
	meta.SetStatusCondition(&e.Status.Conditions, ready)
	if equality.Semantic.DeepEqual(before.Status, e.Status) {
		return nil
	}
	return client.IgnoreNotFound(r.Client.Status().Patch(ctx, e, client.MergeFrom(before)))
}

// fieldOwner is the field manager of the objects this controller applies.
const fieldOwner = "flotilla-networking"

// writeImport applies a member's InternalServiceImport when the cache shows it differs: at
// thousands of members, an apply that changes nothing still costs a request.
func (r *Reconciler) writeImport(ctx context.Context, ns string, svc types.NamespacedName, existing *networkingv1alpha1.InternalServiceImport, spec networkingv1alpha1.InternalServiceImportSpec) error {
	if existing != nil && equality.Semantic.DeepEqual(existing.Spec, spec) {
		return nil
	}
	ac, err := controllerdefaults.Convert[networkingac.InternalServiceImportSpecApplyConfiguration](spec)
	if err != nil {
		return err
	}
	err = controllerdefaults.Apply(ctx, r.Client, fieldOwner,
		networkingac.InternalServiceImport(networkingv1alpha1.InternalName(svc.Namespace, svc.Name), ns).WithSpec(ac), nil)
	if apierrors.IsNotFound(err) {
		// The member's namespace is going; the watch brings us back.
		return nil
	}
	return err
}

func (r *Reconciler) deleteImports(ctx context.Context, svc types.NamespacedName, imports []networkingv1alpha1.InternalServiceImport) error {
	var errs []error
	for i := range imports {
		errs = append(errs, client.IgnoreNotFound(r.Client.Delete(ctx, &imports[i])))
	}
	si := &mcsv1beta1.ServiceImport{}
	err := r.Client.Get(ctx, svc, si)
	if err == nil && si.Labels[networkingv1alpha1.ManagedByLabel] == networkingv1alpha1.ManagedBy {
		errs = append(errs, client.IgnoreNotFound(r.Client.Delete(ctx, si)))
	} else if err != nil && !apierrors.IsNotFound(err) && !meta.IsNoMatchError(err) {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// writeHubServiceImport keeps the fleet-wide ServiceImport in the service's namespace on the
// hub, for users and tools that read the hub. It needs the namespace there; Flotilla does
// not create namespaces on the hub for it.
func (r *Reconciler) writeHubServiceImport(ctx context.Context, svc types.NamespacedName, res Resolution) error {
	ns := &corev1.Namespace{}
	if err := r.APIReader.Get(ctx, client.ObjectKey{Name: svc.Namespace}, ns); err != nil || ns.DeletionTimestamp != nil {
		return client.IgnoreNotFound(err)
	}
	want := mcsv1beta1.ServiceImportSpec{
		Ports: res.Import.Ports, Type: res.Import.Type, SessionAffinity: res.Import.SessionAffinity,
		SessionAffinityConfig: res.Import.SessionAffinityConfig, IPFamilies: res.Import.IPFamilies,
		InternalTrafficPolicy: res.Import.InternalTrafficPolicy, TrafficDistribution: res.Import.TrafficDistribution,
	}
	si := &mcsv1beta1.ServiceImport{}
	err := r.Client.Get(ctx, svc, si)
	switch {
	case err != nil && !apierrors.IsNotFound(err):
		return err
	case err == nil && si.Labels[networkingv1alpha1.ManagedByLabel] != networkingv1alpha1.ManagedBy:
		// Someone else's ServiceImport: leave it alone.
		return nil
	case err != nil || !equality.Semantic.DeepEqual(si.Spec, want):
		applied := &mcsv1beta1.ServiceImport{
			TypeMeta: metav1.TypeMeta{APIVersion: mcsv1beta1.GroupVersion.String(), Kind: "ServiceImport"},
			ObjectMeta: metav1.ObjectMeta{Namespace: svc.Namespace, Name: svc.Name,
				Labels: map[string]string{networkingv1alpha1.ManagedByLabel: networkingv1alpha1.ManagedBy}},
			Spec: want,
		}
		if err := controllerdefaults.ApplyObject(ctx, r.Client, fieldOwner, applied); err != nil {
			return err
		}
		applied.Status = si.Status
		si = applied
	}
	before := si.DeepCopy()
	si.Status.Clusters = nil
	for _, c := range res.Import.Clusters {
		si.Status.Clusters = append(si.Status.Clusters, mcsv1beta1.ClusterStatus{Cluster: c})
	}
	if equality.Semantic.DeepEqual(before.Status, si.Status) {
		return nil
	}
	return r.Client.Status().Patch(ctx, si, client.MergeFrom(before))
}
