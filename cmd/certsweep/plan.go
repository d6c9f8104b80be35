package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/certsweep/certsweep/job"
	"github.com/certsweep/certsweep/job/timeline"
	"github.com/certsweep/certsweep/renew"
)

// cmdPlan is `certsweep plan`: read-only, one row per Certificate with the
// action a sweep would take now.
func cmdPlan(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("plan", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var sc scope
	sc.register(fs)
	output := fs.String("o", "table", "output format: table, wide, json or html (the renewal timeline page)")
	schedule := fs.String("schedule", "", "the sweep schedule, as the CronJob's (default: CERTSWEEP_SCHEDULE); decides as a sweep on it would and draws its runs on the timeline")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return errHelpShown
		}
		return configError{err}
	}
	if *output != "table" && *output != "wide" && *output != "json" && *output != "html" {
		return configError{fmt.Errorf("-o must be table, wide, json or html, got %q", *output)}
	}
	cfg, err := loadConfig()
	if err != nil {
		return err
	}
	if *schedule != "" {
		cfg.Schedule = *schedule
	}
	sc.resolve(cfg, false)
	opts, err := cfg.sweepOptions(stderr)
	if err != nil {
		return err
	}
	sweeper, err := cfg.newSweeper(opts)
	if err != nil {
		return err
	}
	// The page's "now" line: the plan decides on the same clock a moment
	// later, which no axis could show.
	planned := time.Now()
	rows, err := sweeper.Plan(ctx)
	if err != nil {
		return err
	}
	if *output == "html" {
		return timeline.Render(stdout, timeline.Page{Rows: rows, Now: planned, Schedule: opts.Decide.Schedule, ScheduleSpec: cfg.Schedule})
	}
	if *output == "json" {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(planJSON{Items: rows, Summary: summarize(rows)})
	}
	printPlan(stdout, rows, *output == "wide")
	return nil
}

// planJSON is the stable document `plan -o json` prints.
type planJSON struct {
	Items   []job.PlanRow `json:"items"`
	Summary planSummary   `json:"summary"`
}

type planSummary struct {
	Total   int                  `json:"total"`
	Actions map[renew.Action]int `json:"actions"`
	NextDue *time.Time           `json:"nextDue,omitempty"`
}

func summarize(rows []job.PlanRow) planSummary {
	s := planSummary{Total: len(rows), Actions: map[renew.Action]int{}}
	for _, r := range rows {
		s.Actions[r.Action]++
		if r.NextLook != nil && (s.NextDue == nil || r.NextLook.Before(*s.NextDue)) {
			t := *r.NextLook
			s.NextDue = &t
		}
	}
	return s
}

func printPlan(w io.Writer, rows []job.PlanRow, wide bool) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	header := "NAMESPACE\tNAME\tREADY\tNOT AFTER\tRENEWAL\tACTION\tREASON\tNEXT ATTEMPT\tISSUER"
	if wide {
		header += "\tMESSAGE"
	}
	fmt.Fprintln(tw, header)
	for _, r := range rows {
		line := fmt.Sprintf("%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s", r.Namespace, r.Name, dash(r.Ready), stamp(r.NotAfter), stamp(r.RenewalTime),
			r.Action, dash(r.Reason), stamp(r.NextAttempt), r.Issuer)
		if wide {
			line += "\t" + r.Message
		}
		fmt.Fprintln(tw, line)
	}
	_ = tw.Flush()
	printOrders(w, rows)
	s := summarize(rows)
	var parts []string
	for _, a := range []renew.Action{renew.ActionIssue, renew.ActionRewriteSecret, renew.ActionWait, renew.ActionNone} {
		parts = append(parts, fmt.Sprintf("%s=%d", a, s.Actions[a]))
	}
	fmt.Fprintf(w, "\n%d certificates: %s; next due %s\n", s.Total, strings.Join(parts, " "), stamp(s.NextDue))
	for _, r := range rows {
		for _, warn := range r.Warnings {
			fmt.Fprintf(w, "warning: %s/%s: %s\n", r.Namespace, r.Name, warn)
		}
	}
}

// printOrders shows, under the table, where each ACME order in flight
// stands: one line for the order, one per challenge, each ending with the
// step the next sweep takes.
func printOrders(w io.Writer, rows []job.PlanRow) {
	header := false
	for _, r := range rows {
		if r.Order == nil {
			continue
		}
		if !header {
			fmt.Fprintf(w, "\nACME orders in flight:\n")
			header = true
		}
		fmt.Fprintf(w, "  %s/%s: %s\n", r.Namespace, r.Name, orderLine(r.Order))
		for _, ch := range r.Order.Challenges {
			fmt.Fprintf(w, "    %s\n", challengeLine(ch))
		}
	}
}

func orderLine(o *renew.OrderView) string {
	placed := "placed at the CA"
	if o.URL == "" {
		placed = "not placed at the CA yet"
	}
	line := fmt.Sprintf("order %s %s, %s", o.Name, o.State, placed)
	if o.Reason != "" {
		line += " (" + o.Reason + ")"
	}
	return line + "; next step: " + string(o.NextStep)
}

func challengeLine(ch renew.ChallengeView) string {
	name := ch.DNSName
	if ch.Wildcard {
		name = "*." + name
	}
	presented, processing := "not presented", "not processing"
	if ch.Presented {
		presented = "presented"
	}
	if ch.Processing {
		processing = "processing"
	}
	line := fmt.Sprintf("challenge %s %s for %s: %s, %s, %s; next step: %s", ch.Name, ch.Type, name, dash(string(ch.State)), presented, processing, ch.NextStep)
	if ch.Reason != "" {
		line += " (" + ch.Reason + ")"
	}
	return line
}

func stamp(t *time.Time) string {
	if t == nil || t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
