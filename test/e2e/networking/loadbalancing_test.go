package networking

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	mcsv1beta1 "sigs.k8s.io/mcs-api/pkg/apis/v1beta1"

	networkingv1alpha1 "github.com/flotilla-dev/flotilla/api/networking/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/cli"
	"github.com/flotilla-dev/flotilla/internal/loadbalancer"
	"github.com/flotilla-dev/flotilla/internal/member/serviceimport"
)

const (
	ns          = "e2e"
	serviceName = "hello"
	servicePort = 8080
	timeout     = 60 * time.Second
)

// podServer stands in for a cluster's pod: a TCP server on its own loopback address in
// 127.18.0.0/15 that answers every connection with the cluster's name.
func podServer(t *testing.T, loopback, cluster string) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", loopback+":0")
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			_, _ = io.WriteString(c, cluster+"\n")
			c.Close()
		}
	}()
	t.Cleanup(func() { ln.Close() })
	return ln
}

// exportFrom creates in a member the selectorless Service, an EndpointSlice pointing at the
// member's pod server (by its simulated pod address), and the ServiceExport.
func exportFrom(t *testing.T, member string, ln net.Listener) {
	t.Helper()
	ap := netip.MustParseAddrPort(ln.Addr().String())
	podIP, err := loadbalancer.SimulatedPodAddress(ap.Addr())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	c := members[member]
	objs := []client.Object{
		&corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: serviceName},
			Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "tcp", Port: servicePort, Protocol: corev1.ProtocolTCP}}}},
		&discoveryv1.EndpointSlice{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: serviceName + "-1",
				Labels: map[string]string{discoveryv1.LabelServiceName: serviceName}},
			AddressType: discoveryv1.AddressTypeIPv4,
			Ports:       []discoveryv1.EndpointPort{{Name: ptr.To("tcp"), Port: ptr.To(int32(ap.Port())), Protocol: ptr.To(corev1.ProtocolTCP)}},
			Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{podIP.String()}, Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)}}},
		},
		&mcsv1beta1.ServiceExport{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: serviceName}},
	}
	for _, o := range objs {
		if err := c.Create(ctx, o); err != nil {
			t.Fatalf("creating %T on %s: %v", o, member, err)
		}
	}
}

// answer opens one connection and returns the name it is answered with ("" if none).
func answer(addr string) string {
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		return ""
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(3 * time.Second))
	line, _ := bufio.NewReader(c).ReadString('\n')
	return strings.TrimSpace(line)
}

func answers(addr string, n int) map[string]int {
	got := map[string]int{}
	for i := 0; i < n; i++ {
		got[answer(addr)]++
	}
	return got
}

