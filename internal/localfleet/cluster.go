package localfleet

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// Cluster is one cluster of the local fleet: a kube-apiserver on a loopback port with its
// own etcd prefix, and a kube-controller-manager beside it.
type Cluster struct {
	// Name is "hub" or "member-<i>".
	Name string
	// Config reaches the API server as a cluster admin.
	Config *rest.Config
	// KubeconfigPath is the admin kubeconfig written for kubectl.
	KubeconfigPath string

	bins      Binaries
	dir       string
	logDir    string
	port      int
	etcdURL   string
	saKeyPath string
	saPubPath string
	caPath    string
	apiserver *process
	kcm       *process
	// workloads, when set, adds the workload controllers, a scheduler and kwok (workloads.go).
	workloads *WorkloadBinaries
	podCIDR   string
	extra     []*process
}

const stopGrace = 10 * time.Second

func (c *Cluster) apiserverArgs() []string {
	return []string{
		"--etcd-servers", c.etcdURL,
		"--etcd-prefix", "/" + c.Name,
		"--bind-address", "127.0.0.1",
		"--advertise-address", "127.0.0.1",
		"--secure-port", strconv.Itoa(c.port),
		"--cert-dir", filepath.Join(c.dir, "apiserver-certs"),
		"--tls-cert-file", filepath.Join(c.dir, "serving.crt"),
		"--tls-private-key-file", filepath.Join(c.dir, "serving.key"),
		"--client-ca-file", c.caPath,
		"--authorization-mode", "RBAC",
		"--service-account-issuer", "https://" + c.Name + ".flotilla.local",
		"--service-account-key-file", c.saPubPath,
		"--service-account-signing-key-file", c.saKeyPath,
		"--service-cluster-ip-range", "10.96.0.0/16",
		"--allow-privileged",
		"--profiling=false",
		// Fair queuing protects a shared production API server; a local one only pays for it.
		"--enable-priority-and-fairness=false",
		"--v", "1",
	}
}

// startAPIServer starts the API server and waits until /readyz answers ok.
func (c *Cluster) startAPIServer(ctx context.Context) error {
	proc, err := startProcess(c.Name+"-apiserver", c.bins.KubeAPIServer, c.logDir, c.apiserverArgs()...)
	if err != nil {
		return err
	}
	c.apiserver = proc
	cs, err := kubernetes.NewForConfig(withTimeout(c.Config, 5*time.Second))
	if err != nil {
		return err
	}
	return poll(ctx, proc, 90*time.Second, c.Name+" API server /readyz", func(ctx context.Context) (bool, error) {
		body, err := cs.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
		if err != nil {
			return false, err
		}
		return strings.TrimSpace(string(body)) == "ok", nil
	})
}

// startControllerManager runs the controllers that make namespace deletion, garbage
// collection and service-account tokens work as on a real cluster.
func (c *Cluster) startControllerManager() error {
	controllers := "namespace-controller,garbage-collector-controller,serviceaccount-token-controller,serviceaccount-controller"
	if c.workloads != nil {
		controllers += "," + strings.Join(workloadControllers, ",")
	}
	proc, err := startProcess(c.Name+"-controller-manager", c.bins.KubeControllerManager, c.logDir,
		"--kubeconfig", c.KubeconfigPath,
		"--controllers", controllers,
		"--service-account-private-key-file", c.saKeyPath,
		"--root-ca-file", c.caPath,
		"--leader-elect=false",
		"--secure-port", "0",
		"--v", "1",
	)
	if err != nil {
		return err
	}
	c.kcm = proc
	if c.workloads != nil {
		return c.startWorkloadProcesses()
	}
	return nil
}

// StopAPIServer stops the cluster's API server and controller manager, as if the cluster
// became unreachable. StartAPIServer brings them back on the same port with the same data.
func (c *Cluster) StopAPIServer() {
	c.stopWorkloadProcesses()
	c.kcm.stop(stopGrace)
	c.apiserver.stop(stopGrace)
}

// StartAPIServer starts a stopped API server and controller manager again.
func (c *Cluster) StartAPIServer(ctx context.Context) error {
	if c.apiserver != nil && !c.apiserver.exited() {
		return fmt.Errorf("the API server of %s is already running", c.Name)
	}
	if err := c.startAPIServer(ctx); err != nil {
		return err
	}
	return c.startControllerManager()
}

func (c *Cluster) stop() {
	c.stopWorkloadProcesses()
	c.kcm.stop(stopGrace)
	c.apiserver.stop(stopGrace)
}

// writeKubeconfig writes a kubeconfig for the cluster's API server with the given
// credentials: a client certificate, or a bearer token.
func writeKubeconfig(path, server string, caPEM []byte, user string, cred clientcmdapi.AuthInfo) error {
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters[user] = &clientcmdapi.Cluster{Server: server, CertificateAuthorityData: caPEM}
	cfg.AuthInfos[user] = &cred
	cfg.Contexts[user] = &clientcmdapi.Context{Cluster: user, AuthInfo: user}
	cfg.CurrentContext = user
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return clientcmd.WriteToFile(*cfg, path)
}

func withTimeout(cfg *rest.Config, d time.Duration) *rest.Config {
	c := rest.CopyConfig(cfg)
	c.Timeout = d
	return c
}
