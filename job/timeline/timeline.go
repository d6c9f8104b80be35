// Package timeline renders `certsweep plan -o html`: one self-contained
// page that draws every Certificate's validity, renewal time and retry
// window, and the sweep schedule, on one time axis with a "now" line.
//
// The page fetches nothing: its style and script are inline, the drawing
// is positioned HTML, and a Content-Security-Policy forbids every fetch, so
// it can be mailed, attached to a ticket or opened from disk offline. It is
// complete without JavaScript; the script only adds the namespace filter.
//
// Layout (where each thing sits on the axis) is computed here in Go, so it
// is testable without a browser; page.html.tmpl only places what layout
// says.
package timeline

import (
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/certsweep/certsweep/job"
)

// Page is what the timeline shows.
type Page struct {
	// Rows are plan's rows, one per Certificate, in the order to show them.
	Rows []job.PlanRow
	// Now is the instant the rows were decided at: the "now" line.
	Now time.Time
	// Schedule is the sweep schedule (the CronJob's, CERTSWEEP_SCHEDULE),
	// drawn as one tick per run; nil when none is known. ScheduleSpec is
	// its text, for the reader.
	Schedule     cron.Schedule
	ScheduleSpec string
}

// maxScheduleTicks bounds the sweep runs drawn one by one: past it (a
// 15-minute schedule over a 90-day axis is 8,640 runs) ticks would merge
// into a solid bar, so the runs are drawn as one band and the next few
// are listed instead.
const maxScheduleTicks = 200

// nextSweepsListed is how many upcoming sweep runs the header lists.
const nextSweepsListed = 3

//go:embed page.html.tmpl
var pageTemplate string

var page = template.Must(template.New("timeline").Parse(pageTemplate))

// Render writes the page for p to w.
func Render(w io.Writer, p Page) error {
	if err := page.Execute(w, layout(p)); err != nil {
		return fmt.Errorf("rendering the timeline page: %w", err)
	}
	return nil
}

// view is the page as the template places it: every position is a
// percentage of its axis's width.
type view struct {
	Now string
	// Full is the axis that holds everything the rows mention; Near is a
	// close-up of the hours around now, where retry windows (minutes to
	// hours) and sweep runs can be told apart, which they cannot be on an
	// axis of months.
	Full, Near axisView
	Rows       []rowView
	Namespaces []string
	Failing    int
	// ScheduleSpec is the sweep schedule's text; NextSweeps its next runs.
	ScheduleSpec string
	NextSweeps   []string
}

// axisView is one axis as drawn: its labels, where now is, and the sweep
// runs on it.
type axisView struct {
	Title  string
	Ticks  []tick
	NowPos float64
	Sweeps []sweepTick
	// SweepsDense is set when the runs are too many to draw one by one;
	// SweepsCount says how many fall on the axis then.
	SweepsDense bool
	SweepsCount int
}

type tick struct {
	Pos   float64
	Label string
}

type sweepTick struct {
	Pos   float64
	Title string
	// Next marks the first run after now.
	Next bool
}

// span is a stretch of an axis, such as a validity or a retry window.
type span struct {
	Left, Width float64
	Title       string
}

// marker is one instant on an axis, such as the renewal time.
type marker struct {
	Pos   float64
	Title string
}

type rowView struct {
	job.PlanRow
	Failing bool
	// Summary is the row's times in words, under its name.
	Summary string
	// Full and Near are the row drawn on each axis.
	Full, Near track
}

// track is one row on one axis. A part that falls outside the axis is nil.
type track struct {
	NowPos float64
	// Validity is notBefore..notAfter, nil before the first issuance.
	Validity *span
	Renewal  *marker
	// Retry is the retry window being waited out (last failure to next
	// attempt); NextAttempt marks its end.
	Retry       *span
	NextAttempt *marker
	// NoCertificate is set on a row never issued, to say so on the track.
	NoCertificate bool
	// FailureLabel says why the row fails, next to its retry window;
	// LabelPos is where it starts. Only on the full axis: the close-up is
	// too narrow for a sentence.
	FailureLabel string
	LabelPos     float64
}

// axis maps instants to positions between start and end.
type axis struct{ start, end time.Time }

func (a axis) pos(t time.Time) float64 {
	total := a.end.Sub(a.start)
	if total <= 0 {
		return 0
	}
	p := float64(t.Sub(a.start)) / float64(total) * 100
	return min(max(p, 0), 100)
}

