package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/certsweep/certsweep/triggers"
)

// cmdServe handles CloudEvents over HTTP until SIGTERM: the Knative Service
// trigger. Each event is handled before it is answered (see
// triggers.Handler for the status codes), so Knative's redelivery is our
// retry and a scaled-to-zero Service has nothing left running when idle.
func cmdServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: certsweep serve\n\nHandles CloudEvents (binary or structured mode) POSTed to $PORT;\nGET /healthz answers 200; GET /metrics serves Prometheus metrics.\n\nEnvironment:")
		printEnvUsage()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return errHelpShown
		}
		return configError{err}
	}
	if fs.NArg() > 0 {
		return configError{fmt.Errorf("serve takes no arguments, got %q", fs.Args())}
	}
	cfg, err := loadConfig()
	if err != nil {
		return err
	}
	if cfg.Shards > 1 {
		return configError{errors.New("CERTSWEEP_SHARDS is for Indexed Jobs; serve handles whatever events it is sent")}
	}
	opts, err := cfg.sweepOptions(stderr)
	if err != nil {
		return err
	}
	logger := opts.Logger
	opts.Deadline = issueWindow(cfg.RequestTimeout, cfg.Deadline)
	setMemoryLimit(cfg.MemoryLimitRatio, containerMemoryLimit, logger)
	mon, err := newServeMetrics(cfg)
	if err != nil {
		return err
	}
	push, err := newPusher(cfg, opts, mon)
	if err != nil {
		return err
	}
	sweeper, err := cfg.newSweeper(opts)
	if err != nil {
		return err
	}
	_, cm, err := cfg.clients()
	if err != nil {
		return err
	}
	mon.withClient(cfg, cm, logger, push)

	ln, err := net.Listen("tcp", ":"+strconv.Itoa(cfg.Port))
	if err != nil {
		return fmt.Errorf("listening on port %d: %w", cfg.Port, err)
	}
	// Work outlives SIGTERM so in-flight events finish; it is cancelled only
	// if shutdown overruns the request timeout.
	work, cancelWork := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelWork()
	// /metrics never sweeps: it reads the Certificates at most every
	// CERTSWEEP_METRICS_INTERVAL. Everything else is an event.
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", mon.handler)
	mux.Handle("/", &triggers.Handler{Target: observed{sweeper, mon, push}, Logger: logger, Work: work})
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		// Bodies are at most 1 MiB; a sender that trickles one slower than
		// this is not Knative.
		ReadTimeout: 30 * time.Second,
		// Replies wait for the work, which is bounded by the request timeout.
		WriteTimeout: cfg.RequestTimeout + 30*time.Second,
		IdleTimeout:  2 * time.Minute,
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	logger.Info("serving CloudEvents", "addr", ln.Addr().String(), "request-timeout", cfg.RequestTimeout, "issue-window", opts.Deadline)

	select {
	case err := <-served:
		return fmt.Errorf("serving HTTP: %w", err)
	case <-ctx.Done():
	}
	logger.Info("shutting down; finishing events in flight")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), cfg.RequestTimeout)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		cancelWork()
		return fmt.Errorf("shutting down: events still in flight after %s: %w", cfg.RequestTimeout, err)
	}
	return nil
}

// issueWindow is how long after an event arrives new issuances may still
// start. The last quarter of the request timeout (at most a minute) is kept
// for issuances already in flight, so the reply goes out before Knative
// gives up on the request. An explicit, shorter CERTSWEEP_DEADLINE wins.
func issueWindow(requestTimeout, deadline time.Duration) time.Duration {
	reserve := min(requestTimeout/4, time.Minute)
	window := requestTimeout - reserve
	if deadline > 0 && deadline < window {
		return deadline
	}
	return window
}
