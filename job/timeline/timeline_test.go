package timeline

import (
	"bytes"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/certsweep/certsweep/job"
	"github.com/certsweep/certsweep/renew"
)

var now = time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)

func at(d time.Duration) *time.Time {
	t := now.Add(d)
	return &t
}

const day = 24 * time.Hour

// exampleRows is a realistic plan: Let's-Encrypt-like 90-day leaves at
// different points of their life, a CA, a certificate never issued, and
// one whose issuer is broken and that is waiting out a retry window. It is
// what docs/timeline.png shows.
func exampleRows() []job.PlanRow {
	return []job.PlanRow{
		{Namespace: "payments", Name: "api-tls", Ready: "True", Action: renew.ActionNone, Issuer: "ClusterIssuer.cert-manager.io/letsencrypt",
			NotBefore: at(-20 * day), NotAfter: at(70 * day), RenewalTime: at(40 * day)},
		{Namespace: "payments", Name: "checkout-tls", Ready: "False", Action: renew.ActionWait, Reason: renew.ReasonBackoff,
			Message: "Backing off until 2026-11-30T10:00:00Z after 3 failed attempt(s)", Issuer: "Issuer.cert-manager.io/internal-ca",
			NotBefore: at(-89 * day), NotAfter: at(1 * day), RenewalTime: at(-29 * day),
			Attempts: 3, LastFailureTime: at(-3 * time.Hour), NextAttempt: at(time.Hour), FailureClass: "issuance",
			FailureReason: "IssuerNotReady", FailureMessage: `Issuer internal-ca is not Ready: secret "internal-ca" not found`},
		{Namespace: "platform", Name: "internal-ca", Ready: "True", Action: renew.ActionNone, Issuer: "Issuer.cert-manager.io/selfsigned",
			NotBefore: at(-100 * day), NotAfter: at(265 * day), RenewalTime: at(143 * day)},
		{Namespace: "platform", Name: "grafana-tls", Ready: "True", Action: renew.ActionNone, Issuer: "ClusterIssuer.cert-manager.io/letsencrypt",
			NotBefore: at(-55 * day), NotAfter: at(35 * day), RenewalTime: at(5 * day)},
		{Namespace: "web", Name: "shop-tls", Ready: "True", Action: renew.ActionNone, Issuer: "ClusterIssuer.cert-manager.io/letsencrypt",
			NotBefore: at(-2 * day), NotAfter: at(88 * day), RenewalTime: at(58 * day)},
		{Namespace: "web", Name: "blog-tls", Ready: "False", Action: renew.ActionIssue, Reason: renew.ReasonDoesNotExist,
			Message: "Issuing certificate as Secret does not exist", Issuer: "ClusterIssuer.cert-manager.io/letsencrypt"},
	}
}

func examplePage(t testing.TB) Page {
	sched, err := cron.ParseStandard("*/15 * * * *")
	if err != nil {
		t.Fatal(err)
	}
	return Page{Rows: exampleRows(), Now: now, Schedule: sched, ScheduleSpec: "*/15 * * * *"}
}