func (a axis) contains(t time.Time) bool { return !t.Before(a.start) && !t.After(a.end) }

// span places from..to, cut to the axis; nil when it is all outside.
func (a axis) span(from, to time.Time, title string) *span {
	if to.Before(a.start) || from.After(a.end) {
		return nil
	}
	left, right := a.pos(from), a.pos(to)
	return &span{Left: left, Width: max(right-left, 0), Title: title}
}

// marker places t; nil when it is outside the axis.
func (a axis) marker(t time.Time, title string) *marker {
	if !a.contains(t) {
		return nil
	}
	return &marker{Pos: a.pos(t), Title: title}
}

// nearBefore and nearAfter bound the close-up around now: long enough
// after now for the issuance backoff's longer windows, and for the sweep
// runs to be drawn one by one on a 15-minute schedule.
const (
	nearBefore = 12 * time.Hour
	nearAfter  = 36 * time.Hour
)

func layout(p Page) view {
	now := p.Now.UTC()
	full := bounds(p, now)
	near := axis{start: now.Add(-nearBefore), end: now.Add(nearAfter)}
	v := view{
		Now:          stamp(now),
		Full:         axisView{Title: "all", Ticks: ticks(full, 10), NowPos: full.pos(now)},
		Near:         axisView{Title: "around now", Ticks: ticks(near, 4), NowPos: near.pos(now)},
		ScheduleSpec: p.ScheduleSpec,
	}
	seen := map[string]bool{}
	for _, r := range p.Rows {
		if !seen[r.Namespace] {
			seen[r.Namespace] = true
			v.Namespaces = append(v.Namespaces, r.Namespace)
		}
		rv := rowView{PlanRow: r, Failing: r.Failing(), Summary: summary(r)}
		rv.Full = layoutTrack(full, now, r)
		rv.Near = layoutTrack(near, now, r)
		if rv.Failing {
			v.Failing++
			rv.Full.FailureLabel = failureLabel(r)
			if rv.Full.Retry != nil {
				// Start the label at its retry window, but keep it on the
				// track: a window near the end would push it off the right.
				rv.Full.LabelPos = min(rv.Full.Retry.Left, 55)
			}
		}
		v.Rows = append(v.Rows, rv)
	}
	slices.Sort(v.Namespaces)
	if p.Schedule != nil {
		layoutSweeps(&v.Full, full, p.Schedule, now)
		layoutSweeps(&v.Near, near, p.Schedule, now)
		for t := p.Schedule.Next(now); !t.IsZero() && len(v.NextSweeps) < nextSweepsListed; t = p.Schedule.Next(t) {
			v.NextSweeps = append(v.NextSweeps, stamp(t))
		}
	}
	return v
}

// summary is the row's times in words.
func summary(r job.PlanRow) string {
	var words []string
	if r.NotAfter != nil {
		words = append(words, "ends "+stamp(*r.NotAfter))
	}
	if r.RenewalTime != nil {
		words = append(words, "renews "+stamp(*r.RenewalTime))
	}
	if r.NextAttempt != nil {
		words = append(words, "next attempt "+stamp(*r.NextAttempt))
	}
	if len(words) == 0 {
		return "no certificate yet"
	}
	return strings.Join(words, " · ")
}

func layoutTrack(ax axis, now time.Time, r job.PlanRow) track {
	tr := track{NowPos: ax.pos(now)}
	if r.NotBefore != nil && r.NotAfter != nil {
		tr.Validity = ax.span(*r.NotBefore, *r.NotAfter, fmt.Sprintf("valid %s to %s", stamp(*r.NotBefore), stamp(*r.NotAfter)))
	} else {
		tr.NoCertificate = true
	}
	if r.RenewalTime != nil {
		tr.Renewal = ax.marker(*r.RenewalTime, "renewal "+stamp(*r.RenewalTime))
	}
	if r.NextAttempt != nil {
		from := *r.NextAttempt
		if r.LastFailureTime != nil {
			from = *r.LastFailureTime
		}
		title := fmt.Sprintf("retry window: %d failed attempt(s)", r.Attempts)
		if r.FailureClass != "" {
			title += ", " + r.FailureClass + " class"
		}
		title += ", next attempt " + stamp(*r.NextAttempt)
		tr.Retry = ax.span(from, *r.NextAttempt, title)
		tr.NextAttempt = ax.marker(*r.NextAttempt, "next attempt "+stamp(*r.NextAttempt))
	}
	return tr
}

