package networking_test

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	mcsv1beta1 "sigs.k8s.io/mcs-api/pkg/apis/v1beta1"
)

// afterSecond waits until the clock is past the second of t: creation timestamps have a
// resolution of one second, and the tests need one export to be strictly older.
func afterSecond(t *testing.T, ts metav1.Time) {
	t.Helper()
	NewWithT(t).Eventually(func() bool {
		return time.Now().Truncate(time.Second).After(ts.Time)
	}, 3*time.Second, 20*time.Millisecond).Should(BeTrue())
}

func createdAt(t *testing.T, member, ns, name string) metav1.Time {
	t.Helper()
	se := &mcsv1beta1.ServiceExport{}
	if err := members[member].Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, se); err != nil {
		t.Fatal(err)
	}
	return se.CreationTimestamp
}

// Every kind of conflict: member-3 exports first (the oldest export, though its name sorts
// last), then member-2 exports a Service that differs in one property and member-1 one
// that agrees with member-3. The conflict goes on member-2 and member-3; member-1 has none.
func TestEveryKindOfConflict(t *testing.T) {
	kinds := []struct {
		ns     string
		reason mcsv1beta1.ServiceExportConditionReason
		differ func(*corev1.Service, *mcsv1beta1.ServiceExport)
		// excluded: member-2's endpoints are left out (every conflict but a port conflict).
		excluded bool
	}{
		{"c-type", mcsv1beta1.ServiceExportReasonTypeConflict, func(s *corev1.Service, _ *mcsv1beta1.ServiceExport) {
			s.Spec.ClusterIP = corev1.ClusterIPNone
		}, true},
		{"c-affinity", mcsv1beta1.ServiceExportReasonSessionAffinityConflict, func(s *corev1.Service, _ *mcsv1beta1.ServiceExport) {
			s.Spec.SessionAffinity = corev1.ServiceAffinityClientIP
		}, true},
		{"c-affinity-config", mcsv1beta1.ServiceExportReasonSessionAffinityConfigConflict, func(s *corev1.Service, _ *mcsv1beta1.ServiceExport) {
			s.Spec.SessionAffinity = corev1.ServiceAffinityClientIP
			s.Spec.SessionAffinityConfig = &corev1.SessionAffinityConfig{ClientIP: &corev1.ClientIPConfig{TimeoutSeconds: ptr.To[int32](60)}}
		}, true},
		{"c-itp", mcsv1beta1.ServiceExportReasonInternalTrafficPolicyConflict, func(s *corev1.Service, _ *mcsv1beta1.ServiceExport) {
			s.Spec.InternalTrafficPolicy = ptr.To(corev1.ServiceInternalTrafficPolicyLocal)
		}, true},
		{"c-td", mcsv1beta1.ServiceExportReasonTrafficDistributionConflict, func(s *corev1.Service, _ *mcsv1beta1.ServiceExport) {
			s.Spec.TrafficDistribution = ptr.To(corev1.ServiceTrafficDistributionPreferClose)
		}, true},
		{"c-labels", mcsv1beta1.ServiceExportReasonLabelsConflict, func(_ *corev1.Service, se *mcsv1beta1.ServiceExport) {
			se.Spec.ExportedLabels = map[string]string{"tier": "other"}
		}, true},
		{"c-annotations", mcsv1beta1.ServiceExportReasonAnnotationsConflict, func(_ *corev1.Service, se *mcsv1beta1.ServiceExport) {
			se.Spec.ExportedAnnotations = map[string]string{"note": "other"}
		}, true},
		{"c-port", mcsv1beta1.ServiceExportReasonPortConflict, func(s *corev1.Service, _ *mcsv1beta1.ServiceExport) {
			s.Spec.Ports[0].Port = 8080
		}, false},
	}
	base := func(ns string) (*corev1.Service, *mcsv1beta1.ServiceExport) {
		svc := service(ns, "web", "http:80")
		if ns == "c-affinity-config" {
			svc.Spec.SessionAffinity = corev1.ServiceAffinityClientIP
			svc.Spec.SessionAffinityConfig = &corev1.SessionAffinityConfig{ClientIP: &corev1.ClientIPConfig{TimeoutSeconds: ptr.To[int32](30)}}
		}
		se := export(ns, "web")
		se.Spec.ExportedLabels = map[string]string{"tier": "web"}
		se.Spec.ExportedAnnotations = map[string]string{"note": "base"}
		return svc, se
	}
	for i, k := range kinds {
		namespace(t, k.ns)
		svc, se := base(k.ns)
		create(t, "member-3", svc, slice(svc, "web-1", endpoint{"198.18.8." + string(rune('1'+i)), true}), se)
	}
	var newest metav1.Time
	for _, k := range kinds {
		expectCondition(t, "member-3", k.ns, "web", "Valid", metav1.ConditionTrue, "Valid")
		if ts := createdAt(t, "member-3", k.ns, "web"); ts.After(newest.Time) {
			newest = ts
		}
	}
	afterSecond(t, newest)
	for i, k := range kinds {
		svc, se := base(k.ns)
		create(t, "member-1", svc, slice(svc, "web-1", endpoint{"198.18.9." + string(rune('1'+i)), true}), se)
		svc2, se2 := base(k.ns)
		k.differ(svc2, se2)
		create(t, "member-2", svc2, slice(svc2, "web-1", endpoint{"198.18.10." + string(rune('1'+i)), true}), se2)
	}
	for _, k := range kinds {
		t.Run(string(k.reason), func(t *testing.T) {
			g := NewWithT(t)
			c := expectCondition(t, "member-2", k.ns, "web", "Conflict", metav1.ConditionTrue, string(k.reason))
			g.Expect(c.Message).To(ContainSubstring("member-3"), "the message names the oldest export's cluster")
			expectCondition(t, "member-3", k.ns, "web", "Conflict", metav1.ConditionTrue, string(k.reason))
			expectCondition(t, "member-1", k.ns, "web", "Conflict", metav1.ConditionFalse, "NoConflicts")
			g.Eventually(func(g Gomega) {
				si := serviceImport(g, "member-1", k.ns, "web")
				// The oldest export's values win.
				g.Expect(si.Spec.Type).To(Equal(mcsv1beta1.ClusterSetIP))
				g.Expect(si.Labels).To(HaveKeyWithValue("tier", "web"))
				g.Expect(si.Annotations).To(HaveKeyWithValue("note", "base"))
				g.Expect(si.Spec.InternalTrafficPolicy).To(Equal(ptr.To(corev1.ServiceInternalTrafficPolicyCluster)))
				g.Expect(si.Spec.Ports[0].Port).To(Equal(int32(80)))
				imported := importedSlices(g, "member-1", k.ns, "web")
				g.Expect(imported).To(HaveKey("member-1"))
				g.Expect(imported).To(HaveKey("member-3"))
				if k.excluded {
					g.Expect(imported).NotTo(HaveKey("member-2"))
					g.Expect(si.Status.Clusters).To(ConsistOf(mcsv1beta1.ClusterStatus{Cluster: "member-1"}, mcsv1beta1.ClusterStatus{Cluster: "member-3"}))
				} else {
					// member-2's only port clashes, so it serves no port of the import.
					g.Expect(imported).NotTo(HaveKey("member-2"))
					g.Expect(si.Status.Clusters).To(HaveLen(3))
				}
			}, timeout, 100*time.Millisecond).Should(Succeed())
		})
	}
}

