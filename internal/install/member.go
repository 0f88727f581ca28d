package install

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/flotilla-dev/flotilla/config"
	"github.com/flotilla-dev/flotilla/internal/scheme"
)

// memberCRDs are the CRDs a member agent installs on its own cluster at start.
var memberCRDs = map[string]bool{
	"appliedworks.placement.kubernetes-fleet.io": true,
}

// Member puts on a member cluster the CRDs its agent needs: it applies Flotilla's own
// (AppliedWork) and ensures the shared networking ones (MCS API, MultiClusterService),
// and waits until all are served. It is idempotent.
func Member(ctx context.Context, cfg *rest.Config) error {
	c, err := client.New(cfg, client.Options{Scheme: scheme.Scheme})
	if err != nil {
		return err
	}
	all, err := readManifests(config.CRDs)
	if err != nil {
		return err
	}
	var crds []*unstructured.Unstructured
	for _, crd := range all {
		if memberCRDs[crd.GetName()] {
			crds = append(crds, crd)
		}
	}
	if len(crds) != len(memberCRDs) {
		return fmt.Errorf("the embedded CRDs lack some of %v", memberCRDs)
	}
	if err := apply(ctx, c, crds); err != nil {
		return err
	}
	if err := waitEstablished(ctx, c, crds); err != nil {
		return err
	}
	shared, err := MemberNetworking()
	if err != nil {
		return err
	}
	return Ensure(ctx, c, shared)
}
