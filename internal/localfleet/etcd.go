package localfleet

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"strconv"
	"time"
)

// etcdServer is the one etcd all the fleet's API servers share, each under its own prefix.
type etcdServer struct {
	proc      *process
	clientURL string
}

func startEtcd(ctx context.Context, binary, dir, logDir string) (*etcdServer, error) {
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		clientPort, err := freePort()
		if err != nil {
			return nil, err
		}
		peerPort, err := freePort()
		if err != nil {
			return nil, err
		}
		clientURL := "http://127.0.0.1:" + strconv.Itoa(clientPort)
		peerURL := "http://127.0.0.1:" + strconv.Itoa(peerPort)
		proc, err := startProcess("etcd", binary, logDir,
			"--name", "flotilla",
			"--data-dir", filepath.Join(dir, "etcd"),
			"--listen-client-urls", clientURL,
			"--advertise-client-urls", clientURL,
			"--listen-peer-urls", peerURL,
			"--initial-advertise-peer-urls", peerURL,
			"--initial-cluster", "flotilla="+peerURL,
			// A local fleet is disposable: skipping fsync makes it several times faster.
			"--unsafe-no-fsync",
			"--log-level", "warn",
		)
		if err != nil {
			return nil, err
		}
		e := &etcdServer{proc: proc, clientURL: clientURL}
		lastErr = poll(ctx, proc, 30*time.Second, "etcd to become healthy", func(ctx context.Context) (bool, error) {
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, clientURL+"/health", nil)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				return false, err
			}
			resp.Body.Close()
			return resp.StatusCode == http.StatusOK, nil
		})
		if lastErr == nil {
			return e, nil
		}
		proc.stop(5 * time.Second)
	}
	return nil, fmt.Errorf("starting etcd: %w", lastErr)
}
