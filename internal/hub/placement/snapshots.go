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
	"github.com/flotilla-dev/flotilla/internal/hub/scope"
	"github.com/flotilla-dev/flotilla/internal/hub/snapshot"
)

// DefaultSnapshotSizeLimit is how many bytes of objects one resource snapshot holds before
// the selection continues in a sub-indexed snapshot; it keeps each well under etcd's 1.5 MB.
const DefaultSnapshotSizeLimit = 1 << 20

func ownerRef(crp placementv1beta1.PlacementObj) metav1.OwnerReference {
	ref := metav1.NewControllerRef(crp, placementv1beta1.GroupVersion.WithKind(scope.PlacementKind(client.ObjectKeyFromObject(crp))))
	ref.BlockOwnerDeletion = nil
	return *ref
}

func historyLimit(crp placementv1beta1.PlacementObj) int {
	if l := crp.GetPlacementSpec().RevisionHistoryLimit; l != nil && *l > 0 {
		return int(*l)
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
func (r *Reconciler) ensurePolicySnapshot(ctx context.Context, crp placementv1beta1.PlacementObj) (placementv1beta1.PolicySnapshotObj, error) {
	key := client.ObjectKeyFromObject(crp)
	spec := crp.GetPlacementSpec()
	hash, err := policyHash(spec.Policy)
	if err != nil {
		return nil, err
	}
	annotations := map[string]string{placementv1beta1.CRPGenerationAnnotation: strconv.FormatInt(crp.GetGeneration(), 10)}
	if p := spec.Policy; p != nil && p.PlacementType == placementv1beta1.PickNPlacementType && p.NumberOfClusters != nil {
		annotations[placementv1beta1.NumberOfClustersAnnotation] = strconv.Itoa(int(*p.NumberOfClusters))
	}
	latest, err := snapshot.LatestPolicySnapshot(ctx, r.Client, key)
	if err != nil {
		return nil, err
	}
	if latest != nil && string(latest.GetPolicySnapshotSpec().PolicyHash) == hash {
		have := latest.GetAnnotations()
		if have[placementv1beta1.CRPGenerationAnnotation] != annotations[placementv1beta1.CRPGenerationAnnotation] ||
			have[placementv1beta1.NumberOfClustersAnnotation] != annotations[placementv1beta1.NumberOfClustersAnnotation] {
			patch := client.MergeFrom(latest.DeepCopyObject().(client.Object))
			merged := map[string]string{}
			for k, v := range have {
				merged[k] = v
			}
			for k, v := range annotations {
				merged[k] = v
			}
			latest.SetAnnotations(merged)
			if err := r.Client.Patch(ctx, latest, patch); err != nil {
				return nil, fmt.Errorf("updating policy snapshot %s: %w", latest.GetName(), err)
			}
		}
		return latest, nil
	}
	index := 0
	if latest != nil {
		index = snapshot.Index(latest, placementv1beta1.PolicyIndexLabel) + 1
	}
	snap := scope.NewPolicySnapshot(key)
	snap.SetNamespace(key.Namespace)
	snap.SetName(placementv1beta1.PolicySnapshotName(crp.GetName(), index))
	snap.SetLabels(map[string]string{
		placementv1beta1.CRPTrackingLabel:      crp.GetName(),
		placementv1beta1.PolicyIndexLabel:      strconv.Itoa(index),
		placementv1beta1.IsLatestSnapshotLabel: "true",
	})
	snap.SetAnnotations(annotations)
	snap.SetOwnerReferences([]metav1.OwnerReference{ownerRef(crp)})
	*snap.GetPolicySnapshotSpec() = placementv1beta1.SchedulingPolicySnapshotSpec{Policy: spec.Policy.DeepCopy(), PolicyHash: []byte(hash)}
	if err := r.Client.Create(ctx, snap); err != nil && !apierrors.IsAlreadyExists(err) {
		return nil, fmt.Errorf("creating policy snapshot %s: %w", snap.GetName(), err)
	}
	if latest != nil {
		if err := r.markNotLatest(ctx, latest); err != nil {
			return nil, err
		}
	}
	list, err := scope.ListPolicySnapshots(ctx, r.Client, key, nil)
	if err != nil {
		return nil, err
	}
	old := make([]client.Object, 0, len(list))
	for _, o := range list {
		old = append(old, o)
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
func (r *Reconciler) ensureResourceSnapshot(ctx context.Context, crp placementv1beta1.PlacementObj, sel *Selection) (placementv1beta1.ResourceSnapshotObj, error) {
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

	key := client.ObjectKeyFromObject(crp)
	latest, err := snapshot.LatestResourceSnapshot(ctx, r.Client, key)
	if err != nil {
		return nil, err
	}
	index := 0
	if latest != nil {
		index = snapshot.Index(latest, placementv1beta1.ResourceIndexLabel)
		if latest.GetAnnotations()[placementv1beta1.ResourceHashAnnotation] == hash {
			// Same selection: make sure no sub-indexed snapshot went missing.
			if _, complete, err := snapshot.ResourceSnapshotsOfIndex(ctx, r.Client, key, index); err != nil || complete {
				return latest, err
			}
			return latest, r.createResourceSnapshots(ctx, crp, index, hash, groups)
		}
		index++
	}
	if err := r.createResourceSnapshots(ctx, crp, index, hash, groups); err != nil {
		return nil, err
	}
	list, err := scope.ListResourceSnapshots(ctx, r.Client, key, nil)
	if err != nil {
		return nil, err
	}
	var all []client.Object
	var master placementv1beta1.ResourceSnapshotObj
	for _, s := range list {
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
		return scope.GetResourceSnapshot(ctx, r.Client, client.ObjectKey{Namespace: key.Namespace, Name: placementv1beta1.ResourceSnapshotName(crp.GetName(), index)})
	}
	return master, nil
}

// createResourceSnapshots creates the snapshots of one index: the sub-indexed ones first,
// then the master, so that whoever finds the master finds the rest too.
func (r *Reconciler) createResourceSnapshots(ctx context.Context, crp placementv1beta1.PlacementObj, index int, hash string, groups [][][]byte) error {
	key := client.ObjectKeyFromObject(crp)
	build := func(name string, group [][]byte, annotations map[string]string) placementv1beta1.ResourceSnapshotObj {
		s := scope.NewResourceSnapshot(key)
		s.SetNamespace(key.Namespace)
		s.SetName(name)
		s.SetLabels(map[string]string{
			placementv1beta1.CRPTrackingLabel:      crp.GetName(),
			placementv1beta1.ResourceIndexLabel:    strconv.Itoa(index),
			placementv1beta1.IsLatestSnapshotLabel: "true",
		})
		s.SetAnnotations(annotations)
		s.SetOwnerReferences([]metav1.OwnerReference{ownerRef(crp)})
		spec := s.GetResourceSnapshotSpec()
		spec.SelectedResources = make([]placementv1beta1.ResourceContent, 0, len(group))
		for _, b := range group {
			spec.SelectedResources = append(spec.SelectedResources, placementv1beta1.ResourceContent{RawExtension: runtime.RawExtension{Raw: b}})
		}
		return s
	}
	var snaps []placementv1beta1.ResourceSnapshotObj
	for i := 1; i < len(groups); i++ {
		snaps = append(snaps, build(placementv1beta1.SubResourceSnapshotName(crp.GetName(), index, i-1), groups[i],
			map[string]string{placementv1beta1.SubindexOfResourceSnapshotAnnotation: strconv.Itoa(i - 1)}))
	}
	master := build(placementv1beta1.ResourceSnapshotName(crp.GetName(), index), groups[0], map[string]string{
		placementv1beta1.ResourceHashAnnotation:              hash,
		placementv1beta1.NumberOfResourceSnapshotsAnnotation: strconv.Itoa(len(groups)),
		placementv1beta1.NumberOfEnvelopedObjectsAnnotation:  "0",
	})
	snaps = append(snaps, master)
	for _, s := range snaps {
		if err := r.Client.Create(ctx, s); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("creating resource snapshot %s: %w", s.GetName(), err)
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
