package hub

import (
	"github.com/flotilla-dev/flotilla/internal/hub/reportback"
	"github.com/flotilla-dev/flotilla/internal/hub/workgen"
)

// setupWorkGenerator registers the work generator: bindings into Works, and Work status
// back into bindings.
func setupWorkGenerator(env Env) error {
	return workgen.Setup(env.Manager, workgen.Options{})
}

// setupReportBack registers the copy of members' back-reported status onto the hub's
// originals (reportBackStrategy destination OriginalResource).
func setupReportBack(env Env) error {
	return reportback.Setup(env.Manager, reportback.Options{})
}
