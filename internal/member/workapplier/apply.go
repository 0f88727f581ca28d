package workapplier

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/jsonmergepatch"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	placementv1beta1 "github.com/flotilla-dev/flotilla/api/placement/v1beta1"
	"github.com/flotilla-dev/flotilla/internal/scheme"
)

// applier applies single manifests on the member.
type applier struct {
	dynamic dynamic.Interface
	mapper  meta.RESTMapper
	pods    kubernetes.Interface
}

// result is what happened to one manifest.
type result struct {
	id placementv1beta1.WorkResourceIdentifier
	// applied is false when the manifest was not (or could not be) applied, or, under
	// ReportDiff, when the diff could not be computed; reason and message say why.
	applied bool
	reason  string
	message string
	// avail is set when the object was applied.
	avail *availability
	// drifts and diffs are the differences found, with the object's generation.
	drifts     []placementv1beta1.PatchDetail
	diffs      []placementv1beta1.PatchDetail
	generation *int64
	// owned says the object carries this AppliedWork's ownerReference; uid is its UID.
	owned bool
	uid   types.UID
	// retry asks for another attempt soon: the failure may pass (a missing CRD, a namespace
	// still being created, an API server hiccup).
	retry bool
	// observed is the applied object's status, with its apiVersion, kind, name and
	// namespace, for reportBackStrategy Mirror; nil when it has no status.
	observed []byte
}

func failed(reason string, retry bool, format string, args ...any) result {
	return result{reason: reason, retry: retry, message: fmt.Sprintf(format, args...)}
}

// process applies (or, under ReportDiff, compares) one manifest.
func (a *applier) process(ctx context.Context, m *manifest, aw *placementv1beta1.AppliedWork, s placementv1beta1.ApplyStrategy) result {
	r := a.processInner(ctx, m, aw, s)
	resource := r.id.Resource
	r.id = m.identifier()
	r.id.Resource = resource
	return r
}

func (a *applier) processInner(ctx context.Context, m *manifest, aw *placementv1beta1.AppliedWork, s placementv1beta1.ApplyStrategy) result {
	obj := m.obj.DeepCopy()
	if obj.GetName() == "" {
		if obj.GetGenerateName() != "" {
			return failed(placementv1beta1.ManifestFoundGenerateNameReason, false,
				"the manifest has generateName %q but no name: Flotilla places objects by name, so give it metadata.name", obj.GetGenerateName())
		}
		return failed(placementv1beta1.ManifestDecodingErredReason, false, "the manifest has no metadata.name")
	}
	mapping, err := a.mapper.RESTMapping(m.gvk.GroupKind(), m.gvk.Version)
	if err != nil {
		// An unknown kind may become known: its CRD can be in the same Work, or on its way.
		return failed(placementv1beta1.ManifestFailedToApplyReason, true,
			"the member's API server does not serve %s: %v", m.gvk.String(), err)
	}
	// The identifier reports where the object really is: a namespaced object without a
	// namespace goes to "default", and a cluster-scoped one ignores a stray namespace.
	var ri dynamic.ResourceInterface
	if mapping.Scope.Name() == meta.RESTScopeNameNamespace {
		if m.obj.GetNamespace() == "" {
			m.obj.SetNamespace("default")
		}
		obj.SetNamespace(m.obj.GetNamespace())
		ri = a.dynamic.Resource(mapping.Resource).Namespace(obj.GetNamespace())
	} else {
		m.obj.SetNamespace("")
		obj.SetNamespace("")
		ri = a.dynamic.Resource(mapping.Resource)
	}
	res := a.processMapped(ctx, obj, ri, aw, s)
	res.id.Resource = mapping.Resource.Resource
	return res
}