// The oldest export decides, and when it leaves the import is resolved again from the
// exports that remain.
func TestOldestLeavesAndReresolve(t *testing.T) {
	g := NewWithT(t)
	ns := "oldest"
	namespace(t, ns)
	svc := service(ns, "web", "http:80")
	create(t, "member-3", svc, slice(svc, "web-1", endpoint{"198.18.11.3", true}), export(ns, "web"))
	expectCondition(t, "member-3", ns, "web", "Valid", metav1.ConditionTrue, "Valid")
	afterSecond(t, createdAt(t, "member-3", ns, "web"))
	for i, m := range []string{"member-1", "member-2"} {
		h := service(ns, "web", "http:80")
		h.Spec.ClusterIP = corev1.ClusterIPNone
		create(t, m, h, slice(h, "web-1", endpoint{"198.18.11." + string(rune('1'+i)), true}), export(ns, "web"))
	}
	expectCondition(t, "member-1", ns, "web", "Conflict", metav1.ConditionTrue, string(mcsv1beta1.ServiceExportReasonTypeConflict))
	expectCondition(t, "member-2", ns, "web", "Conflict", metav1.ConditionTrue, string(mcsv1beta1.ServiceExportReasonTypeConflict))
	expectCondition(t, "member-3", ns, "web", "Conflict", metav1.ConditionTrue, string(mcsv1beta1.ServiceExportReasonTypeConflict))
	g.Eventually(func(g Gomega) {
		si := serviceImport(g, "member-2", ns, "web")
		g.Expect(si.Spec.Type).To(Equal(mcsv1beta1.ClusterSetIP))
		g.Expect(si.Status.Clusters).To(Equal([]mcsv1beta1.ClusterStatus{{Cluster: "member-3"}}))
	}, timeout, 100*time.Millisecond).Should(Succeed())

	del(t, "member-3", export(ns, "web"))
	expectCondition(t, "member-1", ns, "web", "Conflict", metav1.ConditionFalse, "NoConflicts")
	expectCondition(t, "member-2", ns, "web", "Conflict", metav1.ConditionFalse, "NoConflicts")
	g.Eventually(func(g Gomega) {
		for _, m := range names {
			si := serviceImport(g, m, ns, "web")
			g.Expect(si.Spec.Type).To(Equal(mcsv1beta1.Headless), "on %s", m)
			g.Expect(si.Spec.IPs).To(BeEmpty())
			g.Expect(si.Status.Clusters).To(Equal([]mcsv1beta1.ClusterStatus{{Cluster: "member-1"}, {Cluster: "member-2"}}))
			imported := importedSlices(g, m, ns, "web")
			g.Expect(imported).To(HaveLen(2))
			g.Expect(imported).NotTo(HaveKey("member-3"))
		}
	}, timeout, 100*time.Millisecond).Should(Succeed())
}

