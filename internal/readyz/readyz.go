// Package readyz asks a Kubernetes API server whether it is ready, the one way every part of
// Flotilla does: the member agent's heartbeat and work applier, the hub's hearing tracker,
// and the local fleet's start-up.
package readyz

import (
	"context"
	"fmt"
	"strings"
	"time"

	"k8s.io/client-go/rest"
)

// Check gets /readyz within timeout and returns nil only when the server answers "ok".
func Check(ctx context.Context, c rest.Interface, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	body, err := c.Get().AbsPath("/readyz").DoRaw(ctx)
	if err != nil {
		return err
	}
	if s := strings.TrimSpace(string(body)); s != "ok" {
		return fmt.Errorf("/readyz answered %q", s)
	}
	return nil
}
