package placement

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	placementv1beta1 "github.com/flotilla-dev/flotilla/api/placement/v1beta1"
	"github.com/flotilla-dev/flotilla/internal/hub/snapshot"
)

// DefaultSnapshotSizeLimit is how many bytes of objects one resource snapshot holds before
// the selection continues in a sub-indexed snapshot; it keeps each well under etcd's 1.5 MB.
const DefaultSnapshotSizeLimit = 1 << 20

func ownerRef(crp *placementv1beta1.ClusterResourcePlacement) metav1.OwnerReference {
	ref := metav1.NewControllerRef(crp, placementv1beta1.GroupVersion.WithKind("ClusterResourcePlacement"))
	ref.BlockOwnerDeletion = nil
	return *ref
}

func historyLimit(crp *placementv1beta1.ClusterResourcePlacement) int {
	if crp.Spec.RevisionHistoryLimit != nil && *crp.Spec.RevisionHistoryLimit > 0 {
		return int(*crp.Spec.RevisionHistoryLimit)
	}
	return 10
}

// policyHash hashes the policy without numberOfClusters: scaling a PickN placement keeps its
// snapshot (and so its bindings), and only the snapshot's annotation changes.
func policyHash(p *placementv1beta1.PlacementPolicy) (string, error) {
	var cp placementv1beta1.PlacementPolicy
	if p != nil {
		cp = *p.DeepCopy()
	}
	cp.NumberOfClusters = nil
	b, err := json.Marshal(cp)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}

// ensurePolicySnapshot makes the latest policy snapshot match the placement's policy.
func (r *Reconciler) ensurePolicySnapshot(ctx context.Context, crp *placementv1beta1.ClusterResourcePlacement) (*placementv1beta1.ClusterSchedulingPolicySnapshot, error) {
	hash, err := policyHash(crp.Spec.Policy)
	if err != nil {
		return nil, err
	}
	annotations := map[string]string{placementv1beta1.CRPGenerationAnnotation: strconv.FormatInt(crp.Generation, 10)}
	if p := crp.Spec.Policy; p != nil && p.PlacementType == placementv1beta1.PickNPlacementType && p.NumberOfClusters != nil {
		annotations[placementv1beta1.NumberOfClustersAnnotation] = strconv.Itoa(int(*p.NumberOfClusters))
	}
	latestObj, err := snapshot.LatestPolicySnapshot(ctx, r.Client, client.ObjectKeyFromObject(crp))
	if err != nil {
		return nil, err
	}
	latest, _ := latestObj.(*placementv1beta1.ClusterSchedulingPolicySnapshot) // nil when there is none
	if latest != nil && string(latest.Spec.PolicyHash) == hash {
		if latest.Annotations[placementv1beta1.CRPGenerationAnnotation] != annotations[placementv1beta1.CRPGenerationAnnotation] ||
			latest.Annotations[placementv1beta1.NumberOfClustersAnnotation] != annotations[placementv1beta1.NumberOfClustersAnnotation] {
			patch := client.MergeFrom(latest.DeepCopy())
			if latest.Annotations == nil {
				latest.Annotations = map[string]string{}
			}
			for k, v := range annotations {
				latest.Annotations[k] = v
			}
			if err := r.Client.Patch(ctx, latest, patch); err != nil {
				return nil, fmt.Errorf("updating policy snapshot %s: %w", latest.Name, err)
			}
		}
		return latest, nil
	}
	index := 0
	if latest != nil {
		index = snapshot.Index(latest, placementv1beta1.PolicyIndexLabel) + 1
	}
	snap := &placementv1beta1.ClusterSchedulingPolicySnapshot{
		ObjectMeta: metav1.ObjectMeta{
			Name: placementv1beta1.PolicySnapshotName(crp.Name, index),
			Labels: map[string]string{
				placementv1beta1.CRPTrackingLabel:      crp.Name,
				placementv1beta1.PolicyIndexLabel:      strconv.Itoa(index),
				placementv1beta1.IsLatestSnapshotLabel: "true",
			},
			Annotations:     annotations,
			OwnerReferences: []metav1.OwnerReference{ownerRef(crp)},
		},
		Spec: placementv1beta1.SchedulingPolicySnapshotSpec{Policy: crp.Spec.Policy.DeepCopy(), PolicyHash: []byte(hash)},
	}
	if err := r.Client.Create(ctx, snap); err != nil && !apierrors.IsAlreadyExists(err) {
		return nil, fmt.Errorf("creating policy snapshot %s: %w", snap.Name, err)
	}
	if latest != nil {
		if err := r.markNotLatest(ctx, latest); err != nil {
			return nil, err
		}
	}
	list := &placementv1beta1.ClusterSchedulingPolicySnapshotList{}
	if err := r.Client.List(ctx, list, client.MatchingLabels{placementv1beta1.CRPTrackingLabel: crp.Name}); err != nil {
		return nil, err
	}
	var old []client.Object
	for i := range list.Items {
		old = append(old, &list.Items[i])
	}
	return snap, r.pruneHistory(ctx, old, placementv1beta1.PolicyIndexLabel, index, historyLimit(crp))
}

