package credentials

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	authenticationv1 "k8s.io/api/authentication/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

// Options configure the renewer.
type Options struct {
	// Store holds the token; nil turns renewal off (credentials the agent cannot renew).
	Store Store
	// Fraction of a token's lifetime after which it is renewed; 0 means DefaultRenewFraction.
	Fraction float64
	// MemberName is the member, for log lines that say what to do.
	MemberName string
}

// retryAfter is how soon a failed renewal is tried again, and how often the store is read
// again for a token written by someone else (`flotilla member join` run once more).
const retryAfter = 10 * time.Second

var renewals = prometheus.NewCounterVec(prometheus.CounterOpts{
	Name: "flotilla_agent_hub_token_renewals_total",
	Help: "Renewals of the member agent's hub token, by result (renewed, refused, failed).",
}, []string{"result"})

func init() { metrics.Registry.MustRegister(renewals) }

// Renewer replaces the agent's hub token before it expires, by a TokenRequest for the
// agent's own ServiceAccount, and saves the new one in the store.
type Renewer struct {
	hub  kubernetes.Interface
	opts Options
	now  func() time.Time

	mu      sync.Mutex
	problem error
	// refused is the token the hub refused; a different token stored since clears the problem.
	refused string
}

// Setup adds the renewer to the agent's manager, with a readiness check that fails while the
// hub refuses the agent's credentials.
func Setup(mgr manager.Manager, opts Options) error {
	if opts.Store == nil {
		return nil
	}
	hub, err := kubernetes.NewForConfig(mgr.GetConfig())
	if err != nil {
		return err
	}
	r := NewRenewer(hub, opts)
	if err := mgr.AddReadyzCheck("hub-credentials", r.Ready); err != nil {
		return err
	}
	return mgr.Add(r)
}

// NewRenewer makes a renewer that asks hub, as the agent, for new tokens.
func NewRenewer(hub kubernetes.Interface, opts Options) *Renewer {
	return &Renewer{hub: hub, opts: opts, now: time.Now}
}

// NeedLeaderElection is false: every agent keeps its own credentials.
func (r *Renewer) NeedLeaderElection() bool { return false }

// Start renews until ctx ends.
func (r *Renewer) Start(ctx context.Context) error {
	log := ctrllog.FromContext(ctx).WithName("hub-credentials").WithValues("store", r.opts.Store.String())
	for {
		wait := r.step(ctx, log)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
	}
}

// step reads the token, renews it when due, and returns how long to wait for the next step.
func (r *Renewer) step(ctx context.Context, log logr.Logger) time.Duration {
	raw, err := r.opts.Store.Load(ctx)
	if err != nil {
		r.setProblem(err)
		log.Error(err, "cannot read the hub token; trying again", "in", retryAfter)
		return retryAfter
	}
	r.mu.Lock()
	if r.refused != "" && raw != r.refused {
		r.problem, r.refused = nil, "" // new credentials were stored: try them
	}
	r.mu.Unlock()
	token, err := ParseToken(raw)
	if err != nil {
		// Nothing to renew, nor will there be: say so once and stop looking often.
		r.setProblem(nil)
		log.Info("the hub credentials are not renewed by the agent", "reason", err.Error())
		return time.Hour
	}
	now := r.now()
	if now.After(token.Expiry) {
		r.setProblem(fmt.Errorf("the hub token of %s expired at %s", token, token.Expiry.UTC().Format(time.RFC3339)))
	}
	due := RenewAt(token, r.opts.Fraction)
	if now.Before(due) {
		return min(due.Sub(now), time.Minute) // read the store again now and then
	}
	lifetime := max(token.Lifetime(), MinLifetime)
	tr, err := r.hub.CoreV1().ServiceAccounts(token.Namespace).CreateToken(ctx, token.ServiceAccount, &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To(int64(lifetime / time.Second))},
	}, metav1.CreateOptions{})
	switch {
	case apierrors.IsUnauthorized(err):
		renewals.WithLabelValues("refused").Inc()
		err = fmt.Errorf("the hub refused the credentials of %s (401 Unauthorized): the identity was revoked or its token expired; "+
			"the agent does nothing on the hub until it has valid credentials: run `flotilla member join %s` to issue new ones", token, r.opts.MemberName)
		r.mu.Lock()
		r.problem, r.refused = err, raw
		r.mu.Unlock()
		log.Error(err, "hub credentials revoked")
		return retryAfter
	case apierrors.IsForbidden(err):
		renewals.WithLabelValues("refused").Inc()
		err = fmt.Errorf("%s may not renew its own token (serviceaccounts/token create on itself): "+
			"run `flotilla member join %s` again to restore the identity's Role: %w", token, r.opts.MemberName, err)
		r.setProblem(err)
		log.Error(err, "cannot renew the hub token", "validUntil", token.Expiry.UTC())
		return retryAfter
	case err != nil:
		renewals.WithLabelValues("failed").Inc()
		log.Error(err, "renewing the hub token failed; trying again", "in", retryAfter, "validUntil", token.Expiry.UTC())
		return retryAfter
	}
	if err := r.opts.Store.Save(ctx, tr.Status.Token); err != nil {
		renewals.WithLabelValues("failed").Inc()
		log.Error(err, "the renewed hub token could not be saved; trying again", "in", retryAfter)
		return retryAfter
	}
	renewals.WithLabelValues("renewed").Inc()
	r.setProblem(nil)
	log.Info("renewed the hub token", "identity", token.String(), "validUntil", tr.Status.ExpirationTimestamp.UTC())
	return time.Second // read it back at once: the next renewal is computed from the new token
}

func (r *Renewer) setProblem(err error) {
	r.mu.Lock()
	r.problem = err
	r.mu.Unlock()
}

// Ready fails while the hub refuses the agent's credentials or they expired.
func (r *Renewer) Ready(_ *http.Request) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.problem
}
