package networking_test

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	mcscrd "sigs.k8s.io/mcs-api/config/crd"
	mcsv1beta1 "sigs.k8s.io/mcs-api/pkg/apis/v1beta1"

	clusterv1beta1 "github.com/flotilla-dev/flotilla/api/cluster/v1beta1"
	networkingv1alpha1 "github.com/flotilla-dev/flotilla/api/networking/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/eligibility"
	"github.com/flotilla-dev/flotilla/internal/install"
	"github.com/flotilla-dev/flotilla/internal/member/serviceexport"
	"github.com/flotilla-dev/flotilla/internal/member/serviceimport"
)

func TestValidExportsClusterSetIPAndHeadless(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	namespace(t, "valid")
	g.Expect(fleet.Hub.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "valid"}})).To(Succeed())
	web := service("valid", "web", "http:80")
	db := service("valid", "db", "sql:5432")
	db.Spec.ClusterIP = corev1.ClusterIPNone
	dbSlice := slice(db, "db-1", endpoint{"198.18.1.2", true})
	dbSlice.Endpoints[0].Hostname = ptr.To("db-0")
	start := time.Now()
	create(t, "member-1", web, slice(web, "web-1", endpoint{"198.18.1.1", true}), export("valid", "web"))
	create(t, "member-2", db, dbSlice, export("valid", "db"))

	expectCondition(t, "member-1", "valid", "web", "Valid", metav1.ConditionTrue, "Valid")
	expectCondition(t, "member-2", "valid", "db", "Valid", metav1.ConditionTrue, "Valid")
	for _, m := range names {
		g.Eventually(func(g Gomega) {
			si := serviceImport(g, m, "valid", "web")
			g.Expect(si.Spec.Type).To(Equal(mcsv1beta1.ClusterSetIP))
			g.Expect(si.Spec.Ports).To(Equal([]mcsv1beta1.ServicePort{{Name: "http", Protocol: corev1.ProtocolTCP, Port: 80}}))
			g.Expect(si.Status.Clusters).To(Equal([]mcsv1beta1.ClusterStatus{{Cluster: "member-1"}}))
			derived := &corev1.Service{}
			g.Expect(members[m].Get(ctx, client.ObjectKey{Namespace: "valid", Name: serviceimport.DerivedServiceName("web")}, derived)).To(Succeed())
			g.Expect(derived.Spec.Type).To(Equal(corev1.ServiceTypeClusterIP))
			g.Expect(derived.Spec.Selector).To(BeEmpty())
			g.Expect(si.Spec.IPs).To(Equal(derived.Spec.ClusterIPs), "the clusterset IP is the derived Service's ClusterIP")
			g.Expect(si.Spec.IPs).NotTo(BeEmpty())

			imported := importedSlices(g, m, "valid", "web")
			g.Expect(imported).To(HaveLen(1))
			g.Expect(addresses(imported["member-1"])).To(Equal([]string{"198.18.1.1"}))
			s := imported["member-1"][0]
			g.Expect(s.Labels).To(HaveKeyWithValue(discoveryv1.LabelServiceName, derived.Name))
			g.Expect(s.Labels).To(HaveKeyWithValue(discoveryv1.LabelManagedBy, networkingv1alpha1.ManagedBy))
			g.Expect(s.Labels).To(HaveKeyWithValue(mcsv1beta1.LabelSourceCluster, "member-1"))
			g.Expect(*s.Ports[0].Port).To(Equal(int32(1080)))

			hs := serviceImport(g, m, "valid", "db")
			g.Expect(hs.Spec.Type).To(Equal(mcsv1beta1.Headless))
			g.Expect(hs.Spec.IPs).To(BeEmpty(), "a headless import has no clusterset IP")
			dbImported := importedSlices(g, m, "valid", "db")
			g.Expect(dbImported["member-2"]).To(HaveLen(1))
			g.Expect(dbImported["member-2"][0].Endpoints[0].Hostname).To(Equal(ptr.To("db-0")))
		}, timeout, 100*time.Millisecond).Should(Succeed())
	}
	t.Logf("ServiceImports in all members %s after the exports", time.Since(start).Round(time.Millisecond))
	g.Expect(time.Since(start)).To(BeNumerically("<", 10*time.Second))
	expectCondition(t, "member-1", "valid", "web", "Ready", metav1.ConditionTrue, "Ready")
	expectCondition(t, "member-1", "valid", "web", "Conflict", metav1.ConditionFalse, "NoConflicts")

	// The hub has the namespace too, so it keeps the fleet-wide ServiceImport there.
	g.Eventually(func(g Gomega) {
		si := &mcsv1beta1.ServiceImport{}
		g.Expect(fleet.Hub.Get(ctx, client.ObjectKey{Namespace: "valid", Name: "web"}, si)).To(Succeed())
		g.Expect(si.Spec.Type).To(Equal(mcsv1beta1.ClusterSetIP))
		g.Expect(si.Status.Clusters).To(Equal([]mcsv1beta1.ClusterStatus{{Cluster: "member-1"}}))
	}, timeout, 200*time.Millisecond).Should(Succeed())
}