func (r *Reconciler) markNotLatest(ctx context.Context, o client.Object) error {
	if o.GetLabels()[placementv1beta1.IsLatestSnapshotLabel] == "false" {
		return nil
	}
	patch := []byte(fmt.Sprintf(`{"metadata":{"labels":{%q:"false"}}}`, placementv1beta1.IsLatestSnapshotLabel))
	if err := r.Client.Patch(ctx, o, client.RawPatch("application/merge-patch+json", patch)); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("marking snapshot %s as not the latest: %w", o.GetName(), err)
	}
	return nil
}

// pruneHistory deletes snapshots whose index is limit or more below the latest.
func (r *Reconciler) pruneHistory(ctx context.Context, objs []client.Object, indexLabel string, latest, limit int) error {
	for _, o := range objs {
		i := snapshot.Index(o, indexLabel)
		if i >= 0 && i <= latest-limit {
			if err := r.Client.Delete(ctx, o); err != nil && !apierrors.IsNotFound(err) {
				return fmt.Errorf("deleting old snapshot %s: %w", o.GetName(), err)
			}
		}
	}
	return nil
}

// chunk splits the encoded objects into groups of at most limit bytes (an object larger than
// the limit gets a group of its own).
func chunk(raws [][]byte, limit int) [][][]byte {
	var out [][][]byte
	var cur [][]byte
	size := 0
	for _, b := range raws {
		if len(cur) > 0 && size+len(b) > limit {
			out = append(out, cur)
			cur, size = nil, 0
		}
		cur = append(cur, b)
		size += len(b)
	}
	return append(out, cur)
}

