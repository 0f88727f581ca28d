// Package localfleet runs a real fleet on one machine: one etcd, and for the hub and each
// member a kube-apiserver (each under its own etcd prefix) and a kube-controller-manager.
// The integration tests, the e2e tests and `flotilla local up` all use it.
package localfleet

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"sync"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// Options say what fleet to start.
type Options struct {
	// Members is the number of member clusters, named member-1 … member-N. It may be 0.
	Members int
	// Dir holds the kubeconfigs, certificates, etcd data and logs. It is created (0700) if
	// missing; an existing one must be the user's own and not writable by others (PrepareDir).
	Dir string
	// Binaries are the kube components to run; see FindBinaries.
	Binaries Binaries
	// Workloads, when set, makes each member run the workload controllers, a kube-scheduler
	// and kwok with these binaries, so that placed workloads get (fake) running pods.
	Workloads *WorkloadBinaries
	// Restart says what to do when a child process dies that nobody stopped. The zero
	// policy restarts nothing: the fleet fails at the first death (see Fleet.Failed).
	Restart RestartPolicy
	// Log receives a line for each child process that died, restarted or failed; nil
	// discards them.
	Log io.Writer
}

// Fleet is a running local fleet.
type Fleet struct {
	Dir     string
	Hub     *Cluster
	Members []*Cluster

	ca   *authority
	etcd *etcdServer
	sup  *supervisor
}

// Start starts the fleet and returns once every API server is ready and, unless skipped,
// the CRDs and policies are installed on the hub. On error, whatever was started is stopped.
func Start(ctx context.Context, opts Options) (_ *Fleet, err error) {
	if opts.Members < 0 {
		return nil, fmt.Errorf("members must be 0 or more, not %d", opts.Members)
	}
	dir, err := PrepareDir(opts.Dir)
	if err != nil {
		return nil, err
	}
	logDir := filepath.Join(dir, "logs")
	for _, d := range []string{logDir, filepath.Join(dir, "clusters"), filepath.Join(dir, "agents")} {
		if err := ensureDir(d); err != nil {
			return nil, err
		}
	}
	if missing := opts.Binaries.missing(); len(missing) > 0 {
		return nil, fmt.Errorf("missing kube binaries: %v (see FindBinaries)", missing)
	}
	if opts.Workloads != nil {
		if missing := opts.Workloads.missing(); len(missing) > 0 {
			return nil, fmt.Errorf("missing workload binaries: %v (see FindWorkloadBinaries)", missing)
		}
	}

	f := &Fleet{Dir: dir, sup: newSupervisor(opts.Restart, opts.Log)}
	defer func() {
		if err != nil {
			f.Stop()
		}
	}()
	if f.ca, err = newAuthority("flotilla-local-ca"); err != nil {
		return nil, err
	}
	caPath := filepath.Join(dir, "ca.crt")
	if err := WriteFileAtomic(caPath, f.ca.certPEM); err != nil {
		return nil, err
	}
	if f.etcd, err = startEtcd(ctx, f.sup, opts.Binaries.Etcd, dir, logDir); err != nil {
		return nil, err
	}

	names := []string{"hub"}
	for i := 1; i <= opts.Members; i++ {
		names = append(names, "member-"+strconv.Itoa(i))
	}
	clusters := make([]*Cluster, len(names))
	for i, name := range names {
		if clusters[i], err = f.newCluster(name, opts.Binaries, caPath, logDir); err != nil {
			return nil, err
		}
	}
	f.Hub, f.Members = clusters[0], clusters[1:]
	if opts.Workloads != nil {
		for i, m := range f.Members {
			m.workloads = opts.Workloads
			m.podCIDR = fmt.Sprintf("10.%d.0.0/16", 100+i%100)
		}
	}
	for _, c := range clusters {
		if err := c.addChildren(); err != nil {
			return nil, err
		}
	}

	// The API servers start in parallel: each spends most of its start-up waiting on etcd.
	errs := make([]error, len(clusters))
	var wg sync.WaitGroup
	for i, c := range clusters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = startWithRetry(ctx, c)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	for _, c := range clusters {
		if err := c.startControllerManager(ctx); err != nil {
			return nil, err
		}
	}
	return f, nil
}

// startWithRetry starts an API server, on a new port if the chosen one was taken meanwhile.
func startWithRetry(ctx context.Context, c *Cluster) error {
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		if err = c.startAPIServer(ctx); err == nil {
			return nil
		}
		c.sup.stop(c.apiserver, false)
		if ctx.Err() != nil {
			return err
		}
		if c.port, err = freePort(); err != nil {
			return err
		}
		c.Config.Host = "https://127.0.0.1:" + strconv.Itoa(c.port)
	}
	return err
}

