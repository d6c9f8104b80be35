package renew

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	"github.com/robfig/cron/v3"
)

// windowCronParser reads renewal-window cron expressions the way cert-manager
// does: five fields (no seconds) or a descriptor such as @daily.
var windowCronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// errRenewalDisabled marks spec.renewal.policy Disabled inside this file; it
// never leaves the package.
var errRenewalDisabled = errors.New("renewal is disabled")

// RenewalTime is when a certificate valid from notBefore to notAfter should
// be renewed under crt's spec (docs/semantics.md §2):
//
//   - renew renewBefore before expiry when 0 < renewBefore < the actual
//     lifetime; else renewBeforePercentage of the lifetime when 0 < p < 100;
//     else a third of the lifetime. The lifetime is the issued one, not
//     spec.duration, because issuers may shorten it.
//   - the result is truncated to whole seconds, as status.renewalTime is
//     stored, so that a wake-up at the stored time is never early.
//   - policy Disabled returns nil, nil.
//   - with renewal windows the time is kept when it falls inside a window,
//     else moved to the earliest window start after it; when no window fits
//     between notBefore and notAfter it returns the unwindowed time and an
//     error (cert-manager's WindowError).
//   - an invalid window (cron, timezone, duration) or policy returns nil and
//     an error.
func RenewalTime(crt *cmapi.Certificate, notBefore, notAfter time.Time) (*time.Time, error) {
	t, err := renewalTime(crt.Spec, notBefore, notAfter, 0)
	switch {
	case errors.Is(err, errRenewalDisabled):
		return nil, nil
	case errors.As(err, new(*windowConfigError)):
		return nil, err
	}
	return &t, err
}

// windowConfigError is a renewal spec that cannot be evaluated at all, as
// opposed to a valid spec whose windows do not fit.
type windowConfigError struct{ err error }

func (e *windowConfigError) Error() string { return e.err.Error() }
func (e *windowConfigError) Unwrap() error { return e.err }

// renewalTime is RenewalTime with the jitter offset applied to the desired
// time before windows are considered, so jitter never leaves a window. It
// always returns a usable time: on a window configuration error the
// unwindowed time, so that the caller can still renew in time.
func renewalTime(spec cmapi.CertificateSpec, notBefore, notAfter time.Time, offset time.Duration) (time.Time, error) {
	desired := notAfter.Add(-renewBefore(spec, notAfter.Sub(notBefore)) - offset).Truncate(time.Second)

	if spec.Renewal == nil {
		return desired, nil
	}
	switch spec.Renewal.Policy {
	case cmapi.CertificateRenewalPolicyDisabled:
		return desired, errRenewalDisabled
	case cmapi.CertificateRenewalPolicyRenewBefore:
		return applyWindows(desired, notBefore, notAfter, spec.Renewal.Windows)
	default:
		return desired, &windowConfigError{fmt.Errorf("unsupported renewal policy: %q", spec.Renewal.Policy)}
	}
}

// renewBefore is how long before expiry a certificate of the given actual
// lifetime renews, before windows and jitter.
func renewBefore(spec cmapi.CertificateSpec, lifetime time.Duration) time.Duration {
	switch {
	case spec.RenewBefore != nil && spec.RenewBefore.Duration > 0 && spec.RenewBefore.Duration < lifetime:
		return spec.RenewBefore.Duration
	case spec.RenewBeforePercentage != nil && *spec.RenewBeforePercentage > 0 && *spec.RenewBeforePercentage < 100:
		// Float math: lifetime × p overflows int64 nanoseconds for long
		// lifetimes.
		return time.Duration(float64(lifetime) * float64(*spec.RenewBeforePercentage) / 100)
	default:
		return lifetime / 3
	}
}

