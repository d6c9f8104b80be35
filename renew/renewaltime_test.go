package renew

import (
	"strings"
	"testing"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	"github.com/robfig/cron/v3"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestRenewalTime(t *testing.T) {
	nb := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	hour := nb.Add(time.Hour)
	days90 := nb.Add(90 * 24 * time.Hour)
	window := func(cronSpec, tz string, d time.Duration) *cmapi.CertificateRenewal {
		return &cmapi.CertificateRenewal{
			Policy:  cmapi.CertificateRenewalPolicyRenewBefore,
			Windows: []cmapi.CertificateRenewalWindows{{Cron: cronSpec, Timezone: tz, WindowDuration: &metav1.Duration{Duration: d}}},
		}
	}
	tests := []struct {
		name    string
		na      time.Time
		spec    func(*cmapi.CertificateSpec)
		want    *time.Time
		wantErr string
	}{
		{name: "default: a third before expiry", na: days90, want: ptr(nb.Add(60 * 24 * time.Hour))},
		{
			name: "renewBefore 10m on 1h",
			na:   hour,
			spec: func(s *cmapi.CertificateSpec) { s.RenewBefore = &metav1.Duration{Duration: 10 * time.Minute} },
			want: ptr(nb.Add(50 * time.Minute)),
		},
		{
			name: "renewBefore equal to the lifetime: a third",
			na:   hour,
			spec: func(s *cmapi.CertificateSpec) { s.RenewBefore = &metav1.Duration{Duration: time.Hour} },
			want: ptr(nb.Add(40 * time.Minute)),
		},
		{
			name: "renewBefore longer than the issued lifetime: a third",
			na:   hour,
			spec: func(s *cmapi.CertificateSpec) { s.RenewBefore = &metav1.Duration{Duration: 30 * 24 * time.Hour} },
			want: ptr(nb.Add(40 * time.Minute)),
		},
		{
			name: "renewBefore wins over percentage",
			na:   hour,
			spec: func(s *cmapi.CertificateSpec) {
				s.RenewBefore = &metav1.Duration{Duration: 10 * time.Minute}
				s.RenewBeforePercentage = ptr(int32(50))
			},
			want: ptr(nb.Add(50 * time.Minute)),
		},
		{
			name: "renewBefore unusable, percentage used",
			na:   hour,
			spec: func(s *cmapi.CertificateSpec) {
				s.RenewBefore = &metav1.Duration{Duration: 2 * time.Hour}
				s.RenewBeforePercentage = ptr(int32(50))
			},
			want: ptr(nb.Add(30 * time.Minute)),
		},
		{
			name: "percentage 25 on 60m",
			na:   hour,
			spec: func(s *cmapi.CertificateSpec) { s.RenewBeforePercentage = ptr(int32(25)) },
			want: ptr(nb.Add(45 * time.Minute)),
		},
		{
			name: "percentage 0: a third",
			na:   hour,
			spec: func(s *cmapi.CertificateSpec) { s.RenewBeforePercentage = ptr(int32(0)) },
			want: ptr(nb.Add(40 * time.Minute)),
		},
		{
			name: "percentage 1",
			na:   days90,
			spec: func(s *cmapi.CertificateSpec) { s.RenewBeforePercentage = ptr(int32(1)) },
			// 1% of 90 days is 21h36m.
			want: ptr(days90.Add(-21*time.Hour - 36*time.Minute)),
		},
		{
			name: "percentage 99",
			na:   days90,
			spec: func(s *cmapi.CertificateSpec) { s.RenewBeforePercentage = ptr(int32(99)) },
			want: ptr(nb.Add(21*time.Hour + 36*time.Minute)),
		},
		{
			name: "percentage 100: a third",
			na:   hour,
			spec: func(s *cmapi.CertificateSpec) { s.RenewBeforePercentage = ptr(int32(100)) },
			want: ptr(nb.Add(40 * time.Minute)),
		},
		{
			name: "percentage on a ten-year lifetime does not overflow",
			na:   nb.Add(10 * 365 * 24 * time.Hour),
			spec: func(s *cmapi.CertificateSpec) { s.RenewBeforePercentage = ptr(int32(99)) },
			want: ptr(nb.Add(10 * 365 * 24 * time.Hour / 100)),
		},
		{
			name: "truncated to whole seconds, never rounded up",
			na:   nb.Add(100 * time.Second),
			// a third of 100s is 33.3s: 66.6s after issuance, stored as 66s.
			want: ptr(nb.Add(66 * time.Second)),
		},
		{
			name: "Disabled: no renewal time",
			na:   days90,
			spec: func(s *cmapi.CertificateSpec) {
				s.Renewal = &cmapi.CertificateRenewal{Policy: cmapi.CertificateRenewalPolicyDisabled}
			},
		},
		{
			name:    "unknown policy",
			na:      days90,
			spec:    func(s *cmapi.CertificateSpec) { s.Renewal = &cmapi.CertificateRenewal{Policy: "Sometimes"} },
			wantErr: `unsupported renewal policy: "Sometimes"`,
		},
		{
			name: "RenewBefore policy without windows",
			na:   days90,
			spec: func(s *cmapi.CertificateSpec) {
				s.Renewal = &cmapi.CertificateRenewal{Policy: cmapi.CertificateRenewalPolicyRenewBefore}
			},
			want: ptr(nb.Add(60 * 24 * time.Hour)),
		},
		{
			name: "desired time inside a window: kept",
			na:   days90,
			// desired is 2026-03-02 00:00 UTC, a Monday; window Mondays 00:00–06:00.
			spec: func(s *cmapi.CertificateSpec) { s.Renewal = window("0 0 * * 1", "", 6*time.Hour) },
			want: ptr(nb.Add(60 * 24 * time.Hour)),
		},
		{
			name: "desired time outside any window: next window start",
			na:   days90,
			spec: func(s *cmapi.CertificateSpec) { s.Renewal = window("0 22 * * 3", "", 2*time.Hour) },
			// the first Wednesday 22:00 after Monday 2026-03-02.
			want: ptr(time.Date(2026, 3, 4, 22, 0, 0, 0, time.UTC)),
		},
		{
			name: "window start exactly at the desired time",
			na:   days90,
			spec: func(s *cmapi.CertificateSpec) { s.Renewal = window("0 0 2 3 *", "", time.Minute) },
			want: ptr(nb.Add(60 * 24 * time.Hour)),
		},
		{
			name: "desired time exactly at a window's end: next start",
			na:   days90,
			spec: func(s *cmapi.CertificateSpec) { s.Renewal = window("0 23 * * *", "", time.Hour) },
			want: ptr(time.Date(2026, 3, 2, 23, 0, 0, 0, time.UTC)),
		},
		{
			name: "window in New York across the 2026-03-08 DST change",
			na:   time.Date(2026, 3, 9, 5, 0, 0, 0, time.UTC),
			spec: func(s *cmapi.CertificateSpec) {
				// desired: 2026-03-08 05:00 UTC, i.e. 00:00 EST.
				s.RenewBefore = &metav1.Duration{Duration: 24 * time.Hour}
				s.Renewal = window("0 3 * * *", "America/New_York", time.Hour)
			},
			// 03:00 the same night is already EDT (UTC−4): 07:00 UTC, not 08:00.
			want: ptr(time.Date(2026, 3, 8, 7, 0, 0, 0, time.UTC)),
		},
		{
			name: "no window between notBefore and notAfter: desired time and an error",
			na:   days90,
			spec: func(s *cmapi.CertificateSpec) { s.Renewal = window("0 0 29 2 *", "", time.Hour) },
			want: ptr(nb.Add(60 * 24 * time.Hour)),
			// 2026 and 2027 have no 29 February.
			wantErr: "cannot find a time with the given windows between",
		},
		{
			name:    "invalid cron",
			na:      days90,
			spec:    func(s *cmapi.CertificateSpec) { s.Renewal = window("every day", "", time.Hour) },
			wantErr: "failed to parse cron spec",
		},
		{
			name:    "invalid timezone",
			na:      days90,
			spec:    func(s *cmapi.CertificateSpec) { s.Renewal = window("0 0 * * *", "Mars/Olympus", time.Hour) },
			wantErr: "error parsing timezone",
		},
		{
			name:    "window without a duration",
			na:      days90,
			spec:    func(s *cmapi.CertificateSpec) { s.Renewal = window("0 0 * * *", "", 0) },
			wantErr: "windowDuration must be a positive duration",
		},
		{
			name: "several windows: the earliest start wins",
			na:   days90,
			spec: func(s *cmapi.CertificateSpec) {
				s.Renewal = window("0 22 * * 3", "", time.Hour)
				s.Renewal.Windows = append(s.Renewal.Windows, cmapi.CertificateRenewalWindows{Cron: "@daily", WindowDuration: &metav1.Duration{Duration: time.Minute}, Timezone: "Europe/Amsterdam"})
			},
			// Amsterdam midnight is 23:00 UTC on 2 March.
			want: ptr(time.Date(2026, 3, 2, 23, 0, 0, 0, time.UTC)),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			crt := baseCertificate()
			if tt.spec != nil {
				tt.spec(&crt.Spec)
			}
			got, err := RenewalTime(crt, nb, tt.na)
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
			if (got == nil) != (tt.want == nil) || got != nil && !got.Equal(*tt.want) {
				t.Errorf("RenewalTime() = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestScheduleWarning(t *testing.T) {
	nb := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	daily, err := cron.ParseStandard("0 2 * * *")
	if err != nil {
		t.Fatal(err)
	}
	crt := baseCertificate()
	if w := ScheduleWarning(crt, nb, nb.Add(90*24*time.Hour), daily, now); w != "" {
		t.Errorf("30 days margin, daily runs: %q, want none", w)
	}
	crt.Spec.RenewBefore = &metav1.Duration{Duration: time.Hour}
	w := ScheduleWarning(crt, nb, nb.Add(90*24*time.Hour), daily, now)
	if !strings.Contains(w, "default/web renews 1h0m0s before it expires, but the sweep runs only every 24h0m0s") {
		t.Errorf("1h margin, daily runs: %q", w)
	}
	crt.Spec.Renewal = &cmapi.CertificateRenewal{Policy: cmapi.CertificateRenewalPolicyDisabled}
	if w := ScheduleWarning(crt, nb, nb.Add(90*24*time.Hour), daily, now); w != "" {
		t.Errorf("Disabled: %q, want none", w)
	}
}

func TestJitterOffset(t *testing.T) {
	nb := now
	na := nb.Add(90 * 24 * time.Hour)
	spec := baseCertificate().Spec
	const jitter = 6 * time.Hour
	a := jitterOffset(jitter, "default", "web", "42", nb, na, spec)
	if b := jitterOffset(jitter, "default", "web", "42", nb, na, spec); a != b {
		t.Fatalf("not stable: %s vs %s", a, b)
	}
	if a < 0 || a >= jitter {
		t.Errorf("offset %s outside [0, %s)", a, jitter)
	}
	distinct := map[time.Duration]bool{}
	for _, name := range []string{"a", "b", "c", "d", "e", "f", "g", "h"} {
		distinct[jitterOffset(jitter, "default", name, "42", nb, na, spec)] = true
	}
	if len(distinct) < 7 {
		t.Errorf("only %d distinct offsets for 8 names", len(distinct))
	}
	if c := jitterOffset(jitter, "default", "web", "43", nb, na, spec); c == a {
		t.Errorf("a new serial should move the offset (got %s twice)", a)
	}
	if got := jitterOffset(0, "default", "web", "42", nb, na, spec); got != 0 {
		t.Errorf("no jitter: %s", got)
	}
	// A jitter longer than the lifetime is capped at half the time until the
	// unjittered renewal: a fresh certificate is never due at once.
	if got := jitterOffset(1000*time.Hour, "default", "web", "42", nb, nb.Add(3*time.Hour), spec); got >= time.Hour {
		t.Errorf("capped offset %s, want < 1h", got)
	}
}
