// Package serviceimport is the import side of the member agent's multi-cluster services.
// For each InternalServiceImport the hub hands this member, it keeps, in the service's
// namespace on the member (when the member has that namespace):
//   - the ServiceImport, with the clusters, ports, type and clusterset IP;
//   - the derived Service, selectorless, whose ClusterIP is the clusterset IP. It is type
//     LoadBalancer while a MultiClusterService on this member holds the import;
//   - one set of EndpointSlices per source cluster.
//
// It also writes this member's MultiClusterService claim and the clusterset IP back to the
// hub. When the import goes, everything it made goes with it; it never touches an object
// it did not make.
package serviceimport

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"

	"maps"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	discoveryv1ac "k8s.io/client-go/applyconfigurations/discovery/v1"
	metav1ac "k8s.io/client-go/applyconfigurations/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/cluster"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"
	mcsv1beta1 "sigs.k8s.io/mcs-api/pkg/apis/v1beta1"

	clusterv1beta1 "github.com/flotilla-dev/flotilla/api/cluster/v1beta1"
	networkingv1alpha1 "github.com/flotilla-dev/flotilla/api/networking/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/controllerdefaults"
)

// Reasons of the Ready condition on an InternalServiceImport.
const (
	ReasonImported          = "Imported"
	ReasonNamespaceNotFound = "NamespaceNotFound"
	ReasonNameTaken         = "DerivedServiceNameTaken"
)

// Reconciler imports the hub's services into the member.
type Reconciler struct {
	Hub          client.Client
	HubNamespace string
	Member       cluster.Cluster
	MemberName   string
}

// Options configure the serviceimport controller.
type Options struct {
	// Member is the member cluster (client and cache), added to the manager.
	Member cluster.Cluster
	// MemberName is this member's name; its hub namespace is fleet-member-<name>.
	MemberName string
}

// Setup registers the serviceimport controller with the agent's hub manager.
func Setup(mgr manager.Manager, opts Options) error {
	return (&Reconciler{Hub: mgr.GetClient(), HubNamespace: clusterv1beta1.NamespaceForMember(opts.MemberName),
		Member: opts.Member, MemberName: opts.MemberName}).register(mgr)
}

// register registers the controller.
func (r *Reconciler) register(mgr manager.Manager) error {
	byInternalName := func(_ context.Context, o client.Object) []reconcile.Request {
		ns, name, ok := networkingv1alpha1.SplitInternalName(o.GetName())
		if !ok {
			return nil
		}
		return []reconcile.Request{{NamespacedName: types.NamespacedName{Namespace: ns, Name: name}}}
	}
	byName := func(_ context.Context, o client.Object) []reconcile.Request {
		return []reconcile.Request{{NamespacedName: types.NamespacedName{Namespace: o.GetNamespace(), Name: o.GetName()}}}
	}
	byDerived := func(_ context.Context, o client.Object) []reconcile.Request {
		if name := o.GetAnnotations()[networkingv1alpha1.DerivedServiceFor]; name != "" {
			return []reconcile.Request{{NamespacedName: types.NamespacedName{Namespace: o.GetNamespace(), Name: name}}}
		}
		return nil
	}
	bySlice := func(_ context.Context, o client.Object) []reconcile.Request {
		l := o.GetLabels()
		if l[discoveryv1.LabelManagedBy] != networkingv1alpha1.ManagedBy || l[mcsv1beta1.LabelServiceName] == "" {
			return nil
		}
		return []reconcile.Request{{NamespacedName: types.NamespacedName{Namespace: o.GetNamespace(), Name: l[mcsv1beta1.LabelServiceName]}}}
	}
	byMCS := func(_ context.Context, o client.Object) []reconcile.Request {
		m := o.(*networkingv1alpha1.MultiClusterService)
		return []reconcile.Request{{NamespacedName: types.NamespacedName{Namespace: m.Namespace, Name: m.Spec.ServiceImport.Name}}}
	}
	byNamespace := func(ctx context.Context, o client.Object) []reconcile.Request {
		var list networkingv1alpha1.InternalServiceImportList
		if err := r.Hub.List(ctx, &list, client.InNamespace(r.HubNamespace)); err != nil {
			return nil
		}
		var reqs []reconcile.Request
		for _, imp := range list.Items {
			if imp.Spec.ServiceNamespace == o.GetName() {
				reqs = append(reqs, reconcile.Request{NamespacedName: types.NamespacedName{Namespace: imp.Spec.ServiceNamespace, Name: imp.Spec.ServiceName}})
			}
		}
		return reqs
	}
	mc := r.Member.GetCache()
	return builder.ControllerManagedBy(mgr).
		Named("serviceimport").
		Watches(&networkingv1alpha1.InternalServiceImport{}, handler.EnqueueRequestsFromMapFunc(byInternalName)).
		WatchesRawSource(source.Kind(mc, client.Object(&mcsv1beta1.ServiceImport{}), handler.EnqueueRequestsFromMapFunc(byName))).
		WatchesRawSource(source.Kind(mc, client.Object(&corev1.Service{}), handler.EnqueueRequestsFromMapFunc(byDerived))).
		WatchesRawSource(source.Kind(mc, client.Object(&discoveryv1.EndpointSlice{}), handler.EnqueueRequestsFromMapFunc(bySlice))).
		WatchesRawSource(source.Kind(mc, client.Object(&networkingv1alpha1.MultiClusterService{}), handler.EnqueueRequestsFromMapFunc(byMCS))).
		WatchesRawSource(source.Kind(mc, client.Object(&corev1.Namespace{}), handler.EnqueueRequestsFromMapFunc(byNamespace))).
		WithOptions(controllerdefaults.Options(0)).
		Complete(r)
}