// Ports are the union over the exports; a cluster serves only its ports that agree.
func TestPortUnion(t *testing.T) {
	g := NewWithT(t)
	ns := "ports"
	namespace(t, ns)
	s1 := service(ns, "web", "http:80")
	s2 := service(ns, "web", "http:80", "grpc:9090")
	s3 := service(ns, "web", "http:8080", "metrics:9100")
	create(t, "member-1", s1, slice(s1, "web-1", endpoint{"198.18.12.1", true}), export(ns, "web"))
	expectCondition(t, "member-1", ns, "web", "Valid", metav1.ConditionTrue, "Valid")
	afterSecond(t, createdAt(t, "member-1", ns, "web"))
	create(t, "member-2", s2, slice(s2, "web-1", endpoint{"198.18.12.2", true}), export(ns, "web"))
	create(t, "member-3", s3, slice(s3, "web-1", endpoint{"198.18.12.3", true}), export(ns, "web"))

	c := expectCondition(t, "member-3", ns, "web", "Conflict", metav1.ConditionTrue, string(mcsv1beta1.ServiceExportReasonPortConflict))
	g.Expect(c.Message).To(ContainSubstring(`"http"`))
	expectCondition(t, "member-1", ns, "web", "Conflict", metav1.ConditionTrue, string(mcsv1beta1.ServiceExportReasonPortConflict))
	expectCondition(t, "member-2", ns, "web", "Conflict", metav1.ConditionFalse, "NoConflicts")
	g.Eventually(func(g Gomega) {
		si := serviceImport(g, "member-1", ns, "web")
		g.Expect(si.Spec.Ports).To(ConsistOf(
			mcsv1beta1.ServicePort{Name: "http", Protocol: corev1.ProtocolTCP, Port: 80},
			mcsv1beta1.ServicePort{Name: "grpc", Protocol: corev1.ProtocolTCP, Port: 9090},
			mcsv1beta1.ServicePort{Name: "metrics", Protocol: corev1.ProtocolTCP, Port: 9100},
		))
		imported := importedSlices(g, "member-1", ns, "web")
		portNames := func(cluster string) []string {
			var out []string
			for _, s := range imported[cluster] {
				for _, p := range s.Ports {
					out = append(out, *p.Name)
				}
			}
			return out
		}
		g.Expect(portNames("member-1")).To(ConsistOf("http"))
		g.Expect(portNames("member-2")).To(ConsistOf("http", "grpc"))
		g.Expect(portNames("member-3")).To(ConsistOf("metrics"), "member-3's http port clashes, so it serves only metrics")
	}, timeout, 100*time.Millisecond).Should(Succeed())
}
