package loadbalancer

import (
	"errors"
	"net"
	"sync"
	"time"

	"github.com/go-logr/logr"
)

// udpIdle is how long a UDP flow without packets keeps its backend socket.
const udpIdle = 60 * time.Second

// UDPProxy forwards datagrams from each client to one backend, chosen per flow (client
// address), and the backend's answers back to the client.
type UDPProxy struct {
	conn  *net.UDPConn
	pool  pool
	log   logr.Logger
	mu    sync.Mutex
	flows map[string]*net.UDPConn
	wg    sync.WaitGroup
}

// ListenUDP starts a UDP proxy on addr.
func ListenUDP(addr string, log logr.Logger) (*UDPProxy, error) {
	ua, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return nil, err
	}
	conn, err := net.ListenUDP("udp", ua)
	if err != nil {
		return nil, err
	}
	p := &UDPProxy{conn: conn, log: log, flows: map[string]*net.UDPConn{}}
	p.wg.Add(1)
	go p.serve()
	return p, nil
}

// SetBackends replaces the backends; existing flows keep theirs until they go idle.
func (p *UDPProxy) SetBackends(b []Backend) { p.pool.set(b) }

// Close stops the proxy and its flows.
func (p *UDPProxy) Close() error {
	err := p.conn.Close()
	p.mu.Lock()
	for _, f := range p.flows {
		f.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
	return err
}

func (p *UDPProxy) serve() {
	defer p.wg.Done()
	buf := make([]byte, 64*1024)
	for {
		n, client, err := p.conn.ReadFromUDP(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		flow := p.flow(client)
		if flow == nil {
			continue
		}
		_, _ = flow.Write(buf[:n])
	}
}

func (p *UDPProxy) flow(client *net.UDPAddr) *net.UDPConn {
	key := client.String()
	p.mu.Lock()
	defer p.mu.Unlock()
	if f, ok := p.flows[key]; ok {
		return f
	}
	e := p.pool.pick(nil)
	if e == nil {
		return nil
	}
	f, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(e.Addr))
	if err != nil {
		return nil
	}
	p.flows[key] = f
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		defer func() {
			p.mu.Lock()
			delete(p.flows, key)
			p.mu.Unlock()
			f.Close()
		}()
		buf := make([]byte, 64*1024)
		for {
			_ = f.SetReadDeadline(time.Now().Add(udpIdle))
			n, err := f.Read(buf)
			if err != nil {
				return
			}
			_, _ = p.conn.WriteToUDP(buf[:n], client)
		}
	}()
	return f
}
