package serviceimport

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
)

// DerivedServiceName is the name of the selectorless Service that gives an import its
// clusterset IP: derived-<name>, shortened with a hash when that is too long for a Service.
func DerivedServiceName(name string) string {
	const prefix = "derived-"
	if len(prefix)+len(name) <= 63 {
		return prefix + name
	}
	return prefix + name[:46] + "-" + hash(name)
}

// sliceName names the i-th imported EndpointSlice from a cluster.
func sliceName(derived, cluster string, i int) string {
	n := fmt.Sprintf("%s-%s-%d", derived, cluster, i)
	if len(n) <= 253 {
		return n
	}
	return fmt.Sprintf("%s-%s-%d", derived, hash(cluster), i)
}

func hash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])[:8]
}
