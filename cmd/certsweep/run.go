package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
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
	logger := newLogger(stderr, cfg.LogFormat, cfg.LogLevel)
	opts, err := cfg.sweepOptions()
	if err != nil {
		return err
	}
	opts.Logger = logger
	kube, cm, _, err := cfg.clients()
	if err != nil {
		return err
	}
	sweeper := job.New(kube, cm, opts)

	if *every != "" {
		return triggers.Every(ctx, *every, sweeper, time.Now, func(rep *job.Report, err error) {
			if err != nil {
				logger.Error("sweep could not run", "error", err)
				return
			}
			fmt.Fprintln(stdout, rep.Summary())
		})
	}
	rep, err := triggers.Once(ctx, sweeper)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, rep.Summary())
	return nil
}
