package cli

import (
	"fmt"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// loadConfig reads a kubeconfig: the given path, or else KUBECONFIG and ~/.kube/config,
// or the in-cluster service account. what names the cluster in error messages.
func loadConfig(path, what string) (*rest.Config, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if path != "" {
		rules.ExplicitPath = path
	}
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{}).ClientConfig()
	if err != nil {
		if path == "" {
			return nil, fmt.Errorf("no kubeconfig for the %s: pass --kubeconfig or set KUBECONFIG (%w)", what, err)
		}
		return nil, fmt.Errorf("reading the %s kubeconfig %s: %w", what, path, err)
	}
	cfg.QPS, cfg.Burst = 100, 200
	return cfg, nil
}