func (a *applier) processMapped(ctx context.Context, obj *unstructured.Unstructured, ri dynamic.ResourceInterface, aw *placementv1beta1.AppliedWork, s placementv1beta1.ApplyStrategy) result {
	live, err := ri.Get(ctx, obj.GetName(), metav1.GetOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return failed(placementv1beta1.ManifestFailedToApplyReason, true, "reading %s from the member: %v", describe(obj), err)
	}
	exists := err == nil
	full := s.ComparisonOption == placementv1beta1.ComparisonOptionTypeFullComparison

	if s.Type == placementv1beta1.ApplyStrategyTypeReportDiff {
		return a.reportDiff(ctx, obj, live, exists, ri, full)
	}
	if !exists {
		created, err := a.create(ctx, obj, ri, aw, s)
		if err != nil {
			return applyError(obj, err)
		}
		return a.appliedResult(ctx, created)
	}

	owners := classifyOwners(live, aw)
	if len(owners.otherPlacements) > 0 && !s.AllowCoOwnership {
		return failed(placementv1beta1.ApplyConflictBetweenPlacementsReason, false,
			"%s is already placed by another placement (AppliedWork %s) and allowCoOwnership is false: remove it from one of the placements, or set applyStrategy.allowCoOwnership on both",
			describe(obj), strings.Join(owners.otherPlacements, ", "))
	}
	if !owners.ours && owners.others > 0 && !s.AllowCoOwnership {
		return failed(placementv1beta1.ManifestOwnedByOthersReason, false,
			"%s already exists on the member and is owned by %d object(s) outside Flotilla; allowCoOwnership is false, so it is left alone: set applyStrategy.allowCoOwnership to share it",
			describe(obj), owners.others)
	}
	if !owners.ours {
		res, ok := a.takeOver(ctx, obj, live, ri, aw, s, owners, full)
		if !ok {
			return res.result
		}
		live = res.liveAfter
	} else if s.WhenToApply == placementv1beta1.WhenToApplyTypeIfNotDrifted {
		if drifts, err := a.drifts(ctx, obj, live, ri, full); err != nil {
			return failed(placementv1beta1.ManifestFailedToApplyReason, true, "checking %s for drift: %v", describe(obj), err)
		} else if len(drifts) > 0 {
			r := failed(placementv1beta1.ManifestFoundDriftsReason, false,
				"%s was changed on the member since Flotilla applied it (%s); whenToApply is IfNotDrifted, so it is left alone: undo the change on the member, or set whenToApply to Always to overwrite it",
				describe(obj), firstDiff(drifts))
			r.drifts, r.generation, r.owned, r.uid = drifts, ptr.To(live.GetGeneration()), true, live.GetUID()
			return r
		}
	}
	applied, err := a.update(ctx, obj, live, ri, aw, s)
	if err != nil {
		r := applyError(obj, err)
		r.owned, r.uid = true, live.GetUID()
		return r
	}
	return a.appliedResult(ctx, applied)
}

// owners sorts an object's ownerReferences.
type owners struct {
	ours            bool
	staleOurs       bool
	otherPlacements []string
	others          int
}

func classifyOwners(obj *unstructured.Unstructured, aw *placementv1beta1.AppliedWork) owners {
	var o owners
	for _, ref := range obj.GetOwnerReferences() {
		switch {
		case ref.UID == aw.UID:
			o.ours = true
		case isAppliedWorkRef(ref) && ref.Name == aw.Name:
			// An earlier AppliedWork of the same Work, deleted by someone: the object is
			// Flotilla's own, and the takeover replaces the stale reference.
			o.staleOurs = true
		case isAppliedWorkRef(ref):
			o.otherPlacements = append(o.otherPlacements, ref.Name)
		default:
			o.others++
		}
	}
	return o
}

func isAppliedWorkRef(ref metav1.OwnerReference) bool {
	gv, err := schema.ParseGroupVersion(ref.APIVersion)
	return err == nil && gv.Group == placementv1beta1.GroupVersion.Group && ref.Kind == placementv1beta1.AppliedWorkKind
}

func ownerRef(aw *placementv1beta1.AppliedWork) metav1.OwnerReference {
	return metav1.OwnerReference{
		APIVersion: placementv1beta1.GroupVersion.String(), Kind: placementv1beta1.AppliedWorkKind,
		Name: aw.Name, UID: aw.UID, BlockOwnerDeletion: ptr.To(false),
	}
}

type takeOverResult struct {
	result
	liveAfter *unstructured.Unstructured
}

