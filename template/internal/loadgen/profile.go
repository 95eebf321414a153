package loadgen

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// profileTimeout is how much longer than the profile itself its download may take.
const profileTimeout = 30 * time.Second

// captureProfile waits for the warm-up to end, then fetches a CPU profile covering the
// measured window from the private debug listener and writes it to cfg.cpuProfile.
func captureProfile(ctx context.Context, transport *http.Transport, cfg *config, from time.Time) error {
	wait := time.NewTimer(time.Until(from))
	defer wait.Stop()
	select {
	case <-wait.C:
	case <-ctx.Done():
		return ctx.Err()
	}
	seconds := int(cfg.duration / time.Second)
	ctx, cancel := context.WithTimeout(ctx, time.Duration(seconds)*time.Second+profileTimeout)
	defer cancel()
	target := cfg.debugURL + "/debug/pprof/profile?seconds=" + strconv.Itoa(seconds)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, http.NoBody) //nolint:gosec // G704: debug URL from the command line
	if err != nil {
		return err
	}
	// No client timeout here: the response takes as long as the profile, bounded by ctx.
	resp, err := (&http.Client{Transport: transport}).Do(req) //nolint:gosec // G704: debug URL from the command line
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
	if err != nil {
		return fmt.Errorf("read %s: %w", target, err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s answered %d: %s", target, resp.StatusCode, bytes.TrimSpace(data[:min(len(data), 200)]))
	}
	// The profile endpoint sends gzip-compressed protobuf; anything else is an error page.
	if !bytes.HasPrefix(data, []byte{0x1f, 0x8b}) {
		return fmt.Errorf("%s did not send a pprof profile", target)
	}
	// The operator chooses where the profile goes (G703 does not apply); it is written under
	// a temporary name first so that an interrupted run never leaves half a profile.
	path := filepath.Clean(cfg.cpuProfile)
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil { //nolint:gosec // G703: path from the command line
		return fmt.Errorf("write profile: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil { //nolint:gosec // G703: path from the command line
		return fmt.Errorf("write profile: %w", err)
	}
	return nil
}
