// Package triggers adapts the outside world to job/: a one-shot run (a Job,
// a CronJob tick, a person), an in-process cron schedule, and CloudEvents.
package triggers

import (
	"context"

	"github.com/certsweep/certsweep/job"
)

// Sweeper is the part of job.Sweeper the triggers drive.
type Sweeper interface {
	Run(ctx context.Context) (*job.Report, error)
	Reconcile(ctx context.Context, refs []job.ObjectRef) (*job.Report, error)
}

// Once runs a single full sweep: what a CronJob tick, a one-shot Job and
// `certsweep run` by hand all do.
func Once(ctx context.Context, sw Sweeper) (*job.Report, error) {
	return sw.Run(ctx)
}
