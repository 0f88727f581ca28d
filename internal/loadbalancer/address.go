package loadbalancer

import (
	"fmt"
	"net/netip"
	"sync"
)

// DefaultRange is the loopback range load balancer addresses come from.
var DefaultRange = netip.MustParsePrefix("127.240.0.0/16")

// SimulatedPodRange is where the local fleet's endpoints live in EndpointSlices. The API
// server refuses loopback addresses in EndpointSlices, so a process standing in for a pod
// listens on 127.18.x.y and its slice says 198.18.x.y (a range reserved for benchmarking,
// RFC 2544, that routes nowhere). The data plane dials the loopback twin; see MapEndpoint.
var SimulatedPodRange = netip.MustParsePrefix("198.18.0.0/15")

// MapEndpoint returns the address the local data plane dials for an endpoint address:
// 198.18.x.y and 198.19.x.y become 127.18.x.y and 127.19.x.y; any other address is itself.
func MapEndpoint(a netip.Addr) netip.Addr {
	if !SimulatedPodRange.Contains(a) {
		return a
	}
	b := a.As4()
	b[0] = 127
	return netip.AddrFrom4(b)
}

// SimulatedPodAddress is the inverse of MapEndpoint for 127.18.0.0/15: the address to put in
// an EndpointSlice for a process listening on a loopback address there.
func SimulatedPodAddress(loopback netip.Addr) (netip.Addr, error) {
	if !netip.MustParsePrefix("127.18.0.0/15").Contains(loopback) {
		return netip.Addr{}, fmt.Errorf("%s is not in 127.18.0.0/15, the loopback twin of the simulated pod range %s", loopback, SimulatedPodRange)
	}
	b := loopback.As4()
	b[0] = 198
	return netip.AddrFrom4(b), nil
}

// allocator hands out load balancer addresses from a range, one per Service.
type allocator struct {
	mu     sync.Mutex
	prefix netip.Prefix
	byKey  map[string]netip.Addr
	used   map[netip.Addr]string
}

func newAllocator(prefix netip.Prefix) *allocator {
	return &allocator{prefix: prefix.Masked(), byKey: map[string]netip.Addr{}, used: map[netip.Addr]string{}}
}

// get returns key's address, taking preferred when it is free and in range (so a restarted
// data plane keeps the addresses it wrote into Service statuses), else the lowest free one.
func (a *allocator) get(key string, preferred netip.Addr) (netip.Addr, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if ip, ok := a.byKey[key]; ok {
		return ip, nil
	}
	if preferred.IsValid() && a.prefix.Contains(preferred) && preferred != a.prefix.Addr() {
		if _, taken := a.used[preferred]; !taken {
			a.take(key, preferred)
			return preferred, nil
		}
	}
	for ip := a.prefix.Addr().Next(); a.prefix.Contains(ip); ip = ip.Next() {
		if _, taken := a.used[ip]; !taken {
			a.take(key, ip)
			return ip, nil
		}
	}
	return netip.Addr{}, fmt.Errorf("no free load balancer address left in %s", a.prefix)
}

func (a *allocator) take(key string, ip netip.Addr) {
	a.byKey[key] = ip
	a.used[ip] = key
}

func (a *allocator) release(key string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if ip, ok := a.byKey[key]; ok {
		delete(a.used, ip)
		delete(a.byKey, key)
	}
}

func (a *allocator) owns(ip netip.Addr) bool { return a.prefix.Contains(ip) }
