package vault

// Talking to Vault: one PUT with a JSON body, what its errors mean, and
// what a sign answer holds.

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"unicode/utf8"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	vaultapi "github.com/hashicorp/vault/api"

	"github.com/certsweep/certsweep/issuance"
	"github.com/certsweep/certsweep/issuance/pki"
)

const (
	// maxResponseBytes bounds what is read of an answer: a sign answer is
	// a few certificates.
	maxResponseBytes = 1 << 20
	// maxMessageLength bounds what of a Vault error reaches a condition or
	// an event.
	maxMessageLength = 1024
)

// writeRaw PUTs data as JSON to apiPath (after /v1/) and returns the body
// of a 2xx answer. Any other answer is a *vaultapi.ResponseError.
func writeRaw(ctx context.Context, client *vaultapi.Client, apiPath string, data any) ([]byte, error) {
	payload, err := json.Marshal(data)
	if err != nil {
		return nil, fmt.Errorf("encoding the request to Vault: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	resp, err := client.Logical().WriteRawWithContext(ctx, apiPath, payload)
	if resp != nil && resp.Body != nil {
		defer resp.Body.Close()
	}
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
	if err != nil {
		return nil, fmt.Errorf("reading Vault's answer: %w", err)
	}
	if len(body) > maxResponseBytes {
		return nil, fmt.Errorf("the answer from Vault is larger than %d bytes", maxResponseBytes)
	}
	return body, nil
}

// isRefusal reports whether err is Vault answering 4xx: the request as
// sent will not succeed. 5xx answers and no answer at all are temporary.
func isRefusal(err error) bool {
	re, ok := errors.AsType[*vaultapi.ResponseError](err)
	return ok && re.StatusCode >= 400 && re.StatusCode < 500
}

// safeMessage renders err for a condition, an event or a log line. Vault's
// own error strings are kept; a body that is not a Vault error answer
// (whatever spec.vault.server points at may answer anything) is left out,
// as cert-manager leaves it out, and everything is bounded.
func safeMessage(err error) string {
	if err == nil {
		return ""
	}
	msg := err.Error()
	if ue, ok := errors.AsType[*url.Error](err); ok {
		// No answer: say which request and why, without the query string
		// the client adds to sys/health.
		msg = fmt.Sprintf("%s %s: %v", ue.Op, urlPath(ue.URL), ue.Err)
	}
	if re, ok := errors.AsType[*vaultapi.ResponseError](err); ok {
		if re.RawError {
			msg = fmt.Sprintf("the Vault server returned an HTTP %d response which is not a Vault error response; the response body has been omitted", re.StatusCode)
		} else {
			msg = fmt.Sprintf("Vault answered %d to %s %s: %s", re.StatusCode, re.HTTPMethod, urlPath(re.URL), strings.Join(re.Errors, "; "))
		}
	}
	return truncate(strings.Join(strings.Fields(msg), " "), maxMessageLength)
}

// urlPath is the path of a request URL, without scheme, host or query.
func urlPath(u string) string {
	if i := strings.Index(u, "://"); i >= 0 {
		u = u[i+3:]
		if j := strings.IndexByte(u, '/'); j >= 0 {
			u = u[j:]
		}
	}
	if i := strings.IndexByte(u, '?'); i >= 0 {
		u = u[:i]
	}
	return u
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s + "..."
}

// signParameters is the body of a sign request, as cert-manager sends it:
// the CSR, its names again, the duration as ttl, and the common name kept
// out of the SANs.
func signParameters(cr *cmapi.CertificateRequest) (map[string]string, error) {
	csr, err := pki.DecodeCSR(cr.Spec.Request)
	if err != nil {
		return nil, fmt.Errorf("failed to decode CSR for signing: %w", err)
	}
	ips := make([]string, 0, len(csr.IPAddresses))
	for _, ip := range csr.IPAddresses {
		ips = append(ips, ip.String())
	}
	uris := make([]string, 0, len(csr.URIs))
	for _, u := range csr.URIs {
		uris = append(uris, u.String())
	}
	duration := cmapi.DefaultCertificateDuration
	if cr.Spec.Duration != nil {
		duration = cr.Spec.Duration.Duration
	}
	return map[string]string{
		"common_name":          csr.Subject.CommonName,
		"alt_names":            strings.Join(csr.DNSNames, ","),
		"ip_sans":              strings.Join(ips, ","),
		"uri_sans":             strings.Join(uris, ","),
		"ttl":                  duration.String(),
		"csr":                  string(cr.Spec.Request),
		"exclude_cn_from_sans": "true",
	}, nil
}

// decodeSignResponse reads a sign answer and splits its chain as
// cert-manager does: the leaf and its intermediates in tls.crt, the top
// of the chain (the root, when ca_chain carries it) in ca.crt.
func decodeSignResponse(body []byte) (tlsCrt, caCrt []byte, err error) {
	var answer struct {
		Data *struct {
			Certificate string   `json:"certificate"`
			IssuingCA   string   `json:"issuing_ca"`
			CAChain     []string `json:"ca_chain"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &answer); err != nil {
		return nil, nil, fmt.Errorf("failed to decode response returned by vault: %w", err)
	}
	if answer.Data == nil || strings.TrimSpace(answer.Data.Certificate) == "" {
		return nil, nil, errors.New("failed to decode response returned by vault: no certificate in the answer")
	}
	certs, err := pki.DecodeCertificates([]byte(answer.Data.Certificate))
	if err != nil {
		return nil, nil, fmt.Errorf("failed to decode the certificate returned by vault: %w", err)
	}
	leaf := certs[0]
	cas := certs[1:]
	// The issuing CA and ca_chain overlap (ca_chain starts with the issuing
	// CA in recent Vaults); the chain builder drops duplicates.
	more := append([]string{answer.Data.IssuingCA}, answer.Data.CAChain...)
	for _, p := range more {
		if strings.TrimSpace(p) == "" {
			continue
		}
		found, err := pki.DecodeCertificates([]byte(p))
		if err != nil {
			return nil, nil, fmt.Errorf("failed to decode the CA chain returned by vault: %w", err)
		}
		cas = append(cas, found...)
	}
	cas = withoutDuplicates(leaf, cas)
	tlsCrt, caCrt, err = issuance.BuildChain(leaf, cas)
	if err != nil {
		return nil, nil, fmt.Errorf("failed to parse certificate chain from vault: %w", err)
	}
	return tlsCrt, caCrt, nil
}

// withoutDuplicates drops repeats of a certificate, and of the leaf.
func withoutDuplicates(leaf *x509.Certificate, cas []*x509.Certificate) []*x509.Certificate {
	seen := [][]byte{leaf.Raw}
	out := cas[:0:0]
next:
	for _, c := range cas {
		for _, s := range seen {
			if bytes.Equal(s, c.Raw) {
				continue next
			}
		}
		seen = append(seen, c.Raw)
		out = append(out, c)
	}
	return out
}
