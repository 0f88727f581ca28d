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

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
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
	want := svc.DeepCopy()
	if !exists {
		want = &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: imp.Spec.ServiceNamespace, Name: name}}
		if headless {
			want.Spec.ClusterIP = corev1.ClusterIPNone
		}
	}
	if want.Labels == nil {
		want.Labels = map[string]string{}
	}
	if want.Annotations == nil {
		want.Annotations = map[string]string{}
	}
	want.Labels[networkingv1alpha1.ManagedByLabel] = networkingv1alpha1.ManagedBy
	want.Labels[mcsv1beta1.LabelServiceName] = imp.Spec.ServiceName
	want.Annotations[networkingv1alpha1.DerivedServiceFor] = imp.Spec.ServiceName
	want.Spec.Selector = nil
	want.Spec.SessionAffinity = imp.Spec.SessionAffinity
	if want.Spec.SessionAffinity == "" {
		want.Spec.SessionAffinity = corev1.ServiceAffinityNone
	}
	want.Spec.SessionAffinityConfig = imp.Spec.SessionAffinityConfig
	want.Spec.InternalTrafficPolicy = imp.Spec.InternalTrafficPolicy
	want.Spec.TrafficDistribution = imp.Spec.TrafficDistribution
	want.Spec.Ports = nil
	for _, p := range imp.Spec.Ports {
		sp := corev1.ServicePort{Name: p.Name, Protocol: p.Protocol, AppProtocol: p.AppProtocol, Port: p.Port, TargetPort: intstr.FromInt32(p.Port)}
		if sp.Protocol == "" {
			sp.Protocol = corev1.ProtocolTCP
		}
		want.Spec.Ports = append(want.Spec.Ports, sp)
	}
	if loadBalanced && !headless {
		want.Spec.Type = corev1.ServiceTypeLoadBalancer
		// The load balancer reaches the endpoints directly; no node ports are needed.
		want.Spec.AllocateLoadBalancerNodePorts = ptr.To(false)
		if want.Spec.ExternalTrafficPolicy == "" {
			want.Spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyCluster
		}
	} else {
		want.Spec.Type = corev1.ServiceTypeClusterIP
		want.Spec.AllocateLoadBalancerNodePorts = nil
		want.Spec.ExternalTrafficPolicy = ""
		want.Spec.HealthCheckNodePort = 0
		want.Spec.LoadBalancerClass = nil
	}
	if !exists {
		if err := c.Create(ctx, want); err != nil {
			return nil, fmt.Errorf("creating the derived Service %s/%s: %w", want.Namespace, name, err)
		}
		return want, nil
	}
	if equality.Semantic.DeepEqual(svc.Spec, want.Spec) && equality.Semantic.DeepEqual(svc.ObjectMeta, want.ObjectMeta) {
		return svc, nil
	}
	if err := c.Update(ctx, want); err != nil {
		return nil, fmt.Errorf("updating the derived Service %s/%s: %w", want.Namespace, name, err)
	}
	return want, nil
}

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
	want := si.DeepCopy()
	if !exists {
		want = &mcsv1beta1.ServiceImport{ObjectMeta: metav1.ObjectMeta{Namespace: imp.Spec.ServiceNamespace, Name: imp.Spec.ServiceName}}
	}
	// The exported labels and annotations go on the ServiceImport, as KEP-1645 says.
	want.Labels = map[string]string{}
	for k, v := range imp.Spec.Labels {
		want.Labels[k] = v
	}
	want.Labels[networkingv1alpha1.ManagedByLabel] = networkingv1alpha1.ManagedBy
	want.Annotations = nil
	if len(imp.Spec.Annotations) > 0 {
		want.Annotations = map[string]string{}
		for k, v := range imp.Spec.Annotations {
			want.Annotations[k] = v
		}
	}
	want.Spec = mcsv1beta1.ServiceImportSpec{
		Ports: imp.Spec.Ports, IPs: imp.Status.IPs, Type: imp.Spec.Type, SessionAffinity: imp.Spec.SessionAffinity,
		SessionAffinityConfig: imp.Spec.SessionAffinityConfig, IPFamilies: imp.Spec.IPFamilies,
		InternalTrafficPolicy: imp.Spec.InternalTrafficPolicy, TrafficDistribution: imp.Spec.TrafficDistribution,
	}
	if want.Spec.Ports == nil {
		want.Spec.Ports = []mcsv1beta1.ServicePort{}
	}
	if !exists {
		if err := c.Create(ctx, want); err != nil {
			return fmt.Errorf("creating ServiceImport %s/%s: %w", want.Namespace, want.Name, err)
		}
	} else if !equality.Semantic.DeepEqual(si.Spec, want.Spec) || !equality.Semantic.DeepEqual(si.Labels, want.Labels) || !equality.Semantic.DeepEqual(si.Annotations, want.Annotations) {
		if err := c.Update(ctx, want); err != nil {
			return fmt.Errorf("updating ServiceImport %s/%s: %w", want.Namespace, want.Name, err)
		}
	}
	before := want.DeepCopy()
	want.Status.Clusters = nil
	for _, cl := range imp.Spec.Clusters {
		want.Status.Clusters = append(want.Status.Clusters, mcsv1beta1.ClusterStatus{Cluster: cl})
	}
	want.Status.EndpointSliceObjects = mcsv1beta1.EndpointSliceObjectsPresent
	if equality.Semantic.DeepEqual(before.Status, want.Status) {
		return nil
	}
	return c.Status().Patch(ctx, want, client.MergeFrom(before))
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
	want := map[string]*discoveryv1.EndpointSlice{}
	for _, ce := range imp.Spec.Endpoints {
		for i, s := range ce.EndpointSlices {
			es := &discoveryv1.EndpointSlice{
				ObjectMeta: metav1.ObjectMeta{
					Namespace: imp.Spec.ServiceNamespace, Name: sliceName(svc.Name, ce.Cluster, i),
					Labels: map[string]string{
						mcsv1beta1.LabelServiceName:   imp.Spec.ServiceName,
						mcsv1beta1.LabelSourceCluster: ce.Cluster,
						discoveryv1.LabelServiceName:  svc.Name,
						discoveryv1.LabelManagedBy:    networkingv1alpha1.ManagedBy,
					},
					Annotations: map[string]string{networkingv1alpha1.WeightAnnotation: strconv.Itoa(int(ce.Weight))},
					OwnerReferences: []metav1.OwnerReference{{
						APIVersion: "v1", Kind: "Service", Name: svc.Name, UID: svc.UID,
					}},
				},
				AddressType: s.AddressType,
				Ports:       s.Ports,
			}
			for _, ep := range s.Endpoints {
				es.Endpoints = append(es.Endpoints, discoveryv1.Endpoint{
					Addresses: ep.Addresses, Hostname: ep.Hostname,
					Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)},
				})
			}
			want[es.Name] = es
		}
	}
	var errs []error
	for i := range have.Items {
		old := &have.Items[i]
		w, ok := want[old.Name]
		if !ok {
			errs = append(errs, client.IgnoreNotFound(c.Delete(ctx, old)))
			continue
		}
		delete(want, old.Name)
		if equality.Semantic.DeepEqual(old.Labels, w.Labels) && equality.Semantic.DeepEqual(old.Annotations, w.Annotations) &&
			equality.Semantic.DeepEqual(old.OwnerReferences, w.OwnerReferences) && old.AddressType == w.AddressType &&
			equality.Semantic.DeepEqual(old.Ports, w.Ports) && equality.Semantic.DeepEqual(old.Endpoints, w.Endpoints) {
			continue
		}
		if old.AddressType != w.AddressType {
			// addressType is immutable.
			errs = append(errs, client.IgnoreNotFound(c.Delete(ctx, old)))
			want[w.Name] = w
			continue
		}
		w.ResourceVersion = old.ResourceVersion
		errs = append(errs, c.Update(ctx, w))
	}
	names := make([]string, 0, len(want))
	for n := range want {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		errs = append(errs, client.IgnoreAlreadyExists(c.Create(ctx, want[n])))
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
