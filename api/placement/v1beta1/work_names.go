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
	// WorkMemberUnreachableReason marks a Work's Available condition Unknown while the
	// member's API server does not answer: what was available may not be any more.
	WorkMemberUnreachableReason = "MemberAPIServerUnreachable"

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
	// LastAppliedConfigAnnotation holds, on an object placed by client-side apply, the
	// manifest Flotilla last applied: the base of the three-way merge and of drift detection.
	// Objects placed by server-side apply, and manifests too large for an annotation
	// (MaxLastAppliedSize), do without it: see LastAppliedHashAnnotation.
	LastAppliedConfigAnnotation = "flotilla.dev/last-applied-configuration"
	// LastAppliedHashAnnotation holds, on every object Flotilla applied, the SHA-256 of the
	// manifest it last applied. Where there is no last-applied annotation, the hash says
	// whether the hub's manifest changed since, and the server's managed fields say which
	// fields Flotilla set and which someone else changed.
	LastAppliedHashAnnotation = "flotilla.dev/last-applied-hash"
	// MaxLastAppliedSize is the largest manifest, in bytes of JSON, kept whole in the
	// last-applied annotation. The API server refuses more than 256 KiB of annotations in all,
	// and the object's own annotations need room too.
	MaxLastAppliedSize = 128 * 1024
	// PreExistingAnnotation marks an object that existed before Flotilla took it over.
	// Flotilla never deletes such an object; it only removes its ownerReference.
	PreExistingAnnotation = "flotilla.dev/pre-existing"
	// DeletePropagationAnnotation "Abandon" on a Work, copied from its placement's
	// spec.strategy.deleteStrategy, tells the member agent to leave the Work's objects on the
	// member when the Work is deleted. The agent keeps it on the AppliedWork, so it still
	// knows once the Work is gone.
	DeletePropagationAnnotation = "flotilla.dev/delete-propagation-policy"
)