// ensureResourceSnapshot makes the latest resource snapshots hold the selection; it returns
// the latest master snapshot.
func (r *Reconciler) ensureResourceSnapshot(ctx context.Context, crp *placementv1beta1.ClusterResourcePlacement, sel *Selection) (*placementv1beta1.ClusterResourceSnapshot, error) {
	raws := make([][]byte, 0, len(sel.Objects))
	h := sha256.New()
	for _, u := range sel.Objects {
		b, err := json.Marshal(u.Object)
		if err != nil {
			return nil, err
		}
		raws = append(raws, b)
		h.Write(b)
		h.Write([]byte{'\n'})
	}
	hash := hex.EncodeToString(h.Sum(nil))
	limit := r.SnapshotSizeLimit
	if limit <= 0 {
		limit = DefaultSnapshotSizeLimit
	}
	groups := chunk(raws, limit)

	latestObj, err := snapshot.LatestResourceSnapshot(ctx, r.Client, client.ObjectKeyFromObject(crp))
	if err != nil {
		return nil, err
	}
	latest, _ := latestObj.(*placementv1beta1.ClusterResourceSnapshot) // nil when there is none
	index := 0
	if latest != nil {
		index = snapshot.Index(latest, placementv1beta1.ResourceIndexLabel)
		if latest.Annotations[placementv1beta1.ResourceHashAnnotation] == hash {
			// Same selection: make sure no sub-indexed snapshot went missing.
			if _, complete, err := snapshot.ResourceSnapshotsOfIndex(ctx, r.Client, client.ObjectKeyFromObject(crp), index); err != nil || complete {
				return latest, err
			}
			return latest, r.createResourceSnapshots(ctx, crp, index, hash, groups)
		}
		index++
	}
	if err := r.createResourceSnapshots(ctx, crp, index, hash, groups); err != nil {
		return nil, err
	}
	list := &placementv1beta1.ClusterResourceSnapshotList{}
	if err := r.Client.List(ctx, list, client.MatchingLabels{placementv1beta1.CRPTrackingLabel: crp.Name}); err != nil {
		return nil, err
	}
	var all []client.Object
	var master *placementv1beta1.ClusterResourceSnapshot
	for i := range list.Items {
		s := &list.Items[i]
		all = append(all, s)
		if snapshot.Index(s, placementv1beta1.ResourceIndexLabel) < index {
			if err := r.markNotLatest(ctx, s); err != nil {
				return nil, err
			}
		} else if snapshot.IsMaster(s) {
			master = s
		}
	}
	if err := r.pruneHistory(ctx, all, placementv1beta1.ResourceIndexLabel, index, historyLimit(crp)); err != nil {
		return nil, err
	}
	if master == nil {
		master = &placementv1beta1.ClusterResourceSnapshot{}
		if err := r.Client.Get(ctx, client.ObjectKey{Name: placementv1beta1.ResourceSnapshotName(crp.Name, index)}, master); err != nil {
			return nil, err
		}
	}
	return master, nil
}

// createResourceSnapshots creates the snapshots of one index: the sub-indexed ones first,
// then the master, so that whoever finds the master finds the rest too.
func (r *Reconciler) createResourceSnapshots(ctx context.Context, crp *placementv1beta1.ClusterResourcePlacement, index int, hash string, groups [][][]byte) error {
	build := func(name string, group [][]byte) *placementv1beta1.ClusterResourceSnapshot {
		s := &placementv1beta1.ClusterResourceSnapshot{ObjectMeta: metav1.ObjectMeta{
			Name: name,
			Labels: map[string]string{
				placementv1beta1.CRPTrackingLabel:      crp.Name,
				placementv1beta1.ResourceIndexLabel:    strconv.Itoa(index),
				placementv1beta1.IsLatestSnapshotLabel: "true",
			},
			Annotations:     map[string]string{},
			OwnerReferences: []metav1.OwnerReference{ownerRef(crp)},
		}}
		s.Spec.SelectedResources = make([]placementv1beta1.ResourceContent, 0, len(group))
		for _, b := range group {
			s.Spec.SelectedResources = append(s.Spec.SelectedResources, placementv1beta1.ResourceContent{RawExtension: runtime.RawExtension{Raw: b}})
		}
		return s
	}
	var snaps []*placementv1beta1.ClusterResourceSnapshot
	for i := 1; i < len(groups); i++ {
		s := build(placementv1beta1.SubResourceSnapshotName(crp.Name, index, i-1), groups[i])
		s.Annotations[placementv1beta1.SubindexOfResourceSnapshotAnnotation] = strconv.Itoa(i - 1)
		snaps = append(snaps, s)
	}
	master := build(placementv1beta1.ResourceSnapshotName(crp.Name, index), groups[0])
	master.Annotations[placementv1beta1.ResourceHashAnnotation] = hash
	master.Annotations[placementv1beta1.NumberOfResourceSnapshotsAnnotation] = strconv.Itoa(len(groups))
	master.Annotations[placementv1beta1.NumberOfEnvelopedObjectsAnnotation] = "0"
	snaps = append(snaps, master)
	for _, s := range snaps {
		if err := r.Client.Create(ctx, s); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("creating resource snapshot %s: %w", s.Name, err)
		}
	}
	return nil
}

// indexOfSnapshotName parses the index out of a master resource snapshot name.
func indexOfSnapshotName(crp, name string) string {
	var idx int
	if _, err := fmt.Sscanf(name[min(len(name), len(crp)+1):], "%d-snapshot", &idx); err != nil {
		return ""
	}
	return strconv.Itoa(idx)
}
