package networking

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	mcsv1beta1 "sigs.k8s.io/mcs-api/pkg/apis/v1beta1"

	networkingv1alpha1 "github.com/flotilla-dev/flotilla/api/networking/v1alpha1"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func exp(cluster string, age int, ports ...mcsv1beta1.ServicePort) networkingv1alpha1.InternalServiceExportSpec {
	e := networkingv1alpha1.InternalServiceExportSpec{
		Cluster: cluster, ServiceNamespace: "ns", ServiceName: "web", Type: mcsv1beta1.ClusterSetIP, Weight: 1,
		Ports:                   ports,
		ExportCreationTimestamp: metav1.NewTime(t0.Add(time.Duration(age) * time.Second)),
	}
	for _, p := range ports {
		e.EndpointSlices = append(e.EndpointSlices, networkingv1alpha1.ExportedEndpointSlice{
			AddressType: discoveryv1.AddressTypeIPv4,
			Ports:       []discoveryv1.EndpointPort{{Name: ptr.To(p.Name), Port: ptr.To(p.Port + 1000)}},
			Endpoints:   []networkingv1alpha1.ExportedEndpoint{{Addresses: []string{"198.18.0.1"}}},
		})
	}
	return e
}

func port(name string, n int32) mcsv1beta1.ServicePort {
	return mcsv1beta1.ServicePort{Name: name, Port: n, Protocol: corev1.ProtocolTCP}
}

func TestResolveOldestWinsRegardlessOfOrderAndName(t *testing.T) {
	old := exp("zeta", 0, port("http", 80))
	old.SessionAffinity = corev1.ServiceAffinityClientIP
	young := exp("alpha", 5, port("http", 80))
	res := Resolve([]networkingv1alpha1.InternalServiceExportSpec{young, old})
	if res.Import.SessionAffinity != corev1.ServiceAffinityClientIP {
		t.Fatalf("import takes the oldest export's affinity, got %q", res.Import.SessionAffinity)
	}
	if c := res.Conflicts["alpha"]; c.Reason() != "SessionAffinityConflict" {
		t.Fatalf("alpha: got %q", c.Reason())
	}
	if c := res.Conflicts["zeta"]; c.Reason() != "SessionAffinityConflict" {
		t.Fatalf("the oldest export is involved too; got %q", c.Reason())
	}
	if !res.Excluded["alpha"] || res.Excluded["zeta"] {
		t.Fatalf("excluded: %v", res.Excluded)
	}
	if got := res.Import.Clusters; len(got) != 1 || got[0] != "zeta" {
		t.Fatalf("clusters: %v", got)
	}
}

func TestResolveTieBrokenByClusterName(t *testing.T) {
	a := exp("a", 0, port("http", 80))
	b := exp("b", 0, port("http", 80))
	b.Type = mcsv1beta1.Headless
	res := Resolve([]networkingv1alpha1.InternalServiceExportSpec{b, a})
	if res.Import.Type != mcsv1beta1.ClusterSetIP || !res.Excluded["b"] {
		t.Fatalf("a wins the tie: type %s, excluded %v", res.Import.Type, res.Excluded)
	}
}

func TestResolvePortUnionAndClashes(t *testing.T) {
	a := exp("a", 0, port("http", 80))
	b := exp("b", 1, port("http", 80), port("grpc", 9090))
	c := exp("c", 2, port("http", 8080), port("metrics", 9100))
	d := exp("d", 3, port("web", 80)) // 80/TCP already has the name http
	e := exp("e", 4, port("", 7000))  // an unnamed port cannot join named ones
	res := Resolve([]networkingv1alpha1.InternalServiceExportSpec{a, b, c, d, e})
	want := []mcsv1beta1.ServicePort{port("http", 80), port("grpc", 9090), port("metrics", 9100)}
	if len(res.Import.Ports) != len(want) {
		t.Fatalf("ports: %v", res.Import.Ports)
	}
	for i := range want {
		if res.Import.Ports[i] != want[i] {
			t.Fatalf("ports: %v", res.Import.Ports)
		}
	}
	for _, cl := range []string{"a", "c", "d", "e"} {
		if res.Conflicts[cl].Reason() != "PortConflict" {
			t.Errorf("%s: %q", cl, res.Conflicts[cl].Reason())
		}
	}
	if _, ok := res.Conflicts["b"]; ok {
		t.Errorf("b agrees: %v", res.Conflicts["b"])
	}
	if len(res.Excluded) != 0 {
		t.Errorf("a port conflict excludes no cluster: %v", res.Excluded)
	}
	served := map[string][]string{}
	for _, ce := range res.Import.Endpoints {
		for _, s := range ce.EndpointSlices {
			for _, p := range s.Ports {
				served[ce.Cluster] = append(served[ce.Cluster], *p.Name)
			}
		}
	}
	if len(served["c"]) != 1 || served["c"][0] != "metrics" {
		t.Errorf("c serves only metrics: %v", served["c"])
	}
	if len(served["d"]) != 0 || len(served["e"]) != 0 {
		t.Errorf("d and e serve nothing: %v", served)
	}
}

