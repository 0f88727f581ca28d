// Package install is the one owner of putting Flotilla's CRDs and policies on a cluster:
// Hub for the hub, Member for a member. Per CRD it decides how: Flotilla's own CRDs are
// applied (server-side, so an upgrade updates them), and the CRDs it shares with other
// projects are created when missing and otherwise left alone (shared.go).
package install

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"sort"
	"strings"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilnet "k8s.io/apimachinery/pkg/util/net"
	"k8s.io/apimachinery/pkg/util/wait"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	placementv1beta1 "github.com/flotilla-dev/flotilla/api/placement/v1beta1"
	"github.com/flotilla-dev/flotilla/config"
	"github.com/flotilla-dev/flotilla/internal/scheme"
)

// FieldManager owns the fields that Install applies.
const FieldManager = "flotilla-install"

// Hub applies Flotilla's CRDs, ensures the MCS API's and ClusterProfile's, waits until the API server serves
// them, then applies the policies. It is idempotent: running it again updates what changed.
func Hub(ctx context.Context, cfg *rest.Config) error {
	c, err := client.New(cfg, client.Options{Scheme: scheme.Scheme})
	if err != nil {
		return err
	}
	if err := crds(ctx, c); err != nil {
		return err
	}
	policies, err := readManifests(config.Policies)
	if err != nil {
		return err
	}
	if err := apply(ctx, c, policies); err != nil {
		return err
	}
	return waitAdmissionSynced(ctx, c)
}

// CRDs is the CRD half of Hub, for a hub installed with the flotilla-hub chart: Helm installs
// a chart's CRDs but never upgrades them, so an upgrade applies them first with this.
func CRDs(ctx context.Context, cfg *rest.Config) error {
	c, err := client.New(cfg, client.Options{Scheme: scheme.Scheme})
	if err != nil {
		return err
	}
	return crds(ctx, c)
}

func crds(ctx context.Context, c client.Client) error {
	crds, err := readManifests(config.CRDs)
	if err != nil {
		return err
	}
	if err := apply(ctx, c, crds); err != nil {
		return err
	}
	if err := waitEstablished(ctx, c, crds); err != nil {
		return err
	}
	// The MCS API's CRDs come from sigs.k8s.io/mcs-api and may be someone else's already:
	// they are created when missing and otherwise left as they are.
	// So is the cluster inventory API's ClusterProfile.
	profile, err := ClusterProfile()
	if err != nil {
		return err
	}
	return Ensure(ctx, c, append(MCS(), profile))
}

// waitAdmissionSynced waits until the admission policies whose parameters are overrides can
// judge a request. Until the API server has listed their parameter kind, it refuses every
// override with "not yet synced to use for admission", so the hub is not ready before that.
// A dry-run create of an empty override is the probe: any answer but that one will do.
func waitAdmissionSynced(ctx context.Context, c client.Client) error {
	probes := []client.Object{
		&placementv1beta1.ClusterResourceOverride{ObjectMeta: metav1.ObjectMeta{Name: "flotilla-admission-probe"}},
		&placementv1beta1.ResourceOverride{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "flotilla-admission-probe"}},
	}
	for _, probe := range probes {
		var lastErr error
		err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
			lastErr = c.Create(ctx, probe.DeepCopyObject().(client.Object), client.DryRunAll)
			return lastErr == nil || !strings.Contains(lastErr.Error(), "not yet synced"), nil
		})
		if err != nil {
			return fmt.Errorf("waiting for the override admission policies to sync: %w", errors.Join(err, lastErr))
		}
	}
	return nil
}

// Manifests returns every object Install applies, CRDs first; the tests read it.
func Manifests() ([]*unstructured.Unstructured, error) {
	crds, err := readManifests(config.CRDs)
	if err != nil {
		return nil, err
	}
	policies, err := readManifests(config.Policies)
	if err != nil {
		return nil, err
	}
	return append(crds, policies...), nil
}

func apply(ctx context.Context, c client.Client, objs []*unstructured.Unstructured) error {
	for _, obj := range objs {
		obj := obj.DeepCopy()
		obj.SetManagedFields(nil)
		obj.SetResourceVersion("")
		// The RESTMapper learns a kind some moments after its CRD is established, and a fresh
		// API server may still be starting: retry those briefly, and fail at once on anything
		// else (a refused manifest, missing permissions) so its message is not hidden behind a
		// timeout.
		var lastErr error
		err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
			lastErr = c.Patch(ctx, obj, client.Apply, client.FieldOwner(FieldManager), client.ForceOwnership) //nolint:staticcheck // SSA of unstructured manifests
			if lastErr == nil {
				return true, nil
			}
			if retryable(lastErr) {
				return false, nil
			}
			return false, lastErr
		})
		if err != nil {
			if errors.Is(err, lastErr) {
				return fmt.Errorf("applying %s %s: %w", obj.GetKind(), obj.GetName(), lastErr)
			}
			return fmt.Errorf("applying %s %s: %w", obj.GetKind(), obj.GetName(), errors.Join(err, lastErr))
		}
	}
	return nil
}

// retryable says whether an apply error is one that goes away by itself: a kind the API server
// does not serve yet, or a server that is busy or still starting.
func retryable(err error) bool {
	return meta.IsNoMatchError(err) || apierrors.IsNotFound(err) || apierrors.IsServiceUnavailable(err) ||
		apierrors.IsTooManyRequests(err) || apierrors.IsTimeout(err) || apierrors.IsServerTimeout(err) ||
		apierrors.IsInternalError(err) || utilnet.IsConnectionRefused(err) || utilnet.IsProbableEOF(err)
}

func waitEstablished(ctx context.Context, c client.Client, crds []*unstructured.Unstructured) error {
	for _, u := range crds {
		name := u.GetName()
		var lastErr error
		err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
			var crd apiextensionsv1.CustomResourceDefinition
			if lastErr = c.Get(ctx, client.ObjectKey{Name: name}, &crd); lastErr != nil {
				return false, nil
			}
			for _, cond := range crd.Status.Conditions {
				if cond.Type == apiextensionsv1.Established && cond.Status == apiextensionsv1.ConditionTrue {
					return true, nil
				}
			}
			return false, nil
		})
		if err != nil {
			return fmt.Errorf("waiting for CRD %s to be established: %w", name, errors.Join(err, lastErr))
		}
	}
	return nil
}

// readManifests parses every YAML document of every file in fsys, in file-name order.
func readManifests(fsys fs.FS) ([]*unstructured.Unstructured, error) {
	var paths []string
	err := fs.WalkDir(fsys, ".", func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			paths = append(paths, path)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	sort.Strings(paths)
	var objs []*unstructured.Unstructured
	for _, p := range paths {
		data, err := fs.ReadFile(fsys, p)
		if err != nil {
			return nil, err
		}
		dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
		for {
			u := &unstructured.Unstructured{}
			if err := dec.Decode(&u.Object); err != nil {
				if errors.Is(err, io.EOF) {
					break
				}
				return nil, fmt.Errorf("parsing %s: %w", p, err)
			}
			if len(u.Object) == 0 {
				continue
			}
			objs = append(objs, u)
		}
	}
	return objs, nil
}
