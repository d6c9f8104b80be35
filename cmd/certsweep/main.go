// Command certsweep runs cert-manager's Certificate API without a resident
// controller: each invocation sweeps the Certificates, issues what is due,
// writes Secrets and status, and exits.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

const usage = `certsweep: cert-manager Certificates without a resident controller.

Usage:
  certsweep run [--every SPEC]   sweep every Certificate once (or on a cron schedule)
  certsweep plan [flags]         show, read-only, what a sweep would do to each Certificate
  certsweep renew NAME... | --all [flags]
                                 mark Certificates for reissue, as cmctl renew does
  certsweep serve                handle CloudEvents (Knative) on $PORT
  certsweep status NAME [-n NS] [-o text|json]
                                 one Certificate: conditions, Secret, requests,
                                 retry window, what a sweep would do, events
  certsweep solve-http01 [flags] serve one HTTP-01 answer (the solver Pod's process)
  certsweep help                 show this text

Configuration comes from CERTSWEEP_* environment variables; see
'certsweep run --help'. Kubernetes access follows the usual rules:
KUBECONFIG (or ~/.kube/config), then the in-cluster service account.
`

// Exit codes: 0 the run happened (even if some certificates failed; their
// state is recorded on them), 1 the run itself could not happen, 2 bad
// configuration or usage.
const (
	exitOK        = 0
	exitRunFailed = 1
	exitBadConfig = 2
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := runMain(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func runMain(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitBadConfig
	}
	var err error
	switch args[0] {
	case "run":
		err = cmdRun(ctx, args[1:], stdout, stderr)
	case "serve":
		err = cmdServe(ctx, args[1:], stdout, stderr)
	case "plan":
		err = cmdPlan(ctx, args[1:], stdout, stderr)
	case "renew":
		err = cmdRenew(ctx, args[1:], stdout, stderr)
	case "status":
		err = cmdStatus(ctx, args[1:], stdout, stderr)
	case "solve-http01":
		err = cmdSolveHTTP01(ctx, args[1:], stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return exitOK
	default:
		fmt.Fprintf(stderr, "certsweep: unknown command %q\n\n%s", args[0], usage)
		return exitBadConfig
	}
	return exitCode(err, stderr)
}

// exitCode prints the one clear error line and maps it to an exit code.
func exitCode(err error, stderr io.Writer) int {
	if err == nil || errors.Is(err, errHelpShown) {
		return exitOK
	}
	fmt.Fprintf(stderr, "certsweep: error: %v\n", err)
	var ce configError
	if errors.As(err, &ce) {
		return exitBadConfig
	}
	return exitRunFailed
}

var errHelpShown = errors.New("help shown")
