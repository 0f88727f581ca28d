package localfleet_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/flotilla-dev/flotilla/internal/localfleet"
	"github.com/flotilla-dev/flotilla/internal/testenv"
)

// etcdRead asks etcd to count every key, as any client that got in could.
func etcdRead(client *http.Client, url string) (int, string, error) {
	body := strings.NewReader(`{"key":"AA==","range_end":"AA==","count_only":true}`)
	resp, err := client.Post(url+"/v3/kv/range", "application/json", body)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(data), nil
}

func tlsClient(t *testing.T, caPEM []byte, certs ...tls.Certificate) *http.Client {
	t.Helper()
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(caPEM) {
		t.Fatal("no CA certificate")
	}
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: roots, Certificates: certs},
	}}
}

func TestEtcdTakesOnlyTheAPIServersCertificate(t *testing.T) {
	g := NewWithT(t)
	url := fleet.EtcdURL()
	plainURL := "http://" + strings.TrimPrefix(strings.TrimPrefix(url, "https://"), "http://")

	// Plain HTTP, as before etcd had TLS.
	status, body, err := etcdRead(&http.Client{Timeout: 10 * time.Second}, plainURL)
	g.Expect(err != nil || status != http.StatusOK).To(BeTrue(), "plain HTTP read etcd: %d %s", status, body)

	g.Expect(url).To(HavePrefix("https://127.0.0.1:"))
	pki := filepath.Join(fleet.Dir, "pki")
	etcdCA, err := os.ReadFile(filepath.Join(pki, "etcd-ca.crt"))
	g.Expect(err).NotTo(HaveOccurred())

	// TLS without a client certificate.
	_, _, err = etcdRead(tlsClient(t, etcdCA), url)
	g.Expect(err).To(HaveOccurred(), "a client without a certificate read etcd")

	// The admin kubeconfig's certificate is of the fleet's other authority: no entry either.
	admin, err := tls.X509KeyPair(fleet.Hub.Config.CertData, fleet.Hub.Config.KeyData)
	g.Expect(err).NotTo(HaveOccurred())
	_, _, err = etcdRead(tlsClient(t, etcdCA, admin), url)
	g.Expect(err).To(HaveOccurred(), "the admin client certificate read etcd")

	// The API servers' etcd client certificate gets in: the check above could pass.
	apiservers, err := tls.LoadX509KeyPair(filepath.Join(pki, "etcd-client.crt"), filepath.Join(pki, "etcd-client.key"))
	g.Expect(err).NotTo(HaveOccurred())
	status, body, err = etcdRead(tlsClient(t, etcdCA, apiservers), url)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(status).To(Equal(http.StatusOK), body)
	g.Expect(body).To(ContainSubstring(`"count"`))
}

func TestTokenConfigReplacesAFilePlantedByAnotherUser(t *testing.T) {
	g := NewWithT(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "agent.kubeconfig")
	g.Expect(os.WriteFile(path, []byte("planted\n"), 0o666)).To(Succeed())
	g.Expect(os.Chmod(path, 0o666)).To(Succeed())
	if os.Geteuid() == 0 {
		g.Expect(os.Chown(path, 65534, 65534)).To(Succeed())
	}
	// The planter keeps a second name for the file, to read what goes into it.
	theirs := filepath.Join(dir, "theirs")
	g.Expect(os.Link(path, theirs)).To(Succeed())

	_, err := fleet.TokenConfig(fleet.Hub, "someone", "the-secret-token", path)
	g.Expect(err).NotTo(HaveOccurred())

	planted, err := os.ReadFile(theirs)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(string(planted)).To(Equal("planted\n"), "the token was written into the planted file")
	info, err := os.Stat(path)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(info.Mode().Perm()).To(Equal(os.FileMode(0o600)))
	g.Expect(int(info.Sys().(*syscall.Stat_t).Uid)).To(Equal(os.Geteuid()))
	written, err := os.ReadFile(path)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(string(written)).To(ContainSubstring("the-secret-token"))
}

func TestStartRefusesAFolderOfAnotherUser(t *testing.T) {
	g := NewWithT(t)
	dir := "/usr"
	if os.Geteuid() == 0 {
		dir = filepath.Join(t.TempDir(), "theirs")
		g.Expect(os.Mkdir(dir, 0o755)).To(Succeed())
		g.Expect(os.Chown(dir, 65534, 65534)).To(Succeed())
	}
	bins, err := testenv.Binaries()
	g.Expect(err).NotTo(HaveOccurred())
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	f, err := localfleet.Start(ctx, localfleet.Options{Dir: dir, Binaries: bins})
	if err == nil {
		f.Stop()
	}
	var dirErr *localfleet.DirError
	g.Expect(errors.As(err, &dirErr)).To(BeTrue(), "Start in another user's folder: %v", err)
	g.Expect(err.Error()).To(ContainSubstring("is owned by uid"))
	entries, _ := os.ReadDir(dir)
	if dir != "/usr" {
		g.Expect(entries).To(BeEmpty(), "Start wrote into another user's folder")
	}
}

