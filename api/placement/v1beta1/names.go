package v1beta1

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
)

// Labels, annotations and finalizers of the placement objects, as KubeFleet spells them.
const (
	// fleetPrefix starts every KubeFleet label and annotation.
	fleetPrefix = "kubernetes-fleet.io/"

	// CRPTrackingLabel (parent-CRP) names the placement that owns a snapshot, a binding or
	// a Work.
	CRPTrackingLabel = fleetPrefix + "parent-CRP"

	// IsLatestSnapshotLabel is "true" on the latest policy snapshot and the latest resource
	// snapshots of a placement, and "false" on older ones.
	IsLatestSnapshotLabel = fleetPrefix + "is-latest-snapshot"

	// PolicyIndexLabel is the index of a policy snapshot, counting from 0.
	PolicyIndexLabel = fleetPrefix + "policy-index"

	// ResourceIndexLabel is the index of a resource snapshot, counting from 0.
	ResourceIndexLabel = fleetPrefix + "resource-index"

	// ResourceHashAnnotation is the sha256 of all the selected resources of an index, on the
	// master resource snapshot.
	ResourceHashAnnotation = fleetPrefix + "resource-hash"

	// NumberOfResourceSnapshotsAnnotation is the number of snapshots (master plus
	// sub-indexed) of an index, on the master resource snapshot.
	NumberOfResourceSnapshotsAnnotation = fleetPrefix + "number-of-resource-snapshots"

	// SubindexOfResourceSnapshotAnnotation is the sub-index of a sub-indexed resource snapshot,
	// counting from 0.
	SubindexOfResourceSnapshotAnnotation = fleetPrefix + "subindex-of-resource-snapshot"

	// NumberOfEnvelopedObjectsAnnotation counts enveloped objects; always 0 in Flotilla so far.
	NumberOfEnvelopedObjectsAnnotation = fleetPrefix + "number-of-enveloped-object"

	// NumberOfClustersAnnotation is numberOfClusters of a PickN policy snapshot.
	NumberOfClustersAnnotation = fleetPrefix + "number-of-clusters"

	// CRPGenerationAnnotation is the placement generation a policy snapshot was made for.
	CRPGenerationAnnotation = fleetPrefix + "CRP-generation"

	// ParentNamespaceLabel on a Work is the namespace of its ResourcePlacement's binding; a
	// Work of a ClusterResourcePlacement has none.
	ParentNamespaceLabel = fleetPrefix + "parent-namespace"

	// ParentBindingLabel names the binding a Work was generated from.
	ParentBindingLabel = fleetPrefix + "parent-resource-binding"

	// EnvelopeTypeLabel, EnvelopeNameLabel and EnvelopeNamespaceLabel on a Work name the
	// envelope whose objects it holds.
	EnvelopeTypeLabel      = fleetPrefix + "envelope-type"
	EnvelopeNameLabel      = fleetPrefix + "envelope-name"
	EnvelopeNamespaceLabel = fleetPrefix + "envelope-namespace"

	// OverrideTrackingLabel on an override snapshot names its override.
	OverrideTrackingLabel = fleetPrefix + "parent-resource-override"
	// OverrideIndexLabel on an override snapshot is its index, from 0.
	OverrideIndexLabel = fleetPrefix + "override-index"

	// ParentResourceSnapshotIndexLabel is the resource index a Work was generated from.
	ParentResourceSnapshotIndexLabel = fleetPrefix + "parent-resource-snapshot-index"

	// ParentResourceSnapshotNameAnnotation names the master resource snapshot a Work was
	// generated from.
	ParentResourceSnapshotNameAnnotation = fleetPrefix + "parent-resource-snapshot-name"

	// SchedulerCleanupFinalizer holds a placement until the scheduler removed its bindings.
	SchedulerCleanupFinalizer = fleetPrefix + "scheduler-cleanup"

	// CRPCleanupFinalizer holds a placement until its snapshots are removed.
	CRPCleanupFinalizer = fleetPrefix + "crp-cleanup"

	// WorkFinalizer holds a binding until the work generator removed its Works.
	WorkFinalizer = fleetPrefix + "work-cleanup"

	// SchedulerBindingCleanupFinalizer is put on every binding by the scheduler, so that a
	// binding deleted by someone else is noticed and the member rescheduled.
	SchedulerBindingCleanupFinalizer = fleetPrefix + "scheduler-binding-cleanup"
)

// PolicySnapshotName is the name of a placement's policy snapshot at an index: <crp>-<index>.
func PolicySnapshotName(crp string, index int) string { return fmt.Sprintf("%s-%d", crp, index) }

// ResourceSnapshotName is the name of a placement's master resource snapshot at an index:
// <crp>-<index>-snapshot.
func ResourceSnapshotName(crp string, index int) string {
	return fmt.Sprintf("%s-%d-snapshot", crp, index)
}

// SubResourceSnapshotName is the name of a sub-indexed resource snapshot:
// <crp>-<index>-<subindex>.
func SubResourceSnapshotName(crp string, index, subindex int) string {
	return fmt.Sprintf("%s-%d-%d", crp, index, subindex)
}

// WorkName is the name of the Work for a placement's master resource snapshot in a member
// namespace: <crp>-work. Sub-indexed snapshots get <crp>-<subindex>.
func WorkName(crp string) string { return crp + "-work" }

// SubWorkName is the name of the Work for a sub-indexed resource snapshot: <crp>-<subindex>.
func SubWorkName(crp string, subindex int) string { return fmt.Sprintf("%s-%d", crp, subindex) }

// BindingName is the name of the binding of a placement to a member:
// <crp>-<member>-<8 hex digits>. The suffix hashes the pair, so that placement "a-b" on
// member "c" and placement "a" on member "b-c" get different names, and the name is the same
// every time the scheduler computes it (creating a binding is idempotent).
func BindingName(crp, member string) string {
	sum := sha256.Sum256([]byte(crp + "/" + member))
	return fmt.Sprintf("%s-%s-%s", crp, member, hex.EncodeToString(sum[:4]))
}

// OverrideSnapshotName is the name of an override's snapshot at index: <override>-<index>.
func OverrideSnapshotName(override string, index int) string {
	return fmt.Sprintf("%s-%d", override, index)
}

// EnvelopeWorkName is the name of the Work that holds one envelope's objects for a
// placement: <crp>-envelope-<8 hex digits of the envelope's type, namespace and name>.
func EnvelopeWorkName(crp string, envelope EnvelopeIdentifier) string {
	sum := sha256.Sum256([]byte(string(envelope.Type) + "/" + envelope.Namespace + "/" + envelope.Name))
	return fmt.Sprintf("%s-envelope-%s", crp, hex.EncodeToString(sum[:4]))
}
