package hub

import "github.com/flotilla-dev/flotilla/internal/hub/workgen"

// setupWorkGenerator registers the work generator: bindings into Works, and Work status
// back into bindings.
func setupWorkGenerator(env Env) error {
	return workgen.Setup(env.Manager, workgen.Options{})
}
