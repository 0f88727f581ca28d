// Package helmchart installs Flotilla's embedded charts with the Helm Go SDK, as `helm`
// would: a release in a namespace, stored as Helm stores it, so that `helm list`, `helm
// upgrade` and `helm uninstall` work on it afterwards.
package helmchart

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"reflect"
	"strings"
	"time"

	"helm.sh/helm/v4/pkg/action"
	"helm.sh/helm/v4/pkg/chart/loader/archive"
	chart "helm.sh/helm/v4/pkg/chart/v2"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	"helm.sh/helm/v4/pkg/kube"
	releasecommon "helm.sh/helm/v4/pkg/release/common"
	releasev1 "helm.sh/helm/v4/pkg/release/v1"
	"helm.sh/helm/v4/pkg/storage/driver"
	"k8s.io/cli-runtime/pkg/genericclioptions"

	"github.com/flotilla-dev/flotilla/charts"
)

// Load reads one of the embedded charts: flotilla-agent or flotilla-hub.
func Load(name string) (*chart.Chart, error) {
	var files []*archive.BufferedFile
	err := fs.WalkDir(charts.FS, name, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := fs.ReadFile(charts.FS, path)
		if err != nil {
			return err
		}
		files = append(files, &archive.BufferedFile{Name: strings.TrimPrefix(path, name+"/"), Data: data})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading the embedded chart %s: %w", name, err)
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("there is no embedded chart %s", name)
	}
	return loader.LoadFiles(files)
}

// Release names one release of a chart on one cluster.
type Release struct {
	// Kubeconfig reaches the cluster; empty means KUBECONFIG, ~/.kube/config or in-cluster.
	Kubeconfig string
	Namespace  string
	Name       string
}

func (r Release) configuration() (*action.Configuration, error) {
	flags := genericclioptions.NewConfigFlags(false)
	if r.Kubeconfig != "" {
		flags.KubeConfig = &r.Kubeconfig
	}
	flags.Namespace = &r.Namespace
	cfg := action.NewConfiguration(action.ConfigurationSetLogger(slog.DiscardHandler))
	if err := cfg.Init(flags, r.Namespace, "secret"); err != nil {
		return nil, fmt.Errorf("reaching the cluster for release %s/%s: %w", r.Namespace, r.Name, err)
	}
	return cfg, nil
}

// Apply installs the chart with values as the release, or upgrades the release when it is
// there already, and waits up to wait for its objects to be ready (0 does not wait). A
// release that is deployed with the same chart version and values is left alone: Apply
// then reports no change.
func Apply(ctx context.Context, r Release, ch *chart.Chart, values map[string]any, wait time.Duration) (bool, error) {
	cfg, err := r.configuration()
	if err != nil {
		return false, err
	}
	values, err = normalize(values)
	if err != nil {
		return false, err
	}
	current, err := deployed(cfg, r.Name)
	if err != nil {
		return false, err
	}
	strategy := kube.HookOnlyStrategy
	if wait > 0 {
		strategy = kube.StatusWatcherStrategy
	}
	if current == nil {
		install := action.NewInstall(cfg)
		install.ReleaseName, install.Namespace, install.CreateNamespace = r.Name, r.Namespace, true
		install.WaitStrategy, install.Timeout = strategy, wait
		if _, err := install.RunWithContext(ctx, ch, values); err != nil {
			return false, fmt.Errorf("installing chart %s as release %s/%s: %w", ch.Name(), r.Namespace, r.Name, err)
		}
		return true, nil
	}
	if current.Info != nil && current.Info.Status == releasecommon.StatusDeployed &&
		current.Chart != nil && current.Chart.Metadata.Version == ch.Metadata.Version && reflect.DeepEqual(current.Config, values) {
		return false, nil
	}
	upgrade := action.NewUpgrade(cfg)
	upgrade.Namespace, upgrade.WaitStrategy, upgrade.Timeout = r.Namespace, strategy, wait
	if _, err := upgrade.RunWithContext(ctx, r.Name, ch, values); err != nil {
		return false, fmt.Errorf("upgrading release %s/%s to chart %s %s: %w", r.Namespace, r.Name, ch.Name(), ch.Metadata.Version, err)
	}
	return true, nil
}

// Remove uninstalls the release, and reports whether there was one.
func Remove(_ context.Context, r Release) (bool, error) {
	cfg, err := r.configuration()
	if err != nil {
		return false, err
	}
	uninstall := action.NewUninstall(cfg)
	uninstall.WaitStrategy = kube.HookOnlyStrategy
	if _, err := uninstall.Run(r.Name); err != nil {
		if errors.Is(err, driver.ErrReleaseNotFound) || strings.Contains(err.Error(), "not found") {
			return false, nil
		}
		return false, fmt.Errorf("uninstalling release %s/%s: %w", r.Namespace, r.Name, err)
	}
	return true, nil
}

// deployed is the release's last revision, or nil when there is none.
func deployed(cfg *action.Configuration, name string) (*releasev1.Release, error) {
	rel, err := action.NewGet(cfg).Run(name)
	if errors.Is(err, driver.ErrReleaseNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading release %s: %w", name, err)
	}
	v1, ok := rel.(*releasev1.Release)
	if !ok {
		return nil, fmt.Errorf("release %s is of a kind this Flotilla does not read (%T)", name, rel)
	}
	return v1, nil
}

// normalize gives values the shape Helm stores them in (JSON numbers, maps of any), so that
// they compare equal to a stored release's.
func normalize(values map[string]any) (map[string]any, error) {
	data, err := json.Marshal(values)
	if err != nil {
		return nil, fmt.Errorf("encoding chart values: %w", err)
	}
	out := map[string]any{}
	if err := json.Unmarshal(data, &out); err != nil {
		return nil, fmt.Errorf("encoding chart values: %w", err)
	}
	return out, nil
}
