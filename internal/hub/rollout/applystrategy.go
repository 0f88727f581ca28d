package rollout

import (
	"k8s.io/apimachinery/pkg/api/equality"

	placementv1beta1 "github.com/flotilla-dev/flotilla/api/placement/v1beta1"
)

// applyStrategyEqual compares two apply strategies with their defaults filled in.
func applyStrategyEqual(a, b *placementv1beta1.ApplyStrategy) bool {
	return equality.Semantic.DeepEqual(a.Defaulted(), b.Defaulted())
}
