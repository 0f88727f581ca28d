package credentials_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/flotilla-dev/flotilla/internal/localfleet"
	"github.com/flotilla-dev/flotilla/internal/member/credentials"
	"github.com/flotilla-dev/flotilla/internal/memberjoin"
	"github.com/flotilla-dev/flotilla/internal/testenv"
)

var fleet *localfleet.Fleet

// A hub only: the renewer asks it for tokens, and a Secret on it plays the member's Secret.
func TestMain(m *testing.M) { testenv.Main(m, 0, &fleet) }

// fraction renews a 10-minute token after 6 seconds.
const fraction = 0.01

func hubAdmin(t *testing.T) kubernetes.Interface {
	t.Helper()
	cs, err := kubernetes.NewForConfig(fleet.Hub.Config)
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

// asAgent is a hub client that sends whatever token the store holds now.
func asAgent(t *testing.T, token func() string) kubernetes.Interface {
	t.Helper()
	cfg := rest.AnonymousClientConfig(fleet.Hub.Config)
	cfg.BearerToken = token()
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

// whoAmI asks the hub who a token is.
func whoAmI(g Gomega, token string) string {
	cfg := rest.AnonymousClientConfig(fleet.Hub.Config)
	cfg.BearerToken = token
	cs, err := kubernetes.NewForConfig(cfg)
	g.Expect(err).NotTo(HaveOccurred())
	review, err := cs.AuthenticationV1().SelfSubjectReviews().Create(context.Background(), &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
	g.Expect(err).NotTo(HaveOccurred())
	return review.Status.UserInfo.Username
}

func startRenewer(t *testing.T, hub kubernetes.Interface, store credentials.Store, member string) *credentials.Renewer {
	t.Helper()
	r := credentials.NewRenewer(hub, credentials.Options{Store: store, Fraction: fraction, MemberName: member})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Start(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("renewer: %v", err)
		}
	})
	return r
}

// An agent renews its token in a file before it expires, the new token is its own identity's,
// and its readiness stays good.
func TestRenewsTokenFile(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	admin := hubAdmin(t)
	_, err := memberjoin.EnsureIdentity(ctx, admin, "renew-file")
	g.Expect(err).NotTo(HaveOccurred())
	first, _, err := memberjoin.IssueToken(ctx, admin, "renew-file", 10*time.Minute)
	g.Expect(err).NotTo(HaveOccurred())
	store := credentials.FileStore{Path: filepath.Join(t.TempDir(), "token")}
	g.Expect(store.Save(ctx, first)).To(Succeed())

	// The agent's client reads the token file, as a kubeconfig's tokenFile.
	cfg := rest.AnonymousClientConfig(fleet.Hub.Config)
	cfg.BearerTokenFile = store.Path
	hub, err := kubernetes.NewForConfig(cfg)
	g.Expect(err).NotTo(HaveOccurred())
	r := startRenewer(t, hub, store, "renew-file")

	var renewed string
	g.Eventually(func(g Gomega) {
		renewed, err = store.Load(ctx)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(renewed).NotTo(Equal(first))
	}, 60*time.Second, 200*time.Millisecond).Should(Succeed())
	token, err := credentials.ParseToken(renewed)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(token.Lifetime()).To(Equal(10 * time.Minute))
	g.Expect(whoAmI(g, renewed)).To(Equal("system:serviceaccount:fleet-system:renew-file-agent"))
	g.Expect(r.Ready(nil)).To(Succeed())
}

// The identity may renew its own token and nothing else: not another agent's, not the hub
// controllers', and it may not make ServiceAccounts.
func TestIdentityRenewsOnlyItself(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	admin := hubAdmin(t)
	for _, m := range []string{"self", "other"} {
		_, err := memberjoin.EnsureIdentity(ctx, admin, m)
		g.Expect(err).NotTo(HaveOccurred())
	}
	token, _, err := memberjoin.IssueToken(ctx, admin, "self", 10*time.Minute)
	g.Expect(err).NotTo(HaveOccurred())
	agent := asAgent(t, func() string { return token })
	tokens := agent.CoreV1().ServiceAccounts(memberjoin.SystemNamespace)
	request := &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptrTo(600)}}

	_, err = tokens.CreateToken(ctx, "self-agent", request, metav1.CreateOptions{})
	g.Expect(err).NotTo(HaveOccurred(), "its own token")
	for _, sa := range []string{"other-agent", "flotilla-hub", "default"} {
		_, err = tokens.CreateToken(ctx, sa, request, metav1.CreateOptions{})
		g.Expect(err).To(HaveOccurred(), "a token of %s", sa)
		g.Expect(err.Error()).To(ContainSubstring("forbidden"))
	}
	_, err = tokens.Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "made-by-agent"}}, metav1.CreateOptions{})
	g.Expect(err).To(HaveOccurred())
	_, err = agent.CoreV1().Secrets(memberjoin.SystemNamespace).List(ctx, metav1.ListOptions{})
	g.Expect(err).To(HaveOccurred())
}

