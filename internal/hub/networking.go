package hub

import "github.com/flotilla-dev/flotilla/internal/hub/networking"

func setupNetworking(env Env) error {
	return networking.Setup(env.Manager, networking.Options{})
}
