package triggers

import (
	"context"
	"fmt"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/certsweep/certsweep/job"
)

// Every runs a sweep at each tick of a cron schedule until ctx is cancelled,
// for running outside Kubernetes (a VM, a laptop against a remote cluster).
// A sweep in flight when ctx is cancelled is allowed to finish: it runs on
// its own context, so a SIGTERM never cuts an issuance in half. Ticks that
// fall while a sweep runs are skipped rather than queued.
func Every(ctx context.Context, spec string, sw Sweeper, now func() time.Time, report func(*job.Report, error)) error {
	sched, err := cron.ParseStandard(spec)
	if err != nil {
		return fmt.Errorf("--every %q is not a valid cron schedule: %w", spec, err)
	}
	for {
		wait := time.Until(sched.Next(now()))
		if wait < 0 {
			wait = 0
		}
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil
		case <-timer.C:
		}
		rep, err := sw.Run(context.WithoutCancel(ctx))
		report(rep, err)
	}
}