// applyWindows moves desired into the renewal windows. Each window's search
// range is [notBefore−duration, notAfter+duration], as in cert-manager.
func applyWindows(desired, notBefore, notAfter time.Time, windows []cmapi.CertificateRenewalWindows) (time.Time, error) {
	if len(windows) == 0 {
		return desired, nil
	}
	var earliest time.Time
	for i, w := range windows {
		sched, length, err := parseWindow(w)
		if err != nil {
			return desired, &windowConfigError{fmt.Errorf("renewal window %d: %w", i, err)}
		}
		lo, hi := notBefore.Add(-length), notAfter.Add(length)

		// desired lies in an occurrence [start, start+length) exactly when
		// some start falls in (desired−length, desired]; the first start
		// after desired−length is the one to test.
		from := desired.Add(-length)
		if from.Before(lo) {
			from = lo.Add(-time.Nanosecond) // Next is exclusive; lo itself counts
		}
		if start := sched.Next(from); !start.IsZero() && !start.After(desired) && !start.After(hi) {
			return desired, nil
		}

		// Otherwise the earliest start at or after desired, within range.
		from = desired
		if from.Before(lo) {
			from = lo
		}
		start := sched.Next(from.Add(-time.Nanosecond))
		if start.IsZero() || start.After(hi) {
			continue
		}
		if earliest.IsZero() || start.Before(earliest) {
			earliest = start
		}
	}
	if earliest.IsZero() {
		return desired, fmt.Errorf("cannot find a time with the given windows between %s and %s for: %s", notBefore, notAfter, desired)
	}
	return earliest, nil
}

func parseWindow(w cmapi.CertificateRenewalWindows) (cron.Schedule, time.Duration, error) {
	if w.WindowDuration == nil || w.WindowDuration.Duration <= 0 {
		return nil, 0, errors.New("windowDuration must be a positive duration")
	}
	tz := w.Timezone
	if tz == "" {
		tz = "UTC"
	}
	if _, err := time.LoadLocation(tz); err != nil {
		return nil, 0, fmt.Errorf("error parsing timezone: %w", err)
	}
	// The CRON_TZ prefix makes robfig/cron evaluate the expression in the
	// window's timezone, so "0 3 * * *" stays at 03:00 local across DST.
	sched, err := windowCronParser.Parse("CRON_TZ=" + tz + " " + w.Cron)
	if err != nil {
		return nil, 0, fmt.Errorf("failed to parse cron spec %q: %w", w.Cron, err)
	}
	return sched, w.WindowDuration.Duration, nil
}

// jitterOffset is how much earlier than its computed renewal time a
// certificate renews, so that certificates issued together spread over
// several runs. It is derived from namespace, name and the leaf's serial, so
// it is stable across runs (no flapping) yet changes at every issuance. It
// is capped at half the time between issuance and the computed renewal, so
// that even a jitter longer than the lifetime cannot make a fresh certificate
// due at once.
func jitterOffset(jitter time.Duration, namespace, name, serial string, notBefore, notAfter time.Time, spec cmapi.CertificateSpec) time.Duration {
	if jitter <= 0 {
		return 0
	}
	unjittered := notAfter.Add(-renewBefore(spec, notAfter.Sub(notBefore)))
	limit := min(jitter, unjittered.Sub(notBefore)/2)
	if limit <= 0 {
		return 0
	}
	sum := sha256.Sum256([]byte(namespace + "/" + name + "/" + serial))
	return time.Duration(binary.BigEndian.Uint64(sum[:8]) % uint64(limit))
}

// ScheduleWarning returns a sentence for `certsweep plan` when the sweep's
// schedule leaves a gap longer than the certificate's renew-before margin:
// the certificate could then pass its renewal time and expire between two
// runs. It returns "" when the schedule is fine or renewal is disabled.
func ScheduleWarning(crt *cmapi.Certificate, notBefore, notAfter time.Time, schedule interface{ Next(time.Time) time.Time }, now time.Time) string {
	if schedule == nil {
		return ""
	}
	// A WindowError still yields the time renewal would happen at.
	rt, _ := RenewalTime(crt, notBefore, notAfter)
	if rt == nil {
		return ""
	}
	next := schedule.Next(now)
	if next.IsZero() {
		return ""
	}
	interval := schedule.Next(next).Sub(next)
	margin := notAfter.Sub(*rt)
	if interval <= margin {
		return ""
	}
	return fmt.Sprintf("Certificate %s/%s renews %s before it expires, but the sweep runs only every %s: it could expire between two runs; run the sweep more often or raise spec.renewBefore",
		crt.Namespace, crt.Name, margin, interval)
}