// Reconcile brings one import (req names the service) in line with the hub.
func (r *Reconciler) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	imp := &networkingv1alpha1.InternalServiceImport{}
	err := r.Hub.Get(ctx, client.ObjectKey{Namespace: r.HubNamespace, Name: networkingv1alpha1.InternalName(req.Namespace, req.Name)}, imp)
	if apierrors.IsNotFound(err) || (err == nil && imp.DeletionTimestamp != nil) {
		return reconcile.Result{}, r.cleanup(ctx, req.NamespacedName)
	}
	if err != nil {
		return reconcile.Result{}, err
	}
	before := imp.DeepCopy()
	ns := &corev1.Namespace{}
	if err := r.Member.GetClient().Get(ctx, client.ObjectKey{Name: req.Namespace}, ns); err != nil || ns.DeletionTimestamp != nil {
		if err != nil && !apierrors.IsNotFound(err) {
			return reconcile.Result{}, err
		}
		setReady(imp, metav1.ConditionFalse, ReasonNamespaceNotFound,
			fmt.Sprintf("member %s has no namespace %s, so the service is not imported here; it is once the namespace exists", r.MemberName, req.Namespace))
		imp.Status.IPs, imp.Status.MultiClusterService, imp.Status.LoadBalancer = nil, nil, corev1.LoadBalancerStatus{}
		return reconcile.Result{}, r.writeStatus(ctx, before, imp)
	}

	claim, err := r.claim(ctx, req.NamespacedName)
	if err != nil {
		return reconcile.Result{}, err
	}
	imp.Status.MultiClusterService = claim
	h := imp.Spec.LoadBalancer
	loadBalanced := claim != nil && h != nil && h.Cluster == r.MemberName && h.Name == claim.Name

	svc, err := r.ensureDerivedService(ctx, imp, loadBalanced)
	if err != nil {
		var taken nameTakenError
		if errors.As(err, &taken) {
			setReady(imp, metav1.ConditionFalse, ReasonNameTaken, err.Error())
			return reconcile.Result{}, r.writeStatus(ctx, before, imp)
		}
		return reconcile.Result{}, err
	}
	imp.Status.IPs = nil
	if imp.Spec.Type == mcsv1beta1.ClusterSetIP {
		imp.Status.IPs = svc.Spec.ClusterIPs
	}
	imp.Status.LoadBalancer = corev1.LoadBalancerStatus{}
	if loadBalanced {
		imp.Status.LoadBalancer = *svc.Status.LoadBalancer.DeepCopy()
	}
	if err := r.ensureServiceImport(ctx, imp); err != nil {
		return reconcile.Result{}, err
	}
	if err := r.ensureSlices(ctx, imp, svc); err != nil {
		return reconcile.Result{}, err
	}
	setReady(imp, metav1.ConditionTrue, ReasonImported,
		fmt.Sprintf("ServiceImport %s, Service %s and the EndpointSlices of %d clusters are in place", req.Name, svc.Name, len(imp.Spec.Endpoints)))
	return reconcile.Result{}, r.writeStatus(ctx, before, imp)
}

