// Package install runs docs/install.md: every sh block of it, in order, on three clusters of
// the local fleet that have nothing of Flotilla on them (the local fleet's own hub is not
// used). kwok plays the pods of the charts' Deployments and starts no containers, so the
// test runs what they would run as processes: the hub controllers and the agents, each with
// a token of its chart's ServiceAccount, so that the charts' RBAC is what they run with.
package install

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	authenticationv1 "k8s.io/api/authentication/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/utils/ptr"

	"github.com/flotilla-dev/flotilla/internal/fleetup"
	"github.com/flotilla-dev/flotilla/internal/localfleet"
	"github.com/flotilla-dev/flotilla/internal/testenv"
)

var fleet *fleetup.Fleet

func TestMain(m *testing.M) {
	testenv.WorkloadFleetMain(m, "e2e-install", fleetup.Options{Members: 0, Spare: 3, HeartbeatSeconds: 1}, &fleet, nil)
}

// shBlocks are the ```sh blocks of a Markdown file, in order.
func shBlocks(t *testing.T, path string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var blocks []string
	for _, m := range regexp.MustCompile("(?ms)^```sh\n(.*?)^```").FindAllStringSubmatch(string(data), -1) {
		blocks = append(blocks, m[1])
	}
	return blocks
}

func TestInstallDoc(t *testing.T) {
	g := NewWithT(t)
	root := testenv.RepoRoot(t)
	flotilla := testenv.BuildFlotilla(t)
	helm := testenv.Helm(t)
	bin := t.TempDir()
	g.Expect(os.Symlink(helm, filepath.Join(bin, "helm"))).To(Succeed())
	g.Expect(os.Symlink(flotilla, filepath.Join(bin, "flotilla"))).To(Succeed())

	hubCluster, edge1, edge2 := fleet.Members[0], fleet.Members[1], fleet.Members[2]
	env := append(os.Environ(),
		"PATH="+bin+":"+os.Getenv("PATH"), "HOME="+t.TempDir(), "KUBECONFIG=",
		"HUB_KUBECONFIG="+hubCluster.KubeconfigPath, "EDGE1_KUBECONFIG="+edge1.KubeconfigPath, "EDGE2_KUBECONFIG="+edge2.KubeconfigPath,
		"HUB_SERVER="+hubCluster.Config.Host, "IMAGE=ghcr.io/flotilla-dev/flotilla", "TAG=v0.1.0", "NEW_TAG=v0.2.0")

	ctx, cancel := context.WithCancel(context.Background())
	stand := &standIns{t: t, flotilla: flotilla, dir: t.TempDir()}
	done := make(chan struct{})
	go func() {
		defer close(done)
		stand.run(ctx, hubCluster, map[string]*localfleet.Cluster{"edge-1": edge1, "edge-2": edge2})
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		stand.stopAll()
	})

	blocks := shBlocks(t, filepath.Join(root, "docs", "install.md"))
	g.Expect(len(blocks)).To(BeNumerically(">=", 6), "docs/install.md has its sh blocks")
	var outputs []string
	for i, block := range blocks {
		cmd := exec.Command("bash", "-euo", "pipefail", "-c", block)
		cmd.Dir, cmd.Env = root, env
		start := time.Now()
		out, err := cmd.CombinedOutput()
		outputs = append(outputs, string(out))
		if err != nil {
			t.Fatalf("docs/install.md block %d failed after %s: %v\n--- block\n%s--- output\n%s", i+1, time.Since(start).Round(time.Second), err, block, out)
		}
		t.Logf("block %d ran in %s", i+1, time.Since(start).Round(100*time.Millisecond))
	}
	all := strings.Join(outputs, "\n")
	g.Expect(all).To(MatchRegexp(`edge-1\s+True\s+True`), "member list shows edge-1 joined and healthy")
	g.Expect(all).To(MatchRegexp(`edge-2\s+True\s+True`))
	g.Expect(all).To(ContainSubstring("Flotilla's CRDs are applied and served"))
	g.Expect(strings.Count(all, "is out of the fleet")).To(Equal(2))

	// After the uninstall, nothing of the hub controllers or of the agents is left but the
	// CRDs, which Helm keeps.
	hubCS, err := kubernetes.NewForConfig(hubCluster.Config)
	g.Expect(err).NotTo(HaveOccurred())
	_, err = hubCS.AppsV1().Deployments("fleet-system").Get(context.Background(), "flotilla-hub", metav1.GetOptions{})
	g.Expect(apierrors.IsNotFound(err)).To(BeTrue(), "hub Deployment: %v", err)
	_, err = hubCS.CoreV1().ServiceAccounts("fleet-system").Get(context.Background(), "edge-1-agent", metav1.GetOptions{})
	g.Expect(apierrors.IsNotFound(err)).To(BeTrue(), "edge-1's identity: %v", err)
	for _, edge := range []*localfleet.Cluster{edge1, edge2} {
		cs, err := kubernetes.NewForConfig(edge.Config)
		g.Expect(err).NotTo(HaveOccurred())
		_, err = cs.AppsV1().Deployments("flotilla-system").Get(context.Background(), "flotilla-agent", metav1.GetOptions{})
		g.Expect(apierrors.IsNotFound(err)).To(BeTrue(), "%s's agent Deployment: %v", edge.Name, err)
	}
	g.Expect(stand.started("hub")).To(BeNumerically(">=", 1))
	g.Expect(stand.started("edge-1")).To(BeNumerically(">=", 1))
}

