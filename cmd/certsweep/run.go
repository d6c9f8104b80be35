package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"time"

	"github.com/certsweep/certsweep/job"
	"github.com/certsweep/certsweep/triggers"
)

func cmdRun(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	every := fs.String("every", "", "repeat the sweep on this cron schedule (e.g. \"*/15 * * * *\") until SIGTERM")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: certsweep run [--every SPEC]\n\nFlags:")
		fs.PrintDefaults()
		fmt.Fprintln(stderr, "\nEnvironment:")
		printEnvUsage()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return errHelpShown
		}
		return configError{err}
	}
	cfg, err := loadConfig()
	if err != nil {
		return err
	}
	opts, err := cfg.sweepOptions(stderr)
	if err != nil {
		return err
	}
	logger := opts.Logger
	// The event file is read and checked before any client exists, so a bad
	// file exits 2 having touched nothing.
	var event *triggers.Request
	if cfg.EventFile != "" {
		if *every != "" {
			return configError{errors.New("--every and CERTSWEEP_EVENT_FILE exclude each other: an event asks for one run")}
		}
		req, err := triggers.ReadEventFile(cfg.EventFile)
		if err != nil {
			return configError{fmt.Errorf("CERTSWEEP_EVENT_FILE: %w", err)}
		}
		event = &req
	}
	pusher, err := newPusher(cfg, opts, nil)
	if err != nil {
		return err
	}
	setMemoryLimit(cfg.MemoryLimitRatio, containerMemoryLimit, logger)
	sweeper, err := cfg.newSweeper(opts)
	if err != nil {
		return err
	}

	if event != nil {
		return runEvent(ctx, sweeper, *event, stdout, logger, pusher)
	}

	if *every != "" {
		logger.Info("sweeping on a schedule until SIGTERM", "every", *every)
		return triggers.Every(ctx, *every, sweeper, time.Now, func(rep *job.Report, err error) {
			if err != nil {
				logger.Error("sweep could not run", "error", err)
				return
			}
			fmt.Fprintln(stdout, rep.Summary())
			pusher.push(ctx, rep)
		})
	}
	rep, err := triggers.Once(ctx, sweeper)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, rep.Summary())
	pusher.push(ctx, rep)
	logMemory(logger)
	return nil
}

// logMemory reports, at debug level, what the Go runtime holds at the end
// of a run: HeapSys never shrinks below the heap's high-water mark, so it
// shows the peak heap a run needed (make bench reads it).
func logMemory(logger *slog.Logger) {
	if !logger.Enabled(context.Background(), slog.LevelDebug) {
		return
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	logger.Debug("memory", "heapSysBytes", ms.HeapSys, "heapInuseBytes", ms.HeapInuse,
		"totalAllocBytes", ms.TotalAlloc, "sysBytes", ms.Sys, "gcCycles", ms.NumGC)
}

// runEvent handles the one event a JobSink started this Job for. Only a
// full sweep (a ping) pushes metrics: a push replaces the previous one, and
// a reconcile of a few Certificates would drop the others' series.
func runEvent(ctx context.Context, sweeper *job.Sweeper, req triggers.Request, stdout io.Writer, logger *slog.Logger, pusher *pusher) error {
	log := logger.With("type", req.Type)
	if req.Subject != nil {
		log = log.With("subject", req.Subject.String())
	}
	if req.Ignored() {
		log.Info("ignored event of a type certsweep does not act on")
		return nil
	}
	out, err := triggers.Handle(ctx, sweeper, req)
	if err != nil {
		return err
	}
	if out.Report == nil {
		log.Info("nothing to do", "certificates", len(out.Refs))
		return nil
	}
	fmt.Fprintln(stdout, out.Report.Summary())
	if req.Sweep {
		pusher.push(ctx, out.Report)
	}
	return nil
}
