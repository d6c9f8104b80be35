package job

// ARI (RFC 9773): for Certificates issued through an ACME issuer, the CA's
// suggested renewal window is kept in status.acme.ari as cert-manager v1.21
// keeps it with its ACMEUseARI gate on. renew/ picks the renewal time in it
// and says when to fetch it again (Decision.RefreshARI); this file fetches
// and records it.

import (
	"context"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/certsweep/certsweep/issuance"
	"github.com/certsweep/certsweep/issuance/acme"
	"github.com/certsweep/certsweep/issuance/pki"
	"github.com/certsweep/certsweep/renew"
)

const (
	// ariDefaultPoll is how soon to ask again when the CA gives no
	// Retry-After (cert-manager's default).
	ariDefaultPoll = 6 * time.Hour
	// ariMinPoll and ariMaxPoll clamp the CA's Retry-After.
	ariMinPoll = time.Hour
	ariMaxPoll = 7 * 24 * time.Hour
	// ariErrorPoll is how soon to ask again after a failed fetch.
	ariErrorPoll = time.Hour
)

// ariPoll is how long to wait before asking the CA again after it said
// retryAfter (0 when it did not say).
func ariPoll(retryAfter time.Duration) time.Duration {
	if retryAfter <= 0 {
		return ariDefaultPoll
	}
	return min(max(retryAfter, ariMinPoll), ariMaxPoll)
}

// markACME records in desired's status whether the certificate just issued
// came from an ACME issuer. An ACME one gets an empty status.acme.ari due
// now, so the next run fetches the window for the new certificate; any
// other issuer's has no status.acme. issuer is nil when this run did not
// resolve it (a request signed by an earlier run): then a Certificate
// already marked ACME is marked afresh.
func markACME(desired *cmapi.Certificate, issuer issuance.Issuer, now time.Time) {
	_, isACME := issuer.(*acmeIssuer)
	switch {
	case isACME || (issuer == nil && desired.Status.ACME != nil):
		desired.Status.ACME = &cmapi.CertificateACMEStatus{ARI: &cmapi.CertificateACMEARIStatus{NextCheck: pki.MetaTime(now)}}
	case issuer != nil:
		desired.Status.ACME = nil
	}
}

// refreshARI fetches the CA's suggested window for the Certificate's
// current leaf and writes it to status.acme.ari with when to ask again.
// Whatever goes wrong (the issuer cannot be loaded, the CA fails or has no
// ARI) is recorded in lastError and asked again later; renew/ meanwhile
// uses the window it has, if any, else the normal renewal time.
func (s *Sweeper) refreshARI(ctx context.Context, it *workItem, issuers *issuerCache) error {
	crt := it.cert
	now := s.opts.Now()
	desired := crt.DeepCopy()
	if desired.Status.ACME == nil {
		desired.Status.ACME = &cmapi.CertificateACMEStatus{}
	}
	if desired.Status.ACME.ARI == nil {
		desired.Status.ACME.ARI = &cmapi.CertificateACMEARIStatus{}
	}
	ari := desired.Status.ACME.ARI
	failed := func(msg string, poll time.Duration) {
		ari.LastChecked = pki.MetaTime(now)
		ari.NextCheck = pki.MetaTime(now.Add(poll))
		ari.LastError = msg
		s.opts.Logger.Warn("could not fetch the ACME renewal window; using the renewal time without it", "certificate", crt.Namespace+"/"+crt.Name, "error", msg)
	}

	iss, err := issuers.resolve(ctx, crt)
	a, isACME := iss.(*acmeIssuer)
	var leaf []byte
	if it.secret != nil {
		leaf = it.secret.Data[corev1.TLSCertKey]
	}
	certs, cerr := pki.DecodeCertificates(leaf)
	switch {
	case ctx.Err() != nil:
		return ctx.Err()
	case err != nil:
		failed(err.Error(), ariErrorPoll)
	case !isACME:
		// The issuer is no longer an ACME one: nothing to ask.
		desired.Status.ACME = nil
	case !a.client.SupportsRenewalInfo():
		failed(acme.ErrNoRenewalInfo.Error(), ariDefaultPoll)
	case cerr != nil:
		failed(cerr.Error(), ariErrorPoll)
	default:
		w, err := a.client.RenewalInfo(ctx, certs[0])
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			failed(err.Error(), ariErrorPoll)
			break
		}
		ari.SuggestedWindow = &cmapi.ACMERenewalWindow{Start: pki.MetaTime(w.Start), End: pki.MetaTime(w.End)}
		ari.ExplanationURL = w.ExplanationURL
		ari.LastChecked = pki.MetaTime(now)
		ari.NextCheck = pki.MetaTime(now.Add(ariPoll(w.RetryAfter)))
		ari.LastError = ""
	}
	// The window changes the renewal time: decide on it now and write
	// both in one status update, so a refresh is one write, not two (the
	// decision made after the refresh then finds nothing to change). A
	// window that makes the Certificate due is left to that decision.
	it.cert = desired
	d, err := s.decide(s.input(it))
	it.cert = crt
	if err == nil && d.Action == renew.ActionNone && d.RecordRevision == 0 {
		desired = settledStatus(desired, d, now)
	}
	stored, _, err := s.writeStatus(ctx, crt, desired)
	if err != nil {
		return err
	}
	it.cert = stored
	return nil
}
