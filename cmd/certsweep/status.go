package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/certsweep/certsweep/job"
)

// cmdStatus is `certsweep status NAME`: cmctl status for one Certificate,
// with what certsweep adds - the retry window and the decision a sweep
// would take now. Read-only.
func cmdStatus(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("status", flag.ContinueOnError)
	fs.SetOutput(stderr)
	namespace := fs.String("n", "", "namespace (default: CERTSWEEP_NAMESPACE, else the kubeconfig context's)")
	output := fs.String("o", "text", "output format: text or json")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return errHelpShown
		}
		return configError{err}
	}
	if fs.NArg() != 1 {
		return configError{fmt.Errorf("status takes one Certificate name, got %d arguments", fs.NArg())}
	}
	if *output != "text" && *output != "json" {
		return configError{fmt.Errorf("-o must be text or json, got %q", *output)}
	}
	cfg, err := loadConfig()
	if err != nil {
		return err
	}
	sc := scope{namespace: *namespace}
	sc.resolve(cfg, true)
	opts, err := cfg.sweepOptions(stderr)
	if err != nil {
		return err
	}
	sweeper, err := cfg.newSweeper(opts)
	if err != nil {
		return err
	}
	st, err := sweeper.Status(ctx, cfg.Namespace, fs.Arg(0))
	if err != nil {
		return err
	}
	if *output == "json" {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(st)
	}
	printStatus(stdout, st, time.Now())
	return nil
}

// printStatus lays one Certificate out top to bottom in the order a person
// asks: is it ready, what is in the Secret, what happens next and why, and
// what happened lately.
func printStatus(w io.Writer, st *job.CertificateStatus, now time.Time) {
	fmt.Fprintf(w, "Name: %s\nNamespace: %s\n", st.Name, st.Namespace)
	fmt.Fprintf(w, "Conditions:\n")
	if len(st.Conditions) == 0 {
		fmt.Fprintf(w, "  none yet\n")
	}
	for _, c := range st.Conditions {
		fmt.Fprintf(w, "  %s: %s, Reason: %s, Message: %s\n", c.Type, c.Status, c.Reason, c.Message)
	}

	fmt.Fprintf(w, "Secret:\n")
	if st.Secret == nil {
		fmt.Fprintf(w, "  %s\n", st.SecretProblem)
	} else {
		s := st.Secret
		fmt.Fprintf(w, "  Name: %s\n", s.Name)
		if s.IssuerName != "" {
			fmt.Fprintf(w, "  Issued by issuer: %s\n", s.IssuerName)
		}
		fmt.Fprintf(w, "  Issuer DN: %s\n  Subject: %s\n", s.IssuedBy, dash(s.Subject))
		if names := strings.Join(append(append(append(append([]string{}, s.DNSNames...), s.IPAddresses...), s.URIs...), s.Emails...), ", "); names != "" {
			fmt.Fprintf(w, "  SANs: %s\n", names)
		}
		key := s.KeyAlgorithm
		if s.KeySize > 0 {
			key += fmt.Sprintf(" %d", s.KeySize)
		}
		fmt.Fprintf(w, "  Key: %s\n  Serial: %s\n", key, s.Serial)
		fmt.Fprintf(w, "  Not before: %s\n  Not after: %s (%s)\n", s.NotBefore.UTC().Format(time.RFC3339), s.NotAfter.UTC().Format(time.RFC3339), relative(s.NotAfter, now))
	}

	fmt.Fprintf(w, "Requests:\n")
	if len(st.Requests) == 0 {
		fmt.Fprintf(w, "  none\n")
	}
	for _, r := range st.Requests {
		line := fmt.Sprintf("  %s (revision %s): %s", r.Name, dash(r.Revision), r.Phase)
		if r.Reason != "" {
			line += ", " + r.Reason
		}
		if r.Message != "" {
			line += ": " + r.Message
		}
		fmt.Fprintln(w, line)
	}

	d := st.Decision
	fmt.Fprintf(w, "Renewal time: %s\n", stamp(d.RenewalTime))
	if st.Retry != nil {
		fmt.Fprintf(w, "Retry: %d failed attempt(s), %s class, last at %s; next attempt at %s (%s)\n",
			st.Retry.FailedAttempts, dash(st.Retry.Class), dash(st.Retry.LastFailureTime), st.Retry.NextAttempt.UTC().Format(time.RFC3339), relative(st.Retry.NextAttempt, now))
	}
	fmt.Fprintf(w, "A sweep now would: %s", d.Action)
	if d.Reason != "" {
		fmt.Fprintf(w, " (%s)", d.Reason)
	}
	fmt.Fprintln(w)
	if d.Message != "" {
		fmt.Fprintf(w, "  %s\n", d.Message)
	}
	if d.Order != nil {
		fmt.Fprintf(w, "  ACME %s\n", orderLine(d.Order))
		for _, ch := range d.Order.Challenges {
			fmt.Fprintf(w, "    %s\n", challengeLine(ch))
		}
	}
	for _, warn := range d.Warnings {
		fmt.Fprintf(w, "  warning: %s\n", warn)
	}

	fmt.Fprintf(w, "Events:\n")
	if len(st.Events) == 0 {
		fmt.Fprintf(w, "  none\n")
	}
	for _, ev := range st.Events {
		fmt.Fprintf(w, "  %s  %s  %s: %s\n", ev.Last.UTC().Format(time.RFC3339), ev.Type, ev.Reason, ev.Message)
	}
}

// relative says how far t is from now, as "in 3d4h" or "2h ago".
func relative(t, now time.Time) string {
	d := t.Sub(now).Round(time.Minute)
	if d >= 0 {
		return "in " + shortDuration(d)
	}
	return shortDuration(-d) + " ago"
}

func shortDuration(d time.Duration) string {
	if d >= 48*time.Hour {
		days := d / (24 * time.Hour)
		return fmt.Sprintf("%dd%dh", days, (d-days*24*time.Hour)/time.Hour)
	}
	return strings.TrimSuffix(d.String(), "0s")
}
