package v1beta1

// Condition types, reasons, labels and annotations of Work and AppliedWork. The condition
// types and reasons are KubeFleet's, so tools that read KubeFleet's Work status read ours.
const (
	// WorkConditionTypeApplied is true when every manifest of a Work was applied.
	WorkConditionTypeApplied = "Applied"
	// WorkConditionTypeAvailable is true when every applied object is available.
	WorkConditionTypeAvailable = "Available"
	// WorkConditionTypeDiffReported is true when every manifest's diff was reported (ReportDiff).
	WorkConditionTypeDiffReported = "DiffReported"

	// Reasons of the Work's own conditions.
	WorkAllManifestsAppliedReason         = "AllManifestsApplied"
	WorkNotAllManifestsAppliedReason      = "SomeManifestsAreNotApplied"
	WorkAllManifestsAvailableReason       = "AllManifestsAvailable"
	WorkNotAllManifestsAvailableReason    = "SomeManifestsAreNotAvailable"
	WorkNotTrackableReason                = "WorkNotTrackable"
	WorkAllManifestsDiffReportedReason    = "AllManifestsDiffReported"
	WorkNotAllManifestsDiffReportedReason = "SomeManifestsHaveNotReportedDiff"
	// WorkMemberLeavingReason is used while the member leaves the fleet: nothing is applied.
	WorkMemberLeavingReason = "MemberLeavingFleet"

	// Reasons of a manifest's Applied (or DiffReported) condition.
	ManifestAppliedReason            = "Applied"
	ManifestDecodingErredReason      = "DecodingErred"
	ManifestFoundGenerateNameReason  = "FoundGenerateName"
	ManifestFailedToApplyReason      = "FailedToApply"
	ManifestNotTakenOverReason       = "NotTakenOver"
	ManifestFailedToTakeOverReason   = "FailedToTakeOver"
	ManifestFoundDriftsReason        = "FoundDrifts"
	ManifestFoundDiffReason          = "FoundDiff"
	ManifestNoDiffFoundReason        = "NoDiffFound"
	ManifestFailedToReportDiffReason = "FailedToReportDiff"
	ManifestNotPlaceableReason       = "NotPlaceable"
	// ManifestOwnedByOthersReason: the object has owners outside Flotilla and the strategy
	// does not allow co-ownership. (ApplyConflictBetweenPlacementsReason is in conditions.go.)
	ManifestOwnedByOthersReason = "ManifestsAlreadyOwnedByOthers"

	// Reasons of a manifest's Available condition.
	ManifestAvailableReason         = "Available"
	ManifestNotYetAvailableReason   = "NotYetAvailable"
	ManifestNotTrackableReason      = "NotTrackable"
	ManifestPodsUnschedulableReason = "PodsUnschedulable"
	ManifestFailedToTrackReason     = "FailedToTrack"
	ManifestNotAppliedReason        = "NotApplied"

	// AppliedWorkKind is the kind of the owner every placed object points to.
	AppliedWorkKind = "AppliedWork"

	// WorkFieldManager is the field manager of the work applier's writes on members.
	WorkFieldManager = "flotilla"
	// LastAppliedConfigAnnotation holds, on each placed object, the manifest Flotilla last
	// applied: the base of client-side apply's three-way merge and of drift detection.
	LastAppliedConfigAnnotation = "flotilla.dev/last-applied-configuration"
	// PreExistingAnnotation marks an object that existed before Flotilla took it over.
	// Flotilla never deletes such an object; it only removes its ownerReference.
	PreExistingAnnotation = "flotilla.dev/pre-existing"
)
