// Package loadbalancer is the local fleet's L4 data plane for Services of type
// LoadBalancer: what a cloud load balancer or MetalLB is for a real cluster. For every
// such Service of every member (without a loadBalancerClass) it assigns an address from a
// loopback range (default 127.240.0.0/16), writes it to status.loadBalancer.ingress, and
// forwards TCP and UDP on the Service's ports to the ready endpoints of the Service's
// EndpointSlices. New connections are spread by weighted round robin; an endpoint that
// fails its health check leaves the rotation until it answers again. Changing endpoints
// never drops established connections.
//
// Endpoint addresses in 198.18.0.0/15 are dialled on their loopback twin in 127.18.0.0/15
// (see MapEndpoint): the API server refuses loopback addresses in EndpointSlices.
package loadbalancer

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	mcsv1beta1 "sigs.k8s.io/mcs-api/pkg/apis/v1beta1"

	networkingv1alpha1 "github.com/flotilla-dev/flotilla/api/networking/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/controllerdefaults"
	"github.com/flotilla-dev/flotilla/internal/scheme"
)

// Options configure the data plane.
type Options struct {
	// Range is where load balancer addresses come from; zero means DefaultRange.
	Range netip.Prefix
	// HealthInterval is how often every endpoint is checked; zero means one second.
	HealthInterval time.Duration
	// Log receives errors; the zero value discards them.
	Log logr.Logger
}

// Balancer is the data plane of a set of member clusters.
type Balancer struct {
	opts  Options
	alloc *allocator

	mu       sync.Mutex
	services map[string]*lbService
}

// lbService is the forwarding state of one Service.
type lbService struct {
	ip      netip.Addr
	proxies map[portKey]proxy
}

type portKey struct {
	protocol corev1.Protocol
	port     int32
}

type proxy interface {
	SetBackends([]Backend)
	Close() error
}

// New returns a data plane; Run starts it.
func New(opts Options) *Balancer {
	if !opts.Range.IsValid() {
		opts.Range = DefaultRange
	}
	if opts.HealthInterval <= 0 {
		opts.HealthInterval = time.Second
	}
	return &Balancer{opts: opts, alloc: newAllocator(opts.Range), services: map[string]*lbService{}}
}

