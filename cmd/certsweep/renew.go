package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/certsweep/certsweep/job"
)

// cmdRenew is `certsweep renew`: mark Certificates for reissue exactly as
// `cmctl renew` does, and with --now also run the sweep for just them.
func cmdRenew(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("renew", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var sc scope
	sc.register(fs)
	all := fs.Bool("all", false, "renew every Certificate in scope")
	now := fs.Bool("now", false, "also run the sweep for these Certificates now")
	// Flags may come before, between or after the names, as with cmctl.
	var names []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return errHelpShown
			}
			return configError{err}
		}
		if fs.NArg() == 0 {
			break
		}
		names = append(names, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if *all == (len(names) > 0) {
		return configError{errors.New("renew needs either certificate names or --all")}
	}
	cfg, err := loadConfig()
	if err != nil {
		return err
	}
	sc.resolve(cfg, !*all || sc.namespace != "")
	opts, err := cfg.sweepOptions(stderr)
	if err != nil {
		return err
	}
	sweeper, err := cfg.newSweeper(opts)
	if err != nil {
		return err
	}
	var refs []job.ObjectRef
	if *all {
		if refs, err = sweeper.Selected(ctx); err != nil {
			return err
		}
	} else {
		for _, n := range names {
			refs = append(refs, job.ObjectRef{Namespace: cfg.Namespace, Name: n})
		}
	}
	var failed []error
	for _, ref := range refs {
		if err := sweeper.MarkForRenewal(ctx, ref); err != nil {
			failed = append(failed, err)
			continue
		}
		fmt.Fprintf(stdout, "Manually triggered issuance of Certificate %s/%s\n", ref.Namespace, ref.Name)
	}
	if len(failed) > 0 {
		return errors.Join(failed...)
	}
	if *now && len(refs) > 0 {
		rep, err := sweeper.Reconcile(ctx, refs)
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, rep.Summary())
	}
	return nil
}
