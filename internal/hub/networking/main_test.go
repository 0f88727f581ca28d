package networking_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	mcsv1beta1 "sigs.k8s.io/mcs-api/pkg/apis/v1beta1"

	"github.com/flotilla-dev/flotilla/internal/fleetup"
	"github.com/flotilla-dev/flotilla/internal/scheme"
	"github.com/flotilla-dev/flotilla/internal/testenv"
)

// The tests share one fleet: a hub and three members, with the hub controllers, one member
// agent per member and the local data plane, as `flotilla local up` runs them. Each test
// works in namespaces of its own.
var (
	fleet   *fleetup.Fleet
	members = map[string]client.Client{}
	names   = []string{"member-1", "member-2", "member-3"}
)

func TestMain(m *testing.M) {
	testenv.FleetMain(m, "networking", fleetup.Options{Members: 3, HeartbeatSeconds: 2}, &fleet, memberClients)
}

// memberClients makes a client for each member's own API server.
func memberClients(f *fleetup.Fleet) error {
	for _, mem := range f.Members {
		c, err := client.New(mem.Config, client.Options{Scheme: scheme.Scheme})
		if err != nil {
			return err
		}
		members[mem.Name] = c
	}
	return nil
}

const timeout = 30 * time.Second

// namespace creates a namespace of that name on the given members (all when none given).
func namespace(t *testing.T, name string, on ...string) {
	t.Helper()
	if len(on) == 0 {
		on = names
	}
	for _, m := range on {
		err := members[m].Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatal(err)
		}
	}
}

// service is a selectorless ClusterIP Service with one TCP port per name:port given.
func service(ns, name string, ports ...string) *corev1.Service {
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
	for _, p := range ports {
		pname, num, _ := strings.Cut(p, ":")
		var n int32
		if _, err := fmt.Sscan(num, &n); err != nil {
			panic(fmt.Sprintf("port %q of %s: %v", p, name, err))
		}
		svc.Spec.Ports = append(svc.Spec.Ports, corev1.ServicePort{Name: pname, Port: n, Protocol: corev1.ProtocolTCP})
	}
	return svc
}

// endpoint is one endpoint of a slice.
type endpoint struct {
	addr  string
	ready bool
}

// slice is an EndpointSlice of the Service with the given endpoints, on every port of svc
// (target port = port + 1000).
func slice(svc *corev1.Service, name string, eps ...endpoint) *discoveryv1.EndpointSlice {
	es := &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{Namespace: svc.Namespace, Name: name,
			Labels: map[string]string{discoveryv1.LabelServiceName: svc.Name}},
		AddressType: discoveryv1.AddressTypeIPv4,
	}
	for _, p := range svc.Spec.Ports {
		es.Ports = append(es.Ports, discoveryv1.EndpointPort{Name: ptr.To(p.Name), Port: ptr.To(p.Port + 1000), Protocol: ptr.To(corev1.ProtocolTCP)})
	}
	for _, e := range eps {
		es.Endpoints = append(es.Endpoints, discoveryv1.Endpoint{Addresses: []string{e.addr}, Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(e.ready)}})
	}
	return es
}

func export(ns, name string) *mcsv1beta1.ServiceExport {
	return &mcsv1beta1.ServiceExport{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
}

func create(t *testing.T, member string, objs ...client.Object) {
	t.Helper()
	for _, o := range objs {
		if err := members[member].Create(context.Background(), o); err != nil {
			t.Fatalf("creating %T %s on %s: %v", o, o.GetName(), member, err)
		}
	}
}

// condition returns the condition of the given type on a member's ServiceExport.
func exportCondition(g Gomega, member, ns, name, t string) *metav1.Condition {
	se := &mcsv1beta1.ServiceExport{}
	g.Expect(members[member].Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, se)).To(Succeed())
	c := meta.FindStatusCondition(se.Status.Conditions, t)
	g.Expect(c).NotTo(BeNil(), "ServiceExport %s/%s on %s has no %s condition: %+v", ns, name, member, t, se.Status.Conditions)
	return c
}

// expectCondition waits until the member's ServiceExport has the condition with status and reason.
func expectCondition(t *testing.T, member, ns, name, typ string, status metav1.ConditionStatus, reason string) *metav1.Condition {
	t.Helper()
	var got *metav1.Condition
	NewWithT(t).Eventually(func(g Gomega) {
		got = exportCondition(g, member, ns, name, typ)
		g.Expect(got.Status).To(Equal(status), "%s on %s: %s", typ, member, got.Message)
		g.Expect(got.Reason).To(Equal(reason), "%s on %s: %s", typ, member, got.Message)
	}, timeout, 100*time.Millisecond).Should(Succeed())
	return got
}

// importedSlices lists the EndpointSlices a member imported for a service, by source cluster.
func importedSlices(g Gomega, member, ns, name string) map[string][]discoveryv1.EndpointSlice {
	var list discoveryv1.EndpointSliceList
	g.Expect(members[member].List(context.Background(), &list, client.InNamespace(ns),
		client.MatchingLabels{mcsv1beta1.LabelServiceName: name})).To(Succeed())
	out := map[string][]discoveryv1.EndpointSlice{}
	for _, s := range list.Items {
		out[s.Labels[mcsv1beta1.LabelSourceCluster]] = append(out[s.Labels[mcsv1beta1.LabelSourceCluster]], s)
	}
	return out
}

// addresses lists the endpoint addresses of slices.
func addresses(slices []discoveryv1.EndpointSlice) []string {
	var out []string
	for _, s := range slices {
		for _, e := range s.Endpoints {
			out = append(out, e.Addresses...)
		}
	}
	return out
}

func serviceImport(g Gomega, member, ns, name string) *mcsv1beta1.ServiceImport {
	si := &mcsv1beta1.ServiceImport{}
	g.Expect(members[member].Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, si)).To(Succeed())
	return si
}

func del(t *testing.T, member string, o client.Object) {
	t.Helper()
	if err := members[member].Delete(context.Background(), o); client.IgnoreNotFound(err) != nil {
		t.Fatal(err)
	}
}
