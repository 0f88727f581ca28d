// Package snapshot finds and orders a placement's policy and resource snapshots. The
// placement controller writes them; the scheduler, the rollout and the work generator read
// them through these helpers so that all agree on what "latest" means.
package snapshot

import (
	"context"
	"fmt"
	"sort"
	"strconv"

	"sigs.k8s.io/controller-runtime/pkg/client"

	placementv1beta1 "github.com/flotilla-dev/flotilla/api/placement/v1beta1"
)

// LatestPolicySnapshot returns the placement's policy snapshot labelled latest, or nil.
// When more than one carries the label (a crash between two writes), the highest index wins.
func LatestPolicySnapshot(ctx context.Context, c client.Reader, crp string) (*placementv1beta1.ClusterSchedulingPolicySnapshot, error) {
	list := &placementv1beta1.ClusterSchedulingPolicySnapshotList{}
	if err := c.List(ctx, list, client.MatchingLabels{
		placementv1beta1.CRPTrackingLabel:      crp,
		placementv1beta1.IsLatestSnapshotLabel: "true",
	}); err != nil {
		return nil, fmt.Errorf("listing the policy snapshots of %s: %w", crp, err)
	}
	var best *placementv1beta1.ClusterSchedulingPolicySnapshot
	for i := range list.Items {
		if best == nil || Index(&list.Items[i], placementv1beta1.PolicyIndexLabel) > Index(best, placementv1beta1.PolicyIndexLabel) {
			best = &list.Items[i]
		}
	}
	return best, nil
}

// LatestResourceSnapshot returns the placement's latest master resource snapshot (the one
// with the number-of-resource-snapshots annotation), or nil.
func LatestResourceSnapshot(ctx context.Context, c client.Reader, crp string) (*placementv1beta1.ClusterResourceSnapshot, error) {
	list := &placementv1beta1.ClusterResourceSnapshotList{}
	if err := c.List(ctx, list, client.MatchingLabels{
		placementv1beta1.CRPTrackingLabel:      crp,
		placementv1beta1.IsLatestSnapshotLabel: "true",
	}); err != nil {
		return nil, fmt.Errorf("listing the resource snapshots of %s: %w", crp, err)
	}
	var best *placementv1beta1.ClusterResourceSnapshot
	for i := range list.Items {
		s := &list.Items[i]
		if !IsMaster(s) {
			continue
		}
		if best == nil || Index(s, placementv1beta1.ResourceIndexLabel) > Index(best, placementv1beta1.ResourceIndexLabel) {
			best = s
		}
	}
	return best, nil
}

// IsMaster says whether a resource snapshot is the first of its index.
func IsMaster(s *placementv1beta1.ClusterResourceSnapshot) bool {
	_, ok := s.Annotations[placementv1beta1.NumberOfResourceSnapshotsAnnotation]
	return ok
}

// ResourceSnapshotsOfIndex returns the master and sub-indexed snapshots of one index, the
// master first and the others by sub-index. complete is false while some are missing.
func ResourceSnapshotsOfIndex(ctx context.Context, c client.Reader, crp string, index int) (snaps []placementv1beta1.ClusterResourceSnapshot, complete bool, err error) {
	list := &placementv1beta1.ClusterResourceSnapshotList{}
	if err := c.List(ctx, list, client.MatchingLabels{
		placementv1beta1.CRPTrackingLabel:   crp,
		placementv1beta1.ResourceIndexLabel: strconv.Itoa(index),
	}); err != nil {
		return nil, false, fmt.Errorf("listing the resource snapshots of %s at index %d: %w", crp, index, err)
	}
	snaps = list.Items
	sort.Slice(snaps, func(i, j int) bool { return subindex(&snaps[i]) < subindex(&snaps[j]) })
	if len(snaps) == 0 || !IsMaster(&snaps[0]) {
		return snaps, false, nil
	}
	want, err := strconv.Atoi(snaps[0].Annotations[placementv1beta1.NumberOfResourceSnapshotsAnnotation])
	if err != nil {
		return snaps, false, nil
	}
	return snaps, len(snaps) == want, nil
}

// subindex orders the master (-1) before the sub-indexed snapshots.
func subindex(s *placementv1beta1.ClusterResourceSnapshot) int {
	v, ok := s.Annotations[placementv1beta1.SubindexOfResourceSnapshotAnnotation]
	if !ok {
		return -1
	}
	i, err := strconv.Atoi(v)
	if err != nil {
		return -1
	}
	return i
}

// Index reads an index label; -1 when it is missing or not a number.
func Index(o client.Object, label string) int {
	i, err := strconv.Atoi(o.GetLabels()[label])
	if err != nil {
		return -1
	}
	return i
}
