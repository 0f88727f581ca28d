// Package join joins a cluster to the fleet and takes it out again, the way `flotilla member
// join` and `flotilla member unjoin` do: the hub side through memberjoin, the member side
// through the flotilla-agent chart.
package join

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	clusterv1beta1 "github.com/flotilla-dev/flotilla/api/cluster/v1beta1"
	"github.com/flotilla-dev/flotilla/internal/helmchart"
	"github.com/flotilla-dev/flotilla/internal/member/credentials"
	"github.com/flotilla-dev/flotilla/internal/memberjoin"
	"github.com/flotilla-dev/flotilla/internal/scheme"
)

// Defaults of the agent's installation on a member.
const (
	AgentNamespace   = "flotilla-system"
	AgentRelease     = "flotilla-agent"
	AgentChart       = "flotilla-agent"
	CredentialSecret = "flotilla-agent-hub"
)

// Options say how to join one member.
type Options struct {
	Name string
	// Hub reaches the hub as an administrator; Member reaches the member cluster, and
	// MemberKubeconfig is its kubeconfig file, for Helm (empty: the default loading rules).
	Hub              *rest.Config
	Member           *rest.Config
	MemberKubeconfig string
	// HubServer and HubCA are the hub's address and CA as the agent sees them; empty means
	// those of Hub.
	HubServer string
	HubCA     []byte
	// TokenLifetime of the agent's first token; the agent renews it itself.
	TokenLifetime time.Duration
	// Labels and HeartbeatPeriodSeconds go on the MemberCluster.
	Labels                 map[string]string
	HeartbeatPeriodSeconds int32
	// Image overrides the agent chart's image: repository and tag.
	ImageRepository, ImageTag string
	// ChartValues are more values for the agent chart, merged over the ones join sets.
	ChartValues map[string]any
	// Wait is how long to wait for the member to be Joined; 0 does not wait.
	Wait time.Duration
	// Progress receives a line for each step.
	Progress io.Writer
}

// Join does on the hub and the member what joining takes, and is safe to run again: an
// identity, a MemberCluster and a release that are already as asked are left alone, and
// the agent's token is only replaced when the hub no longer accepts it or it is about to end.
func Join(ctx context.Context, o Options) error {
	say := progress{o.Progress}.say
	hubCS, err := kubernetes.NewForConfig(o.Hub)
	if err != nil {
		return err
	}
	memberCS, err := kubernetes.NewForConfig(o.Member)
	if err != nil {
		return err
	}
	hub, err := client.New(o.Hub, client.Options{Scheme: scheme.Scheme})
	if err != nil {
		return err
	}

	id, err := memberjoin.EnsureIdentity(ctx, hubCS, o.Name)
	if err != nil {
		return err
	}
	say("hub: identity %s/%s, which may renew its own token", id.Namespace, id.Name)
	if err := memberjoin.ApplyMemberCluster(ctx, hub, memberjoin.MemberCluster{
		Name: o.Name, Identity: id, HeartbeatPeriodSeconds: o.HeartbeatPeriodSeconds, Labels: o.Labels,
	}); err != nil {
		return err
	}
	say("hub: MemberCluster %s", o.Name)

	token, err := tokenToInstall(ctx, hubCS, memberCS, o)
	if err != nil {
		return err
	}
	if token != "" {
		say("hub: issued a token for %s, valid for %s; the agent renews it", id.Name, o.TokenLifetime)
	} else {
		say("member: the agent's current token is valid; kept")
	}

	server, ca := o.HubServer, o.HubCA
	if server == "" {
		server = o.Hub.Host
	}
	if len(ca) == 0 {
		if ca, err = hubCA(o.Hub); err != nil {
			return err
		}
	}
	if token != "" {
		if err := storeToken(ctx, memberCS, token); err != nil {
			return err
		}
	}
	// The token is not a chart value: the chart keeps the one in the Secret, which the agent
	// renews, so that running join again changes nothing.
	values := map[string]any{
		"memberName": o.Name,
		"hub":        map[string]any{"server": server, "ca": string(ca)},
	}
	if o.ImageRepository != "" || o.ImageTag != "" {
		image := map[string]any{}
		if o.ImageRepository != "" {
			image["repository"] = o.ImageRepository
		}
		if o.ImageTag != "" {
			image["tag"] = o.ImageTag
		}
		values["image"] = image
	}
	values = mergeValues(values, o.ChartValues)
	ch, err := helmchart.Load(AgentChart)
	if err != nil {
		return err
	}
	rel := helmchart.Release{Kubeconfig: o.MemberKubeconfig, Namespace: AgentNamespace, Name: AgentRelease}
	changed, err := helmchart.Apply(ctx, rel, ch, values, 0)
	if err != nil {
		return err
	}
	if changed {
		say("member: agent chart %s %s installed as release %s/%s", ch.Name(), ch.Metadata.Version, AgentNamespace, AgentRelease)
	} else {
		say("member: release %s/%s is up to date", AgentNamespace, AgentRelease)
	}
	if o.Wait <= 0 {
		return nil
	}
	say("waiting up to %s for %s to join", o.Wait, o.Name)
	return waitJoined(ctx, hub, o.Name, o.Wait, say)
}

