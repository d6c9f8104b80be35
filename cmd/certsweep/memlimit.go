package main

import (
	"errors"
	"log/slog"
	"os"

	"github.com/KimMachineGun/automemlimit/memlimit"
)

// containerMemoryLimit reads the container's memory limit in bytes from its
// cgroup (v1 or v2). setMemoryLimit takes the source as an argument so that
// tests can feed it a fake limit.
var containerMemoryLimit memlimit.Provider = memlimit.FromCgroup

// errNoMemoryLimit stands for memlimit.ErrNoLimit, which memlimit.Set would
// take as "set the limit to MaxInt64"; with it, Set leaves the limit alone.
var errNoMemoryLimit = errors.New("the cgroup sets no memory limit")

// setMemoryLimit sets the Go runtime's soft memory limit to ratio × the
// container's memory limit, so that a sweep which nears the limit collects
// garbage harder instead of being OOM-killed. The Go runtime (1.26) sizes
// GOMAXPROCS from the cgroup's CPU limit, but reads a memory limit only
// from GOMEMLIMIT. An explicit GOMEMLIMIT wins, ratio 0 turns this off, and
// without a readable cgroup limit nothing changes: the sweep goes on either
// way, and what happened is logged at debug level.
func setMemoryLimit(ratio float64, source memlimit.Provider, logger *slog.Logger) {
	if ratio == 0 {
		logger.Debug("memory limit not set: CERTSWEEP_MEMORY_LIMIT_RATIO is 0")
		return
	}
	var container uint64
	var read bool
	// Set itself leaves the limit alone, without reading the source, when
	// GOMEMLIMIT is in the environment or AUTOMEMLIMIT=off.
	limit, err := memlimit.Set(
		memlimit.WithRatio(ratio),
		memlimit.WithProvider(func() (uint64, error) {
			n, err := source()
			if errors.Is(err, memlimit.ErrNoLimit) {
				err = errNoMemoryLimit
			}
			container, read = n, err == nil
			return n, err
		}),
	)
	switch {
	case err != nil:
		logger.Debug("memory limit not set", "reason", err.Error())
	case !read:
		if v, ok := os.LookupEnv("GOMEMLIMIT"); ok {
			logger.Debug("memory limit left to GOMEMLIMIT", "GOMEMLIMIT", v)
		} else {
			logger.Debug("memory limit not set: AUTOMEMLIMIT is off")
		}
	default:
		logger.Debug("memory limit set", "limitBytes", limit, "containerBytes", container, "ratio", ratio)
	}
}
