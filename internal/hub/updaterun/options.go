package updaterun

import (
	"sigs.k8s.io/controller-runtime/pkg/controller"

	"github.com/flotilla-dev/flotilla/internal/controllerdefaults"
)

// controllerOptions lets several runs progress at once; each run is one key, so a run's
// steps never overlap.
func controllerOptions() controller.Options {
	return controllerdefaults.Options(4)
}