// takeOver decides, by whenToTakeOver, whether Flotilla adopts an object it did not place,
// and adopts it: it adds the ownerReference and marks it pre-existing, so that Flotilla
// never deletes it later.
func (a *applier) takeOver(ctx context.Context, obj, live *unstructured.Unstructured, ri dynamic.ResourceInterface,
	aw *placementv1beta1.AppliedWork, s placementv1beta1.ApplyStrategy, o owners, full bool) (takeOverResult, bool) {
	switch {
	case o.staleOurs:
		// Re-adopting Flotilla's own object needs no permission.
	case s.WhenToTakeOver == placementv1beta1.WhenToTakeOverTypeNever:
		return takeOverResult{result: failed(placementv1beta1.ManifestNotTakenOverReason, false,
			"%s already exists on the member and Flotilla did not create it; whenToTakeOver is Never, so it is left alone: delete it on the member, or set whenToTakeOver to IfNoDiff or Always",
			describe(obj))}, false
	case s.WhenToTakeOver == placementv1beta1.WhenToTakeOverTypeIfNoDiff:
		diffs, err := a.diff(ctx, obj, live, ri, full)
		if err != nil {
			return takeOverResult{result: failed(placementv1beta1.ManifestFailedToTakeOverReason, true, "comparing %s with the member's object: %v", describe(obj), err)}, false
		}
		if len(diffs) > 0 {
			r := failed(placementv1beta1.ManifestFailedToTakeOverReason, false,
				"%s already exists on the member and differs from the hub's manifest (%s); whenToTakeOver is IfNoDiff, so it is not taken over: make the two equal, or set whenToTakeOver to Always",
				describe(obj), firstDiff(diffs))
			r.diffs, r.generation = diffs, ptr.To(live.GetGeneration())
			return takeOverResult{result: r}, false
		}
	}
	var refs []metav1.OwnerReference
	for _, ref := range live.GetOwnerReferences() {
		if !isAppliedWorkRef(ref) || ref.Name != aw.Name {
			refs = append(refs, ref)
		}
	}
	refs = append(refs, ownerRef(aw))
	annotations := map[string]any{}
	// An object that another placement already holds, or that Flotilla applied before
	// (it has the last-applied annotation), was created by Flotilla: not pre-existing.
	if len(o.otherPlacements) == 0 && !o.staleOurs && !appliedBefore(live) {
		annotations[placementv1beta1.PreExistingAnnotation] = "true"
	}
	patch := map[string]any{"metadata": map[string]any{
		"ownerReferences": refs, "resourceVersion": live.GetResourceVersion(), "annotations": annotations,
	}}
	data, err := json.Marshal(patch)
	if err != nil {
		return takeOverResult{result: failed(placementv1beta1.ManifestFailedToTakeOverReason, false, "%v", err)}, false
	}
	after, err := ri.Patch(ctx, live.GetName(), types.MergePatchType, data, metav1.PatchOptions{FieldManager: placementv1beta1.WorkFieldManager})
	if err != nil {
		return takeOverResult{result: failed(placementv1beta1.ManifestFailedToTakeOverReason, true, "taking over %s: %v", describe(obj), err)}, false
	}
	return takeOverResult{liveAfter: after}, true
}

// lastApplied is the manifest as recorded in the last-applied annotation: the manifest
// without Flotilla's own annotations.
func lastApplied(obj *unstructured.Unstructured) ([]byte, error) {
	c := obj.DeepCopy()
	annotations := c.GetAnnotations()
	delete(annotations, placementv1beta1.LastAppliedConfigAnnotation)
	delete(annotations, placementv1beta1.LastAppliedHashAnnotation)
	delete(annotations, placementv1beta1.PreExistingAnnotation)
	c.SetAnnotations(annotations)
	if len(annotations) == 0 {
		unstructured.RemoveNestedField(c.Object, "metadata", "annotations")
	}
	unstructured.RemoveNestedField(c.Object, "status")
	return c.MarshalJSON()
}

// desired is the manifest as Flotilla writes it: with the hash of the manifest, and under
// client-side apply, when it fits, the whole manifest in the last-applied annotation.
func desired(obj *unstructured.Unstructured, s placementv1beta1.ApplyStrategy) (*unstructured.Unstructured, string, error) {
	last, err := lastApplied(obj)
	if err != nil {
		return nil, "", err
	}
	hash := manifestHash(last)
	d := obj.DeepCopy()
	annotations := d.GetAnnotations()
	if annotations == nil {
		annotations = map[string]string{}
	}
	annotations[placementv1beta1.LastAppliedHashAnnotation] = hash
	if keepsLastApplied(s, last) {
		annotations[placementv1beta1.LastAppliedConfigAnnotation] = string(last)
	}
	d.SetAnnotations(annotations)
	unstructured.RemoveNestedField(d.Object, "status")
	return d, hash, nil
}

// keepsLastApplied says whether the whole manifest goes into the last-applied annotation:
// only under client-side apply, whose three-way merge wants it, and only when it fits.
func keepsLastApplied(s placementv1beta1.ApplyStrategy, last []byte) bool {
	return s.Type != placementv1beta1.ApplyStrategyTypeServerSideApply && len(last) <= placementv1beta1.MaxLastAppliedSize
}

