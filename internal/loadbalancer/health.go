package loadbalancer

import (
	"context"
	"net"
	"time"
)

// checkHealth dials every TCP backend of the pool once and marks it healthy when it
// accepts. A backend that fails leaves the rotation; it comes back once it accepts again.
func checkHealth(ctx context.Context, p *pool, timeout time.Duration) {
	for _, e := range p.entries() {
		cctx, cancel := context.WithTimeout(ctx, timeout)
		c, err := (&net.Dialer{}).DialContext(cctx, "tcp", e.Addr.String())
		cancel()
		if err != nil {
			e.healthy.Store(false)
			continue
		}
		c.Close()
		e.healthy.Store(true)
		e.downUntil.Store(0)
	}
}
