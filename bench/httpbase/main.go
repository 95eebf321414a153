// Command httpbase is the baseline the generated service is measured against: the plain
// net/http server a team would otherwise start from. It serves GET /livez and GET /readyz with
// fixed JSON bodies and nothing else.
//
//	httpbase -mode fair  # the generated service's server timeouts and request body cap
//	httpbase -mode bare  # http.Server's zero values: no timeouts, no body cap
//
// The listen address comes from -addr or HTTP_ADDR. SIGTERM or SIGINT stops it cleanly. It is
// part of the benchmark report (python -m bench.report), not of the generated output.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Getenv, os.Stderr); err != nil {
		fmt.Fprintf(os.Stderr, "httpbase: %v\n", err)
		os.Exit(1)
	}
}

// run serves until ctx ends or a signal arrives, then shuts the server down.
func run(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) error {
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()

	fs := flag.NewFlagSet("httpbase", flag.ContinueOnError)
	fs.SetOutput(stderr)
	defaultAddr := getenv("HTTP_ADDR")
	if defaultAddr == "" {
		defaultAddr = "127.0.0.1:8080"
	}
	addr := fs.String("addr", defaultAddr, "listen address (default: HTTP_ADDR, else 127.0.0.1:8080)")
	mode := fs.String("mode", "fair", "fair: the generated service's timeouts and body cap; bare: none")
	if err := fs.Parse(args); err != nil {
		return err
	}
	srv, err := newServer(*mode)
	if err != nil {
		return err
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", *addr)
	if err != nil {
		return err
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }() // run waits for it below
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = srv.Shutdown(shutdownCtx) //nolint:contextcheck // ctx has ended; shutdown gets its own deadline
	if serveErr := <-served; !errors.Is(serveErr, http.ErrServerClosed) {
		err = errors.Join(err, serveErr)
	}
	return err
}