// TestLayoutPlacesEveryRow: each row's validity, renewal time and retry
// window sit where their instants are on the axis, in order, and only the
// failing row has a failure label.
func TestLayoutPlacesEveryRow(t *testing.T) {
	v := layout(examplePage(t))
	if len(v.Rows) != 6 || v.Failing != 1 {
		t.Fatalf("%d rows, %d failing; want 6 and 1", len(v.Rows), v.Failing)
	}
	if got := strings.Join(v.Namespaces, ","); got != "payments,platform,web" {
		t.Fatalf("namespaces %s", got)
	}
	for _, r := range v.Rows {
		t.Run(r.Name, func(t *testing.T) {
			if r.Failing != (r.Name == "checkout-tls") {
				t.Fatalf("failing = %v", r.Failing)
			}
			if r.Failing != (r.Full.FailureLabel != "") || r.Near.FailureLabel != "" {
				t.Fatalf("failure labels %q, %q on a row failing=%v", r.Full.FailureLabel, r.Near.FailureLabel, r.Failing)
			}
			if r.NotAfter == nil {
				if r.Full.Validity != nil || !r.Full.NoCertificate || r.Summary != "no certificate yet" {
					t.Fatalf("validity %+v, summary %q for a row never issued", r.Full.Validity, r.Summary)
				}
				return
			}
			start, end := r.Full.Validity.Left, r.Full.Validity.Left+r.Full.Validity.Width
			if start < 0 || end > 100 || start >= end {
				t.Fatalf("validity [%f, %f]", start, end)
			}
			if r.Full.Renewal.Pos <= start || r.Full.Renewal.Pos >= end {
				t.Fatalf("renewal at %f outside validity [%f, %f]", r.Full.Renewal.Pos, start, end)
			}
			if (start < v.Full.NowPos) != r.NotBefore.Before(now) {
				t.Fatalf("now at %f, validity starts at %f", v.Full.NowPos, start)
			}
			// The close-up shows only what falls within it: each
			// validity here started before it, and only checkout-tls's
			// ends within it; no renewal time falls in it.
			endsWithin := r.NotAfter.Before(now.Add(nearAfter))
			if nv := r.Near.Validity; nv == nil || nv.Left != 0 || (nv.Width < 100) != endsWithin {
				t.Fatalf("close-up validity %+v; ends within the close-up: %v", nv, endsWithin)
			}
			if r.Near.Renewal != nil {
				t.Fatalf("close-up shows a renewal time %+v outside it", r.Near.Renewal)
			}
		})
	}
	failing := v.Rows[1]
	for _, tr := range []track{failing.Full, failing.Near} {
		if tr.Retry == nil || tr.NextAttempt == nil || tr.Retry.Left >= tr.NowPos || tr.NextAttempt.Pos <= tr.NowPos {
			t.Fatalf("retry window %+v, next attempt %+v, now at %f: want a window from before now to after it", tr.Retry, tr.NextAttempt, tr.NowPos)
		}
	}
	// On the close-up the four-hour window is wide enough to see.
	if failing.Near.Retry.Width < 5 {
		t.Fatalf("close-up retry window %.2f%% wide", failing.Near.Retry.Width)
	}
	if !strings.HasPrefix(failing.Full.FailureLabel, "IssuerNotReady: Issuer internal-ca is not Ready") {
		t.Fatalf("failure label %q", failing.Full.FailureLabel)
	}
}

// TestSweepRuns: a schedule whose runs fit the axis is drawn run by run,
// the first after now marked; one too dense is drawn as a band, with the
// next runs listed either way.
func TestSweepRuns(t *testing.T) {
	hourly, _ := cron.ParseStandard("0 * * * *")
	quarterly, _ := cron.ParseStandard("*/15 * * * *")
	short := []job.PlanRow{{Namespace: "a", Name: "short", NotBefore: at(-2 * time.Hour), NotAfter: at(6 * time.Hour), RenewalTime: at(3 * time.Hour)}}
	for _, tc := range []struct {
		name      string
		sched     cron.Schedule
		rows      []job.PlanRow
		wantDense bool
		wantNext  []string
	}{
		{"hourly over eight hours: each run", hourly, short, false, []string{"2026-11-30 10:00Z", "2026-11-30 11:00Z", "2026-11-30 12:00Z"}},
		{"quarter-hourly over a year: a band", quarterly, exampleRows(), true, []string{"2026-11-30 09:15Z", "2026-11-30 09:30Z", "2026-11-30 09:45Z"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := layout(Page{Rows: tc.rows, Now: now, Schedule: tc.sched, ScheduleSpec: "x"})
			if v.Full.SweepsDense != tc.wantDense || strings.Join(v.NextSweeps, ",") != strings.Join(tc.wantNext, ",") {
				t.Fatalf("dense=%v next=%v; want dense=%v next=%v", v.Full.SweepsDense, v.NextSweeps, tc.wantDense, tc.wantNext)
			}
			if tc.wantDense {
				if len(v.Full.Sweeps) != 0 || v.Full.SweepsCount <= maxScheduleTicks {
					t.Fatalf("%d ticks, count %d", len(v.Full.Sweeps), v.Full.SweepsCount)
				}
			} else {
				checkRuns(t, v.Full)
			}
			// The close-up (48 hours) draws every run of both.
			if v.Near.SweepsDense {
				t.Fatal("close-up runs drawn as a band")
			}
			checkRuns(t, v.Near)
		})
	}
}

