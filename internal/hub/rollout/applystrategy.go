package rollout

import (
	"k8s.io/apimachinery/pkg/api/equality"

	placementv1beta1 "github.com/flotilla-dev/flotilla/api/placement/v1beta1"
)

// defaultedApplyStrategy fills in the CRD's defaults, so that a placement without an
// applyStrategy and one with the defaults spelled out give the bindings the same value.
func defaultedApplyStrategy(in *placementv1beta1.ApplyStrategy) *placementv1beta1.ApplyStrategy {
	out := &placementv1beta1.ApplyStrategy{}
	if in != nil {
		out = in.DeepCopy()
	}
	if out.Type == "" {
		out.Type = placementv1beta1.ApplyStrategyTypeClientSideApply
	}
	if out.ComparisonOption == "" {
		out.ComparisonOption = placementv1beta1.ComparisonOptionTypePartialComparison
	}
	if out.WhenToApply == "" {
		out.WhenToApply = placementv1beta1.WhenToApplyTypeAlways
	}
	if out.WhenToTakeOver == "" {
		out.WhenToTakeOver = placementv1beta1.WhenToTakeOverTypeAlways
	}
	return out
}

func applyStrategyEqual(a, b *placementv1beta1.ApplyStrategy) bool {
	return equality.Semantic.DeepEqual(defaultedApplyStrategy(a), defaultedApplyStrategy(b))
}