func TestEastWestAndNorthSouth(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	for _, c := range members {
		g.Expect(c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})).To(Succeed())
	}
	servers := map[string]net.Listener{
		"member-1": podServer(t, "127.18.0.1", "member-1"),
		"member-2": podServer(t, "127.18.0.2", "member-2"),
	}
	exportFrom(t, "member-1", servers["member-1"])
	exportFrom(t, "member-2", servers["member-2"])

	// East-west: every member gets the ServiceImport, with a clusterset IP, both clusters
	// and their EndpointSlices.
	g.Eventually(func(g Gomega) {
		for name, c := range members {
			si := &mcsv1beta1.ServiceImport{}
			g.Expect(c.Get(ctx, client.ObjectKey{Namespace: ns, Name: serviceName}, si)).To(Succeed(), "on %s", name)
			g.Expect(si.Spec.Type).To(Equal(mcsv1beta1.ClusterSetIP))
			g.Expect(si.Spec.IPs).To(HaveLen(1), "clusterset IP on %s", name)
			g.Expect(si.Status.Clusters).To(ConsistOf(mcsv1beta1.ClusterStatus{Cluster: "member-1"}, mcsv1beta1.ClusterStatus{Cluster: "member-2"}))
			var slices discoveryv1.EndpointSliceList
			g.Expect(c.List(ctx, &slices, client.InNamespace(ns), client.MatchingLabels{mcsv1beta1.LabelServiceName: serviceName})).To(Succeed())
			g.Expect(slices.Items).To(HaveLen(2), "imported slices on %s", name)
		}
	}, timeout, 200*time.Millisecond).Should(Succeed())

	// North-south: a MultiClusterService on member-1 gets a load balancer address.
	g.Expect(members["member-1"].Create(ctx, &networkingv1alpha1.MultiClusterService{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: serviceName},
		Spec:       networkingv1alpha1.MultiClusterServiceSpec{ServiceImport: networkingv1alpha1.ServiceImportRef{Name: serviceName}},
	})).To(Succeed())
	var lbAddr string
	g.Eventually(func(g Gomega) {
		m := &networkingv1alpha1.MultiClusterService{}
		g.Expect(members["member-1"].Get(ctx, client.ObjectKey{Namespace: ns, Name: serviceName}, m)).To(Succeed())
		g.Expect(m.Status.LoadBalancer.Ingress).To(HaveLen(1))
		lbAddr = net.JoinHostPort(m.Status.LoadBalancer.Ingress[0].IP, "8080")
	}, timeout, 200*time.Millisecond).Should(Succeed())
	t.Logf("load balancer at %s", lbAddr)

	g.Eventually(func(g Gomega) {
		got := answers(lbAddr, 50)
		g.Expect(got["member-1"]).To(BeNumerically(">", 0), "answers: %v", got)
		g.Expect(got["member-2"]).To(BeNumerically(">", 0), "answers: %v", got)
		g.Expect(got["member-1"]+got["member-2"]).To(Equal(50), "answers: %v", got)
	}, timeout, 200*time.Millisecond).Should(Succeed())

	// `flotilla service list` shows the service as the hub sees it.
	g.Eventually(func(g Gomega) {
		var out, errOut bytes.Buffer
		code := cli.Main([]string{"service", "list", "-n", ns, "--kubeconfig", filepath.Join(fleet.Dir, "hub.kubeconfig"), "-o", "json"}, &out, &errOut)
		g.Expect(code).To(Equal(0), errOut.String())
		var rows []struct {
			Namespace, Name string
			Clusters        []struct{ Cluster string }
			Importers       []string
			ClustersetIPs   map[string]string
			LoadBalancer    *struct{ Cluster, MultiClusterService, Address string }
		}
		g.Expect(json.Unmarshal(out.Bytes(), &rows)).To(Succeed(), out.String())
		g.Expect(rows).To(HaveLen(1))
		r := rows[0]
		g.Expect(r.Namespace + "/" + r.Name).To(Equal(ns + "/" + serviceName))
		g.Expect(r.Clusters).To(HaveLen(2))
		g.Expect(r.Importers).To(Equal([]string{"member-1", "member-2", "member-3"}))
		g.Expect(r.ClustersetIPs).To(HaveLen(3))
		g.Expect(r.LoadBalancer).NotTo(BeNil())
		g.Expect(net.JoinHostPort(r.LoadBalancer.Address, "8080")).To(Equal(lbAddr))
		g.Expect(r.LoadBalancer.Cluster).To(Equal("member-1"))

		var table bytes.Buffer
		g.Expect(cli.Main([]string{"service", "list", "-n", ns, "--kubeconfig", filepath.Join(fleet.Dir, "hub.kubeconfig")}, &table, &errOut)).To(Equal(0))
		g.Expect(table.String()).To(MatchRegexp(`e2e\s+hello\s+member-1,member-2\s+<none>\s+member-1,member-2,member-3\s+member-1=\S+,member-2=\S+,member-3=\S+\s+member-1/hello 127\.240\.`))
	}, timeout, 200*time.Millisecond).Should(Succeed())

	// member-2's pod goes away: every connection is answered by member-1.
	servers["member-2"].Close()
	g.Eventually(func(g Gomega) {
		g.Expect(answers(lbAddr, 50)).To(Equal(map[string]int{"member-1": 50}))
	}, timeout, 200*time.Millisecond).Should(Succeed())

	// Unexport everything: the imports, the imported slices and the address go.
	for _, m := range []string{"member-1", "member-2"} {
		g.Expect(members[m].Delete(ctx, &mcsv1beta1.ServiceExport{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: serviceName}})).To(Succeed())
	}
	g.Eventually(func(g Gomega) {
		for name, c := range members {
			err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: serviceName}, &mcsv1beta1.ServiceImport{})
			g.Expect(apierrors.IsNotFound(err)).To(BeTrue(), "ServiceImport on %s: %v", name, err)
			err = c.Get(ctx, client.ObjectKey{Namespace: ns, Name: serviceimport.DerivedServiceName(serviceName)}, &corev1.Service{})
			g.Expect(apierrors.IsNotFound(err)).To(BeTrue(), "derived Service on %s: %v", name, err)
			var slices discoveryv1.EndpointSliceList
			g.Expect(c.List(ctx, &slices, client.InNamespace(ns), client.MatchingLabels{mcsv1beta1.LabelServiceName: serviceName})).To(Succeed())
			g.Expect(slices.Items).To(BeEmpty(), "imported slices on %s", name)
		}
		m := &networkingv1alpha1.MultiClusterService{}
		g.Expect(members["member-1"].Get(ctx, client.ObjectKey{Namespace: ns, Name: serviceName}, m)).To(Succeed())
		g.Expect(m.Status.LoadBalancer.Ingress).To(BeEmpty())
		conn, err := net.DialTimeout("tcp", lbAddr, time.Second)
		if err == nil {
			conn.Close()
		}
		g.Expect(err).To(HaveOccurred(), "the load balancer address still accepts connections")
	}, timeout, 200*time.Millisecond).Should(Succeed())
}
