package credentials

import (
	"context"
	"fmt"
	"net/http"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// HubConfigFromSecret builds the agent's hub client from the hub credentials Secret on the
// member (the hub's address, its CA and the token), and returns the store the renewer keeps
// the token in. Every request sends the store's current token, so a renewal takes effect at
// once.
func HubConfigFromSecret(ctx context.Context, member kubernetes.Interface, namespace, name string) (*rest.Config, *SecretStore, error) {
	store := &SecretStore{Member: member, Namespace: namespace, Name: name}
	data, err := store.load(ctx)
	if err != nil {
		return nil, nil, err
	}
	server := string(data[SecretServerKey])
	if server == "" {
		return nil, nil, fmt.Errorf("the hub credentials Secret %s/%s has no %q key (the hub's https address): run `flotilla member join` again", namespace, name, SecretServerKey)
	}
	cfg := &rest.Config{
		Host:            server,
		TLSClientConfig: rest.TLSClientConfig{CAData: data[SecretCAKey]},
		WrapTransport: func(rt http.RoundTripper) http.RoundTripper {
			return &bearer{token: store.Token, next: rt}
		},
	}
	return cfg, store, nil
}

// bearer sends the current token with each request.
type bearer struct {
	token func() string
	next  http.RoundTripper
}

func (b *bearer) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	req.Header.Set("Authorization", "Bearer "+b.token())
	return b.next.RoundTrip(req)
}
