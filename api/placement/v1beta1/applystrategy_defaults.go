package v1beta1

// Defaulted returns a copy of the apply strategy with the CRD's defaults filled in, so that a
// placement without an applyStrategy and one with the defaults spelled out compare equal and
// behave the same. A nil strategy gives all the defaults.
func (s *ApplyStrategy) Defaulted() *ApplyStrategy {
	out := &ApplyStrategy{}
	if s != nil {
		out = s.DeepCopy()
	}
	if out.Type == "" {
		out.Type = ApplyStrategyTypeClientSideApply
	}
	if out.ComparisonOption == "" {
		out.ComparisonOption = ComparisonOptionTypePartialComparison
	}
	if out.WhenToApply == "" {
		out.WhenToApply = WhenToApplyTypeAlways
	}
	if out.WhenToTakeOver == "" {
		out.WhenToTakeOver = WhenToTakeOverTypeAlways
	}
	return out
}
