// Package fastclient builds a client for hub controllers that write many objects at once
// (one binding or Work per member): it reads through the manager's cache like the manager's
// client, but writes with a higher rate limit than client-go's default of 5 requests per
// second, which would make placing on 1,000 members take minutes.
package fastclient

import (
	"context"
	"sync"

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

// RunAll runs jobs with at most n at a time and returns the first error.
func RunAll(ctx context.Context, n int, jobs []func(context.Context) error) error {
	if len(jobs) == 0 {
		return nil
	}
	ch := make(chan func(context.Context) error)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var first error
	for range min(n, len(jobs)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for job := range ch {
				if err := job(ctx); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
				}
			}
		}()
	}
	for _, j := range jobs {
		ch <- j
	}
	close(ch)
	wg.Wait()
	return first
}
