package renew

import (
	"math"
	"strings"
	"testing"
	"time"
)

func TestBackoffDelaySequences(t *testing.T) {
	s, m, h := time.Second, time.Minute, time.Hour
	tests := []struct {
		class FailureClass
		want  []time.Duration // attempts 1, 2, 3, ...
	}{
		{ClassTemporary, []time.Duration{5 * s, 10 * s, 20 * s, 40 * s, 80 * s, 160 * s, 5 * m, 5 * m}},
		{ClassIssuance, []time.Duration{1 * h, 2 * h, 4 * h, 8 * h, 16 * h, 32 * h, 32 * h, 32 * h}},
	}
	for _, tt := range tests {
		t.Run(string(tt.class), func(t *testing.T) {
			for i, want := range tt.want {
				if got := DefaultBackoff.Delay(tt.class, i+1); got != want {
					t.Errorf("attempt %d: %s, want %s", i+1, got, want)
				}
			}
		})
	}
}

func TestBackoffDelayEdges(t *testing.T) {
	tests := []struct {
		name     string
		policy   BackoffPolicy
		class    FailureClass
		attempts int
		want     time.Duration
	}{
		{"huge attempts do not overflow", DefaultBackoff, ClassIssuance, math.MaxInt, 32 * time.Hour},
		{"zero attempts: the minimum", DefaultBackoff, ClassIssuance, 0, time.Hour},
		{"negative attempts: the minimum", DefaultBackoff, ClassTemporary, -5, 5 * time.Second},
		{"unknown class: the cautious issuance schedule", DefaultBackoff, "weird", 2, 2 * time.Hour},
		{"zero policy takes the defaults", BackoffPolicy{}, ClassIssuance, 3, 4 * time.Hour},
		{"max below min: never below min", BackoffPolicy{IssuanceMin: 2 * time.Hour, IssuanceMax: time.Hour}, ClassIssuance, 5, 2 * time.Hour},
		{"max near the int64 limit", BackoffPolicy{IssuanceMin: time.Hour, IssuanceMax: math.MaxInt64}, ClassIssuance, 1000, time.Duration(math.MaxInt64)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.policy.Delay(tt.class, tt.attempts); got != tt.want {
				t.Errorf("Delay() = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestRecordFailure(t *testing.T) {
	at := now.Add(123 * time.Millisecond)
	s := RecordFailure(RetryState{}, ClassIssuance, at, DefaultBackoff)
	want := RetryState{FailedAttempts: 1, LastFailureTime: now, Class: ClassIssuance, NextAttempt: now.Add(time.Hour)}
	if s != want {
		t.Fatalf("first failure = %+v, want %+v", s, want)
	}
	s = RecordFailure(s, ClassIssuance, now.Add(time.Hour), DefaultBackoff)
	if s.FailedAttempts != 2 || !s.NextAttempt.Equal(now.Add(3*time.Hour)) {
		t.Errorf("second failure = %+v", s)
	}
	s = RecordFailure(s, ClassTemporary, now.Add(2*time.Hour), DefaultBackoff)
	if s.FailedAttempts != 1 || s.Class != ClassTemporary {
		t.Errorf("class change starts a new count: %+v", s)
	}

	// The annotations round-trip exactly.
	back, warnings := decodeRetryState(s.Annotations(), DefaultBackoff)
	if back != s || len(warnings) != 0 {
		t.Errorf("round trip = %+v %q, want %+v", back, warnings, s)
	}
	if got := (RetryState{}).Annotations(); got == nil || len(got) != 0 {
		t.Errorf("clear state annotations = %#v, want an empty map", got)
	}
}

func TestDecodeRetryState(t *testing.T) {
	const ts = "2026-01-15T11:00:00Z"
	last := now.Add(-time.Hour)
	tests := []struct {
		name         string
		annotations  map[string]string
		want         RetryState
		wantWarnings int
	}{
		{name: "none", annotations: nil},
		{
			name:        "complete",
			annotations: map[string]string{AnnotationFailedAttempts: "3", AnnotationLastFailureTime: ts, AnnotationFailureClass: "issuance", AnnotationNextAttempt: "2026-01-15T15:00:00Z"},
			want:        RetryState{FailedAttempts: 3, LastFailureTime: last, Class: ClassIssuance, NextAttempt: last.Add(4 * time.Hour)},
		},
		{
			name:        "next-attempt is recomputed, never trusted",
			annotations: map[string]string{AnnotationFailedAttempts: "1", AnnotationLastFailureTime: ts, AnnotationFailureClass: "temporary", AnnotationNextAttempt: "2099-01-01T00:00:00Z"},
			want:        RetryState{FailedAttempts: 1, LastFailureTime: last, Class: ClassTemporary, NextAttempt: last.Add(5 * time.Second)},
		},
		{
			name:        "an issuer's retry-after later than the policy: the next attempt",
			annotations: map[string]string{AnnotationFailedAttempts: "1", AnnotationLastFailureTime: ts, AnnotationFailureClass: "temporary", AnnotationRetryAfter: last.Add(2 * time.Hour).Format(time.RFC3339)},
			want:        RetryState{FailedAttempts: 1, LastFailureTime: last, Class: ClassTemporary, NextAttempt: last.Add(2 * time.Hour), RetryAfter: last.Add(2 * time.Hour)},
		},
		{
			name:        "an issuer's retry-after sooner than the policy: the policy's time",
			annotations: map[string]string{AnnotationFailedAttempts: "1", AnnotationLastFailureTime: ts, AnnotationFailureClass: "issuance", AnnotationRetryAfter: last.Add(time.Minute).Format(time.RFC3339)},
			want:        RetryState{FailedAttempts: 1, LastFailureTime: last, Class: ClassIssuance, NextAttempt: last.Add(time.Hour), RetryAfter: last.Add(time.Minute)},
		},
		{
			name:         "a retry-after beyond MaxRetryAfter is clamped, with a warning",
			annotations:  map[string]string{AnnotationFailedAttempts: "1", AnnotationLastFailureTime: ts, AnnotationFailureClass: "temporary", AnnotationRetryAfter: "2099-01-01T00:00:00Z"},
			want:         RetryState{FailedAttempts: 1, LastFailureTime: last, Class: ClassTemporary, NextAttempt: last.Add(MaxRetryAfter), RetryAfter: last.Add(MaxRetryAfter)},
			wantWarnings: 1,
		},
		{
			name:         "a garbage retry-after is ignored, with a warning",
			annotations:  map[string]string{AnnotationFailedAttempts: "1", AnnotationLastFailureTime: ts, AnnotationFailureClass: "temporary", AnnotationRetryAfter: "soon"},
			want:         RetryState{FailedAttempts: 1, LastFailureTime: last, Class: ClassTemporary, NextAttempt: last.Add(5 * time.Second)},
			wantWarnings: 1,
		},
		{
			name:         "garbage attempts with a valid time: one attempt",
			annotations:  map[string]string{AnnotationFailedAttempts: "many", AnnotationLastFailureTime: ts, AnnotationFailureClass: "issuance"},
			want:         RetryState{FailedAttempts: 1, LastFailureTime: last, Class: ClassIssuance, NextAttempt: last.Add(time.Hour)},
			wantWarnings: 1,
		},
		{
			name:         "zero attempts with a valid time: one attempt",
			annotations:  map[string]string{AnnotationFailedAttempts: "0", AnnotationLastFailureTime: ts, AnnotationFailureClass: "issuance"},
			want:         RetryState{FailedAttempts: 1, LastFailureTime: last, Class: ClassIssuance, NextAttempt: last.Add(time.Hour)},
			wantWarnings: 1,
		},
		{
			name:         "overflowing attempts: one attempt",
			annotations:  map[string]string{AnnotationFailedAttempts: "99999999999999999999999", AnnotationLastFailureTime: ts},
			want:         RetryState{FailedAttempts: 1, LastFailureTime: last, Class: ClassIssuance, NextAttempt: last.Add(time.Hour)},
			wantWarnings: 1,
		},
		{
			name:         "garbage class: the slow schedule",
			annotations:  map[string]string{AnnotationFailedAttempts: "2", AnnotationLastFailureTime: ts, AnnotationFailureClass: "meh"},
			want:         RetryState{FailedAttempts: 2, LastFailureTime: last, Class: ClassIssuance, NextAttempt: last.Add(2 * time.Hour)},
			wantWarnings: 1,
		},
		{
			name:        "missing class: the slow schedule",
			annotations: map[string]string{AnnotationLastFailureTime: ts},
			want:        RetryState{FailedAttempts: 1, LastFailureTime: last, Class: ClassIssuance, NextAttempt: last.Add(time.Hour)},
		},
		{
			name:         "garbage time: clear, with warnings",
			annotations:  map[string]string{AnnotationFailedAttempts: "5", AnnotationLastFailureTime: "yesterday", AnnotationFailureClass: "issuance"},
			wantWarnings: 2,
		},
		{
			name:         "garbage next-attempt alone: clear, warned",
			annotations:  map[string]string{AnnotationNextAttempt: "soon"},
			wantWarnings: 1,
		},
		{
			name:         "huge attempts are capped by the policy",
			annotations:  map[string]string{AnnotationFailedAttempts: "9223372036854775807", AnnotationLastFailureTime: ts, AnnotationFailureClass: "issuance"},
			want:         RetryState{FailedAttempts: math.MaxInt, LastFailureTime: last, Class: ClassIssuance, NextAttempt: last.Add(32 * time.Hour)},
			wantWarnings: 0,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, warnings := decodeRetryState(tt.annotations, DefaultBackoff)
			if got != tt.want {
				t.Errorf("state = %+v, want %+v", got, tt.want)
			}
			if len(warnings) != tt.wantWarnings {
				t.Errorf("warnings = %q, want %d", warnings, tt.wantWarnings)
			}
		})
	}
}

// FuzzDecodeRetryState: whatever the annotations say, decoding never panics,
// a non-clear state always has a delay between the two bounds (so it neither
// blocks forever nor retries every run), and re-encoding is a fixed point.
func FuzzDecodeRetryState(f *testing.F) {
	f.Add("3", "2026-01-15T11:00:00Z", "issuance", "2026-01-15T15:00:00Z")
	f.Add("x", "2026-01-15T11:00:00Z", "temporary", "")
	f.Add("-1", "garbage", "", "")
	f.Add("9223372036854775807", "0001-01-01T00:00:00Z", "issuance", "9999-12-31T23:59:59Z")
	f.Add("", "", "", "")
	f.Fuzz(func(t *testing.T, attempts, last, class, next string) {
		in := map[string]string{}
		for k, v := range map[string]string{AnnotationFailedAttempts: attempts, AnnotationLastFailureTime: last, AnnotationFailureClass: class, AnnotationNextAttempt: next} {
			if v != "" {
				in[k] = v
			}
		}
		s, warnings := decodeRetryState(in, DefaultBackoff)
		for _, w := range warnings {
			if !strings.HasPrefix(w, "ignoring ") {
				t.Errorf("unexpected warning %q", w)
			}
		}
		if s.IsZero() {
			return
		}
		if s.FailedAttempts < 1 || (s.Class != ClassIssuance && s.Class != ClassTemporary) {
			t.Fatalf("invalid state %+v", s)
		}
		if d := s.NextAttempt.Sub(s.LastFailureTime); d < DefaultBackoff.TemporaryMin || d > DefaultBackoff.IssuanceMax {
			t.Fatalf("delay %s outside the policy", d)
		}
		again, w := decodeRetryState(s.Annotations(), DefaultBackoff)
		if again != s || len(w) != 0 {
			t.Fatalf("re-decode = %+v %q, want %+v", again, w, s)
		}
	})
}

// TestFailureNoSoonerThan: an issuer's Retry-After only ever lengthens the
// window the policy gives, to a whole second, never past MaxRetryAfter, and
// is kept in the state so the next decode holds to it.
func TestFailureNoSoonerThan(t *testing.T) {
	last := time.Date(2026, 1, 15, 11, 0, 0, 0, time.UTC)
	base := Failure{Class: ClassTemporary, Retry: RetryState{FailedAttempts: 1, LastFailureTime: last, Class: ClassTemporary, NextAttempt: last.Add(5 * time.Second)}}
	tests := []struct {
		name           string
		at             time.Time
		want           time.Time
		wantRetryAfter time.Time
	}{
		{name: "no Retry-After", want: last.Add(5 * time.Second)},
		{name: "sooner than the policy: the policy's time", at: last.Add(time.Second), want: last.Add(5 * time.Second)},
		{name: "later: the issuer's time", at: last.Add(time.Hour), want: last.Add(time.Hour), wantRetryAfter: last.Add(time.Hour)},
		{name: "a fraction of a second: rounded up", at: last.Add(time.Hour + time.Millisecond), want: last.Add(time.Hour + time.Second), wantRetryAfter: last.Add(time.Hour + time.Second)},
		{name: "beyond the bound: clamped", at: last.Add(30 * 24 * time.Hour), want: last.Add(MaxRetryAfter), wantRetryAfter: last.Add(MaxRetryAfter)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := base.NoSoonerThan(tt.at)
			if !got.Retry.NextAttempt.Equal(tt.want) || !got.Retry.RetryAfter.Equal(tt.wantRetryAfter) {
				t.Fatalf("next attempt %s retry-after %s, want %s and %s", got.Retry.NextAttempt, got.Retry.RetryAfter, tt.want, tt.wantRetryAfter)
			}
			if got.Retry.LastFailureTime != base.Retry.LastFailureTime || got.Retry.FailedAttempts != 1 {
				t.Fatalf("only the window may change: %+v", got.Retry)
			}
			// A round trip through the annotations keeps the window.
			back, warnings := decodeRetryState(got.Retry.Annotations(), DefaultBackoff)
			if back != got.Retry || len(warnings) != 0 {
				t.Fatalf("round trip %+v (%v), want %+v", back, warnings, got.Retry)
			}
		})
	}
}
