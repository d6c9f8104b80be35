package acme

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/go-acme/lego/v5/acme/api"

	"github.com/certsweep/certsweep/issuance/pki"
)

// maxAlternates bounds how many alternate chains Certificate fetches.
const maxAlternates = 8

// Certificate downloads the certificate chain at certURL (a valid order's
// CertificateURL) and returns it as PEM, leaf first, as the CA ordered it.
//
// preferredChain is the Issuer's spec.acme.preferredChain, matched the way
// cert-manager matches it (pkg/controller/acmeorders getPreferredCertChain):
// the default chain, then each alternate chain (Link rel="alternate", RFC
// 8555 §7.4.2) in the order the CA lists them, is chosen when its topmost
// certificate's issuer common name equals preferredChain; when none does,
// or preferredChain is "", the default chain is returned.
func (c *Client) Certificate(ctx context.Context, certURL, preferredChain string) (chainPEM []byte, err error) {
	const op = "download certificate"
	chain, links, err := c.fetchChain(ctx, op, certURL)
	if err != nil {
		return nil, err
	}
	if preferredChain == "" || topIssuerCN(chain) == preferredChain {
		return pki.EncodeCertificates(chain...), nil
	}
	base, _ := url.Parse(certURL)
	alternates := parseLinks(links, "alternate", base)
	if len(alternates) > maxAlternates {
		alternates = alternates[:maxAlternates]
	}
	for _, alt := range alternates {
		altChain, _, err := c.fetchChain(ctx, "download alternate certificate chain", alt)
		if err != nil {
			return nil, err
		}
		if topIssuerCN(altChain) == preferredChain {
			return pki.EncodeCertificates(altChain...), nil
		}
	}
	return pki.EncodeCertificates(chain...), nil
}

// fetchChain downloads and decodes one chain, returning the response's
// Link header values too.
func (c *Client) fetchChain(ctx context.Context, op, certURL string) ([]*x509.Certificate, []string, error) {
	ctx, rec := record(ctx, op)
	raw, err := c.lego().Certificates.Get(ctx, certURL, true)
	if err != nil {
		return nil, nil, wrap(op, certURL, rec, err)
	}
	chain, err := pki.DecodeCertificates(raw.Cert)
	if err != nil {
		return nil, nil, &Error{Op: op, URL: certURL, Err: fmt.Errorf("the CA's certificate chain: %w", err)}
	}
	var links []string
	if last, ok := rec.last(); ok {
		links = last.links
	}
	return chain, links, nil
}

// topIssuerCN is the issuer common name of the chain's topmost certificate.
func topIssuerCN(chain []*x509.Certificate) string {
	if len(chain) == 0 {
		return ""
	}
	return chain[len(chain)-1].Issuer.CommonName
}

// RenewalWindow is the CA's suggested renewal window for a certificate
// (RFC 9773 §4.2).
type RenewalWindow struct {
	Start, End time.Time
	// RetryAfter is when to ask again (the response's Retry-After), 0 if
	// the CA did not say.
	RetryAfter time.Duration
	// ExplanationURL is a page explaining the window, for the operator.
	ExplanationURL string
}

// RenewalInfo asks the CA's renewalInfo endpoint for leaf's suggested
// renewal window. It returns ErrNoRenewalInfo (wrapped) when the CA offers
// no ARI; a window whose end is not after its start is an error, which the
// caller treats like no answer (RFC 9773 §4.2).
func (c *Client) RenewalInfo(ctx context.Context, leaf *x509.Certificate) (RenewalWindow, error) {
	const op = "get renewal info"
	if !c.SupportsRenewalInfo() {
		return RenewalWindow{}, &Error{Op: op, Err: ErrNoRenewalInfo}
	}
	id, err := pki.ARICertID(leaf)
	if err != nil {
		return RenewalWindow{}, &Error{Op: op, Err: errors.Join(ErrInvalidInput, err)}
	}
	url := c.lego().GetDirectory().RenewalInfo + "/" + id
	ctx, rec := record(ctx, op)
	info, err := c.lego().Certificates.GetRenewalInfo(ctx, id)
	if errors.Is(err, api.ErrNoARI) {
		// The directory has renewalInfo, so lego means an invalid window.
		err = errors.New("the CA sent a suggested window whose end is not after its start")
	}
	if err != nil {
		return RenewalWindow{}, wrap(op, url, rec, err)
	}
	return RenewalWindow{
		Start:          info.SuggestedWindow.Start,
		End:            info.SuggestedWindow.End,
		RetryAfter:     lastRetryAfter(rec),
		ExplanationURL: info.ExplanationURL,
	}, nil
}