func TestKillChildAndStartChildOnPurpose(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	g.Expect(fleet.Children()).To(ContainElements("etcd", "hub-apiserver", "hub-controller-manager", "member-1-apiserver", "member-1-controller-manager"))
	g.Expect(fleet.KillChild("no-such-child")).To(MatchError(ContainSubstring("member-1-apiserver")))

	cs := clientset(t, fleet.Members[0])
	before, ok := fleet.ChildPID("member-1-apiserver")
	g.Expect(ok).To(BeTrue())
	g.Expect(fleet.KillChild("member-1-apiserver")).To(Succeed())
	_, ok = fleet.ChildPID("member-1-apiserver")
	g.Expect(ok).To(BeFalse())
	_, err := cs.Discovery().ServerVersion()
	g.Expect(err).To(HaveOccurred(), "a killed API server answered")
	// A kill on purpose is no crash: the fleet neither fails nor restarts it.
	g.Consistently(func() error { return fleet.Failure() }, 2*time.Second, 100*time.Millisecond).Should(Succeed())
	_, ok = fleet.ChildPID("member-1-apiserver")
	g.Expect(ok).To(BeFalse(), "the supervisor restarted a child killed on purpose")

	// Its controller manager dies now, from outside, while the API server it needs is away:
	// that is no crash (the shared fleet restarts none), and it starts again after the API server.
	kcmBefore, ok := fleet.ChildPID("member-1-controller-manager")
	g.Expect(ok).To(BeTrue())
	g.Expect(syscall.Kill(kcmBefore, syscall.SIGKILL)).To(Succeed())
	g.Eventually(func() bool {
		_, running := fleet.ChildPID("member-1-controller-manager")
		return running
	}, 10*time.Second, 50*time.Millisecond).Should(BeFalse())
	g.Consistently(func() error { return fleet.Failure() }, 2*time.Second, 100*time.Millisecond).Should(Succeed())
	_, ok = fleet.ChildPID("member-1-controller-manager")
	g.Expect(ok).To(BeFalse(), "the controller manager started before the API server it needs")

	g.Expect(fleet.StartChild(ctx, "member-1-apiserver")).To(Succeed())
	after, ok := fleet.ChildPID("member-1-apiserver")
	g.Expect(ok).To(BeTrue())
	g.Expect(after).NotTo(Equal(before))
	g.Eventually(func() int {
		pid, _ := fleet.ChildPID("member-1-controller-manager")
		return pid
	}, 30*time.Second, 100*time.Millisecond).ShouldNot(BeElementOf(0, kcmBefore))
	g.Expect(fleet.Failure()).To(Succeed())
	g.Expect(fleet.StartChild(ctx, "member-1-apiserver")).To(MatchError(ContainSubstring("already running")))
	_, err = cs.CoreV1().Namespaces().Get(ctx, "kube-system", metav1.GetOptions{})
	g.Expect(err).NotTo(HaveOccurred())

	// etcd: the API servers lose their storage and get it back once etcd runs again.
	hub := clientset(t, fleet.Hub)
	g.Expect(fleet.KillChild("etcd")).To(Succeed())
	g.Eventually(func() error {
		_, err := hub.CoreV1().Namespaces().Get(ctx, "kube-system", metav1.GetOptions{})
		return err
	}, 60*time.Second, 200*time.Millisecond).Should(HaveOccurred())
	g.Expect(fleet.StartChild(ctx, "etcd")).To(Succeed())
	g.Eventually(func() error {
		_, err := hub.CoreV1().Namespaces().Get(ctx, "kube-system", metav1.GetOptions{})
		return err
	}, 90*time.Second, 200*time.Millisecond).Should(Succeed())
	g.Expect(fleet.Failure()).To(Succeed())
}

// A child that dies while nobody stopped it is restarted, as often as the policy allows;
// once more and the fleet fails, naming the child. Its own fleet: the shared one must live.
func TestADeadChildIsRestartedThenFailsTheFleet(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	bins, err := testenv.Binaries()
	g.Expect(err).NotTo(HaveOccurred())
	log := &testenv.SyncBuffer{}
	startCtx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	f, err := localfleet.Start(startCtx, localfleet.Options{
		Dir: t.TempDir(), Binaries: bins, Log: log,
		Restart: localfleet.RestartPolicy{MaxRestarts: 1, Window: time.Hour},
	})
	g.Expect(err).NotTo(HaveOccurred())
	defer f.Stop()
	cs := clientset(t, f.Hub)

	// A crash from outside: nobody asked the fleet.
	pid, ok := f.ChildPID("hub-apiserver")
	g.Expect(ok).To(BeTrue())
	g.Expect(syscall.Kill(pid, syscall.SIGKILL)).To(Succeed())
	g.Eventually(log.String, 30*time.Second, 100*time.Millisecond).Should(ContainSubstring("hub-apiserver died"))
	g.Eventually(log.String, 120*time.Second, 200*time.Millisecond).Should(ContainSubstring("hub-apiserver runs again"))
	_, err = cs.CoreV1().Namespaces().Get(ctx, "kube-system", metav1.GetOptions{})
	g.Expect(err).NotTo(HaveOccurred(), "the restarted API server does not serve")
	g.Expect(f.Failure()).To(Succeed())

	// The second death in the window is one too many.
	pid, ok = f.ChildPID("hub-apiserver")
	g.Expect(ok).To(BeTrue())
	g.Expect(syscall.Kill(pid, syscall.SIGKILL)).To(Succeed())
	g.Eventually(f.Failed(), 30*time.Second).Should(BeClosed())
	g.Expect(f.Failure()).To(MatchError(ContainSubstring("hub-apiserver died and is not restarted")))
}