// Run serves the LoadBalancer Services of the given members (name → API server) until ctx
// ends, then closes every listener.
func (b *Balancer) Run(ctx context.Context, members map[string]*rest.Config) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make(chan error, len(members))
	var wg sync.WaitGroup
	for name, cfg := range members {
		mgr, err := ctrl.NewManager(cfg, ctrl.Options{
			Scheme:                 scheme.Scheme,
			Metrics:                metricsserver.Options{BindAddress: "0"},
			HealthProbeBindAddress: "0",
			Controller:             config.Controller{SkipNameValidation: ptr.To(true)},
		})
		if err != nil {
			return fmt.Errorf("load balancer for member %s: %w", name, err)
		}
		r := &memberReconciler{b: b, member: name, c: mgr.GetClient()}
		if err := r.setup(mgr); err != nil {
			return err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := mgr.Start(ctx); err != nil {
				errs <- fmt.Errorf("load balancer for member %s: %w", name, err)
				cancel()
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		b.healthLoop(ctx)
	}()
	<-ctx.Done()
	wg.Wait()
	b.closeAll()
	close(errs)
	var all []error
	for err := range errs {
		all = append(all, err)
	}
	return errors.Join(all...)
}

// Address returns the address of a member's Service, if it has one.
func (b *Balancer) Address(member, namespace, name string) (netip.Addr, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	s, ok := b.services[serviceKey(member, namespace, name)]
	if !ok {
		return netip.Addr{}, false
	}
	return s.ip, true
}

func serviceKey(member, namespace, name string) string { return member + "/" + namespace + "/" + name }

func (b *Balancer) healthLoop(ctx context.Context) {
	t := time.NewTicker(b.opts.HealthInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		b.mu.Lock()
		var pools []*pool
		for _, s := range b.services {
			for k, p := range s.proxies {
				if tp, ok := p.(*TCPProxy); ok && k.protocol == corev1.ProtocolTCP {
					pools = append(pools, &tp.pool)
				}
			}
		}
		b.mu.Unlock()
		for _, p := range pools {
			checkHealth(ctx, p, b.opts.HealthInterval/2)
		}
	}
}

func (b *Balancer) closeAll() {
	b.mu.Lock()
	defer b.mu.Unlock()
	for key, s := range b.services {
		for _, p := range s.proxies {
			_ = p.Close()
		}
		b.alloc.release(key)
	}
	b.services = map[string]*lbService{}
}

// memberReconciler keeps the forwarding of one member's LoadBalancer Services.
type memberReconciler struct {
	b      *Balancer
	member string
	c      client.Client
}

func (r *memberReconciler) setup(mgr ctrl.Manager) error {
	bySlice := func(_ context.Context, o client.Object) []reconcile.Request {
		if svc := o.GetLabels()[discoveryv1.LabelServiceName]; svc != "" {
			return []reconcile.Request{{NamespacedName: types.NamespacedName{Namespace: o.GetNamespace(), Name: svc}}}
		}
		return nil
	}
	return builder.ControllerManagedBy(mgr).
		Named("loadbalancer-"+r.member).
		For(&corev1.Service{}).
		Watches(&discoveryv1.EndpointSlice{}, handler.EnqueueRequestsFromMapFunc(bySlice)).
		WithOptions(controllerdefaults.Options(0)).
		Complete(r)
}

func (r *memberReconciler) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	key := serviceKey(r.member, req.Namespace, req.Name)
	svc := &corev1.Service{}
	err := r.c.Get(ctx, req.NamespacedName, svc)
	if apierrors.IsNotFound(err) {
		r.release(key)
		return reconcile.Result{}, nil
	}
	if err != nil {
		return reconcile.Result{}, err
	}
	if svc.Spec.Type != corev1.ServiceTypeLoadBalancer || svc.Spec.LoadBalancerClass != nil || svc.DeletionTimestamp != nil {
		r.release(key)
		return reconcile.Result{}, r.clearStatus(ctx, svc)
	}

	var preferred netip.Addr
	for _, in := range svc.Status.LoadBalancer.Ingress {
		if a, err := netip.ParseAddr(in.IP); err == nil {
			preferred = a
		}
	}
	ip, err := r.b.alloc.get(key, preferred)
	if err != nil {
		return reconcile.Result{}, err
	}
	var slices discoveryv1.EndpointSliceList
	if err := r.c.List(ctx, &slices, client.InNamespace(svc.Namespace), client.MatchingLabels{discoveryv1.LabelServiceName: svc.Name}); err != nil {
		return reconcile.Result{}, err
	}
	if err := r.configure(key, ip, svc, slices.Items); err != nil {
		return reconcile.Result{}, err
	}
	want := []corev1.LoadBalancerIngress{{IP: ip.String(), IPMode: ptr.To(corev1.LoadBalancerIPModeVIP)}}
	if equality.Semantic.DeepEqual(svc.Status.LoadBalancer.Ingress, want) {
		return reconcile.Result{}, nil
	}
	before := svc.DeepCopy()
	svc.Status.LoadBalancer.Ingress = want
	return reconcile.Result{}, r.c.Status().Patch(ctx, svc, client.MergeFrom(before))
}

