package membership_test

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	clusterv1beta1 "github.com/flotilla-dev/flotilla/api/cluster/v1beta1"
	placementv1beta1 "github.com/flotilla-dev/flotilla/api/placement/v1beta1"
	"github.com/flotilla-dev/flotilla/internal/eligibility"
	"github.com/flotilla-dev/flotilla/internal/member"
	"github.com/flotilla-dev/flotilla/internal/scheme"
)

// A member agent that runs as its own identity, with only the rights of flotilla-member-agent,
// applies its Works; when its token is revoked it stays up, reports unready and deletes
// nothing; when a valid token is written to its token file it resumes without a restart.
func TestRevokedTokenDeletesNothingAndRecovers(t *testing.T) {
	g := NewWithT(t)
	c := startHub(t)
	ctx := context.Background()
	cs, err := kubernetes.NewForConfig(fleet.Hub.Config)
	g.Expect(err).NotTo(HaveOccurred())
	memberClient, err := client.New(fleet.Members[0].Config, client.Options{Scheme: scheme.Scheme})
	g.Expect(err).NotTo(HaveOccurred())

	const name = "revocable"
	mc := newMember(name)
	id := mc.Spec.Identity
	newToken := func() string {
		sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: id.Name, Namespace: id.Namespace}}
		_, err := cs.CoreV1().ServiceAccounts(id.Namespace).Create(ctx, sa, metav1.CreateOptions{})
		g.Expect(client.IgnoreAlreadyExists(err)).To(Succeed())
		tr, err := cs.CoreV1().ServiceAccounts(id.Namespace).CreateToken(ctx, id.Name, &authenticationv1.TokenRequest{
			Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](3600)},
		}, metav1.CreateOptions{})
		g.Expect(err).NotTo(HaveOccurred())
		return tr.Status.Token
	}
	tokenFile := filepath.Join(t.TempDir(), "token")
	writeToken := func(token string) {
		tmp := tokenFile + ".tmp"
		g.Expect(os.WriteFile(tmp, []byte(token), 0o600)).To(Succeed())
		g.Expect(os.Rename(tmp, tokenFile)).To(Succeed())
	}
	writeToken(newToken())
	g.Expect(c.Create(ctx, mc)).To(Succeed())
	waitReady(t, c, name)

	// The agent reads its token from the file, as `flotilla agent` does with a kubeconfig's
	// tokenFile.
	hubCfg := &rest.Config{
		Host: fleet.Hub.Config.Host, BearerTokenFile: tokenFile,
		TLSClientConfig: rest.TLSClientConfig{CAData: fleet.Hub.Config.CAData},
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	g.Expect(err).NotTo(HaveOccurred())
	healthAddr := l.Addr().String()
	g.Expect(l.Close()).To(Succeed())
	agent, err := member.NewManager(context.Background(), hubCfg, fleet.Members[0].Config, member.Options{Name: name, HealthAddr: healthAddr})
	g.Expect(err).NotTo(HaveOccurred())
	actx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- agent.Start(actx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("member agent: %v", err)
		}
	})
	ready := func() int {
		resp, err := http.Get("http://" + healthAddr + "/readyz")
		if err != nil {
			return 0
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	heartbeat := func(g Gomega) time.Time {
		agentStatus := eligibility.AgentStatusOf(getIMC(g, c, name).Status.AgentStatus, clusterv1beta1.MemberAgent)
		g.Expect(agentStatus).NotTo(BeNil())
		return agentStatus.LastReceivedHeartbeat.Time
	}

	// A Work the agent applies with its own identity.
	raw := func(objs ...map[string]any) []placementv1beta1.Manifest {
		var out []placementv1beta1.Manifest
		for _, o := range objs {
			b, err := json.Marshal(o)
			g.Expect(err).NotTo(HaveOccurred())
			m := placementv1beta1.Manifest{}
			m.Raw = b
			out = append(out, m)
		}
		return out
	}
	configMap := func(value string) map[string]any {
		return map[string]any{"apiVersion": "v1", "kind": "ConfigMap",
			"metadata": map[string]any{"name": "kept", "namespace": "revocation"}, "data": map[string]any{"v": value}}
	}
	ns := map[string]any{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": "revocation"}}
	work := &placementv1beta1.Work{
		ObjectMeta: metav1.ObjectMeta{Name: "revocation", Namespace: clusterv1beta1.NamespaceForMember(name)},
		Spec:       placementv1beta1.WorkSpec{Workload: placementv1beta1.WorkloadTemplate{Manifests: raw(ns, configMap("1"))}},
	}
	g.Expect(c.Create(ctx, work)).To(Succeed())
	placed := &corev1.ConfigMap{}
	placedKey := client.ObjectKey{Namespace: "revocation", Name: "kept"}
	g.Eventually(func(g Gomega) {
		g.Expect(memberClient.Get(ctx, placedKey, placed)).To(Succeed())
		g.Expect(placed.Data).To(HaveKeyWithValue("v", "1"))
		g.Expect(ready()).To(Equal(http.StatusOK))
	}, 90*time.Second, 200*time.Millisecond).Should(Succeed())

	// Revoke: deleting the ServiceAccount invalidates every token of it.
	g.Expect(cs.CoreV1().ServiceAccounts(id.Namespace).Delete(ctx, id.Name, metav1.DeleteOptions{})).To(Succeed())
	g.Eventually(ready, 60*time.Second, 200*time.Millisecond).ShouldNot(Equal(http.StatusOK))
	revokedAt := time.Now()
	// Over several heartbeat periods the agent stays up and removes nothing it placed.
	g.Consistently(func(g Gomega) {
		g.Expect(done).NotTo(Receive(), "the agent stopped when its token was revoked")
		g.Expect(memberClient.Get(ctx, placedKey, placed)).To(Succeed())
		g.Expect(placed.DeletionTimestamp).To(BeNil())
		g.Expect(memberClient.Get(ctx, client.ObjectKey{Name: "revocation"}, &corev1.Namespace{})).To(Succeed())
		g.Expect(ready()).NotTo(Equal(http.StatusOK))
	}, 8*time.Second, 500*time.Millisecond).Should(Succeed())
	g.Expect(c.Get(ctx, client.ObjectKeyFromObject(work), &placementv1beta1.Work{})).To(Succeed())

	// Restore: a new ServiceAccount of the same name, and its token written to the file.
	writeToken(newToken())
	g.Eventually(func(g Gomega) {
		g.Expect(ready()).To(Equal(http.StatusOK))
		g.Expect(heartbeat(g)).To(BeTemporally(">", revokedAt))
	}, 120*time.Second, 500*time.Millisecond).Should(Succeed())
	// And it applies changes again.
	g.Eventually(func() error {
		w := &placementv1beta1.Work{}
		if err := c.Get(ctx, client.ObjectKeyFromObject(work), w); err != nil {
			return err
		}
		w.Spec.Workload.Manifests = raw(ns, configMap("2"))
		return c.Update(ctx, w)
	}, 30*time.Second, 200*time.Millisecond).Should(Succeed())
	g.Eventually(func(g Gomega) {
		g.Expect(memberClient.Get(ctx, placedKey, placed)).To(Succeed())
		g.Expect(placed.Data).To(HaveKeyWithValue("v", "2"))
	}, 120*time.Second, 500*time.Millisecond).Should(Succeed())
}
