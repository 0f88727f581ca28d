// Package credentials keeps a member agent's hub credentials fresh: the agent holds a
// ServiceAccount token with an expiry (a TokenRequest token, as `flotilla member join`
// issues) and asks the hub for a new one for its own ServiceAccount before it runs out.
package credentials

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Token is what the agent needs to know of its hub token. The hub checks the signature; the
// agent only reads the claims, to know whose token it is and when it ends.
type Token struct {
	// Namespace and ServiceAccount name the identity the token belongs to.
	Namespace      string
	ServiceAccount string
	IssuedAt       time.Time
	Expiry         time.Time
}

// Lifetime is how long the token was issued for.
func (t Token) Lifetime() time.Duration { return t.Expiry.Sub(t.IssuedAt) }

// String names the identity, as RBAC does.
func (t Token) String() string {
	return "system:serviceaccount:" + t.Namespace + ":" + t.ServiceAccount
}

// claims are the JWT claims of a Kubernetes ServiceAccount token that matter here.
type claims struct {
	Subject   string `json:"sub"`
	IssuedAt  int64  `json:"iat"`
	ExpiresAt int64  `json:"exp"`
}

// errNotServiceAccountToken means the credentials are something the agent cannot renew
// itself: a legacy token without expiry, a client certificate, or another issuer's token.
var errNotServiceAccountToken = errors.New("not a ServiceAccount token with an expiry")

// ParseToken reads the claims of a ServiceAccount JWT without checking its signature.
func ParseToken(raw string) (Token, error) {
	parts := strings.Split(strings.TrimSpace(raw), ".")
	if len(parts) != 3 {
		return Token{}, fmt.Errorf("%w: it is not a JWT", errNotServiceAccountToken)
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return Token{}, fmt.Errorf("%w: its payload is not base64url: %w", errNotServiceAccountToken, err)
	}
	var c claims
	if err := json.Unmarshal(payload, &c); err != nil {
		return Token{}, fmt.Errorf("%w: its payload is not JSON: %w", errNotServiceAccountToken, err)
	}
	sa := strings.Split(c.Subject, ":")
	if len(sa) != 4 || sa[0] != "system" || sa[1] != "serviceaccount" || sa[2] == "" || sa[3] == "" {
		return Token{}, fmt.Errorf("%w: its subject %q is not system:serviceaccount:<namespace>:<name>", errNotServiceAccountToken, c.Subject)
	}
	if c.ExpiresAt == 0 || c.IssuedAt == 0 || c.ExpiresAt <= c.IssuedAt {
		return Token{}, fmt.Errorf("%w: it has no issue time and expiry (a legacy Secret token never expires)", errNotServiceAccountToken)
	}
	return Token{
		Namespace: sa[2], ServiceAccount: sa[3],
		IssuedAt: time.Unix(c.IssuedAt, 0), Expiry: time.Unix(c.ExpiresAt, 0),
	}, nil
}

// RenewAt is when a token should be replaced: once fraction of its lifetime has passed.
// fraction is clamped to (0, 1]; a token is never renewed before it was issued.
func RenewAt(t Token, fraction float64) time.Time {
	if fraction <= 0 || fraction > 1 {
		fraction = DefaultRenewFraction
	}
	return t.IssuedAt.Add(time.Duration(float64(t.Lifetime()) * fraction))
}

// DefaultRenewFraction renews a token once 80% of its lifetime has passed: a 1-hour token
// 12 minutes before it ends, leaving time for retries while the hub is unreachable.
const DefaultRenewFraction = 0.8

// MinLifetime is the shortest token the API server issues (TokenRequest refuses less).
const MinLifetime = 10 * time.Minute
