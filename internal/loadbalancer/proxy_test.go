package loadbalancer

import (
	"bufio"
	"io"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
)

// nameServer answers every connection with its name and a newline, then echoes what it
// reads until the client closes.
type nameServer struct {
	ln   net.Listener
	name string
}

func startNameServer(t *testing.T, addr, name string) *nameServer {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	s := &nameServer{ln: ln, name: name}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_, _ = io.WriteString(c, name+"\n")
				_, _ = io.Copy(c, c)
			}()
		}
	}()
	t.Cleanup(func() { ln.Close() })
	return s
}

func (s *nameServer) addrPort() netip.AddrPort { return netip.MustParseAddrPort(s.ln.Addr().String()) }

// ask opens a connection to addr and returns the first line it reads.
func ask(t *testing.T, addr string) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return ""
	}
	return strings.TrimSpace(line)
}

func TestTCPProxySpreadsConnectionsAndSkipsABackendThatStopped(t *testing.T) {
	a := startNameServer(t, "127.0.0.1:0", "a")
	b := startNameServer(t, "127.0.0.1:0", "b")
	p, err := ListenTCP("127.0.0.1:0", logr.Discard())
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	p.SetBackends([]Backend{{Addr: a.addrPort(), Weight: 1}, {Addr: b.addrPort(), Weight: 1}})
	got := map[string]int{}
	for i := 0; i < 10; i++ {
		got[ask(t, p.Addr().String())]++
	}
	if got["a"] != 5 || got["b"] != 5 {
		t.Fatalf("equal weights take turns: %v", got)
	}
	b.ln.Close()
	got = map[string]int{}
	for i := 0; i < 10; i++ {
		got[ask(t, p.Addr().String())]++
	}
	if got["a"] != 10 {
		t.Fatalf("a stopped backend is skipped: %v", got)
	}
}

func TestTCPProxyHonoursWeights(t *testing.T) {
	a := startNameServer(t, "127.0.0.1:0", "a")
	b := startNameServer(t, "127.0.0.1:0", "b")
	p, err := ListenTCP("127.0.0.1:0", logr.Discard())
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	p.SetBackends([]Backend{{Addr: a.addrPort(), Weight: 3}, {Addr: b.addrPort(), Weight: 1}, {Addr: b.addrPort(), Weight: 0}})
	got := map[string]int{}
	for i := 0; i < 8; i++ {
		got[ask(t, p.Addr().String())]++
	}
	if got["a"] != 6 || got["b"] != 2 {
		t.Fatalf("weights 3:1 over 8 connections: %v", got)
	}
}

func TestEstablishedConnectionSurvivesBackendChanges(t *testing.T) {
	a := startNameServer(t, "127.0.0.1:0", "a")
	b := startNameServer(t, "127.0.0.1:0", "b")
	p, err := ListenTCP("127.0.0.1:0", logr.Discard())
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	p.SetBackends([]Backend{{Addr: a.addrPort(), Weight: 1}})
	c, err := net.Dial("tcp", p.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	r := bufio.NewReader(c)
	if line, _ := r.ReadString('\n'); line != "a\n" {
		t.Fatalf("first line %q", line)
	}
	p.SetBackends([]Backend{{Addr: b.addrPort(), Weight: 1}})
	if _, err := io.WriteString(c, "still here\n"); err != nil {
		t.Fatal(err)
	}
	if line, err := r.ReadString('\n'); err != nil || line != "still here\n" {
		t.Fatalf("the established connection broke: %q %v", line, err)
	}
	if got := ask(t, p.Addr().String()); got != "b" {
		t.Fatalf("a new connection goes to the new backend, got %q", got)
	}
}

func TestHealthCheckDropsAndRestoresABackend(t *testing.T) {
	a := startNameServer(t, "127.0.0.1:0", "a")
	addr := a.ln.Addr().String()
	var p pool
	p.set([]Backend{{Addr: a.addrPort(), Weight: 1}})
	a.ln.Close()
	checkHealth(t.Context(), &p, time.Second)
	if e := p.pick(nil); e != nil {
		t.Fatalf("a backend that fails its check is picked")
	}
	startNameServer(t, addr, "a")
	checkHealth(t.Context(), &p, time.Second)
	if e := p.pick(nil); e == nil {
		t.Fatalf("a recovered backend is not picked")
	}
}

func TestUDPProxy(t *testing.T) {
	echo, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer echo.Close()
	go func() {
		buf := make([]byte, 1500)
		for {
			n, from, err := echo.ReadFromUDP(buf)
			if err != nil {
				return
			}
			_, _ = echo.WriteToUDP(append([]byte("echo:"), buf[:n]...), from)
		}
	}()
	p, err := ListenUDP("127.0.0.1:0", logr.Discard())
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	p.SetBackends([]Backend{{Addr: netip.MustParseAddrPort(echo.LocalAddr().String()), Weight: 1}})
	c, err := net.Dial("udp", p.conn.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write([]byte("ping")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 100)
	n, err := c.Read(buf)
	if err != nil || string(buf[:n]) != "echo:ping" {
		t.Fatalf("got %q, %v", buf[:n], err)
	}
}

func TestMapEndpointAndAllocator(t *testing.T) {
	if got := MapEndpoint(netip.MustParseAddr("198.19.2.3")); got != netip.MustParseAddr("127.19.2.3") {
		t.Fatalf("got %s", got)
	}
	if got := MapEndpoint(netip.MustParseAddr("10.0.0.1")); got != netip.MustParseAddr("10.0.0.1") {
		t.Fatalf("got %s", got)
	}
	if got, err := SimulatedPodAddress(netip.MustParseAddr("127.18.0.7")); err != nil || got != netip.MustParseAddr("198.18.0.7") {
		t.Fatalf("got %s %v", got, err)
	}
	if _, err := SimulatedPodAddress(netip.MustParseAddr("127.0.0.1")); err == nil {
		t.Fatal("127.0.0.1 has no simulated pod address")
	}
	al := newAllocator(netip.MustParsePrefix("127.240.0.0/30"))
	x, _ := al.get("x", netip.Addr{})
	y, _ := al.get("y", netip.MustParseAddr("127.240.0.3"))
	z, _ := al.get("z", netip.MustParseAddr("127.240.0.3"))
	if x.String() != "127.240.0.1" || y.String() != "127.240.0.3" || z.String() != "127.240.0.2" {
		t.Fatalf("x %s y %s z %s", x, y, z)
	}
	if _, err := al.get("w", netip.Addr{}); err == nil {
		t.Fatal("a full range gives an error")
	}
	al.release("x")
	if w, err := al.get("w", netip.Addr{}); err != nil || w != x {
		t.Fatalf("a released address is reused: %s %v", w, err)
	}
}
