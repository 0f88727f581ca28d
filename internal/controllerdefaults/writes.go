package controllerdefaults

import (
	"context"

	"golang.org/x/sync/errgroup"
)

const (
	// ClientQPS and ClientBurst are the hub manager's client rate limits. client-go's
	// default of 5 requests per second would make placing on 1,000 members (a binding and
	// a Work each) take minutes; the hub API server's own max-in-flight limits still
	// protect it.
	ClientQPS   = 500
	ClientBurst = 1000
	// Writers is how many objects one reconcile writes at once when it writes many (one
	// binding per member).
	Writers = 64
)

// WriteAll runs the writes, Writers at a time, and returns the first error; a failed write
// does not stop the others.
func WriteAll(ctx context.Context, writes []func(context.Context) error) error {
	var g errgroup.Group
	g.SetLimit(Writers)
	for _, w := range writes {
		g.Go(func() error { return w(ctx) })
	}
	return g.Wait()
}
