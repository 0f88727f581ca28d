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

// MemberCRDs applies the CRDs the member agent needs on its member cluster (AppliedWork)
// and waits until they are served. It is idempotent.
func MemberCRDs(ctx context.Context, cfg *rest.Config) error {
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
	return waitEstablished(ctx, c, crds)
}
