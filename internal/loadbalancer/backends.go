package loadbalancer

import (
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// Backend is one endpoint a port forwards to.
type Backend struct {
	// Addr is the address dialled, ip:port.
	Addr netip.AddrPort
	// Weight is the endpoint's share of new connections; its cluster's weight divided
	// among the cluster's endpoints.
	Weight float64
}

// pool spreads new connections across healthy backends by smooth weighted round robin:
// with equal weights it takes each backend in turn. Replacing the backends never touches
// connections already established.
type pool struct {
	mu       sync.Mutex
	backends []*poolEntry
}

type poolEntry struct {
	Backend
	current float64
	healthy atomic.Bool
	// downUntil is when a backend that refused a connection may be tried again before
	// the health checker has looked at it (unix nanoseconds).
	downUntil atomic.Int64
}

// set replaces the backends, keeping the health of those that stay.
func (p *pool) set(backends []Backend) {
	p.mu.Lock()
	defer p.mu.Unlock()
	old := map[Backend]*poolEntry{}
	for _, e := range p.backends {
		old[e.Backend] = e
	}
	next := make([]*poolEntry, 0, len(backends))
	for _, b := range backends {
		if e, ok := old[b]; ok {
			next = append(next, e)
			continue
		}
		e := &poolEntry{Backend: b}
		e.healthy.Store(true)
		next = append(next, e)
	}
	p.backends = next
}

// entries returns the current backends.
func (p *pool) entries() []*poolEntry {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]*poolEntry(nil), p.backends...)
}

// pick returns the next backend to try, skipping those in skip and those not usable.
func (p *pool) pick(skip map[*poolEntry]bool) *poolEntry {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now().UnixNano()
	var total float64
	var best *poolEntry
	for _, e := range p.backends {
		if skip[e] || !e.healthy.Load() || e.downUntil.Load() > now || e.Weight <= 0 {
			continue
		}
		e.current += e.Weight
		total += e.Weight
		if best == nil || e.current > best.current {
			best = e
		}
	}
	if best != nil {
		best.current -= total
	}
	return best
}
