package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/certsweep/certsweep/issuance/http01"
)

// cmdSolveHTTP01 is `certsweep solve-http01`, the process in an HTTP-01
// solver Pod (http01.Pod): it serves one key at one URL until SIGTERM. Its
// flags are cert-manager's acmesolver's, so a Pod spec written for either
// runs the other. It reads no CERTSWEEP_* settings and no kubeconfig: the
// Pod has neither, nor any API credentials.
func cmdSolveHTTP01(ctx context.Context, args []string, _, stderr io.Writer) error {
	fs := flag.NewFlagSet("solve-http01", flag.ContinueOnError)
	fs.SetOutput(stderr)
	port := fs.Int("listen-port", http01.ListenPort, "the port to serve HTTP on")
	domain := fs.String("domain", "", "the name (or IP address) the CA validates (required)")
	token := fs.String("token", "", "the challenge token (required)")
	key := fs.String("key", "", "the key authorization to answer with (required)")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: certsweep solve-http01 --domain NAME --token TOKEN --key KEY [--listen-port %d]\n\n"+
			"Serves KEY at http://NAME%s/TOKEN until SIGTERM; / and /healthz answer 200.\n\n", http01.ListenPort, http01.ChallengePath)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return errHelpShown
		}
		return configError{err}
	}
	if fs.NArg() > 0 {
		return configError{fmt.Errorf("solve-http01 takes no arguments, got %q", fs.Args())}
	}
	var missing []string
	for _, f := range []struct{ name, value string }{{"--domain", *domain}, {"--token", *token}, {"--key", *key}} {
		if f.value == "" {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 {
		return configError{fmt.Errorf("solve-http01 needs %s", strings.Join(missing, ", "))}
	}
	if *port < 1 || *port > 65535 {
		return configError{fmt.Errorf("--listen-port must be a TCP port number, got %d", *port)}
	}

	logger := newLogger(stderr, "", "info")
	addr := ":" + strconv.Itoa(*port)
	logger.Info("serving the HTTP-01 challenge", "addr", addr, "domain", *domain, "token", *token)
	if err := http01.Serve(ctx, addr, http01.Handler(*domain, *token, *key, logger)); err != nil {
		return err
	}
	logger.Info("stopped serving the HTTP-01 challenge")
	return nil
}
