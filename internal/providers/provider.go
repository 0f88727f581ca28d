// Package providers defines how Flotilla upgrades a member cluster: a Provider carries out
// one MemberUpdate step by step and describes the member in a MemberUpgradeProfile. The
// orchestrator (internal/hub/updaterun) never calls a provider; executors do (executor.go):
// the member agent's for providers that run inside the member (local, in-cluster), the
// hub's for providers that call an outside API (AKS, Cluster API). A new provider is one
// more implementation of Provider, registered with one of the two executors.
package providers

import (
	"context"
	"errors"
	"fmt"
	"time"

	updatesv1alpha1 "github.com/flotilla-dev/flotilla/api/updates/v1alpha1"
)

// Member is the member cluster an executor acts for.
type Member struct {
	Name string
	// Annotations are the MemberCluster's annotations, with the provider's reference to the
	// cluster (such as fleet.azure.com/cluster-resource-id). Hub-side executors fill them;
	// in the member agent they are nil.
	Annotations map[string]string
}

// Operation is one MemberUpdate, as a provider sees it.
type Operation struct {
	// Name is the MemberUpdate's name, which is its run's.
	Name string
	Spec updatesv1alpha1.MemberUpdateSpec
	// Settings are the member's provider settings: its MemberCluster's annotations under
	// updates.flotilla.dev/, as the orchestrator copied them onto the MemberUpdate.
	Settings map[string]string
	// StartTime is when the executor took the operation.
	StartTime time.Time
}

// Progress is where an operation stands after a step.
type Progress struct {
	// Done says the member is at the target.
	Done bool
	// Message tells the user what is happening, for the MemberUpdate and the run's status.
	Message string
	// After is when to take the next step; 0 means at once.
	After time.Duration
}

// Provider upgrades member clusters of one kind.
type Provider interface {
	// Name is the value of the MemberCluster annotation updates.flotilla.dev/provider that
	// selects this provider.
	Name() string
	// Profile describes the member: its region and versions, its node pools, and what its
	// region offers.
	Profile(ctx context.Context, m Member) (*updatesv1alpha1.MemberUpgradeProfileStatus, error)
	// Step moves the operation forward and reports where it stands. It must be idempotent:
	// the executor calls it again after a restart, a conflict or an error. A *Failure error
	// fails the operation; any other error is retried with backoff.
	Step(ctx context.Context, m Member, op Operation) (Progress, error)
}

// Failure is an operation's final failure, with a message for the user.
type Failure struct{ Message string }

func (f *Failure) Error() string { return f.Message }

// Failf returns a Failure.
func Failf(format string, args ...any) error { return &Failure{Message: fmt.Sprintf(format, args...)} }

// IsFailure says whether err is a Failure, and returns it.
func IsFailure(err error) (*Failure, bool) {
	var f *Failure
	ok := errors.As(err, &f)
	return f, ok
}
