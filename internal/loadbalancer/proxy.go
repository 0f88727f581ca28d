package loadbalancer

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"time"

	"github.com/go-logr/logr"
)

// dialTimeout bounds one attempt to reach a backend.
const dialTimeout = 2 * time.Second

// refusedBackoff keeps a backend that refused a connection out of rotation until the
// health checker has had a look.
const refusedBackoff = 5 * time.Second

// TCPProxy accepts connections on one address and forwards each to a backend of its pool.
type TCPProxy struct {
	ln   net.Listener
	pool pool
	log  logr.Logger
	wg   sync.WaitGroup
}

// ListenTCP starts a TCP proxy on addr. Set its backends with SetBackends.
func ListenTCP(addr string, log logr.Logger) (*TCPProxy, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	p := &TCPProxy{ln: ln, log: log}
	p.wg.Add(1)
	go p.serve()
	return p, nil
}

// Addr is the address the proxy listens on.
func (p *TCPProxy) Addr() net.Addr { return p.ln.Addr() }

// SetBackends replaces the backends; established connections are not affected.
func (p *TCPProxy) SetBackends(b []Backend) { p.pool.set(b) }

// Close stops accepting. Connections already forwarded run on until either side closes.
func (p *TCPProxy) Close() error {
	err := p.ln.Close()
	p.wg.Wait()
	return err
}

func (p *TCPProxy) serve() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			p.log.Error(err, "accepting a connection")
			time.Sleep(10 * time.Millisecond) // a transient accept error (EMFILE) must not spin
			continue
		}
		go p.forward(c.(*net.TCPConn))
	}
}

// forward connects the client to a backend, trying the next one when a backend refuses,
// then copies both ways. Between two *net.TCPConn, io.Copy splices in the kernel, so
// the bytes are never copied through user space.
func (p *TCPProxy) forward(client *net.TCPConn) {
	defer client.Close()
	tried := map[*poolEntry]bool{}
	var backend *net.TCPConn
	for {
		e := p.pool.pick(tried)
		if e == nil {
			return // no backend can take it: the client sees the connection closed
		}
		tried[e] = true
		ctx, cancel := context.WithTimeout(context.Background(), dialTimeout)
		c, err := (&net.Dialer{}).DialContext(ctx, "tcp", e.Addr.String())
		cancel()
		if err == nil {
			backend = c.(*net.TCPConn)
			break
		}
		e.downUntil.Store(time.Now().Add(refusedBackoff).UnixNano())
	}
	defer backend.Close()
	done := make(chan struct{})
	go func() {
		_, _ = io.Copy(backend, client)
		_ = backend.CloseWrite()
		close(done)
	}()
	_, _ = io.Copy(client, backend)
	_ = client.CloseWrite()
	<-done
}