// standIns run, as processes, what the pods of the charts' Deployments would run: while the
// Deployment (hub) or the credentials Secret (agent) exists, a process runs with a token of
// the chart's ServiceAccount; when it goes, the process is stopped.
type standIns struct {
	t        *testing.T
	flotilla string
	dir      string

	mu      sync.Mutex
	running map[string]*exec.Cmd
	logs    map[string]*testenv.SyncBuffer
	starts  map[string]int
}

func (s *standIns) started(name string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.starts[name]
}

func (s *standIns) run(ctx context.Context, hub *localfleet.Cluster, edges map[string]*localfleet.Cluster) {
	s.running, s.logs, s.starts = map[string]*exec.Cmd{}, map[string]*testenv.SyncBuffer{}, map[string]int{}
	ticker := time.NewTicker(300 * time.Millisecond)
	defer ticker.Stop()
	for {
		s.keep(ctx, "hub", hub, "fleet-system", "flotilla-hub", func(cs kubernetes.Interface) bool {
			_, err := cs.AppsV1().Deployments("fleet-system").Get(ctx, "flotilla-hub", metav1.GetOptions{})
			return err == nil
		}, func(kubeconfig string) []string {
			return []string{"hub", "--kubeconfig", kubeconfig, "--skip-install", "--leader-elect", "--health-probe-bind-address", "0"}
		})
		for name, edge := range edges {
			s.keep(ctx, name, edge, "flotilla-system", "flotilla-agent", func(cs kubernetes.Interface) bool {
				_, err := cs.AppsV1().Deployments("flotilla-system").Get(ctx, "flotilla-agent", metav1.GetOptions{})
				return err == nil
			}, func(kubeconfig string) []string {
				return []string{"agent", "--name", name, "--kubeconfig", kubeconfig,
					"--hub-credentials-secret", "flotilla-system/flotilla-agent-hub", "--health-probe-bind-address", "0"}
			})
		}
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
	}
}

// keep starts the process name when wanted says so and it does not run, and stops it when
// wanted no longer says so.
func (s *standIns) keep(ctx context.Context, name string, cluster *localfleet.Cluster, namespace, sa string,
	wanted func(kubernetes.Interface) bool, args func(kubeconfig string) []string) {
	cs, err := kubernetes.NewForConfig(cluster.Config)
	if err != nil {
		return
	}
	want := wanted(cs)
	s.mu.Lock()
	cmd := s.running[name]
	s.mu.Unlock()
	switch {
	case want && cmd == nil:
		kubeconfig, err := s.serviceAccountKubeconfig(ctx, cs, cluster, namespace, sa)
		if err != nil {
			return // the chart's ServiceAccount is not there yet
		}
		log := &testenv.SyncBuffer{}
		cmd := exec.Command(s.flotilla, args(kubeconfig)...)
		cmd.Stdout, cmd.Stderr = log, log
		if err := cmd.Start(); err != nil {
			s.t.Errorf("starting the %s stand-in: %v", name, err)
			return
		}
		s.mu.Lock()
		s.running[name], s.logs[name] = cmd, log
		s.starts[name]++
		s.mu.Unlock()
	case !want && cmd != nil:
		s.stop(name)
	}
}

func (s *standIns) stop(name string) {
	s.mu.Lock()
	cmd := s.running[name]
	delete(s.running, name)
	s.mu.Unlock()
	if cmd != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}
}

func (s *standIns) stopAll() {
	s.mu.Lock()
	var names []string
	for name := range s.running {
		names = append(names, name)
	}
	s.mu.Unlock()
	for _, name := range names {
		s.stop(name)
	}
	if s.t.Failed() {
		s.mu.Lock()
		defer s.mu.Unlock()
		for name, log := range s.logs {
			s.t.Logf("%s stand-in log (last 4000 bytes):\n%s", name, tail(log.String(), 4000))
		}
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// serviceAccountKubeconfig writes a kubeconfig with a token of the ServiceAccount, as a pod of
// it would have.
func (s *standIns) serviceAccountKubeconfig(ctx context.Context, cs kubernetes.Interface, cluster *localfleet.Cluster, namespace, sa string) (string, error) {
	tr, err := cs.CoreV1().ServiceAccounts(namespace).CreateToken(ctx, sa, &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](3600)},
	}, metav1.CreateOptions{})
	if err != nil {
		return "", err
	}
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["c"] = &clientcmdapi.Cluster{Server: cluster.Config.Host, CertificateAuthorityData: cluster.Config.CAData}
	cfg.AuthInfos["u"] = &clientcmdapi.AuthInfo{Token: tr.Status.Token}
	cfg.Contexts["c"] = &clientcmdapi.Context{Cluster: "c", AuthInfo: "u"}
	cfg.CurrentContext = "c"
	path := filepath.Join(s.dir, cluster.Name+"-"+sa+".kubeconfig")
	return path, clientcmd.WriteToFile(*cfg, path)
}
