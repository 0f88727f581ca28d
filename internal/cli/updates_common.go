package cli

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/util/duration"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	updatesv1alpha1 "github.com/flotilla-dev/flotilla/api/updates/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/scheme"
)

// hubClient connects to the hub named by --kubeconfig.
func hubClient(kubeconfig string) (client.Client, error) {
	cfg, err := loadConfig(kubeconfig, "hub")
	if err != nil {
		return nil, err
	}
	return client.New(cfg, client.Options{Scheme: scheme.Scheme})
}

func addKubeconfigFlag(cmd *cobra.Command, kubeconfig *string) {
	cmd.Flags().StringVar(kubeconfig, "kubeconfig", "", "kubeconfig of the hub (default: KUBECONFIG or ~/.kube/config)")
}

// readStages reads --stages: a file, or the stages inline as JSON or YAML. Either a list of
// stages or an object with a stages list is accepted.
func readStages(flag, value string) (*updatesv1alpha1.UpdateStrategySpec, error) {
	data := []byte(value)
	trimmed := strings.TrimSpace(value)
	if !strings.HasPrefix(trimmed, "[") && !strings.HasPrefix(trimmed, "{") {
		read, err := os.ReadFile(value)
		if err != nil {
			return nil, usageError{fmt.Errorf("%s %q is neither a readable file nor inline JSON: %w", flag, value, err)}
		}
		data = read
	}
	spec := &updatesv1alpha1.UpdateStrategySpec{}
	if t := strings.TrimSpace(string(data)); strings.HasPrefix(t, "[") || strings.HasPrefix(t, "- ") {
		if err := yaml.UnmarshalStrict(data, &spec.Stages); err != nil {
			return nil, usageError{fmt.Errorf("%s: not a list of stages: %w; expected [{\"name\": \"...\", \"groups\": [{\"name\": \"...\"}]}]", flag, err)}
		}
	} else if err := yaml.UnmarshalStrict(data, spec); err != nil {
		return nil, usageError{fmt.Errorf("%s: not a strategy: %w; expected {\"stages\": [{\"name\": \"...\", \"groups\": [{\"name\": \"...\"}]}]}", flag, err)}
	}
	if len(spec.Stages) == 0 {
		return nil, usageError{errors.New(flag + ": no stages; give at least one stage with at least one group")}
	}
	for i, s := range spec.Stages {
		if s.Name == "" || len(s.Groups) == 0 {
			return nil, usageError{fmt.Errorf("%s: stage %d needs a name and at least one group", flag, i+1)}
		}
	}
	return spec, nil
}

// since formats how long ago t was, or <none>.
func age(t time.Time, now time.Time) string {
	if t.IsZero() {
		return "<none>"
	}
	return duration.HumanDuration(now.Sub(t))
}

// took formats how long a state lasted, or has lasted so far.
func took(s updatesv1alpha1.Status, now time.Time) string {
	if s.StartTime == nil {
		return ""
	}
	end := now
	if s.CompletedTime != nil {
		end = s.CompletedTime.Time
	}
	d := end.Sub(s.StartTime.Time)
	switch {
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	case d < time.Minute:
		return d.Round(100 * time.Millisecond).String()
	default:
		return d.Round(time.Second).String()
	}
}

func stateOf(s updatesv1alpha1.Status) string {
	if s.State == "" {
		return string(updatesv1alpha1.StateNotStarted)
	}
	return string(s.State)
}
