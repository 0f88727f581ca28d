// Package snapshot finds and orders a placement's policy and resource snapshots. The
// placement controller writes them; the scheduler, the rollout and the work generator read
// them through these helpers so that all agree on what "latest" means.
package snapshot

import (
	"context"
	"sort"
	"strconv"

	"sigs.k8s.io/controller-runtime/pkg/client"

	placementv1beta1 "github.com/flotilla-dev/flotilla/api/placement/v1beta1"
	"github.com/flotilla-dev/flotilla/internal/hub/scope"
)

var latestLabel = map[string]string{placementv1beta1.IsLatestSnapshotLabel: "true"}

// LatestPolicySnapshot returns the placement's policy snapshot labelled latest, or nil.
// When more than one carries the label (a crash between two writes), the highest index wins.
func LatestPolicySnapshot(ctx context.Context, c client.Reader, key scope.Key) (placementv1beta1.PolicySnapshotObj, error) {
	list, err := scope.ListPolicySnapshots(ctx, c, key, latestLabel)
	if err != nil {
		return nil, err
	}
	var best placementv1beta1.PolicySnapshotObj
	for _, s := range list {
		if best == nil || Index(s, placementv1beta1.PolicyIndexLabel) > Index(best, placementv1beta1.PolicyIndexLabel) {
			best = s
		}
	}
	return best, nil
}

// LatestResourceSnapshot returns the placement's latest master resource snapshot (the one
// with the number-of-resource-snapshots annotation), or nil.
func LatestResourceSnapshot(ctx context.Context, c client.Reader, key scope.Key) (placementv1beta1.ResourceSnapshotObj, error) {
	list, err := scope.ListResourceSnapshots(ctx, c, key, latestLabel)
	if err != nil {
		return nil, err
	}
	var best placementv1beta1.ResourceSnapshotObj
	for _, s := range list {
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
func IsMaster(s client.Object) bool {
	_, ok := s.GetAnnotations()[placementv1beta1.NumberOfResourceSnapshotsAnnotation]
	return ok
}

// ResourceSnapshotsOfIndex returns the master and sub-indexed snapshots of one index, the
// master first and the others by sub-index. complete is false while some are missing.
func ResourceSnapshotsOfIndex(ctx context.Context, c client.Reader, key scope.Key, index int) (snaps []placementv1beta1.ResourceSnapshotObj, complete bool, err error) {
	snaps, err = scope.ListResourceSnapshots(ctx, c, key, map[string]string{placementv1beta1.ResourceIndexLabel: strconv.Itoa(index)})
	if err != nil {
		return nil, false, err
	}
	sort.Slice(snaps, func(i, j int) bool { return subindex(snaps[i]) < subindex(snaps[j]) })
	if len(snaps) == 0 || !IsMaster(snaps[0]) {
		return snaps, false, nil
	}
	want, err := strconv.Atoi(snaps[0].GetAnnotations()[placementv1beta1.NumberOfResourceSnapshotsAnnotation])
	if err != nil {
		return snaps, false, nil
	}
	return snaps, len(snaps) == want, nil
}

// subindex orders the master (-1) before the sub-indexed snapshots.
func subindex(s client.Object) int {
	v, ok := s.GetAnnotations()[placementv1beta1.SubindexOfResourceSnapshotAnnotation]
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
