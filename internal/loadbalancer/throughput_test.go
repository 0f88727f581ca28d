package loadbalancer

import (
	"fmt"
	"io"
	"net"
	"net/netip"
	"sort"
	"syscall"
	"testing"
	"time"

	"github.com/go-logr/logr"
)

// BenchmarkThroughput compares a bulk TCP transfer through the data plane with the same
// transfer over a direct loopback connection, and prints the ratio (DESIGN target ≥ 0.8).
// Each round sends transferBytes both ways in turn; the median of the rounds' ratios is
// reported, so a burst of load from elsewhere on the machine does not decide the figure.
//
//	go test -run '^$' -bench Throughput -benchtime 1x ./internal/loadbalancer/
func BenchmarkThroughput(b *testing.B) {
	const (
		transferBytes = 512 << 20
		rounds        = 7
	)
	sink := startSink(b)
	p, err := ListenTCP("127.0.0.1:0", logr.Discard())
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	p.SetBackends([]Backend{{Addr: netip.MustParseAddrPort(sink.Addr().String()), Weight: 1}})

	for i := 0; i < b.N; i++ {
		var ratios, direct, proxied, cpuRatios []float64
		for r := 0; r < rounds; r++ {
			d, dcpu := transfer(b, sink.Addr().String(), transferBytes)
			x, xcpu := transfer(b, p.Addr().String(), transferBytes)
			direct = append(direct, d)
			proxied = append(proxied, x)
			ratios = append(ratios, x/d)
			cpuRatios = append(cpuRatios, dcpu/xcpu)
		}
		ratio := median(ratios)
		b.ReportMetric(median(direct), "direct-MB/s")
		b.ReportMetric(median(proxied), "proxied-MB/s")
		b.ReportMetric(ratio, "ratio")
		b.ReportMetric(median(cpuRatios), "cpu-ratio")
		fmt.Printf("local data plane throughput: direct %.0f MB/s, through the load balancer %.0f MB/s, ratio %.2f (median of %d rounds of %d MiB; target >= 0.80)\n",
			median(direct), median(proxied), ratio, rounds, transferBytes>>20)
		// On a machine with no idle core the throughput ratio falls to the ratio of CPU
		// spent per byte, which does not depend on what else runs.
		fmt.Printf("CPU time per byte (sender, receiver and proxy, user and system): direct / through the load balancer = %.2f\n", median(cpuRatios))
	}
}

// startSink accepts connections and reads each to the end, then answers one byte so the
// sender knows every byte arrived.
func startSink(b *testing.B) net.Listener {
	b.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				buf := make([]byte, 1<<20)
				for {
					if _, err := c.Read(buf); err != nil {
						break
					}
				}
				_, _ = c.Write([]byte{1})
			}()
		}
	}()
	return ln
}

// transfer sends n bytes to addr and returns the rate in MB/s, measured until the receiver
// confirmed the last byte, and the CPU time the process spent meanwhile.
func transfer(b *testing.B, addr string, n int) (float64, float64) {
	b.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	buf := make([]byte, 1<<20)
	cpu0 := cpuTime()
	start := time.Now()
	for sent := 0; sent < n; sent += len(buf) {
		if _, err := c.Write(buf); err != nil {
			b.Fatal(err)
		}
	}
	_ = c.(*net.TCPConn).CloseWrite()
	if _, err := io.ReadFull(c, make([]byte, 1)); err != nil {
		b.Fatal(err)
	}
	return float64(n) / 1e6 / time.Since(start).Seconds(), cpuTime() - cpu0
}

// cpuTime is the user and system CPU time of this process, in seconds.
func cpuTime() float64 {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

func median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	return s[len(s)/2]
}