// tokenToInstall returns a new token for the agent, or "" when the token in the member's
// credentials Secret is still the identity's and has more than a fifth of its life left.
func tokenToInstall(ctx context.Context, hubCS, memberCS kubernetes.Interface, o Options) (string, error) {
	secret, err := memberCS.CoreV1().Secrets(AgentNamespace).Get(ctx, CredentialSecret, metav1.GetOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return "", fmt.Errorf("reading the agent's credentials Secret %s/%s on the member: %w", AgentNamespace, CredentialSecret, err)
	}
	if err == nil && stillGood(ctx, hubCS, o.Name, string(secret.Data[credentials.SecretTokenKey])) {
		return "", nil
	}
	token, _, err := memberjoin.IssueToken(ctx, hubCS, o.Name, o.TokenLifetime)
	return token, err
}

// stillGood says whether the hub accepts token as the member's identity, with a fifth of
// its life or more left.
func stillGood(ctx context.Context, hubCS kubernetes.Interface, member, token string) bool {
	if token == "" {
		return false
	}
	parsed, err := credentials.ParseToken(token)
	if err != nil || time.Until(parsed.Expiry) < parsed.Lifetime()/5 {
		return false
	}
	review, err := hubCS.AuthenticationV1().TokenReviews().Create(ctx, &authenticationv1.TokenReview{
		Spec: authenticationv1.TokenReviewSpec{Token: token},
	}, metav1.CreateOptions{})
	if err != nil {
		return false
	}
	id := memberjoin.Identity(member)
	return review.Status.Authenticated && review.Status.User.Username == "system:serviceaccount:"+id.Namespace+":"+id.Name
}

// waitJoined waits until the MemberCluster is Joined, saying each new state of its
// conditions.
func waitJoined(ctx context.Context, hub client.Client, name string, timeout time.Duration, say func(string, ...any)) error {
	last := ""
	err := wait.PollUntilContextTimeout(ctx, 500*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		mc := &clusterv1beta1.MemberCluster{}
		if err := hub.Get(ctx, client.ObjectKey{Name: name}, mc); err != nil {
			return false, client.IgnoreNotFound(err)
		}
		state := ""
		for _, t := range []string{clusterv1beta1.ConditionReadyToJoin, clusterv1beta1.ConditionJoined, clusterv1beta1.ConditionHealthy} {
			status := "Unknown"
			if c := meta.FindStatusCondition(mc.Status.Conditions, t); c != nil {
				status = string(c.Status)
			}
			state += fmt.Sprintf(" %s=%s", t, status)
		}
		if state != last {
			say("hub: %s%s", name, state)
			last = state
		}
		return meta.IsStatusConditionTrue(mc.Status.Conditions, clusterv1beta1.ConditionJoined), nil
	})
	if err != nil {
		return fmt.Errorf("%s did not join within %s (last:%s): check that the agent runs on the member "+
			"(kubectl -n %s logs deploy/flotilla-agent) and reaches the hub", name, timeout, last, AgentNamespace)
	}
	return nil
}

// hubCA is the CA of the hub's rest config, from its data or its file.
func hubCA(cfg *rest.Config) ([]byte, error) {
	if len(cfg.CAData) > 0 || cfg.CAFile == "" {
		return cfg.CAData, nil
	}
	data, err := os.ReadFile(cfg.CAFile)
	if err != nil {
		return nil, fmt.Errorf("reading the hub's CA: %w", err)
	}
	return data, nil
}

// mergeValues lays over on base, key by key through nested maps.
func mergeValues(base, over map[string]any) map[string]any {
	for k, v := range over {
		if sub, ok := v.(map[string]any); ok {
			if into, ok := base[k].(map[string]any); ok {
				base[k] = mergeValues(into, sub)
				continue
			}
		}
		base[k] = v
	}
	return base
}

// storeToken writes the agent's token into its credentials Secret on the member, making the
// Secret (and its namespace) when missing. The Secret carries Helm's ownership marks, so that
// the agent release takes it over and keeps the token in it.
func storeToken(ctx context.Context, member kubernetes.Interface, token string) error {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: AgentNamespace}}
	if _, err := member.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating namespace %s on the member: %w", AgentNamespace, err)
	}
	secrets := member.CoreV1().Secrets(AgentNamespace)
	secret, err := secrets.Get(ctx, CredentialSecret, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		secret = &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{
				Name: CredentialSecret, Namespace: AgentNamespace,
				Labels:      map[string]string{"app.kubernetes.io/managed-by": "Helm"},
				Annotations: map[string]string{"meta.helm.sh/release-name": AgentRelease, "meta.helm.sh/release-namespace": AgentNamespace},
			},
			Type: corev1.SecretTypeOpaque,
			Data: map[string][]byte{credentials.SecretTokenKey: []byte(token)},
		}
		if _, err := secrets.Create(ctx, secret, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("writing the agent's credentials Secret %s/%s on the member: %w", AgentNamespace, CredentialSecret, err)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading the agent's credentials Secret %s/%s on the member: %w", AgentNamespace, CredentialSecret, err)
	}
	if secret.Data == nil {
		secret.Data = map[string][]byte{}
	}
	secret.Data[credentials.SecretTokenKey] = []byte(token)
	if _, err := secrets.Update(ctx, secret, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("writing the agent's token into Secret %s/%s on the member: %w", AgentNamespace, CredentialSecret, err)
	}
	return nil
}