// A token kept in the member's Secret is renewed there, and the hub client sends the new one
// at once. When the identity is revoked, the renewer says so; new credentials stored in the
// Secret clear it.
func TestRenewsSecretAndReportsRevocation(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	admin := hubAdmin(t)
	const member = "renew-secret"
	_, err := memberjoin.EnsureIdentity(ctx, admin, member)
	g.Expect(err).NotTo(HaveOccurred())
	first, _, err := memberjoin.IssueToken(ctx, admin, member, 10*time.Minute)
	g.Expect(err).NotTo(HaveOccurred())

	// The "member" is the same API server here: the Secret is what join writes on a member.
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "agent-" + member}}
	_, err = admin.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{})
	g.Expect(err).NotTo(HaveOccurred())
	_, err = admin.CoreV1().Secrets(ns.Name).Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "hub"},
		Data: map[string][]byte{
			credentials.SecretServerKey: []byte(fleet.Hub.Config.Host),
			credentials.SecretCAKey:     fleet.Hub.Config.CAData,
			credentials.SecretTokenKey:  []byte(first),
		},
	}, metav1.CreateOptions{})
	g.Expect(err).NotTo(HaveOccurred())

	cfg, store, err := credentials.HubConfigFromSecret(ctx, admin, ns.Name, "hub")
	g.Expect(err).NotTo(HaveOccurred())
	hub, err := kubernetes.NewForConfig(cfg)
	g.Expect(err).NotTo(HaveOccurred())
	r := startRenewer(t, hub, store, member)

	g.Eventually(func(g Gomega) {
		secret, err := admin.CoreV1().Secrets(ns.Name).Get(ctx, "hub", metav1.GetOptions{})
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(string(secret.Data[credentials.SecretTokenKey])).NotTo(Equal(first))
		g.Expect(store.Token()).To(Equal(string(secret.Data[credentials.SecretTokenKey])))
	}, 60*time.Second, 200*time.Millisecond).Should(Succeed())
	review, err := hub.AuthenticationV1().SelfSubjectReviews().Create(ctx, &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(review.Status.UserInfo.Username).To(Equal("system:serviceaccount:fleet-system:renew-secret-agent"))

	// Revoked: deleting the ServiceAccount invalidates every token of it.
	g.Expect(admin.CoreV1().ServiceAccounts(memberjoin.SystemNamespace).Delete(ctx, member+"-agent", metav1.DeleteOptions{})).To(Succeed())
	g.Eventually(func() error { return r.Ready(nil) }, 60*time.Second, 200*time.Millisecond).Should(
		MatchError(And(ContainSubstring("revoked"), ContainSubstring("flotilla member join "+member))))

	// New credentials, as `flotilla member join` run again stores them.
	_, err = memberjoin.EnsureIdentity(ctx, admin, member)
	g.Expect(err).NotTo(HaveOccurred())
	fresh, _, err := memberjoin.IssueToken(ctx, admin, member, 10*time.Minute)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(store.Save(ctx, fresh)).To(Succeed())
	g.Eventually(func() error { return r.Ready(nil) }, 60*time.Second, 200*time.Millisecond).Should(Succeed())
}

func ptrTo(v int64) *int64 { return &v }