func manifestHash(last []byte) string {
	sum := sha256.Sum256(last)
	return hex.EncodeToString(sum[:])
}

// appliedBefore says whether Flotilla has applied the object before (by either annotation).
func appliedBefore(live *unstructured.Unstructured) bool {
	a := live.GetAnnotations()
	return a[placementv1beta1.LastAppliedConfigAnnotation] != "" || a[placementv1beta1.LastAppliedHashAnnotation] != ""
}

func (a *applier) create(ctx context.Context, obj *unstructured.Unstructured, ri dynamic.ResourceInterface, aw *placementv1beta1.AppliedWork, s placementv1beta1.ApplyStrategy) (*unstructured.Unstructured, error) {
	d, _, err := desired(obj, s)
	if err != nil {
		return nil, err
	}
	d.SetOwnerReferences([]metav1.OwnerReference{ownerRef(aw)})
	d.SetResourceVersion("")
	d.SetUID("")
	if s.Type == placementv1beta1.ApplyStrategyTypeServerSideApply {
		return a.serverSideApply(ctx, d, ri, s)
	}
	return ri.Create(ctx, d, metav1.CreateOptions{FieldManager: placementv1beta1.WorkFieldManager})
}

// update brings an object Flotilla owns to the manifest: a three-way merge for client-side
// apply, a server-side apply otherwise.
func (a *applier) update(ctx context.Context, obj, live *unstructured.Unstructured, ri dynamic.ResourceInterface, aw *placementv1beta1.AppliedWork, s placementv1beta1.ApplyStrategy) (*unstructured.Unstructured, error) {
	d, hash, err := desired(obj, s)
	if err != nil {
		return nil, err
	}
	if s.Type == placementv1beta1.ApplyStrategyTypeServerSideApply {
		// Nothing to do when the manifest is the one last applied and the object still has
		// every field of it: this spares the member a write per object every resync.
		if live.GetAnnotations()[placementv1beta1.LastAppliedHashAnnotation] == hash &&
			live.GetAnnotations()[placementv1beta1.LastAppliedConfigAnnotation] == "" &&
			len(comparison(d.Object, live.Object, false)) == 0 {
			return live, nil
		}
		if err := a.dropLastApplied(ctx, live, ri); err != nil {
			return nil, err
		}
		d.SetOwnerReferences([]metav1.OwnerReference{ownerRef(aw)})
		return a.serverSideApply(ctx, d, ri, s)
	}
	// The three-way merge: fields in the previous manifest but not in this one are removed;
	// fields in this one are set; fields nobody in the hub ever set (a controller's, a
	// defaulted one) stay. Owner references are never part of it, so other owners of a
	// co-owned object keep theirs.
	original, err := previousManifest(live)
	if err != nil {
		return nil, err
	}
	if _, kept := d.GetAnnotations()[placementv1beta1.LastAppliedConfigAnnotation]; !kept {
		// The manifest outgrew the annotation: the merge would leave the old one in place.
		if err := a.dropLastApplied(ctx, live, ri); err != nil {
			return nil, err
		}
	}
	modified, err := d.MarshalJSON()
	if err != nil {
		return nil, err
	}
	current, err := live.MarshalJSON()
	if err != nil {
		return nil, err
	}
	patchType, patch, err := threeWay(obj.GroupVersionKind(), original, modified, current)
	if err != nil {
		return nil, fmt.Errorf("computing the three-way merge: %w", err)
	}
	if string(patch) == "{}" {
		return live, nil
	}
	return ri.Patch(ctx, live.GetName(), patchType, patch, metav1.PatchOptions{FieldManager: placementv1beta1.WorkFieldManager})
}

// threeWay computes the client-side apply patch: a strategic merge patch for the kinds
// Flotilla knows the Go types of (so lists such as containers merge by name), a JSON merge
// patch for the rest (custom resources).
func threeWay(gvk schema.GroupVersionKind, original, modified, current []byte) (types.PatchType, []byte, error) {
	if len(original) == 0 {
		original = nil
	}
	if typed, err := scheme.Scheme.New(gvk); err == nil {
		meta, err := strategicpatch.NewPatchMetaFromStruct(typed)
		if err != nil {
			return "", nil, err
		}
		patch, err := strategicpatch.CreateThreeWayMergePatch(original, modified, current, meta, true)
		return types.StrategicMergePatchType, patch, err
	}
	patch, err := jsonmergepatch.CreateThreeWayJSONMergePatch(original, modified, current)
	return types.MergePatchType, patch, err
}