// claim returns this member's claim on the import: its oldest MultiClusterService in the
// namespace that names the import (the name breaks ties).
func (r *Reconciler) claim(ctx context.Context, svc types.NamespacedName) (*networkingv1alpha1.MultiClusterServiceClaim, error) {
	var list networkingv1alpha1.MultiClusterServiceList
	if err := r.Member.GetClient().List(ctx, &list, client.InNamespace(svc.Namespace)); err != nil {
		return nil, err
	}
	var best *networkingv1alpha1.MultiClusterService
	for i := range list.Items {
		m := &list.Items[i]
		if m.Spec.ServiceImport.Name != svc.Name || m.DeletionTimestamp != nil {
			continue
		}
		if best == nil || m.CreationTimestamp.Before(&best.CreationTimestamp) ||
			(m.CreationTimestamp.Equal(&best.CreationTimestamp) && m.Name < best.Name) {
			best = m
		}
	}
	if best == nil {
		return nil, nil
	}
	return &networkingv1alpha1.MultiClusterServiceClaim{Name: best.Name, Since: best.CreationTimestamp}, nil
}

type nameTakenError struct{ error }

// ensureDerivedService creates or updates the derived Service and returns it.
func (r *Reconciler) ensureDerivedService(ctx context.Context, imp *networkingv1alpha1.InternalServiceImport, loadBalanced bool) (*corev1.Service, error) {
	c := r.Member.GetClient()
	name := DerivedServiceName(imp.Spec.ServiceName)
	svc := &corev1.Service{}
	err := c.Get(ctx, client.ObjectKey{Namespace: imp.Spec.ServiceNamespace, Name: name}, svc)
	if err != nil && !apierrors.IsNotFound(err) {
		return nil, err
	}
	exists := err == nil
	if exists && svc.Annotations[networkingv1alpha1.DerivedServiceFor] != imp.Spec.ServiceName {
		return nil, nameTakenError{fmt.Errorf("the Service %s/%s exists and was not made by Flotilla for this import; rename or delete it so the import can use the name", svc.Namespace, name)}
	}
	headless := imp.Spec.Type == mcsv1beta1.Headless
	if exists && (svc.Spec.ClusterIP == corev1.ClusterIPNone) != headless {
		// A Service cannot switch between headless and not; make it again.
		if err := c.Delete(ctx, svc, client.Preconditions{UID: &svc.UID}); client.IgnoreNotFound(err) != nil {
			return nil, err
		}
		return nil, fmt.Errorf("recreating Service %s/%s for the new import type %s", svc.Namespace, name, imp.Spec.Type)
	}
	affinity := imp.Spec.SessionAffinity
	if affinity == "" {
		affinity = corev1.ServiceAffinityNone
	}
	spec := corev1ac.ServiceSpec().WithSessionAffinity(affinity)
	if headless {
		spec.WithClusterIP(corev1.ClusterIPNone)
	}
	if cfg := imp.Spec.SessionAffinityConfig; cfg != nil {
		ac, err := controllerdefaults.Convert[corev1ac.SessionAffinityConfigApplyConfiguration](cfg)
		if err != nil {
			return nil, err
		}
		spec.WithSessionAffinityConfig(ac)
	}
	if p := imp.Spec.InternalTrafficPolicy; p != nil {
		spec.WithInternalTrafficPolicy(*p)
	}
	if d := imp.Spec.TrafficDistribution; d != nil {
		spec.WithTrafficDistribution(*d)
	}
	for _, p := range imp.Spec.Ports {
		protocol := p.Protocol
		if protocol == "" {
			protocol = corev1.ProtocolTCP
		}
		port := corev1ac.ServicePort().WithProtocol(protocol).WithPort(p.Port).WithTargetPort(intstr.FromInt32(p.Port))
		if p.Name != "" {
			port.WithName(p.Name)
		}
		if p.AppProtocol != nil {
			port.WithAppProtocol(*p.AppProtocol)
		}
		spec.WithPorts(port)
	}
	if loadBalanced && !headless {
		// The load balancer reaches the endpoints directly; no node ports are needed.
		spec.WithType(corev1.ServiceTypeLoadBalancer).WithAllocateLoadBalancerNodePorts(false)
	} else {
		spec.WithType(corev1.ServiceTypeClusterIP)
	}
	out := &corev1.Service{}
	if err := controllerdefaults.Apply(ctx, c, fieldOwner, corev1ac.Service(name, imp.Spec.ServiceNamespace).
		WithLabels(map[string]string{
			networkingv1alpha1.ManagedByLabel: networkingv1alpha1.ManagedBy,
			mcsv1beta1.LabelServiceName:       imp.Spec.ServiceName,
		}).
		WithAnnotations(map[string]string{networkingv1alpha1.DerivedServiceFor: imp.Spec.ServiceName}).
		WithSpec(spec), out); err != nil {
		return nil, fmt.Errorf("applying the derived Service %s/%s: %w", imp.Spec.ServiceNamespace, name, err)
	}
	return out, nil
}

