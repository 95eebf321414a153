package flightrec

import (
	"context"
	"errors"
	"testing"
)

func TestStartReportsTheMissingFlightRecorder(t *testing.T) {
	for _, mode := range []Mode{ModeOn, ModeAuto} {
		if _, err := Start(context.Background(), &Config{Mode: mode, Dir: t.TempDir()}); !errors.Is(err, ErrUnsupported) {
			t.Errorf("Start in mode %s = %v, want ErrUnsupported on Go 1.24", mode, err)
		}
	}
}
