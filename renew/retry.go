package renew

import (
	"fmt"
	"strconv"
	"time"
)

// Retry windows are kept as annotations on the Certificate rather than only in
// its status, so that they survive a status reset and can be read (and, in an
// emergency, edited) by a person with kubectl annotate. job/ mirrors them into
// status.failedIssuanceAttempts and status.lastFailureTime for cert-manager
// users.
const (
	// AnnotationFailedAttempts counts consecutive failures of the same class.
	AnnotationFailedAttempts = "certsweep.io/failed-attempts"
	// AnnotationLastFailureTime is the RFC 3339 time of the latest failure.
	AnnotationLastFailureTime = "certsweep.io/last-failure-time"
	// AnnotationFailureClass is "temporary" or "issuance".
	AnnotationFailureClass = "certsweep.io/failure-class"
	// AnnotationNextAttempt is the RFC 3339 time of the next attempt. It is
	// written for people only: it is recomputed on every decode and never
	// trusted, so editing the policy takes effect at once.
	AnnotationNextAttempt = "certsweep.io/next-attempt"
	// AnnotationRetryAfter is the RFC 3339 time before which the issuer
	// asked not to be asked again (an ACME CA's Retry-After), present only
	// when it asked. The next attempt is never before it.
	AnnotationRetryAfter = "certsweep.io/retry-after"
)

// RetryAnnotationKeys are the retry annotations, in the order they are shown.
var RetryAnnotationKeys = []string{AnnotationFailedAttempts, AnnotationLastFailureTime, AnnotationFailureClass, AnnotationNextAttempt, AnnotationRetryAfter}

// FailureClass tells which of the two retry schedules a failure follows
// (cert-manager FAQ: "will it be tried again after some time?").
type FailureClass string

const (
	// ClassTemporary is a failure that did not produce a failed request: the
	// API or the issuer could not be reached, a Secret write conflicted. It is
	// retried soon (5s doubling to 5m by default).
	ClassTemporary FailureClass = "temporary"
	// ClassIssuance is a failed, denied or invalid request, or an unusable
	// certificate from the issuer. It is retried slowly (1h doubling to 32h by
	// default) so that a broken setup does not hammer the CA.
	ClassIssuance FailureClass = "issuance"
)

// RetryState is the decoded retry window of one Certificate. The zero value
// means "no failure recorded".
type RetryState struct {
	// FailedAttempts counts consecutive failures of Class; at least 1 when
	// the state is not zero.
	FailedAttempts int
	// LastFailureTime is when the latest failure happened (whole seconds).
	LastFailureTime time.Time
	// Class is the schedule the failures follow.
	Class FailureClass
	// NextAttempt is LastFailureTime plus the policy's delay for the
	// attempts so far, or RetryAfter when later; recomputed on decode.
	NextAttempt time.Time
	// RetryAfter is when the issuer asked to be asked again, if it did
	// (Failure.NoSoonerThan); at most MaxRetryAfter after LastFailureTime.
	RetryAfter time.Time
}

// IsZero reports whether no failure is recorded, i.e. whether the state is
// clear and nothing stands in the way of an attempt.
func (s RetryState) IsZero() bool {
	return s.LastFailureTime.IsZero()
}

// Annotations renders the state as the certsweep.io annotations. A clear
// state renders as an empty map, which job/ applies by removing the keys.
func (s RetryState) Annotations() map[string]string {
	out := map[string]string{}
	if s.IsZero() {
		return out
	}
	out[AnnotationFailedAttempts] = strconv.Itoa(max(s.FailedAttempts, 1))
	out[AnnotationLastFailureTime] = s.LastFailureTime.UTC().Format(time.RFC3339)
	out[AnnotationFailureClass] = string(s.Class)
	out[AnnotationNextAttempt] = s.NextAttempt.UTC().Format(time.RFC3339)
	if !s.RetryAfter.IsZero() {
		out[AnnotationRetryAfter] = s.RetryAfter.UTC().Format(time.RFC3339)
	}
	return out
}

// withDefaults fills every zero or negative bound from DefaultBackoff, so that
// a zero Options value behaves like cert-manager rather than disabling backoff
// (which would retry a broken issuer on every run).
func (p BackoffPolicy) withDefaults() BackoffPolicy {
	if p.TemporaryMin <= 0 {
		p.TemporaryMin = DefaultBackoff.TemporaryMin
	}
	if p.TemporaryMax <= 0 {
		p.TemporaryMax = DefaultBackoff.TemporaryMax
	}
	if p.IssuanceMin <= 0 {
		p.IssuanceMin = DefaultBackoff.IssuanceMin
	}
	if p.IssuanceMax <= 0 {
		p.IssuanceMax = DefaultBackoff.IssuanceMax
	}
	return p
}

