package providers

import (
	"context"
	"fmt"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	clusterv1beta1 "github.com/flotilla-dev/flotilla/api/cluster/v1beta1"
	updatesv1alpha1 "github.com/flotilla-dev/flotilla/api/updates/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/controllerdefaults"
)

// Executor carries out MemberUpdates through their providers. The member agent runs one
// for its own namespace; the hub runs one for hub-side providers.
type Executor struct {
	// Client reads and writes MemberUpdates on the hub.
	Client client.Client
	// Providers are the providers this executor serves, by name. MemberUpdates of other
	// providers are left to their own executor.
	Providers map[string]Provider
	// MemberOf returns the member a MemberUpdate's namespace belongs to. The default takes
	// the name from the namespace and no annotations.
	MemberOf func(ctx context.Context, namespace string) (Member, error)
	// Published is told after an operation ended, so the member's profile is published
	// again at once.
	Published func(ctx context.Context, m Member)
	// Clock tells the time; nil is the real clock. Tests may set a fake one.
	Clock clock.PassiveClock
	// Name names the controller (several executors may run in one process).
	Name string
}

// Register adds the executor to mgr as a controller of MemberUpdates, with workers at once.
// It is called by the Setup of the package that runs it (upgradeexec in the hub, upgrade in
// the agent).
func (e *Executor) Register(mgr ctrl.Manager, workers int) error {
	if e.MemberOf == nil {
		e.MemberOf = MemberFromNamespace
	}
	mine := predicate.NewPredicateFuncs(func(o client.Object) bool {
		mu, ok := o.(*updatesv1alpha1.MemberUpdate)
		return ok && e.Providers[mu.Spec.Provider] != nil
	})
	return ctrl.NewControllerManagedBy(mgr).
		Named(e.Name).
		For(&updatesv1alpha1.MemberUpdate{}, builder.WithPredicates(mine)).
		WithOptions(controllerdefaults.Options(workers)).
		Complete(e)
}

// MemberFromNamespace names the member of fleet-member-<name>.
func MemberFromNamespace(_ context.Context, namespace string) (Member, error) {
	name, ok := strings.CutPrefix(namespace, clusterv1beta1.NamespacePrefix)
	if !ok {
		return Member{}, fmt.Errorf("namespace %s is not a member's namespace", namespace)
	}
	return Member{Name: name}, nil
}

// Reconcile takes one step of one MemberUpdate.
func (e *Executor) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	mu := &updatesv1alpha1.MemberUpdate{}
	if err := e.Client.Get(ctx, req.NamespacedName, mu); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	p := e.Providers[mu.Spec.Provider]
	if p == nil || mu.DeletionTimestamp != nil || mu.Status.State == updatesv1alpha1.StateCompleted || mu.Status.State == updatesv1alpha1.StateFailed {
		return ctrl.Result{}, nil
	}
	m, err := e.MemberOf(ctx, mu.Namespace)
	if err != nil {
		return ctrl.Result{}, err
	}
	taken := mu.Status.State == ""
	if taken {
		// The start is written with the first step's outcome: an operation that ends at
		// once costs one write.
		now := metav1.NewMicroTime(e.now())
		mu.Status = updatesv1alpha1.MemberUpdateStatus{State: updatesv1alpha1.StateRunning, StartTime: &now, Message: "taken by the " + p.Name() + " provider"}
	}
	op := Operation{
		Name: mu.Name, Spec: mu.Spec, StartTime: mu.Status.StartTime.Time,
		Settings: updatesv1alpha1.ProviderSettings(mu.Annotations),
	}
	progress, err := p.Step(ctx, m, op)
	if taken && (err != nil || !progress.Done) {
		if progress.Message != "" {
			mu.Status.Message = progress.Message
		}
		if werr := e.Client.Status().Update(ctx, mu); werr != nil {
			return ctrl.Result{}, ignoreConflict(werr)
		}
	}
	if f, failed := IsFailure(err); failed {
		return ctrl.Result{}, e.end(ctx, mu, m, updatesv1alpha1.StateFailed, f.Message)
	}
	if err != nil {
		// Retried with backoff; the message says why the operation does not move.
		e.setMessage(ctx, mu, "retrying after an error: "+err.Error())
		return ctrl.Result{}, err
	}
	if progress.Done {
		return ctrl.Result{}, e.end(ctx, mu, m, updatesv1alpha1.StateCompleted, progress.Message)
	}
	e.setMessage(ctx, mu, progress.Message)
	after := progress.After
	if after <= 0 {
		// RequeueAfter rather than Requeue: a long operation takes many quick steps, and
		// Requeue's backoff would grow with each of them.
		after = time.Millisecond
	}
	return ctrl.Result{RequeueAfter: after}, nil
}

func (e *Executor) end(ctx context.Context, mu *updatesv1alpha1.MemberUpdate, m Member, state updatesv1alpha1.State, msg string) error {
	now := metav1.NewMicroTime(e.now())
	mu.Status.State, mu.Status.Message, mu.Status.CompletedTime = state, msg, &now
	if err := e.Client.Status().Update(ctx, mu); err != nil {
		return ignoreConflict(err)
	}
	if e.Published != nil {
		e.Published(ctx, m)
	}
	return nil
}

func (e *Executor) setMessage(ctx context.Context, mu *updatesv1alpha1.MemberUpdate, msg string) {
	if msg == "" || mu.Status.Message == msg {
		return
	}
	before := mu.DeepCopy()
	mu.Status.Message = msg
	// A lost message is written again by the next step.
	_ = e.Client.Status().Patch(ctx, mu, client.MergeFrom(before))
}

func ignoreConflict(err error) error {
	if apierrors.IsConflict(err) {
		return nil
	}
	return err
}

// now is the time by Clock, or by the real clock when Clock is nil.
func (e *Executor) now() time.Time {
	if e.Clock == nil {
		return time.Now()
	}
	return e.Clock.Now()
}
