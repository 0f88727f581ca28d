package localfleet_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"github.com/flotilla-dev/flotilla/internal/localfleet"
	"github.com/flotilla-dev/flotilla/internal/testenv"
)

var fleet *localfleet.Fleet

func TestMain(m *testing.M) { testenv.Main(m, 1, &fleet) }

func clientset(t *testing.T, c *localfleet.Cluster) *kubernetes.Clientset {
	t.Helper()
	cs, err := kubernetes.NewForConfig(c.Config)
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

func TestToolsPinMatchesHack(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", "hack", "tools", "PIN"))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(string(data)); got != localfleet.ToolsPin {
		t.Errorf("hack/tools/PIN is %q but localfleet.ToolsPin is %q: keep them equal", got, localfleet.ToolsPin)
	}
}

func TestClustersAreSeparate(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	hub, member := clientset(t, fleet.Hub), clientset(t, fleet.Members[0])
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "only-on-hub", Namespace: "default"}}
	_, err := hub.CoreV1().ConfigMaps("default").Create(ctx, cm, metav1.CreateOptions{})
	g.Expect(err).NotTo(HaveOccurred())
	_, err = member.CoreV1().ConfigMaps("default").Get(ctx, "only-on-hub", metav1.GetOptions{})
	g.Expect(apierrors.IsNotFound(err)).To(BeTrue(), "member sees the hub's object: %v", err)
}

func TestCRDsAreInstalledOnTheHubOnly(t *testing.T) {
	g := NewWithT(t)
	gv := schema.GroupVersion{Group: "cluster.kubernetes-fleet.io", Version: "v1beta1"}.String()
	resources, err := clientset(t, fleet.Hub).Discovery().ServerResourcesForGroupVersion(gv)
	g.Expect(err).NotTo(HaveOccurred())
	var names []string
	for _, r := range resources.APIResources {
		names = append(names, r.Name)
	}
	g.Expect(names).To(ContainElements("memberclusters", "internalmemberclusters"))
	_, err = clientset(t, fleet.Members[0]).Discovery().ServerResourcesForGroupVersion(gv)
	g.Expect(apierrors.IsNotFound(err)).To(BeTrue(), "member serves %s: %v", gv, err)
}

func TestNamespaceDeletionCompletes(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	cs := clientset(t, fleet.Members[0])
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "doomed"}}
	_, err := cs.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{})
	g.Expect(err).NotTo(HaveOccurred())
	_, err = cs.CoreV1().ConfigMaps("doomed").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "content"}}, metav1.CreateOptions{})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(cs.CoreV1().Namespaces().Delete(ctx, "doomed", metav1.DeleteOptions{})).To(Succeed())
	// Only the namespace controller of kube-controller-manager empties and removes it.
	g.Eventually(func() bool {
		_, err := cs.CoreV1().Namespaces().Get(ctx, "doomed", metav1.GetOptions{})
		return apierrors.IsNotFound(err)
	}, 60*time.Second, 200*time.Millisecond).Should(BeTrue())
}

func TestGarbageCollectionFollowsOwnerReferences(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	cs := clientset(t, fleet.Members[0])
	owner, err := cs.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "owner"}}, metav1.CreateOptions{})
	g.Expect(err).NotTo(HaveOccurred())
	child := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "child", OwnerReferences: []metav1.OwnerReference{{
		APIVersion: "v1", Kind: "ConfigMap", Name: owner.Name, UID: owner.UID, BlockOwnerDeletion: ptr.To(true),
	}}}}
	_, err = cs.CoreV1().ConfigMaps("default").Create(ctx, child, metav1.CreateOptions{})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(cs.CoreV1().ConfigMaps("default").Delete(ctx, "owner", metav1.DeleteOptions{})).To(Succeed())
	g.Eventually(func() bool {
		_, err := cs.CoreV1().ConfigMaps("default").Get(ctx, "child", metav1.GetOptions{})
		return apierrors.IsNotFound(err)
	}, 60*time.Second, 200*time.Millisecond).Should(BeTrue())
}

func TestSeedNodes(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	g.Expect(localfleet.SeedNodes(ctx, fleet.Members[0].Config, localfleet.DefaultNodePools(), "v1.35.8")).To(Succeed())
	// Seeding again keeps what is there.
	g.Expect(localfleet.SeedNodes(ctx, fleet.Members[0].Config, localfleet.DefaultNodePools(), "v9.9.9")).To(Succeed())
	nodes, err := clientset(t, fleet.Members[0]).CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(nodes.Items).To(HaveLen(3))
	pools := map[string]int{}
	for _, n := range nodes.Items {
		pools[n.Labels[localfleet.AgentPoolLabel]]++
		g.Expect(n.Labels).To(HaveKeyWithValue(localfleet.NodeImageVersionLabel, "AKSUbuntu-2204gen2containerd-202510.01.0"))
		g.Expect(n.Status.NodeInfo.KubeletVersion).To(Equal("v1.35.8"))
		g.Expect(n.Status.Allocatable.Cpu().IsZero()).To(BeFalse())
		g.Expect(n.Status.Allocatable.Memory().IsZero()).To(BeFalse())
	}
	g.Expect(pools).To(Equal(map[string]int{"system": 1, "user": 2}))
}

func TestStopAndStartAPIServer(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	member := fleet.Members[0]
	cs := clientset(t, member)
	member.StopAPIServer()
	_, err := cs.Discovery().ServerVersion()
	g.Expect(err).To(HaveOccurred(), "a stopped API server answered")
	g.Expect(member.StartAPIServer(ctx)).To(Succeed())
	version, err := cs.Discovery().ServerVersion()
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(version.GitVersion).To(Equal(localfleet.KubeVersion))
	// Data survives the restart: etcd kept it.
	_, err = cs.CoreV1().Namespaces().Get(ctx, "kube-system", metav1.GetOptions{})
	g.Expect(err).NotTo(HaveOccurred())
}