// configure opens, updates and closes the Service's port listeners.
func (r *memberReconciler) configure(key string, ip netip.Addr, svc *corev1.Service, slices []discoveryv1.EndpointSlice) error {
	r.b.mu.Lock()
	defer r.b.mu.Unlock()
	s := r.b.services[key]
	if s == nil {
		s = &lbService{ip: ip, proxies: map[portKey]proxy{}}
		r.b.services[key] = s
	}
	wanted := map[portKey]bool{}
	var errs []error
	for _, sp := range svc.Spec.Ports {
		k := portKey{protocol: sp.Protocol, port: sp.Port}
		if k.protocol == "" {
			k.protocol = corev1.ProtocolTCP
		}
		wanted[k] = true
		p := s.proxies[k]
		if p == nil {
			addr := netip.AddrPortFrom(ip, uint16(sp.Port)).String()
			var err error
			switch k.protocol {
			case corev1.ProtocolTCP:
				p, err = ListenTCP(addr, r.b.opts.Log)
			case corev1.ProtocolUDP:
				p, err = ListenUDP(addr, r.b.opts.Log)
			default:
				r.b.opts.Log.Info("the local data plane forwards only TCP and UDP; skipping a port", "service", key, "port", sp.Port, "protocol", sp.Protocol)
				continue
			}
			if err != nil {
				errs = append(errs, fmt.Errorf("listening on %s for %s: %w", addr, key, err))
				continue
			}
			s.proxies[k] = p
		}
		p.SetBackends(backendsFor(sp, slices))
	}
	for k, p := range s.proxies {
		if !wanted[k] {
			_ = p.Close()
			delete(s.proxies, k)
		}
	}
	return errors.Join(errs...)
}

func (r *memberReconciler) release(key string) {
	r.b.mu.Lock()
	defer r.b.mu.Unlock()
	if s, ok := r.b.services[key]; ok {
		for _, p := range s.proxies {
			_ = p.Close()
		}
		delete(r.b.services, key)
	}
	r.b.alloc.release(key)
}

// clearStatus removes an address this data plane wrote, once the Service no longer is a
// LoadBalancer it serves.
func (r *memberReconciler) clearStatus(ctx context.Context, svc *corev1.Service) error {
	if len(svc.Status.LoadBalancer.Ingress) == 0 {
		return nil
	}
	for _, in := range svc.Status.LoadBalancer.Ingress {
		if a, err := netip.ParseAddr(in.IP); err != nil || !r.b.alloc.owns(a) {
			return nil
		}
	}
	before := svc.DeepCopy()
	svc.Status.LoadBalancer = corev1.LoadBalancerStatus{}
	return client.IgnoreNotFound(r.c.Status().Patch(ctx, svc, client.MergeFrom(before)))
}

// backendsFor lists the ready endpoints of a Service port: for each slice with a port of
// the same name and protocol, each ready IPv4 endpoint at that port. A cluster's weight
// (the slice annotation networking.fleet.azure.com/weight, default 1) is shared among the
// cluster's endpoints.
func backendsFor(sp corev1.ServicePort, slices []discoveryv1.EndpointSlice) []Backend {
	type ep struct {
		addr    netip.AddrPort
		cluster string
	}
	var eps []ep
	weights := map[string]float64{}
	counts := map[string]int{}
	for _, s := range slices {
		if s.AddressType != discoveryv1.AddressTypeIPv4 || s.DeletionTimestamp != nil {
			continue
		}
		var port int32
		for _, p := range s.Ports {
			name, proto := ptr.Deref(p.Name, ""), ptr.Deref(p.Protocol, corev1.ProtocolTCP)
			if name == sp.Name && proto == sp.Protocol && p.Port != nil {
				port = *p.Port
			}
		}
		if port == 0 {
			continue
		}
		cluster := s.Labels[mcsv1beta1.LabelSourceCluster]
		w := 1.0
		if v, err := strconv.Atoi(s.Annotations[networkingv1alpha1.WeightAnnotation]); err == nil && v >= 0 {
			w = float64(v)
		}
		weights[cluster] = w
		for _, e := range s.Endpoints {
			if e.Conditions.Ready != nil && !*e.Conditions.Ready {
				continue
			}
			for _, a := range e.Addresses {
				ip, err := netip.ParseAddr(a)
				if err != nil {
					continue
				}
				eps = append(eps, ep{netip.AddrPortFrom(MapEndpoint(ip), uint16(port)), cluster})
				counts[cluster]++
			}
		}
	}
	out := make([]Backend, 0, len(eps))
	for _, e := range eps {
		out = append(out, Backend{Addr: e.addr, Weight: weights[e.cluster] / float64(counts[e.cluster])})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Addr.Compare(out[j].Addr) < 0 })
	return out
}
