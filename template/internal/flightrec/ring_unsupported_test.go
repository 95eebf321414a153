package flightrec

import (
	"errors"
	"testing"
)

func TestStartReportsTheMissingFlightRecorder(t *testing.T) {
	if _, err := Start(Config{Dir: t.TempDir()}); !errors.Is(err, ErrUnsupported) {
		t.Errorf("Start = %v, want ErrUnsupported on Go 1.24", err)
	}
}
