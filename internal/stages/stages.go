// Package stages holds the rules that cluster upgrade runs (updates.flotilla.dev UpdateRuns)
// and staged placement rollouts (ClusterStagedUpdateRuns) share: how many members of a stage
// go at once, in what order, and when a wait is over. Both run stages one after another,
// and both wait on timers and on approvals between them; keeping the rules here keeps the two
// from drifting apart.
package stages

import (
	"math"
	"sort"
	"strconv"
	"time"

	"k8s.io/apimachinery/pkg/util/intstr"
)

// Concurrency resolves a maxConcurrency for a stage (or group) of n members: nil is 1, a
// number is taken as it is but at least 1, and a percentage of n is rounded down, but is at
// least 1, so that a stage always moves.
func Concurrency(v *intstr.IntOrString, n int) int {
	if v == nil {
		return 1
	}
	if v.Type == intstr.Int {
		return max(1, v.IntValue())
	}
	limit, err := intstr.GetScaledValueFromIntOrPercent(v, n, false)
	if err != nil {
		return 1
	}
	return int(math.Max(1, float64(limit)))
}

// Order sorts members for a stage. With a sorting label key, members go in ascending order
// of that label's value, compared as integers when both values are integers and as strings
// otherwise; members without the label go last; ties go by name. Without a key, by name.
func Order(names []string, labels map[string]map[string]string, key string) []string {
	out := append([]string(nil), names...)
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if key != "" {
			va, oka := labels[a][key]
			vb, okb := labels[b][key]
			switch {
			case oka && !okb:
				return true
			case !oka && okb:
				return false
			case oka && okb && va != vb:
				na, errA := strconv.Atoi(va)
				nb, errB := strconv.Atoi(vb)
				if errA == nil && errB == nil {
					return na < nb
				}
				return va < vb
			}
		}
		return a < b
	})
	return out
}

// WaitLeft is how much of a wait of d that began at since is left at now; 0 means it is over.
func WaitLeft(since time.Time, d time.Duration, now time.Time) time.Duration {
	left := since.Add(d).Sub(now)
	if left < 0 {
		return 0
	}
	return left
}
