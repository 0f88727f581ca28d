package providers

import (
	"strconv"
	"strings"
)

// NormalizeVersion drops a leading "v", so that v1.35.8 and 1.35.8 compare equal.
func NormalizeVersion(v string) string { return strings.TrimPrefix(strings.TrimSpace(v), "v") }

// CompareVersions compares dotted versions (Kubernetes versions, or node image versions such
// as 202512.05.0) segment by segment, numerically where both segments are numbers.
func CompareVersions(a, b string) int {
	as, bs := strings.Split(NormalizeVersion(a), "."), strings.Split(NormalizeVersion(b), ".")
	for i := 0; i < len(as) || i < len(bs); i++ {
		var x, y string
		if i < len(as) {
			x = as[i]
		}
		if i < len(bs) {
			y = bs[i]
		}
		xn, xerr := strconv.Atoi(x)
		yn, yerr := strconv.Atoi(y)
		switch {
		case xerr == nil && yerr == nil && xn != yn:
			if xn < yn {
				return -1
			}
			return 1
		case (xerr != nil || yerr != nil) && x != y:
			return strings.Compare(x, y)
		}
	}
	return 0
}
