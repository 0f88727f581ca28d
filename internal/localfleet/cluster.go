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

	"github.com/flotilla-dev/flotilla/internal/readyz"
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
	etcd      *etcdServer
	saKeyPath string
	saPubPath string
	caPath    string
	sup       *supervisor
	apiserver *child
	kcm       *child
	// workloads, when set, adds the workload controllers, a scheduler and kwok (workloads.go).
	workloads *WorkloadBinaries
	podCIDR   string
	extra     []*child
}

const stopGrace = 10 * time.Second

func (c *Cluster) apiserverArgs() []string {
	return []string{
		"--etcd-servers", c.etcd.clientURL(),
		"--etcd-prefix", "/" + c.Name,
		"--etcd-cafile", c.etcd.caPath,
		"--etcd-certfile", c.etcd.clientCertPath,
		"--etcd-keyfile", c.etcd.clientKeyPath,
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

// addChildren registers the cluster's processes with the supervisor; none starts yet.
func (c *Cluster) addChildren() error {
	cs, err := kubernetes.NewForConfig(withTimeout(c.Config, 5*time.Second))
	if err != nil {
		return err
	}
	c.apiserver = c.sup.add(&child{
		name: c.Name + "-apiserver", binary: c.bins.KubeAPIServer, logDir: c.logDir,
		args: c.apiserverArgs, readyTimeout: 90 * time.Second, needs: []*child{c.etcd.child},
		ready: func(ctx context.Context) (bool, error) {
			err := readyz.Check(ctx, cs.Discovery().RESTClient(), 5*time.Second)
			return err == nil, err
		},
	})
	c.kcm = c.sup.add(&child{
		name: c.Name + "-controller-manager", binary: c.bins.KubeControllerManager, logDir: c.logDir,
		args: c.controllerManagerArgs, needs: []*child{c.apiserver},
	})
	if c.workloads != nil {
		c.addWorkloadChildren()
	}
	return nil
}

// startAPIServer starts the API server and waits until /readyz answers ok.
func (c *Cluster) startAPIServer(ctx context.Context) error {
	return c.sup.start(ctx, c.apiserver)
}

// controllerManagerArgs run the controllers that make namespace deletion, garbage
// collection, service-account tokens and aggregated ClusterRoles (the built-in admin and edit
// roles take in Flotilla's namespaced kinds) work as on a real cluster.
func (c *Cluster) controllerManagerArgs() []string {
	controllers := "namespace-controller,garbage-collector-controller,serviceaccount-token-controller,serviceaccount-controller," +
		"clusterrole-aggregation-controller"
	if c.workloads != nil {
		controllers += "," + strings.Join(workloadControllers, ",")
	}
	return []string{
		"--kubeconfig", c.KubeconfigPath,
		"--controllers", controllers,
		"--service-account-private-key-file", c.saKeyPath,
		"--root-ca-file", c.caPath,
		"--leader-elect=false",
		"--secure-port", "0",
		"--v", "1",
	}
}

// startControllerManager starts the controller manager and, with workloads, the scheduler
// and kwok.
func (c *Cluster) startControllerManager(ctx context.Context) error {
	for _, ch := range append([]*child{c.kcm}, c.extra...) {
		if err := c.sup.start(ctx, ch); err != nil {
			return err
		}
	}
	return nil
}

// StopAPIServer stops the cluster's API server and controller manager, as if the cluster
// became unreachable. StartAPIServer brings them back on the same port with the same data.
// It is a stop on purpose: the supervisor does not restart them.
func (c *Cluster) StopAPIServer() {
	c.stop()
}

// StartAPIServer starts a stopped API server and controller manager again.
func (c *Cluster) StartAPIServer(ctx context.Context) error {
	if c.apiserver.running() {
		return fmt.Errorf("the API server of %s is already running", c.Name)
	}
	if err := c.startAPIServer(ctx); err != nil {
		return err
	}
	return c.startControllerManager(ctx)
}

// stop stops the cluster's processes on purpose: its clients first, the API server last.
func (c *Cluster) stop() {
	for _, ch := range c.extra {
		c.sup.stop(ch, false)
	}
	if c.kcm != nil {
		c.sup.stop(c.kcm, false)
	}
	if c.apiserver != nil {
		c.sup.stop(c.apiserver, false)
	}
}

// writeKubeconfig writes a kubeconfig for the cluster's API server with the given
// credentials: a client certificate, or a bearer token.
func writeKubeconfig(path, server string, caPEM []byte, user string, cred clientcmdapi.AuthInfo) error {
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters[user] = &clientcmdapi.Cluster{Server: server, CertificateAuthorityData: caPEM}
	cfg.AuthInfos[user] = &cred
	cfg.Contexts[user] = &clientcmdapi.Context{Cluster: user, AuthInfo: user}
	cfg.CurrentContext = user
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	data, err := clientcmd.Write(*cfg)
	if err != nil {
		return err
	}
	return WriteFileAtomic(path, data)
}

func withTimeout(cfg *rest.Config, d time.Duration) *rest.Config {
	c := rest.CopyConfig(cfg)
	c.Timeout = d
	return c
}
