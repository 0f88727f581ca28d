package localfleet

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"path/filepath"
	"strconv"
	"time"
)

// etcdServer is the one etcd all the fleet's API servers share, each under its own prefix.
// It serves TLS only, on client and peer port alike, and admits only clients with a
// certificate of its own authority (--client-cert-auth): the API servers' etcd client
// certificate. Anyone else on the machine can reach its loopback port but cannot read it.
type etcdServer struct {
	child      *child
	clientPort int
	peerPort   int
	// The files of etcd's authority, its own certificate, and the API servers' client one.
	caPath, certPath, keyPath, clientCertPath, clientKeyPath string
	// health reaches /health with the client certificate.
	health *http.Client
}

func (e *etcdServer) clientURL() string { return "https://127.0.0.1:" + strconv.Itoa(e.clientPort) }
func (e *etcdServer) peerURL() string   { return "https://127.0.0.1:" + strconv.Itoa(e.peerPort) }

// newEtcd makes etcd's authority and certificates in pkiDir.
func newEtcd(pkiDir string) (*etcdServer, error) {
	ca, err := newAuthority("flotilla-local-etcd-ca")
	if err != nil {
		return nil, err
	}
	server, err := ca.etcdPeer()
	if err != nil {
		return nil, err
	}
	client, err := ca.client("kube-apiserver-etcd-client")
	if err != nil {
		return nil, err
	}
	e := &etcdServer{
		caPath:         filepath.Join(pkiDir, "etcd-ca.crt"),
		certPath:       filepath.Join(pkiDir, "etcd.crt"),
		keyPath:        filepath.Join(pkiDir, "etcd.key"),
		clientCertPath: filepath.Join(pkiDir, "etcd-client.crt"),
		clientKeyPath:  filepath.Join(pkiDir, "etcd-client.key"),
	}
	for path, data := range map[string][]byte{
		e.caPath: ca.certPEM, e.certPath: server.certPEM, e.keyPath: server.keyPEM,
		e.clientCertPath: client.certPEM, e.clientKeyPath: client.keyPEM,
	} {
		if err := WriteFileAtomic(path, data); err != nil {
			return nil, err
		}
	}
	cert, err := tls.X509KeyPair(client.certPEM, client.keyPEM)
	if err != nil {
		return nil, err
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(ca.certPEM)
	e.health = &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: roots, Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12},
	}}
	return e, nil
}

func (e *etcdServer) args(dataDir string) []string {
	return []string{
		"--name", "flotilla",
		"--data-dir", dataDir,
		"--listen-client-urls", e.clientURL(),
		"--advertise-client-urls", e.clientURL(),
		"--listen-peer-urls", e.peerURL(),
		"--initial-advertise-peer-urls", e.peerURL(),
		"--initial-cluster", "flotilla=" + e.peerURL(),
		"--cert-file", e.certPath,
		"--key-file", e.keyPath,
		"--trusted-ca-file", e.caPath,
		"--client-cert-auth",
		"--peer-cert-file", e.certPath,
		"--peer-key-file", e.keyPath,
		"--peer-trusted-ca-file", e.caPath,
		"--peer-client-cert-auth",
		// A local fleet is disposable: skipping fsync makes it several times faster.
		"--unsafe-no-fsync",
		"--log-level", "warn",
	}
}

func (e *etcdServer) healthy(ctx context.Context) (bool, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, e.clientURL()+"/health", nil)
	resp, err := e.health.Do(req)
	if err != nil {
		return false, err
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK, nil
}

// startEtcd starts etcd under the supervisor, on new ports if the chosen ones were taken.
func startEtcd(ctx context.Context, s *supervisor, binary, dir, logDir string) (*etcdServer, error) {
	pkiDir := filepath.Join(dir, "pki")
	if err := ensureDir(pkiDir); err != nil {
		return nil, err
	}
	e, err := newEtcd(pkiDir)
	if err != nil {
		return nil, err
	}
	dataDir := filepath.Join(dir, "etcd")
	e.child = s.add(&child{
		name: "etcd", binary: binary, logDir: logDir,
		args:  func() []string { return e.args(dataDir) },
		ready: e.healthy, readyTimeout: 30 * time.Second, stopGrace: 5 * time.Second,
	})
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		if e.clientPort, err = freePort(); err != nil {
			return nil, err
		}
		if e.peerPort, err = freePort(); err != nil {
			return nil, err
		}
		if lastErr = s.start(ctx, e.child); lastErr == nil {
			return e, nil
		}
		s.stop(e.child, false)
		if ctx.Err() != nil {
			break
		}
	}
	return nil, fmt.Errorf("starting etcd: %w", lastErr)
}
