package testenv

import (
	"errors"
	"fmt"
	"io"
	"net"
	"sync"

	"k8s.io/client-go/rest"
)

// CutProxy forwards TCP from a free loopback port to an address, and can be cut. While
// cut it does not listen and has closed every connection, so clients get "connection
// refused", as from a dead server (a proxy that accepted and closed would look like a
// flaky network instead, which client-go retries). Restore listens on the same port again,
// so a client's config stays valid.
type CutProxy struct {
	addr   string
	target string

	mu       sync.Mutex
	listener net.Listener // nil while cut
	conns    map[net.Conn]struct{}
	wg       sync.WaitGroup
}

// NewCutProxy listens on 127.0.0.1 at a free port and forwards to target (host:port).
func NewCutProxy(target string) (*CutProxy, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &CutProxy{addr: l.Addr().String(), target: target, conns: map[net.Conn]struct{}{}}
	p.serve(l)
	return p, nil
}

// Addr is the proxy's host:port.
func (p *CutProxy) Addr() string { return p.addr }

// Through returns a copy of cfg that reaches its API server through the proxy. The TLS
// server name stays the original host's, so certificates still verify.
func (p *CutProxy) Through(cfg *rest.Config) (*rest.Config, error) {
	out := rest.CopyConfig(cfg)
	u, _, err := rest.DefaultServerUrlFor(cfg)
	if err != nil {
		return nil, err
	}
	if out.ServerName == "" {
		out.ServerName = u.Hostname()
	}
	u.Host = p.addr
	out.Host = u.String()
	return out, nil
}

// Cut stops listening and closes every open connection.
func (p *CutProxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.listener != nil {
		_ = p.listener.Close()
		p.listener = nil
	}
	for c := range p.conns {
		_ = c.Close()
	}
}

// Restore listens again on the proxy's port. It fails if something else took the port
// during the cut.
func (p *CutProxy) Restore() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.listener != nil {
		return nil
	}
	l, err := net.Listen("tcp", p.addr)
	if err != nil {
		return fmt.Errorf("listening again on %s: %w", p.addr, err)
	}
	p.serveLocked(l)
	return nil
}

// Close stops the proxy and its connections.
func (p *CutProxy) Close() {
	p.Cut()
	p.wg.Wait()
}

func (p *CutProxy) serve(l net.Listener) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.serveLocked(l)
}

func (p *CutProxy) serveLocked(l net.Listener) {
	p.listener = l
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			in, err := l.Accept()
			if errors.Is(err, net.ErrClosed) {
				return
			}
			if err != nil {
				continue
			}
			if !p.track(in, l) {
				_ = in.Close()
				continue
			}
			p.wg.Add(1)
			go p.forward(in, l)
		}
	}()
}

// track registers a connection unless its listener was cut meanwhile.
func (p *CutProxy) track(c net.Conn, l net.Listener) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.listener != l {
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *CutProxy) untrack(c net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.conns, c)
	_ = c.Close()
}

func (p *CutProxy) forward(in net.Conn, l net.Listener) {
	defer p.wg.Done()
	defer p.untrack(in)
	out, err := net.Dial("tcp", p.target)
	if err != nil {
		return
	}
	if !p.track(out, l) {
		_ = out.Close()
		return
	}
	defer p.untrack(out)
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(out, in); done <- struct{}{} }()
	go func() { _, _ = io.Copy(in, out); done <- struct{}{} }()
	<-done
}