func (a *applier) serverSideApply(ctx context.Context, d *unstructured.Unstructured, ri dynamic.ResourceInterface, s placementv1beta1.ApplyStrategy) (*unstructured.Unstructured, error) {
	force := s.ServerSideApplyConfig != nil && s.ServerSideApplyConfig.ForceConflicts
	data, err := d.MarshalJSON()
	if err != nil {
		return nil, err
	}
	return ri.Patch(ctx, d.GetName(), types.ApplyPatchType, data, metav1.PatchOptions{
		FieldManager: placementv1beta1.WorkFieldManager, Force: ptr.To(force),
	})
}

// applyError turns a write error into the manifest's result, with the server's message.
func applyError(obj *unstructured.Unstructured, err error) result {
	// Invalid and conflicting objects stay so until the hub's manifest or the member changes;
	// retrying them costs little and catches a member-side fix, so every failure is retried
	// with backoff.
	msg := err.Error()
	var apiStatus apierrors.APIStatus
	if errors.As(err, &apiStatus) && apiStatus.Status().Message != "" {
		msg = apiStatus.Status().Message
		if d := apiStatus.Status().Details; apierrors.IsNotFound(err) && d != nil && d.Kind == "namespaces" {
			msg = fmt.Sprintf("namespace %s is not on this member: a ResourcePlacement places only into a namespace the member has; "+
				"place the namespace first, with a ClusterResourcePlacement (selectionScope NamespaceOnly places it without its contents)", d.Name)
		}
	}
	return failed(placementv1beta1.ManifestFailedToApplyReason, true, "applying %s failed: %s", describe(obj), msg)
}

func (a *applier) appliedResult(ctx context.Context, live *unstructured.Unstructured) result {
	av := availabilityOf(ctx, a.pods, live)
	return result{
		applied: true, reason: placementv1beta1.ManifestAppliedReason,
		message: fmt.Sprintf("%s is applied", describe(live)), avail: &av,
		owned: true, uid: live.GetUID(), generation: ptr.To(live.GetGeneration()),
		observed: observedStatus(live),
	}
}

// observedStatus is the object's status as reportBackStrategy Mirror reports it.
func observedStatus(live *unstructured.Unstructured) []byte {
	status, ok := live.Object["status"]
	if !ok {
		return nil
	}
	meta := map[string]any{"name": live.GetName()}
	if ns := live.GetNamespace(); ns != "" {
		meta["namespace"] = ns
	}
	data, err := json.Marshal(map[string]any{"apiVersion": live.GetAPIVersion(), "kind": live.GetKind(), "metadata": meta, "status": status})
	if err != nil {
		return nil
	}
	return data
}

// reportDiff compares without changing anything.
func (a *applier) reportDiff(ctx context.Context, obj, live *unstructured.Unstructured, exists bool, ri dynamic.ResourceInterface, full bool) result {
	if !exists {
		r := result{applied: true, reason: placementv1beta1.ManifestFoundDiffReason,
			message: fmt.Sprintf("%s does not exist on the member", describe(obj)),
			diffs:   []placementv1beta1.PatchDetail{{Path: "/", ValueInHub: "(the whole object)"}}}
		return r
	}
	diffs, err := a.diff(ctx, obj, live, ri, full)
	if err != nil {
		return failed(placementv1beta1.ManifestFailedToReportDiffReason, true, "comparing %s with the member's object: %v", describe(obj), err)
	}
	r := result{applied: true, diffs: diffs, generation: ptr.To(live.GetGeneration()), uid: live.GetUID()}
	if len(diffs) == 0 {
		r.reason, r.message = placementv1beta1.ManifestNoDiffFoundReason, fmt.Sprintf("%s on the member matches the hub's manifest", describe(obj))
	} else {
		r.reason, r.message = placementv1beta1.ManifestFoundDiffReason, fmt.Sprintf("%s differs from the hub's manifest: %s", describe(obj), firstDiff(diffs))
	}
	return r
}

// diff compares the hub's manifest with the member's object.
func (a *applier) diff(ctx context.Context, obj, live *unstructured.Unstructured, ri dynamic.ResourceInterface, full bool) ([]placementv1beta1.PatchDetail, error) {
	hub := obj
	if full {
		var err error
		if hub, err = a.defaulted(ctx, obj, live, ri); err != nil {
			return nil, err
		}
	}
	return comparison(hub.Object, live.Object, full), nil
}