// Delay is how long to wait after the attempts-th consecutive failure of
// class: min×2^(attempts−1), capped at max and never below min
// (docs/semantics.md §3.1). Unknown classes follow the issuance schedule, the cautious choice.
// Zero bounds take DefaultBackoff's values.
func (p BackoffPolicy) Delay(class FailureClass, attempts int) time.Duration {
	p = p.withDefaults()
	lo, hi := p.IssuanceMin, p.IssuanceMax
	if class == ClassTemporary {
		lo, hi = p.TemporaryMin, p.TemporaryMax
	}
	if hi < lo {
		return lo
	}
	// Doubling stops as soon as the cap is reached, so a huge attempt count
	// costs at most ~63 iterations and can never overflow.
	d := lo
	for i := 1; i < attempts; i++ {
		if d >= hi/2 {
			return hi
		}
		d *= 2
	}
	return d
}

// RecordFailure returns the state after one more failure of class at now.
// Consecutive failures of the same class double the delay; a failure of the
// other class starts its own count at 1, so that a brief API outage after
// weeks of CA failures does not inherit a 32h delay, and a first CA failure
// after many temporary errors does not wait 32h either.
func RecordFailure(prev RetryState, class FailureClass, now time.Time, p BackoffPolicy) RetryState {
	attempts := 1
	if !prev.IsZero() && prev.Class == class {
		attempts = max(prev.FailedAttempts, 1) + 1
	}
	// Whole seconds, because the annotation keeps whole seconds and a
	// round trip must not change the state.
	last := now.UTC().Truncate(time.Second)
	return RetryState{
		FailedAttempts:  attempts,
		LastFailureTime: last,
		Class:           class,
		NextAttempt:     last.Add(p.Delay(class, attempts)),
	}
}

// decodeRetryState reads the retry window from a Certificate's annotations.
// It never fails: an unparsable value is treated as absent and reported in
// the warnings. The fallbacks are chosen so that bad data neither blocks a
// Certificate forever nor lets it retry on every run:
//   - no usable last-failure-time: nothing to measure a delay from, so the
//     state is clear (one immediate attempt, whose failure is then recorded
//     properly);
//   - a usable time but bad failed-attempts: counts as 1 attempt;
//   - a usable time but bad or missing class: the slow issuance schedule.
func decodeRetryState(annotations map[string]string, policy BackoffPolicy) (RetryState, []string) {
	var warnings []string
	bad := func(key, value string, err error) {
		warnings = append(warnings, fmt.Sprintf("ignoring annotation %s=%q: %v", key, value, err))
	}

	var s RetryState
	if v, ok := annotations[AnnotationLastFailureTime]; ok {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			bad(AnnotationLastFailureTime, v, fmt.Errorf("not an RFC 3339 time: %w", err))
		} else {
			s.LastFailureTime = t.UTC()
		}
	}

	if v, ok := annotations[AnnotationFailedAttempts]; ok {
		n, err := strconv.Atoi(v)
		switch {
		case err != nil:
			bad(AnnotationFailedAttempts, v, fmt.Errorf("not an integer: %w", err))
		case n < 1:
			bad(AnnotationFailedAttempts, v, fmt.Errorf("must be at least 1"))
		default:
			s.FailedAttempts = n
		}
	}

	if v, ok := annotations[AnnotationFailureClass]; ok {
		switch c := FailureClass(v); c {
		case ClassTemporary, ClassIssuance:
			s.Class = c
		default:
			bad(AnnotationFailureClass, v, fmt.Errorf("want %q or %q", ClassTemporary, ClassIssuance))
		}
	}

	if v, ok := annotations[AnnotationNextAttempt]; ok {
		if _, err := time.Parse(time.RFC3339, v); err != nil {
			bad(AnnotationNextAttempt, v, fmt.Errorf("not an RFC 3339 time: %w", err))
		}
	}

	var retryAfter time.Time
	if v, ok := annotations[AnnotationRetryAfter]; ok {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			bad(AnnotationRetryAfter, v, fmt.Errorf("not an RFC 3339 time: %w", err))
		}
		retryAfter = t.UTC()
	}

	if s.LastFailureTime.IsZero() {
		if s.FailedAttempts > 0 || s.Class != "" {
			warnings = append(warnings, fmt.Sprintf("ignoring retry annotations without a valid %s", AnnotationLastFailureTime))
		}
		return RetryState{}, warnings
	}
	if s.FailedAttempts == 0 {
		s.FailedAttempts = 1
	}
	if s.Class == "" {
		s.Class = ClassIssuance
	}
	s.NextAttempt = s.LastFailureTime.Add(policy.Delay(s.Class, s.FailedAttempts))
	if !retryAfter.IsZero() {
		if limit := s.LastFailureTime.Add(MaxRetryAfter); retryAfter.After(limit) {
			warnings = append(warnings, fmt.Sprintf("%s=%s is more than %s after the failure; retrying at %s", AnnotationRetryAfter,
				retryAfter.Format(time.RFC3339), MaxRetryAfter, limit.Format(time.RFC3339)))
			retryAfter = limit
		}
		s.RetryAfter = retryAfter
		if retryAfter.After(s.NextAttempt) {
			s.NextAttempt = retryAfter
		}
	}
	return s, warnings
}

// MaxRetryAfter bounds how long an issuer's Retry-After can hold a
// Certificate back: long enough for a CA's weekly rate-limit window, short
// enough that a bad header (or a hand edit) cannot park a certificate until
// it expires.
const MaxRetryAfter = 7 * 24 * time.Hour
