package cli

import (
	"fmt"
	"net/netip"
)

// prefixFlag is a CIDR flag, such as --lb-range 127.240.0.0/16.
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
	if !p.Addr().Is4() || !p.Addr().IsLoopback() {
		return fmt.Errorf("%s is not a loopback range: the local data plane listens on 127.0.0.0/8 only", s)
	}
	*f.p = p.Masked()
	return nil
}

func (prefixFlag) Type() string { return "cidr" }