// fieldOwner is the field manager of the objects this controller applies.
const fieldOwner = "flotilla-serviceimport"

func (r *Reconciler) ensureServiceImport(ctx context.Context, imp *networkingv1alpha1.InternalServiceImport) error {
	c := r.Member.GetClient()
	si := &mcsv1beta1.ServiceImport{}
	err := c.Get(ctx, client.ObjectKey{Namespace: imp.Spec.ServiceNamespace, Name: imp.Spec.ServiceName}, si)
	if err != nil && !apierrors.IsNotFound(err) {
		return err
	}
	exists := err == nil
	if exists && si.Labels[networkingv1alpha1.ManagedByLabel] != networkingv1alpha1.ManagedBy {
		return fmt.Errorf("ServiceImport %s/%s exists and was not made by Flotilla; leaving it alone", si.Namespace, si.Name)
	}
	// mcs-api ships no apply configurations: the ServiceImport is applied from the typed
	// object, with the fields Flotilla owns.
	want := &mcsv1beta1.ServiceImport{
		TypeMeta:   metav1.TypeMeta{APIVersion: mcsv1beta1.GroupVersion.String(), Kind: "ServiceImport"},
		ObjectMeta: metav1.ObjectMeta{Namespace: imp.Spec.ServiceNamespace, Name: imp.Spec.ServiceName},
		Spec: mcsv1beta1.ServiceImportSpec{
			Ports: imp.Spec.Ports, IPs: imp.Status.IPs, Type: imp.Spec.Type, SessionAffinity: imp.Spec.SessionAffinity,
			SessionAffinityConfig: imp.Spec.SessionAffinityConfig, IPFamilies: imp.Spec.IPFamilies,
			InternalTrafficPolicy: imp.Spec.InternalTrafficPolicy, TrafficDistribution: imp.Spec.TrafficDistribution,
		},
	}
	// The exported labels and annotations go on the ServiceImport, as KEP-1645 says.
	want.Labels = maps.Clone(imp.Spec.Labels)
	if want.Labels == nil {
		want.Labels = map[string]string{}
	}
	want.Labels[networkingv1alpha1.ManagedByLabel] = networkingv1alpha1.ManagedBy
	want.Annotations = maps.Clone(imp.Spec.Annotations)
	if want.Spec.Ports == nil {
		want.Spec.Ports = []mcsv1beta1.ServicePort{}
	}
	if err := controllerdefaults.ApplyObject(ctx, c, fieldOwner, want); err != nil {
		return fmt.Errorf("applying ServiceImport %s/%s: %w", want.Namespace, want.Name, err)
	}
	status := mcsv1beta1.ServiceImportStatus{EndpointSliceObjects: mcsv1beta1.EndpointSliceObjectsPresent}
	for _, cl := range imp.Spec.Clusters {
		status.Clusters = append(status.Clusters, mcsv1beta1.ClusterStatus{Cluster: cl})
	}
	if exists && equality.Semantic.DeepEqual(si.Status, status) {
		return nil
	}
	// The patch is computed from the status read before the apply (empty for a new import),
	// so clusters that left are removed.
	before := &mcsv1beta1.ServiceImport{ObjectMeta: metav1.ObjectMeta{Namespace: want.Namespace, Name: want.Name}, Status: si.Status}
	after := before.DeepCopy()
	after.Status = status
	return c.Status().Patch(ctx, after, client.MergeFrom(before))
}

