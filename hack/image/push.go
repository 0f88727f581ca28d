package main

import (
	"context"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// push uploads img to ref (registry/repo:tag) with the credentials of `docker login` (and
// its credential helpers), which authn.DefaultKeychain reads. It is the only step that
// needs the network.
func push(ctx context.Context, ref string, img v1.Image) error {
	r, err := name.ParseReference(ref)
	if err != nil {
		return err
	}
	return remote.Write(r, img, remote.WithAuthFromKeychain(authn.DefaultKeychain), remote.WithContext(ctx))
}