// failureLabel is the reason a row fails, with its message, in one line.
func failureLabel(r job.PlanRow) string {
	reason, message := r.FailureReason, r.FailureMessage
	if reason == "" {
		reason, message = r.Reason, r.Message
	}
	label := reason
	if message != "" {
		label += ": " + message
	}
	const limit = 160
	if len(label) > limit {
		label = label[:limit] + "…"
	}
	return label
}

// bounds picks the axis: every instant the rows mention, and now, with a
// margin on each side so nothing sits on the edge.
func bounds(p Page, now time.Time) axis {
	lo, hi := now, now
	widen := func(t *time.Time) {
		if t == nil || t.IsZero() {
			return
		}
		if t.Before(lo) {
			lo = *t
		}
		if t.After(hi) {
			hi = *t
		}
	}
	for _, r := range p.Rows {
		widen(r.NotBefore)
		widen(r.NotAfter)
		widen(r.RenewalTime)
		widen(r.NextAttempt)
		widen(r.LastFailureTime)
	}
	if p.Schedule != nil {
		next := p.Schedule.Next(now)
		widen(&next)
	}
	if hi.Sub(lo) < time.Hour {
		// Nothing issued yet and no window: show the hours around now.
		lo, hi = now.Add(-time.Hour), now.Add(3*time.Hour)
	}
	margin := hi.Sub(lo) / 30
	return axis{start: lo.Add(-margin), end: hi.Add(margin)}
}

// tickSteps are the axis label intervals to choose from, shortest first.
var tickSteps = []time.Duration{
	time.Minute, 5 * time.Minute, 15 * time.Minute, 30 * time.Minute,
	time.Hour, 3 * time.Hour, 6 * time.Hour, 12 * time.Hour,
	24 * time.Hour, 2 * 24 * time.Hour, 7 * 24 * time.Hour, 14 * 24 * time.Hour,
	30 * 24 * time.Hour, 60 * 24 * time.Hour, 90 * 24 * time.Hour, 365 * 24 * time.Hour,
}

// ticks labels the axis at the shortest step that gives no more labels
// than most, at whole multiples of the step (midnights, for days).
func ticks(ax axis, most int) []tick {
	total := ax.end.Sub(ax.start)
	step := tickSteps[len(tickSteps)-1]
	for _, s := range tickSteps {
		if total/s <= time.Duration(most) {
			step = s
			break
		}
	}
	format := "Jan 02 15:04"
	switch {
	case step >= 24*time.Hour:
		format = "Jan 02"
	case total <= 3*24*time.Hour:
		// Within a few days the weekday tells the days apart.
		format = "Mon 15:04"
	}
	var out []tick
	for t := ax.start.Truncate(step); !t.After(ax.end); t = t.Add(step) {
		// A label centred on the very edge would stick out of the axis
		// into the next column.
		if pos := ax.pos(t); !t.Before(ax.start) && pos >= 4 && pos <= 96 {
			out = append(out, tick{Pos: pos, Label: t.Format(format)})
		}
	}
	return out
}

func layoutSweeps(v *axisView, ax axis, sched cron.Schedule, now time.Time) {
	var runs []time.Time
	for t := sched.Next(ax.start); !t.IsZero() && !t.After(ax.end); t = sched.Next(t) {
		runs = append(runs, t)
		if len(runs) > maxScheduleTicks {
			break
		}
	}
	if len(runs) > maxScheduleTicks {
		v.SweepsDense = true
		v.SweepsCount = countRuns(sched, ax)
		return
	}
	next := sched.Next(now)
	for _, t := range runs {
		v.Sweeps = append(v.Sweeps, sweepTick{Pos: ax.pos(t), Title: "sweep " + stamp(t), Next: t.Equal(next)})
	}
}

// countRuns counts the sweep runs on the axis, stopping at a bound so an
// every-second schedule over years does not spin.
func countRuns(sched cron.Schedule, ax axis) int {
	const bound = 100_000
	n := 0
	for t := sched.Next(ax.start); !t.IsZero() && !t.After(ax.end) && n < bound; t = sched.Next(t) {
		n++
	}
	return n
}

func stamp(t time.Time) string {
	return t.UTC().Format("2006-01-02 15:04Z")
}