func TestInvalidExports(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	namespace(t, "invalid")
	ext := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "invalid", Name: "ext"},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "example.com"}}
	create(t, "member-1", export("invalid", "nosvc"), ext, export("invalid", "ext"))
	c := expectCondition(t, "member-1", "invalid", "nosvc", "Valid", metav1.ConditionFalse, string(mcsv1beta1.ServiceExportReasonNoService))
	g.Expect(c.Message).To(ContainSubstring("no Service nosvc"))
	c = expectCondition(t, "member-1", "invalid", "ext", "Valid", metav1.ConditionFalse, string(mcsv1beta1.ServiceExportReasonInvalidServiceType))
	g.Expect(c.Message).To(ContainSubstring("ExternalName"))
	for _, name := range []string{"nosvc", "ext"} {
		err := fleet.Hub.Get(ctx, client.ObjectKey{Namespace: clusterv1beta1.NamespaceForMember("member-1"), Name: "invalid." + name}, &networkingv1alpha1.InternalServiceExport{})
		g.Expect(apierrors.IsNotFound(err)).To(BeTrue(), "an invalid export reaches the hub: %v", err)
	}
}

func TestWeight(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	namespace(t, "weight")
	for i, m := range []string{"member-1", "member-2"} {
		svc := service("weight", "web", "http:80")
		create(t, m, svc, slice(svc, "web-1", endpoint{"198.18.4." + string(rune('1'+i)), true}), export("weight", "web"))
	}
	g.Eventually(func(g Gomega) {
		g.Expect(importedSlices(g, "member-3", "weight", "web")).To(HaveLen(2))
	}, timeout, 100*time.Millisecond).Should(Succeed())

	setWeight := func(v string) {
		t.Helper()
		g.Eventually(func() error {
			se := &mcsv1beta1.ServiceExport{}
			if err := members["member-2"].Get(ctx, client.ObjectKey{Namespace: "weight", Name: "web"}, se); err != nil {
				return err
			}
			se.Annotations = map[string]string{networkingv1alpha1.WeightAnnotation: v}
			return members["member-2"].Update(ctx, se)
		}, timeout).Should(Succeed())
	}
	setWeight("0")
	g.Eventually(func(g Gomega) {
		imported := importedSlices(g, "member-3", "weight", "web")
		g.Expect(imported).To(HaveKey("member-1"))
		g.Expect(imported).NotTo(HaveKey("member-2"), "weight 0 withdraws member-2's endpoints")
	}, timeout, 100*time.Millisecond).Should(Succeed())
	expectCondition(t, "member-2", "weight", "web", "Valid", metav1.ConditionTrue, "Valid")

	for _, bad := range []string{"abc", "1001", "-1"} {
		setWeight(bad)
		g.Eventually(func(g Gomega) {
			c := exportCondition(g, "member-2", "weight", "web", "Valid")
			g.Expect(c.Status).To(Equal(metav1.ConditionFalse))
			g.Expect(c.Reason).To(Equal(serviceexport.ReasonInvalidWeight))
			g.Expect(c.Message).To(ContainSubstring(networkingv1alpha1.WeightAnnotation))
			g.Expect(c.Message).To(ContainSubstring(`"` + bad + `"`))
		}, timeout, 100*time.Millisecond).Should(Succeed())
		// The earlier export (weight 0) is kept.
		ise := &networkingv1alpha1.InternalServiceExport{}
		g.Expect(fleet.Hub.Get(ctx, client.ObjectKey{Namespace: clusterv1beta1.NamespaceForMember("member-2"), Name: "weight.web"}, ise)).To(Succeed())
		g.Expect(ise.Spec.Weight).To(Equal(int32(0)))
	}

	setWeight("5")
	g.Eventually(func(g Gomega) {
		imported := importedSlices(g, "member-3", "weight", "web")
		g.Expect(imported).To(HaveKey("member-2"))
		g.Expect(imported["member-2"][0].Annotations).To(HaveKeyWithValue(networkingv1alpha1.WeightAnnotation, "5"))
	}, timeout, 100*time.Millisecond).Should(Succeed())
	expectCondition(t, "member-2", "weight", "web", "Valid", metav1.ConditionTrue, "Valid")
}

