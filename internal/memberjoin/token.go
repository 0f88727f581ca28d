package memberjoin

import (
	"context"
	"fmt"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"
)

// DefaultTokenLifetime is how long an issued agent token lasts. The agent renews it itself
// well before (credentials.DefaultRenewFraction), so a short life costs nothing and a leaked
// token is soon worthless.
const DefaultTokenLifetime = time.Hour

// IssueToken requests a token for the member's agent identity, valid for lifetime (at
// least the API server's 10 minutes).
func IssueToken(ctx context.Context, hub kubernetes.Interface, member string, lifetime time.Duration) (string, time.Time, error) {
	if lifetime < 10*time.Minute {
		return "", time.Time{}, fmt.Errorf("a token lifetime of %s is too short: the API server issues tokens for 10 minutes or longer", lifetime)
	}
	id := Identity(member)
	tr, err := hub.CoreV1().ServiceAccounts(id.Namespace).CreateToken(ctx, id.Name, &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To(int64(lifetime / time.Second))},
	}, metav1.CreateOptions{})
	if err != nil {
		return "", time.Time{}, fmt.Errorf("requesting a token for the agent of %s: %w", member, err)
	}
	return tr.Status.Token, tr.Status.ExpirationTimestamp.Time, nil
}
