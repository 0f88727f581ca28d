package cli

import (
	"fmt"
	"net/netip"

	"github.com/flotilla-dev/flotilla/internal/fleetup"
)

// prefixFlag is the CIDR flag --lb-range, such as 127.240.0.0/16: a range inside 127.0.0.0/8.
type prefixFlag struct{ p *netip.Prefix }

func (f prefixFlag) String() string {
	if f.p == nil || !f.p.IsValid() {
		return ""
	}
	return f.p.String()
}

func (f prefixFlag) Set(s string) error {
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return fmt.Errorf("not a CIDR range such as 127.240.0.0/16: %w", err)
	}
	// The check is on the masked range: 127.0.0.1/0 names a loopback address but means 0.0.0.0/0.
	m, err := fleetup.CheckLoadBalancerRange(p)
	if err != nil {
		return err
	}
	*f.p = m
	return nil
}

func (prefixFlag) Type() string { return "cidr" }
