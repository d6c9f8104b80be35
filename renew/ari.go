package renew

import (
	"crypto/sha256"
	"encoding/binary"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
)

// ACME Renewal Information (RFC 9773), kept as cert-manager v1.21 keeps it
// with its ACMEUseARI gate on: the CA's suggested window in
// status.acme.ari, fetched by job/ when RefreshARI says so.

// ariRenewalTime is the renewal time the CA's suggested window gives: a
// point in [start, end) that depends only on namespace, name and the leaf's
// serial, so it is the same on every run (cert-manager draws a new random
// point on each reconcile; a stateless sweep must not flap). A window that
// does not start after the leaf's notBefore describes an earlier
// certificate and is ignored, as is one without a start, an end, or room
// between them.
func ariRenewalTime(crt *cmapi.Certificate, serial string, notBefore time.Time) (time.Time, bool) {
	if crt.Status.ACME == nil || crt.Status.ACME.ARI == nil {
		return time.Time{}, false
	}
	w := crt.Status.ACME.ARI.SuggestedWindow
	if w == nil || w.Start == nil || w.End == nil {
		return time.Time{}, false
	}
	start, end := w.Start.Time, w.End.Time
	if !start.After(notBefore) || !end.After(start) {
		return time.Time{}, false
	}
	sum := sha256.Sum256([]byte(crt.Namespace + "/" + crt.Name + "/" + serial))
	offset := time.Duration(binary.BigEndian.Uint64(sum[:8]) % uint64(end.Sub(start)))
	// Whole seconds, as status.renewalTime is stored; never before start.
	at := start.Add(offset).Truncate(time.Second)
	if at.Before(start) {
		at = start
	}
	return at, true
}

// ariRefreshDue reports whether the CA's window should be fetched again for
// an ACME-issued Certificate (status.acme set): nextCheck is absent or has
// passed, or the window was last checked before the current leaf existed.
func (e *evaluation) ariRefreshDue() bool {
	if e.crt.Status.ACME == nil || e.contents == nil || e.contents.Leaf == nil {
		return false
	}
	ari := e.crt.Status.ACME.ARI
	if ari == nil || ari.NextCheck == nil || !ari.NextCheck.After(e.now) {
		return true
	}
	return ari.LastChecked != nil && ari.LastChecked.Time.Before(e.contents.Leaf.NotBefore)
}