func TestEndpointsScaleAndNotReadyNeverExported(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	namespace(t, "scale")
	svc := service("scale", "web", "http:80")
	es := slice(svc, "web-1", endpoint{"198.18.5.1", true}, endpoint{"198.18.5.2", false})
	create(t, "member-1", svc, es, export("scale", "web"))
	expectAddresses := func(want ...string) {
		t.Helper()
		g.Eventually(func(g Gomega) {
			for _, m := range names {
				g.Expect(addresses(importedSlices(g, m, "scale", "web")["member-1"])).To(ConsistOf(want), "on %s", m)
			}
		}, timeout, 100*time.Millisecond).Should(Succeed())
	}
	expectAddresses("198.18.5.1")

	update := func(eps ...endpoint) {
		t.Helper()
		g.Eventually(func() error {
			cur := &discoveryv1.EndpointSlice{}
			if err := members["member-1"].Get(ctx, client.ObjectKeyFromObject(es), cur); err != nil {
				return err
			}
			cur.Endpoints = slice(svc, "x", eps...).Endpoints
			return members["member-1"].Update(ctx, cur)
		}, timeout).Should(Succeed())
	}
	update(endpoint{"198.18.5.1", true}, endpoint{"198.18.5.2", true}, endpoint{"198.18.5.3", true}, endpoint{"198.18.5.4", false})
	expectAddresses("198.18.5.1", "198.18.5.2", "198.18.5.3")
	update(endpoint{"198.18.5.3", true}, endpoint{"198.18.5.1", false})
	expectAddresses("198.18.5.3")
}

func TestServiceDeletedAndRecreated(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	namespace(t, "recreate")
	svc := service("recreate", "web", "http:80")
	create(t, "member-1", svc, slice(svc, "web-1", endpoint{"198.18.6.1", true}), export("recreate", "web"))
	g.Eventually(func(g Gomega) { serviceImport(g, "member-2", "recreate", "web") }, timeout, 100*time.Millisecond).Should(Succeed())

	del(t, "member-1", svc)
	expectCondition(t, "member-1", "recreate", "web", "Valid", metav1.ConditionFalse, string(mcsv1beta1.ServiceExportReasonNoService))
	g.Eventually(func() bool {
		err := members["member-2"].Get(ctx, client.ObjectKey{Namespace: "recreate", Name: "web"}, &mcsv1beta1.ServiceImport{})
		return apierrors.IsNotFound(err)
	}, timeout, 100*time.Millisecond).Should(BeTrue(), "the import goes with the only exported Service")

	create(t, "member-1", service("recreate", "web", "http:80"))
	expectCondition(t, "member-1", "recreate", "web", "Valid", metav1.ConditionTrue, "Valid")
	g.Eventually(func(g Gomega) {
		serviceImport(g, "member-2", "recreate", "web")
		g.Expect(addresses(importedSlices(g, "member-2", "recreate", "web")["member-1"])).To(Equal([]string{"198.18.6.1"}))
	}, timeout, 100*time.Millisecond).Should(Succeed())
}

