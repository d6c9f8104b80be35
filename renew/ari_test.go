package renew

import (
	"testing"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
)

// ariStatus is status.acme with a suggested window [start, end) (none when
// start is zero), lastChecked and nextCheck (absent when zero).
func ariStatus(start, end, lastChecked, nextCheck time.Time) *cmapi.CertificateACMEStatus {
	a := &cmapi.CertificateACMEARIStatus{}
	if !start.IsZero() {
		a.SuggestedWindow = &cmapi.ACMERenewalWindow{Start: mtime(start), End: mtime(end)}
	}
	if !lastChecked.IsZero() {
		a.LastChecked = mtime(lastChecked)
	}
	if !nextCheck.IsZero() {
		a.NextCheck = mtime(nextCheck)
	}
	return &cmapi.CertificateACMEStatus{ARI: a}
}

func TestDecideARI(t *testing.T) {
	// newFixture's leaf: notBefore now-10d, notAfter now+80d, so it renews
	// at now+50d without ARI.
	day := 24 * time.Hour
	normal := now.Add(50 * day).Truncate(time.Second)
	checked, later := now.Add(-time.Hour), now.Add(5*time.Hour)
	future := [2]time.Time{now.Add(5 * day), now.Add(6 * day)}
	past := [2]time.Time{now.Add(-2 * time.Hour), now.Add(-time.Hour)}
	tests := []struct {
		name        string
		off         bool
		acme        *cmapi.CertificateACMEStatus
		disabled    bool
		wantAction  Action
		wantRefresh bool
		// wantIn is the window the renewal time must fall in; zero means
		// the normal time.
		wantIn [2]time.Time
	}{
		{name: "not ACME: normal time, no fetch", wantAction: ActionNone},
		{name: "ACME, no ARI yet: fetch", acme: &cmapi.CertificateACMEStatus{}, wantAction: ActionNone, wantRefresh: true},
		{name: "just issued (nextCheck now): fetch", acme: ariStatus(time.Time{}, time.Time{}, time.Time{}, now), wantAction: ActionNone, wantRefresh: true},
		{name: "nextCheck passed: fetch, window used meanwhile", acme: ariStatus(future[0], future[1], checked, now.Add(-time.Minute)), wantAction: ActionNone, wantRefresh: true, wantIn: future},
		{name: "window in the future: renewal time inside it", acme: ariStatus(future[0], future[1], checked, later), wantAction: ActionNone, wantIn: future},
		{name: "window moved into the past: renew now", acme: ariStatus(past[0], past[1], checked, later), wantAction: ActionIssue, wantIn: past},
		{name: "lastChecked before the leaf: fetch again", acme: ariStatus(time.Time{}, time.Time{}, now.Add(-11*day), later), wantAction: ActionNone, wantRefresh: true},
		{name: "window of an earlier certificate: ignored", acme: ariStatus(now.Add(-20*day), now.Add(-19*day), checked, later), wantAction: ActionNone},
		{name: "window whose end is not after its start: ignored", acme: ariStatus(future[1], future[0], checked, later), wantAction: ActionNone},
		{name: "ARI off: window and nextCheck ignored", off: true, acme: ariStatus(past[0], past[1], time.Time{}, time.Time{}), wantAction: ActionNone},
		{name: "renewal Disabled wins over the window", acme: ariStatus(past[0], past[1], checked, later), disabled: true, wantAction: ActionNone},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.crt.Status.ACME = tc.acme
			if tc.disabled {
				f.crt.Spec.Renewal = &cmapi.CertificateRenewal{Policy: cmapi.CertificateRenewalPolicyDisabled}
			}
			d := Decide(f.input(), Options{ARI: !tc.off})
			if d.Action != tc.wantAction {
				t.Fatalf("action %s (%s: %s), want %s", d.Action, d.Reason, d.Message, tc.wantAction)
			}
			if d.RefreshARI != tc.wantRefresh {
				t.Errorf("RefreshARI %v, want %v", d.RefreshARI, tc.wantRefresh)
			}
			if tc.disabled {
				if d.RenewalTime != nil {
					t.Errorf("renewal time %v with renewal Disabled", d.RenewalTime)
				}
				return
			}
			if d.RenewalTime == nil {
				t.Fatal("no renewal time")
			}
			rt := *d.RenewalTime
			switch {
			case tc.wantIn[0].IsZero():
				if !rt.Equal(normal) {
					t.Errorf("renewal time %s, want the normal %s", rt, normal)
				}
			case rt.Before(tc.wantIn[0]) || !rt.Before(tc.wantIn[1]):
				t.Errorf("renewal time %s outside the window [%s, %s)", rt, tc.wantIn[0], tc.wantIn[1])
			case rt != rt.Truncate(time.Second):
				t.Errorf("renewal time %s is not in whole seconds", rt)
			}
			if tc.wantAction == ActionIssue && d.Reason != ReasonRenewing {
				t.Errorf("reason %s", d.Reason)
			}
			if tc.wantAction == ActionNone && !d.NextLook.Equal(rt) {
				t.Errorf("next look %s, want the renewal time %s", d.NextLook, rt)
			}
		})
	}
}

// TestARIRenewalTimeIsStablePerCertificate: the point in the window is the
// same on every run for one certificate, differs between certificates, and
// stays inside the window.
func TestARIRenewalTimeIsStablePerCertificate(t *testing.T) {
	start, end := now.Add(24*time.Hour), now.Add(48*time.Hour)
	at := func(name, serial string) time.Time {
		crt := baseCertificate()
		crt.Name = name
		crt.Status.ACME = ariStatus(start, end, now, now.Add(time.Hour))
		got, ok := ariRenewalTime(crt, serial, now.Add(-time.Hour))
		if !ok {
			t.Fatal("window not used")
		}
		if got.Before(start) || !got.Before(end) {
			t.Fatalf("%s outside [%s, %s)", got, start, end)
		}
		return got
	}
	if a, b := at("web", "42"), at("web", "42"); !a.Equal(b) {
		t.Fatalf("not stable: %s then %s", a, b)
	}
	seen := map[time.Time]bool{}
	for _, n := range []string{"a", "b", "c", "d", "e"} {
		seen[at(n, "42")] = true
	}
	seen[at("web", "43")] = true
	if len(seen) < 2 {
		t.Fatal("every certificate got the same point")
	}
}
