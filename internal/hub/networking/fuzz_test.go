package networking

import (
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	mcsv1beta1 "sigs.k8s.io/mcs-api/pkg/apis/v1beta1"

	networkingv1alpha1 "github.com/flotilla-dev/flotilla/api/networking/v1alpha1"
)

// fuzzExports builds up to 8 exports of one service from fuzz bytes: each export takes 3
// bytes for its age, its properties (type, session affinity, a label, a weight) and its
// ports (up to 3, from a small pool of names and numbers, so that clashes are common).
func fuzzExports(data []byte) []networkingv1alpha1.InternalServiceExportSpec {
	var out []networkingv1alpha1.InternalServiceExportSpec
	names := []string{"", "http", "https", "grpc"}
	for i := 0; i+2 < len(data) && len(out) < 8; i += 3 {
		age, props, ports := data[i], data[i+1], data[i+2]
		var ps []mcsv1beta1.ServicePort
		for j := 0; j < int(ports%4); j++ {
			b := ports >> (2 + uint(j)*2)
			p := port(names[int(b)%len(names)], 80+int32(b>>1)%3)
			if (b>>2)&1 == 1 {
				p.Protocol = corev1.ProtocolUDP
			}
			ps = append(ps, p)
		}
		e := exp(fmt.Sprintf("c%d", len(out)), int(age%5), ps...)
		if props&1 != 0 {
			e.Type = mcsv1beta1.Headless
		}
		if props&2 != 0 {
			e.SessionAffinity = corev1.ServiceAffinityClientIP
		}
		if props&4 != 0 {
			e.ExportedLabels = map[string]string{"tier": fmt.Sprint(props >> 6)}
		}
		e.Weight = int32(props>>3) % 3
		out = append(out, e)
	}
	return out
}

// FuzzResolve checks the KEP-1645 conflict resolver on random exports. Invariants: the
// result does not depend on the order of the exports; the import takes the oldest export's
// properties; its ports never clash with each other; the oldest export is never excluded;
// every excluded export has a conflict that names the oldest cluster; and the import's
// clusters are exactly the exports that are not excluded.
func FuzzResolve(f *testing.F) {
	f.Add([]byte{0, 0, 1, 1, 0, 1})
	f.Add([]byte{2, 1, 0x7d, 0, 2, 0x55, 0, 4, 0xff})
	f.Add([]byte{4, 0x18, 0x03, 4, 0x10, 0x0b, 3, 6, 0x36})
	f.Fuzz(func(t *testing.T, data []byte) {
		exports := fuzzExports(data)
		res := Resolve(exports)
		reversed := make([]networkingv1alpha1.InternalServiceExportSpec, len(exports))
		for i, e := range exports {
			reversed[len(exports)-1-i] = e
		}
		if again := Resolve(reversed); !equality.Semantic.DeepEqual(res, again) {
			t.Fatalf("the order of the exports changed the resolution:\n%+v\nthen\n%+v", res, again)
		}
		if len(exports) == 0 {
			if len(res.Import.Clusters) != 0 || len(res.Conflicts) != 0 {
				t.Fatalf("no exports resolved to %+v", res)
			}
			return
		}
		oldest := exports[0]
		for _, e := range exports[1:] {
			if e.ExportCreationTimestamp.Before(&oldest.ExportCreationTimestamp) ||
				(e.ExportCreationTimestamp.Equal(&oldest.ExportCreationTimestamp) && e.Cluster < oldest.Cluster) {
				oldest = e
			}
		}
		if res.Import.Type != oldest.Type || res.Import.SessionAffinity != oldest.SessionAffinity {
			t.Fatalf("the import has type %s and affinity %s, the oldest export (%s) %s and %s",
				res.Import.Type, res.Import.SessionAffinity, oldest.Cluster, oldest.Type, oldest.SessionAffinity)
		}
		for i, p := range res.Import.Ports {
			if why := clash(res.Import.Ports[:i], p); why != "" {
				t.Fatalf("the import's ports clash: %s (%v)", why, res.Import.Ports)
			}
		}
		if res.Excluded[oldest.Cluster] {
			t.Fatalf("the oldest export, from %s, was excluded", oldest.Cluster)
		}
		want := map[string]bool{}
		for _, e := range exports {
			if res.Excluded[e.Cluster] {
				c, ok := res.Conflicts[e.Cluster]
				if !ok || !strings.Contains(c.Message, oldest.Cluster) {
					t.Fatalf("%s is excluded with conflict %+v, which does not name the oldest cluster %s", e.Cluster, c, oldest.Cluster)
				}
				continue
			}
			want[e.Cluster] = true
		}
		if len(want) != len(res.Import.Clusters) {
			t.Fatalf("the import serves clusters %v, want those not excluded: %v", res.Import.Clusters, want)
		}
		for _, c := range res.Import.Clusters {
			if !want[c] {
				t.Fatalf("the import serves %s, which is excluded or did not export", c)
			}
		}
	})
}
