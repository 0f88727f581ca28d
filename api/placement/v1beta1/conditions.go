package v1beta1

// PlacementConditionType is a condition type of a ClusterResourcePlacement.
type PlacementConditionType string

// The placement's conditions, in the order they appear in its status.
const (
	CRPScheduledConditionType        PlacementConditionType = "ClusterResourcePlacementScheduled"
	CRPRolloutStartedConditionType   PlacementConditionType = "ClusterResourcePlacementRolloutStarted"
	CRPOverriddenConditionType       PlacementConditionType = "ClusterResourcePlacementOverridden"
	CRPWorkSynchronizedConditionType PlacementConditionType = "ClusterResourcePlacementWorkSynchronized"
	CRPAppliedConditionType          PlacementConditionType = "ClusterResourcePlacementApplied"
	CRPAvailableConditionType        PlacementConditionType = "ClusterResourcePlacementAvailable"
	CRPDiffReportedConditionType     PlacementConditionType = "ClusterResourcePlacementDiffReported"
)

// ResourceConditionType is a condition type of a binding, and of a per-member placement status
// (which adds Scheduled).
type ResourceConditionType string

const (
	// ResourceScheduledConditionType is only in per-member placement statuses.
	ResourceScheduledConditionType        ResourceConditionType = "Scheduled"
	ResourceRolloutStartedConditionType   ResourceConditionType = "RolloutStarted"
	ResourceOverriddenConditionType       ResourceConditionType = "Overridden"
	ResourceWorkSynchronizedConditionType ResourceConditionType = "WorkSynchronized"
	ResourcesAppliedConditionType         ResourceConditionType = "Applied"
	ResourcesAvailableConditionType       ResourceConditionType = "Available"
	ResourcesDiffReportedConditionType    ResourceConditionType = "DiffReported"
)

// PolicySnapshotScheduledConditionType is the condition the scheduler sets on a policy
// snapshot.
const PolicySnapshotScheduledConditionType = "Scheduled"

// Condition reasons, as KubeFleet spells them.
const (
	// Scheduled.
	SchedulingPolicyFulfilledReason   = "SchedulingPolicyFulfilled"
	SchedulingPolicyUnfulfilledReason = "SchedulingPolicyUnfulfilled"
	SchedulePendingReason             = "SchedulePending"
	// InvalidResourceSelectorsReason: a selector names an unknown kind, a reserved namespace
	// or a kind that is never placed.
	InvalidResourceSelectorsReason = "InvalidResourceSelectors"
	// ResourceScheduleSucceededReason and ResourceScheduleFailedReason are per member.
	ResourceScheduleSucceededReason = "Scheduled"
	ResourceScheduleFailedReason    = "ScheduleFailed"

	// RolloutStarted.
	RolloutStartedReason                        = "RolloutStarted"
	RolloutNotStartedYetReason                  = "RolloutNotStartedYet"
	RolloutStartedUnknownReason                 = "RolloutStartedUnknown"
	RolloutControlledByExternalControllerReason = "RolloutControlledByExternalController"

	// Overridden.
	OverrideNotSpecifiedReason = "NoOverrideSpecified"
	OverriddenSucceededReason  = "OverriddenSucceeded"
	OverriddenFailedReason     = "OverriddenFailed"
	OverriddenPendingReason    = "OverriddenPending"

	// WorkSynchronized.
	WorkSynchronizedReason        = "WorkSynchronized"
	WorkNotSynchronizedYetReason  = "WorkNotSynchronizedYet"
	WorkSynchronizedUnknownReason = "WorkSynchronizedUnknown"
	SyncWorkFailedReason          = "SyncWorkFailed"

	// Applied.
	ApplySucceededReason                 = "ApplySucceeded"
	ApplyFailedReason                    = "ApplyFailed"
	ApplyPendingReason                   = "ApplyPending"
	ApplyConflictBetweenPlacementsReason = "ApplyConflictBetweenPlacements"

	// Available.
	AvailableReason                    = "ResourceAvailable"
	NotAvailableYetReason              = "ResourceNotAvailableYet"
	AvailableUnknownReason             = "ResourceAvailableUnknown"
	WorkNotAvailabilityTrackableReason = "NotTrackable"

	// DiffReported.
	DiffReportedStatusTrueReason    = "DiffReportingCompleted"
	DiffReportedStatusFalseReason   = "DiffReportingFailed"
	DiffReportedStatusUnknownReason = "DiffReportingPending"
)

// MaxReportedPlacements caps the failed, drifted and diffed entries copied per member.
const MaxReportedPlacements = 100