func TestUnexportAll(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	namespace(t, "unexport")
	for i, m := range []string{"member-1", "member-2"} {
		svc := service("unexport", "web", "http:80")
		create(t, m, svc, slice(svc, "web-1", endpoint{"198.18.7." + string(rune('1'+i)), true}), export("unexport", "web"))
	}
	g.Eventually(func(g Gomega) {
		for _, m := range names {
			g.Expect(importedSlices(g, m, "unexport", "web")).To(HaveLen(2))
		}
	}, timeout, 100*time.Millisecond).Should(Succeed())

	del(t, "member-1", export("unexport", "web"))
	del(t, "member-2", export("unexport", "web"))
	g.Eventually(func(g Gomega) {
		for _, m := range names {
			g.Expect(apierrors.IsNotFound(members[m].Get(ctx, client.ObjectKey{Namespace: "unexport", Name: "web"}, &mcsv1beta1.ServiceExport{}))).To(BeTrue())
			g.Expect(apierrors.IsNotFound(members[m].Get(ctx, client.ObjectKey{Namespace: "unexport", Name: "web"}, &mcsv1beta1.ServiceImport{}))).To(BeTrue(), "ServiceImport on %s", m)
			g.Expect(apierrors.IsNotFound(members[m].Get(ctx, client.ObjectKey{Namespace: "unexport", Name: serviceimport.DerivedServiceName("web")}, &corev1.Service{}))).To(BeTrue(), "derived Service on %s", m)
			g.Expect(importedSlices(g, m, "unexport", "web")).To(BeEmpty())
			var imports networkingv1alpha1.InternalServiceImportList
			g.Expect(fleet.Hub.List(ctx, &imports, client.InNamespace(clusterv1beta1.NamespaceForMember(m)))).To(Succeed())
			for _, imp := range imports.Items {
				g.Expect(imp.Name).NotTo(Equal("unexport.web"))
			}
		}
		// The exported Services themselves stay: Flotilla deletes only what it made.
		g.Expect(members["member-1"].Get(ctx, client.ObjectKey{Namespace: "unexport", Name: "web"}, &corev1.Service{})).To(Succeed())
	}, timeout, 100*time.Millisecond).Should(Succeed())
}

func TestAgentStatuses(t *testing.T) {
	NewWithT(t).Eventually(func(g Gomega) {
		mc := &clusterv1beta1.MemberCluster{}
		g.Expect(fleet.Hub.Get(context.Background(), client.ObjectKey{Name: "member-2"}, mc)).To(Succeed())
		for _, typ := range []clusterv1beta1.AgentType{clusterv1beta1.ServiceExportImportAgent, clusterv1beta1.MultiClusterServiceAgent} {
			a := eligibility.AgentStatusOf(mc.Status.AgentStatus, typ)
			g.Expect(a).NotTo(BeNil(), "no %s in agentStatus", typ)
			g.Expect(meta.IsStatusConditionTrue(a.Conditions, clusterv1beta1.ConditionJoined)).To(BeTrue())
			g.Expect(meta.IsStatusConditionTrue(a.Conditions, clusterv1beta1.ConditionHealthy)).To(BeTrue())
			g.Expect(a.LastReceivedHeartbeat.IsZero()).To(BeFalse())
		}
	}, timeout, 200*time.Millisecond).Should(Succeed())
}

// The agent installed the MCS CRDs on its member; installing again must leave an existing
// CRD as it is (it may be someone else's, or newer).
func TestCRDsAreNotOverwritten(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	c := members["member-3"]
	crd := &apiextensionsv1.CustomResourceDefinition{}
	g.Expect(c.Get(ctx, client.ObjectKey{Name: "serviceexports.multicluster.x-k8s.io"}, crd)).To(Succeed())
	g.Expect(crd.Labels).To(HaveKeyWithValue(mcscrd.ReleaseVersionLabel, "v0.5.2"))
	crd.Labels[mcscrd.ReleaseVersionLabel] = "v9.9.9"
	g.Expect(c.Update(ctx, crd)).To(Succeed())
	g.Expect(install.Ensure(ctx, c, install.MCS())).To(Succeed())
	g.Expect(c.Get(ctx, client.ObjectKey{Name: "serviceexports.multicluster.x-k8s.io"}, crd)).To(Succeed())
	g.Expect(crd.Labels).To(HaveKeyWithValue(mcscrd.ReleaseVersionLabel, "v9.9.9"))
}

// A CRD that exists without the version Flotilla needs is an error that says what to do;
// it is still not overwritten.
func TestCRDWithoutTheNeededVersion(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	manifest := []byte(`apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
spec:
  group: example.com
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget}
  versions:
    - name: v1
      served: true
      storage: true
      schema: {openAPIV3Schema: {type: object}}
`)
	c := members["member-2"]
	g.Expect(install.Ensure(ctx, c, []install.SharedCRD{{Manifest: manifest, Version: "v1"}})).To(Succeed())
	err := install.Ensure(ctx, c, []install.SharedCRD{{Manifest: manifest, Version: "v2"}})
	g.Expect(err).To(HaveOccurred())
	g.Expect(err.Error()).To(ContainSubstring("widgets.example.com exists but does not serve v2"))
	crd := &apiextensionsv1.CustomResourceDefinition{}
	g.Expect(c.Get(ctx, client.ObjectKey{Name: "widgets.example.com"}, crd)).To(Succeed())
	g.Expect(crd.Spec.Versions).To(HaveLen(1))
}
