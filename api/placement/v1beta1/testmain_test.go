package v1beta1_test

import (
	"testing"

	"github.com/flotilla-dev/flotilla/internal/localfleet"
	"github.com/flotilla-dev/flotilla/internal/testenv"
)

// fleet is one hub, shared by every validation test of this package (CRPs, snapshots,
// bindings, Works): add tests to other files, not another TestMain.
var fleet *localfleet.Fleet

func TestMain(m *testing.M) { testenv.Main(m, 0, &fleet) }