func TestResolveWeightZeroKeepsClusterWithoutEndpoints(t *testing.T) {
	a := exp("a", 0, port("http", 80))
	b := exp("b", 1, port("http", 80))
	b.Weight = 0
	res := Resolve([]networkingv1alpha1.InternalServiceExportSpec{a, b})
	if len(res.Import.Clusters) != 2 || len(res.Import.Endpoints) != 1 || res.Import.Endpoints[0].Cluster != "a" {
		t.Fatalf("clusters %v endpoints %v", res.Import.Clusters, res.Import.Endpoints)
	}
}

func TestResolveEveryPropertyConflict(t *testing.T) {
	cases := map[string]func(*networkingv1alpha1.InternalServiceExportSpec){
		"TypeConflict": func(e *networkingv1alpha1.InternalServiceExportSpec) { e.Type = mcsv1beta1.Headless },
		"SessionAffinityConflict": func(e *networkingv1alpha1.InternalServiceExportSpec) {
			e.SessionAffinity = corev1.ServiceAffinityClientIP
		},
		"InternalTrafficPolicyConflict": func(e *networkingv1alpha1.InternalServiceExportSpec) {
			e.InternalTrafficPolicy = ptr.To(corev1.ServiceInternalTrafficPolicyLocal)
		},
		"TrafficDistributionConflict": func(e *networkingv1alpha1.InternalServiceExportSpec) { e.TrafficDistribution = ptr.To("PreferClose") },
		"LabelsConflict":              func(e *networkingv1alpha1.InternalServiceExportSpec) { e.ExportedLabels = map[string]string{"a": "b"} },
		"AnnotationsConflict": func(e *networkingv1alpha1.InternalServiceExportSpec) {
			e.ExportedAnnotations = map[string]string{"a": "b"}
		},
		"SessionAffinityConfigConflict": func(e *networkingv1alpha1.InternalServiceExportSpec) {
			e.SessionAffinityConfig = &corev1.SessionAffinityConfig{ClientIP: &corev1.ClientIPConfig{TimeoutSeconds: ptr.To[int32](5)}}
		},
	}
	for reason, mutate := range cases {
		a, b, c := exp("a", 0, port("http", 80)), exp("b", 1, port("http", 80)), exp("c", 2, port("http", 80))
		mutate(&c)
		res := Resolve([]networkingv1alpha1.InternalServiceExportSpec{a, b, c})
		if res.Conflicts["c"].Reason() != reason || res.Conflicts["a"].Reason() != reason {
			t.Errorf("%s: c %q, a %q", reason, res.Conflicts["c"].Reason(), res.Conflicts["a"].Reason())
		}
		if _, ok := res.Conflicts["b"]; ok {
			t.Errorf("%s: b agrees with the oldest but got %v", reason, res.Conflicts["b"])
		}
	}
	// Unset and default values agree.
	a, b := exp("a", 0, port("http", 80)), exp("b", 1, port("http", 80))
	b.InternalTrafficPolicy = ptr.To(corev1.ServiceInternalTrafficPolicyCluster)
	b.SessionAffinity = corev1.ServiceAffinityNone
	b.ExportedLabels = map[string]string{}
	if res := Resolve([]networkingv1alpha1.InternalServiceExportSpec{a, b}); len(res.Conflicts) != 0 {
		t.Errorf("defaults conflict: %v", res.Conflicts)
	}
}
