package workgen

import (
	placementv1beta1 "github.com/flotilla-dev/flotilla/api/placement/v1beta1"
)

// workContent is what one Work holds: the objects of a snapshot part, or of an envelope.
type workContent struct {
	name     string
	envelope *placementv1beta1.EnvelopeIdentifier
	raws     [][]byte
}
