package credentials

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"testing"
	"time"
)

func jwt(t *testing.T, claims map[string]any) string {
	t.Helper()
	payload, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"RS256"}`)) + "." + enc(payload) + ".c2lnbmF0dXJl"
}

func TestParseToken(t *testing.T) {
	issued := time.Unix(1_800_000_000, 0)
	cases := []struct {
		name    string
		raw     string
		want    Token
		wantErr bool
	}{{
		name: "a TokenRequest token",
		raw:  jwt(t, map[string]any{"sub": "system:serviceaccount:fleet-system:m1-agent", "iat": issued.Unix(), "exp": issued.Add(time.Hour).Unix()}),
		want: Token{Namespace: "fleet-system", ServiceAccount: "m1-agent", IssuedAt: issued, Expiry: issued.Add(time.Hour)},
	}, {
		name:    "a legacy Secret token has no expiry",
		raw:     jwt(t, map[string]any{"sub": "system:serviceaccount:fleet-system:m1-agent"}),
		wantErr: true,
	}, {
		name:    "a user's token is not a ServiceAccount's",
		raw:     jwt(t, map[string]any{"sub": "alice", "iat": issued.Unix(), "exp": issued.Add(time.Hour).Unix()}),
		wantErr: true,
	}, {
		name:    "an expiry before the issue time",
		raw:     jwt(t, map[string]any{"sub": "system:serviceaccount:a:b", "iat": issued.Unix(), "exp": issued.Add(-time.Hour).Unix()}),
		wantErr: true,
	}, {
		name:    "not a JWT",
		raw:     "0123456789abcdef",
		wantErr: true,
	}, {
		name:    "a payload that is not base64url",
		raw:     "a.!!!.c",
		wantErr: true,
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseToken(tc.raw)
			if tc.wantErr {
				if !errors.Is(err, errNotServiceAccountToken) {
					t.Fatalf("ParseToken: %v, want errNotServiceAccountToken", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Fatalf("ParseToken = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestRenewAt(t *testing.T) {
	issued := time.Unix(1_800_000_000, 0)
	token := Token{IssuedAt: issued, Expiry: issued.Add(time.Hour)}
	cases := []struct {
		fraction float64
		want     time.Time
	}{
		{0.8, issued.Add(48 * time.Minute)},
		{0.5, issued.Add(30 * time.Minute)},
		{1, issued.Add(time.Hour)},
		{0, issued.Add(48 * time.Minute)},   // unset: the default
		{1.5, issued.Add(48 * time.Minute)}, // out of range: the default
		{-1, issued.Add(48 * time.Minute)},
	}
	for _, tc := range cases {
		if got := RenewAt(token, tc.fraction); !got.Equal(tc.want) {
			t.Errorf("RenewAt(1h token, %v) = %s after issue, want %s", tc.fraction, got.Sub(issued), tc.want.Sub(issued))
		}
	}
}
