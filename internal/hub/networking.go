package hub

import "github.com/flotilla-dev/flotilla/internal/hub/networking"

func setupNetworking(env Env) error {
	return (&networking.Reconciler{
		Client:    env.Manager.GetClient(),
		APIReader: env.Manager.GetAPIReader(),
	}).SetupWithManager(env.Manager)
}
