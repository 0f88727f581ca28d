// Package fastclient builds a client for hub controllers that write many objects at once
// (one binding or Work per member): it reads through the manager's cache like the manager's
// client, but writes with a higher rate limit than client-go's default of 5 requests per
// second, which would make placing on 1,000 members take minutes.
package fastclient

import (
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

const (
	// QPS and Burst are the write rate limits. The hub API server's own max-in-flight limits
	// still protect it.
	QPS   = 500
	Burst = 1000
)

// New returns a client that reads from mgr's cache and writes at QPS/Burst.
func New(mgr ctrl.Manager) (client.Client, error) {
	cfg := rest.CopyConfig(mgr.GetConfig())
	if cfg.QPS < QPS {
		cfg.QPS, cfg.Burst = QPS, Burst
	}
	return client.New(cfg, client.Options{
		Scheme: mgr.GetScheme(),
		Mapper: mgr.GetRESTMapper(),
		Cache:  &client.CacheOptions{Reader: mgr.GetCache()},
	})
}