func (f *Fleet) newCluster(name string, bins Binaries, caPath, logDir string) (*Cluster, error) {
	cdir := filepath.Join(f.Dir, "clusters", name)
	if err := ensureDir(cdir); err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	serving, err := f.ca.serving()
	if err != nil {
		return nil, err
	}
	if err := WriteFileAtomic(filepath.Join(cdir, "serving.crt"), serving.certPEM); err != nil {
		return nil, err
	}
	if err := WriteFileAtomic(filepath.Join(cdir, "serving.key"), serving.keyPEM); err != nil {
		return nil, err
	}
	saKey, saPub, err := newServiceAccountKey(cdir)
	if err != nil {
		return nil, err
	}
	admin, err := f.ca.client("flotilla-admin", "system:masters")
	if err != nil {
		return nil, err
	}
	c := &Cluster{
		Name: name, bins: bins, dir: cdir, logDir: logDir, port: port, sup: f.sup,
		etcd: f.etcd, saKeyPath: saKey, saPubPath: saPub, caPath: caPath,
		KubeconfigPath: filepath.Join(f.Dir, name+".kubeconfig"),
	}
	server := "https://127.0.0.1:" + strconv.Itoa(port)
	if err := writeKubeconfig(c.KubeconfigPath, server, f.ca.certPEM, name+"-admin",
		clientcmdapi.AuthInfo{ClientCertificateData: admin.certPEM, ClientKeyData: admin.keyPEM}); err != nil {
		return nil, err
	}
	c.Config = &rest.Config{
		Host: server,
		TLSClientConfig: rest.TLSClientConfig{
			CAData: f.ca.certPEM, CertData: admin.certPEM, KeyData: admin.keyPEM,
		},
		QPS:   200,
		Burst: 400,
	}
	return c, nil
}

// Member returns the member cluster with the given name, or nil.
func (f *Fleet) Member(name string) *Cluster {
	for _, m := range f.Members {
		if m.Name == name {
			return m
		}
	}
	return nil
}

// TokenConfig returns a rest config for the given cluster that authenticates with a bearer
// token, and writes it as a kubeconfig at path when path is not empty.
func (f *Fleet) TokenConfig(c *Cluster, user, token, path string) (*rest.Config, error) {
	if path != "" {
		if err := writeKubeconfig(path, c.Config.Host, f.ca.certPEM, user, clientcmdapi.AuthInfo{Token: token}); err != nil {
			return nil, err
		}
	}
	return &rest.Config{
		Host:            c.Config.Host,
		BearerToken:     token,
		TLSClientConfig: rest.TLSClientConfig{CAData: f.ca.certPEM},
		QPS:             c.Config.QPS,
		Burst:           c.Config.Burst,
	}, nil
}

// Stop stops every process of the fleet. It is safe to call more than once.
func (f *Fleet) Stop() {
	if f.sup != nil {
		f.sup.shutdown()
	}
	var wg sync.WaitGroup
	for _, c := range append([]*Cluster{f.Hub}, f.Members...) {
		if c == nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.stop()
		}()
	}
	wg.Wait()
	if f.etcd != nil {
		f.sup.stop(f.etcd.child, false)
	}
}

// Children names the fleet's child processes in start order: "etcd", then per cluster
// "<cluster>-apiserver" and "<cluster>-controller-manager" (and with workloads
// "<member>-scheduler" and "<member>-kwok"). Their logs are DIR/logs/<name>.log.
func (f *Fleet) Children() []string { return f.sup.names() }

// KillChild kills the named child process at once (SIGKILL), as a crash would, and waits
// until it is gone. It is a stop on purpose: the supervisor does not restart it and the
// fleet does not fail; StartChild brings it back. Fault-injection tests use it.
func (f *Fleet) KillChild(name string) error {
	c, err := f.sup.child(name)
	if err != nil {
		return err
	}
	f.sup.stop(c, true)
	return nil
}

// StopChild stops the named child process on purpose with SIGTERM, killing it after a
// grace period, like KillChild otherwise.
func (f *Fleet) StopChild(name string) error {
	c, err := f.sup.child(name)
	if err != nil {
		return err
	}
	f.sup.stop(c, false)
	return nil
}

// StartChild starts the named child process again with the arguments it had (the same
// ports and data), and waits until it is ready. It fails if the child runs already.
func (f *Fleet) StartChild(ctx context.Context, name string) error {
	c, err := f.sup.child(name)
	if err != nil {
		return err
	}
	return f.sup.start(ctx, c)
}

// ChildPID returns the process id of the named child while it runs.
func (f *Fleet) ChildPID(name string) (int, bool) {
	c, err := f.sup.child(name)
	if err != nil {
		return 0, false
	}
	return c.pid()
}

// Failed is closed when a child process died that nobody stopped and the restart policy
// did not (or could not) bring it back. Failure then says which child, and why.
func (f *Fleet) Failed() <-chan struct{} { return f.sup.failed }

// Failure is the error Failed announced, or nil.
func (f *Fleet) Failure() error {
	f.sup.mu.Lock()
	defer f.sup.mu.Unlock()
	return f.sup.failure
}

// EtcdURL is the client URL of the fleet's etcd. It takes TLS with a client certificate
// signed by etcd's own authority: DIR/pki/etcd-client.crt and .key, trusting etcd-ca.crt.
func (f *Fleet) EtcdURL() string { return f.etcd.clientURL() }

// LoadConfig reads a kubeconfig file into a rest config.
func LoadConfig(path string) (*rest.Config, error) {
	return clientcmd.BuildConfigFromFlags("", path)
}