// ensureSlices makes the member's imported EndpointSlices match the import: one set per
// source cluster, owned by the derived Service.
func (r *Reconciler) ensureSlices(ctx context.Context, imp *networkingv1alpha1.InternalServiceImport, svc *corev1.Service) error {
	c := r.Member.GetClient()
	var have discoveryv1.EndpointSliceList
	if err := c.List(ctx, &have, client.InNamespace(imp.Spec.ServiceNamespace), client.MatchingLabels{
		mcsv1beta1.LabelServiceName: imp.Spec.ServiceName, discoveryv1.LabelManagedBy: networkingv1alpha1.ManagedBy,
	}); err != nil {
		return err
	}
	want := map[string]*discoveryv1ac.EndpointSliceApplyConfiguration{}
	addressTypes := map[string]discoveryv1.AddressType{}
	// The derived Service owns the slices, for garbage collection only.
	ref := metav1ac.OwnerReference().WithAPIVersion("v1").WithKind("Service").WithName(svc.Name).WithUID(svc.UID)
	for _, ce := range imp.Spec.Endpoints {
		for i, s := range ce.EndpointSlices {
			name := sliceName(svc.Name, ce.Cluster, i)
			es := discoveryv1ac.EndpointSlice(name, imp.Spec.ServiceNamespace).
				WithLabels(map[string]string{
					mcsv1beta1.LabelServiceName:   imp.Spec.ServiceName,
					mcsv1beta1.LabelSourceCluster: ce.Cluster,
					discoveryv1.LabelServiceName:  svc.Name,
					discoveryv1.LabelManagedBy:    networkingv1alpha1.ManagedBy,
				}).
				WithAnnotations(map[string]string{networkingv1alpha1.WeightAnnotation: strconv.Itoa(int(ce.Weight))}).
				WithOwnerReferences(ref).
				WithAddressType(s.AddressType)
			for _, p := range s.Ports {
				port, err := controllerdefaults.Convert[discoveryv1ac.EndpointPortApplyConfiguration](p)
				if err != nil {
					return err
				}
				es.WithPorts(port)
			}
			for _, ep := range s.Endpoints {
				e := discoveryv1ac.Endpoint().WithAddresses(ep.Addresses...).
					WithConditions(discoveryv1ac.EndpointConditions().WithReady(true))
				if ep.Hostname != nil {
					e.WithHostname(*ep.Hostname)
				}
				es.WithEndpoints(e)
			}
			want[name] = es
			addressTypes[name] = s.AddressType
		}
	}
	var errs []error
	for i := range have.Items {
		old := &have.Items[i]
		// A slice that is no longer wanted goes, and so does one whose addressType (which
		// is immutable) changed: it is made again below.
		if t, ok := addressTypes[old.Name]; !ok || t != old.AddressType {
			errs = append(errs, client.IgnoreNotFound(c.Delete(ctx, old)))
		}
	}
	names := make([]string, 0, len(want))
	for n := range want {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		errs = append(errs, controllerdefaults.Apply(ctx, c, fieldOwner, want[n], nil))
	}
	return errors.Join(errs...)
}

// cleanup removes what this controller made for an import that is gone.
func (r *Reconciler) cleanup(ctx context.Context, svc types.NamespacedName) error {
	c := r.Member.GetClient()
	var errs []error
	var slices discoveryv1.EndpointSliceList
	if err := c.List(ctx, &slices, client.InNamespace(svc.Namespace), client.MatchingLabels{
		mcsv1beta1.LabelServiceName: svc.Name, discoveryv1.LabelManagedBy: networkingv1alpha1.ManagedBy,
	}); err != nil {
		return err
	}
	for i := range slices.Items {
		errs = append(errs, client.IgnoreNotFound(c.Delete(ctx, &slices.Items[i])))
	}
	si := &mcsv1beta1.ServiceImport{}
	if err := c.Get(ctx, svc, si); err == nil && si.Labels[networkingv1alpha1.ManagedByLabel] == networkingv1alpha1.ManagedBy {
		errs = append(errs, client.IgnoreNotFound(c.Delete(ctx, si)))
	} else if client.IgnoreNotFound(err) != nil {
		errs = append(errs, err)
	}
	derived := &corev1.Service{}
	if err := c.Get(ctx, client.ObjectKey{Namespace: svc.Namespace, Name: DerivedServiceName(svc.Name)}, derived); err == nil &&
		derived.Annotations[networkingv1alpha1.DerivedServiceFor] == svc.Name {
		errs = append(errs, client.IgnoreNotFound(c.Delete(ctx, derived)))
	} else if client.IgnoreNotFound(err) != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func setReady(imp *networkingv1alpha1.InternalServiceImport, status metav1.ConditionStatus, reason, msg string) {
	meta.SetStatusCondition(&imp.Status.Conditions, metav1.Condition{
		Type: "Ready", Status: status, Reason: reason, Message: msg, ObservedGeneration: imp.Generation,
	})
}

func (r *Reconciler) writeStatus(ctx context.Context, before, imp *networkingv1alpha1.InternalServiceImport) error {
	if equality.Semantic.DeepEqual(before.Status, imp.Status) {
		return nil
	}
	return client.IgnoreNotFound(r.Hub.Status().Patch(ctx, imp, client.MergeFrom(before)))
}