// drifts compares what Flotilla last applied with the member's object. Without the
// last-applied annotation, an unchanged manifest (the same hash) is what was last applied;
// a changed one is checked against the server's managed fields.
func (a *applier) drifts(ctx context.Context, obj, live *unstructured.Unstructured, ri dynamic.ResourceInterface, full bool) ([]placementv1beta1.PatchDetail, error) {
	last := live.GetAnnotations()[placementv1beta1.LastAppliedConfigAnnotation]
	if last == "" {
		hash := live.GetAnnotations()[placementv1beta1.LastAppliedHashAnnotation]
		if hash == "" {
			// Taken over under this strategy and not applied yet: nothing to drift from.
			return nil, nil
		}
		manifest, err := lastApplied(obj)
		if err != nil {
			return nil, err
		}
		if manifestHash(manifest) == hash {
			return a.diff(ctx, obj, live, ri, full)
		}
		return managedDrifts(obj.Object, live.Object, live.GetManagedFields()), nil
	}
	applied := &unstructured.Unstructured{}
	if err := applied.UnmarshalJSON([]byte(last)); err != nil {
		return nil, fmt.Errorf("the %s annotation is not an object: %w", placementv1beta1.LastAppliedConfigAnnotation, err)
	}
	return a.diff(ctx, applied, live, ri, full)
}

// defaulted returns the hub's object as the member's API server would store it in place of
// the live one (a dry-run replace), so full comparison does not count defaults as changes.
func (a *applier) defaulted(ctx context.Context, obj, live *unstructured.Unstructured, ri dynamic.ResourceInterface) (*unstructured.Unstructured, error) {
	body := obj.DeepCopy()
	body.SetNamespace(live.GetNamespace())
	body.SetResourceVersion(live.GetResourceVersion())
	body.SetOwnerReferences(live.GetOwnerReferences())
	body.SetFinalizers(live.GetFinalizers())
	annotations := body.GetAnnotations()
	for k, v := range live.GetAnnotations() {
		if systemAnnotation(k) {
			if annotations == nil {
				annotations = map[string]string{}
			}
			annotations[k] = v
		}
	}
	body.SetAnnotations(annotations)
	out, err := ri.Update(ctx, body, metav1.UpdateOptions{DryRun: []string{metav1.DryRunAll}, FieldManager: placementv1beta1.WorkFieldManager})
	if err != nil {
		return nil, fmt.Errorf("a dry-run replace on the member failed: %w", err)
	}
	return out, nil
}

func describe(obj *unstructured.Unstructured) string {
	if ns := obj.GetNamespace(); ns != "" {
		return fmt.Sprintf("%s %s/%s", obj.GetKind(), ns, obj.GetName())
	}
	return fmt.Sprintf("%s %s", obj.GetKind(), obj.GetName())
}

func firstDiff(ds []placementv1beta1.PatchDetail) string {
	d := ds[0]
	more := ""
	if len(ds) > 1 {
		more = fmt.Sprintf(", and %d more", len(ds)-1)
	}
	return fmt.Sprintf("%s is %q on the member and %q on the hub%s", d.Path, d.ValueInMember, d.ValueInHub, more)
}

// previousManifest is the base of the three-way merge: the last-applied annotation, or,
// where the manifest was too large for it, the fields Flotilla owns by the managed fields.
// An object Flotilla never applied has none.
func previousManifest(live *unstructured.Unstructured) ([]byte, error) {
	if last := live.GetAnnotations()[placementv1beta1.LastAppliedConfigAnnotation]; last != "" {
		return []byte(last), nil
	}
	if live.GetAnnotations()[placementv1beta1.LastAppliedHashAnnotation] == "" {
		return nil, nil
	}
	return json.Marshal(ownedPart(live.Object, live.GetManagedFields()))
}

// dropLastApplied removes a last-applied annotation left from client-side apply when the
// object moves to server-side apply: server-side apply does not own it, so it would stay.
func (a *applier) dropLastApplied(ctx context.Context, live *unstructured.Unstructured, ri dynamic.ResourceInterface) error {
	if _, ok := live.GetAnnotations()[placementv1beta1.LastAppliedConfigAnnotation]; !ok {
		return nil
	}
	patch := []byte(`{"metadata":{"annotations":{"` + placementv1beta1.LastAppliedConfigAnnotation + `":null}}}`)
	_, err := ri.Patch(ctx, live.GetName(), types.MergePatchType, patch, metav1.PatchOptions{FieldManager: placementv1beta1.WorkFieldManager})
	return err
}