// checkRuns checks the runs drawn on ax: in order, at least eight, and
// exactly one marked as the next, after now.
func checkRuns(t *testing.T, ax axisView) {
	t.Helper()
	next := 0
	for i, s := range ax.Sweeps {
		if i > 0 && s.Pos <= ax.Sweeps[i-1].Pos {
			t.Fatalf("runs out of order: %+v", ax.Sweeps)
		}
		if s.Next {
			next++
			if s.Pos <= ax.NowPos {
				t.Fatalf("next run at %f, now at %f", s.Pos, ax.NowPos)
			}
		}
	}
	if len(ax.Sweeps) < 8 || next != 1 {
		t.Fatalf("%d runs, %d marked next", len(ax.Sweeps), next)
	}
}

// TestAxisTicks: a handful of labels, in order, on the axis, at whole
// steps, whatever the span.
func TestAxisTicks(t *testing.T) {
	for _, span := range []time.Duration{10 * time.Minute, 4 * time.Hour, 3 * day, 90 * day, 800 * day} {
		t.Run(span.String(), func(t *testing.T) {
			ts := ticks(axis{start: now.Add(-span / 2), end: now.Add(span / 2)}, 10)
			if len(ts) < 2 || len(ts) > 11 {
				t.Fatalf("%d ticks: %+v", len(ts), ts)
			}
			for i, tk := range ts {
				if tk.Pos < 0 || tk.Pos > 100 || (i > 0 && tk.Pos <= ts[i-1].Pos) || tk.Label == "" {
					t.Fatalf("ticks %+v", ts)
				}
			}
		})
	}
}

// TestRenderIsSelfContained: the page forbids every fetch with its
// Content-Security-Policy and names no http(s) resource, and what it shows
// from the cluster (a message, a name) is escaped, never markup.
func TestRenderIsSelfContained(t *testing.T) {
	p := examplePage(t)
	p.Rows[1].FailureMessage = `<img src="https://evil.example/x.png">`
	var buf bytes.Buffer
	if err := Render(&buf, p); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	if !strings.Contains(out, `content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'"`) {
		t.Fatal("no Content-Security-Policy forbidding fetches")
	}
	if strings.Contains(out, "<img") {
		t.Fatal("a message from the cluster was rendered as markup")
	}
	if m := regexp.MustCompile(`(?i)(src|href)\s*=\s*"?https?:`).FindString(out); m != "" {
		t.Fatalf("the page fetches: %s", m)
	}
	if n := strings.Count(out, `<tr class="cert`); n != len(p.Rows) {
		t.Fatalf("%d certificate rows, want %d", n, len(p.Rows))
	}
	// CERTSWEEP_TIMELINE_EXAMPLE=path writes the example page, from which
	// docs/timeline.png is made (see README).
	if path := os.Getenv("CERTSWEEP_TIMELINE_EXAMPLE"); path != "" {
		buf.Reset()
		if err := Render(&buf, examplePage(t)); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestRenderWithNothingToShow: no Certificates and no schedule still make
// a page, which says so.
func TestRenderWithNothingToShow(t *testing.T) {
	var buf bytes.Buffer
	if err := Render(&buf, Page{Now: now}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"No Certificates in scope.", "no sweep schedule given", `data-rows="0"`} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("the page lacks %q", want)
		}
	}
}
