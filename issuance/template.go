package issuance

// The certificate template built from a CertificateRequest, shared by the
// in-process signers (docs/semantics.md §7.1). The CSR says who the
// certificate is for; the request's spec says what it may do and for how long.

import (
	"crypto/x509"
	"fmt"
	"slices"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	"github.com/certsweep/certsweep/issuance/pki"
)

// certificateTemplate turns cr into an x509 template valid from now:
//   - the CSR's signature is verified; its public key and its subject bytes
//     are used unchanged;
//   - its subjectAltName and nameConstraints extensions are copied verbatim
//     (the SAN made critical exactly when the subject is empty);
//   - NotBefore is now (no backdating), NotAfter now plus spec.duration or 90 days;
//   - basicConstraints is always present with CA = spec.isCA and no path length;
//   - keyUsage and extKeyUsage come from spec.usages (defaults when empty,
//     "cert sign" added for isCA);
//   - if the CSR carries basicConstraints, keyUsage or extKeyUsage, they
//     must agree with the spec, else the request is inconsistent and refused.
//
// The serial number is left nil: crypto/x509 then draws a random positive
// serial of at most 20 octets, as RFC 5280 asks. The signature algorithm is
// left for the signer, which picks it from its own key.
func certificateTemplate(cr *cmapi.CertificateRequest, now time.Time) (*x509.Certificate, error) {
	if cr == nil {
		return nil, fmt.Errorf("no CertificateRequest given")
	}
	csr, err := pki.DecodeCSR(cr.Spec.Request)
	if err != nil {
		return nil, err
	}
	if err := csr.CheckSignature(); err != nil {
		return nil, fmt.Errorf("CSR signature is invalid: %w", err)
	}

	ku, eku, err := KeyUsages(cr.Spec.Usages, cr.Spec.IsCA)
	if err != nil {
		return nil, err
	}

	duration := cmapi.DefaultCertificateDuration
	if cr.Spec.Duration != nil {
		duration = cr.Spec.Duration.Duration
	}

	tmpl := &x509.Certificate{
		PublicKeyAlgorithm: csr.PublicKeyAlgorithm,
		PublicKey:          csr.PublicKey,
		Subject:            csr.Subject,
		RawSubject:         csr.RawSubject,

		// Informational only: the SAN extension copied below is what is written.
		DNSNames:       csr.DNSNames,
		IPAddresses:    csr.IPAddresses,
		EmailAddresses: csr.EmailAddresses,
		URIs:           csr.URIs,

		NotBefore: now,
		NotAfter:  now.Add(duration),

		BasicConstraintsValid: true,
		IsCA:                  cr.Spec.IsCA,
		MaxPathLen:            -1,

		KeyUsage:    ku,
		ExtKeyUsage: eku,
	}

	subjectEmpty := isEmptySubject(csr.RawSubject)
	for _, ext := range csr.Extensions {
		switch {
		case ext.Id.Equal(pki.OIDSubjectAltName):
			ext.Critical = subjectEmpty
			tmpl.ExtraExtensions = append(tmpl.ExtraExtensions, ext)
		case ext.Id.Equal(oidExtensionNameConstraints):
			tmpl.ExtraExtensions = append(tmpl.ExtraExtensions, ext)
		}
	}

	if err := checkCSRConstraints(csr, cr.Spec.IsCA, ku, eku); err != nil {
		return nil, err
	}
	return tmpl, nil
}

// checkCSRConstraints refuses a CSR whose own basicConstraints, keyUsage or
// extKeyUsage disagree with the request's spec. cert-manager compares the
// key usages as a pair: once either extension is present, both the bits and
// the ordered list of extended usages must match.
func checkCSRConstraints(csr *x509.CertificateRequest, isCA bool, ku x509.KeyUsage, eku []x509.ExtKeyUsage) error {
	if ext, ok := findExtension(csr.Extensions, oidExtensionBasicConstraints); ok {
		csrIsCA, err := unmarshalBasicConstraints(ext.Value)
		if err != nil {
			return fmt.Errorf("encoded CSR error: %w", err)
		}
		if csrIsCA != isCA {
			return fmt.Errorf("encoded CSR error: IsCA %v does not match expected value %v", csrIsCA, isCA)
		}
	}

	kuExt, hasKU := findExtension(csr.Extensions, oidExtensionKeyUsage)
	ekuExt, hasEKU := findExtension(csr.Extensions, oidExtensionExtendedKeyUsage)
	if !hasKU && !hasEKU {
		return nil
	}
	var csrKU x509.KeyUsage
	var csrEKU []x509.ExtKeyUsage
	if hasKU {
		var err error
		if csrKU, err = unmarshalKeyUsage(kuExt.Value); err != nil {
			return fmt.Errorf("encoded CSR error: %w", err)
		}
	}
	if hasEKU {
		var err error
		if csrEKU, _, err = unmarshalExtKeyUsage(ekuExt.Value); err != nil {
			return fmt.Errorf("encoded CSR error: %w", err)
		}
	}
	if csrKU != ku {
		return fmt.Errorf("encoded CSR error: the KeyUsages %s do not match the expected KeyUsages %s", keyUsageNames(csrKU), keyUsageNames(ku))
	}
	if !slices.Equal(csrEKU, eku) {
		return fmt.Errorf("encoded CSR error: the ExtKeyUsages %s do not match the expected ExtKeyUsages %s", extKeyUsageNames(csrEKU), extKeyUsageNames(eku))
	}
	return nil
}

// keyUsageNames lists the cert-manager names of the bits set in ku.
func keyUsageNames(ku x509.KeyUsage) []string {
	var names []string
	for bit := x509.KeyUsageDigitalSignature; bit <= x509.KeyUsageDecipherOnly; bit <<= 1 {
		if ku&bit == 0 {
			continue
		}
		name := "unknown"
		for u, b := range keyUsageBits {
			if b == bit && u != cmapi.UsageSigning {
				name = string(u)
			}
		}
		names = append(names, name)
	}
	return names
}

// extKeyUsageNames lists the cert-manager names of ekus.
func extKeyUsageNames(ekus []x509.ExtKeyUsage) []string {
	var names []string
	for _, e := range ekus {
		name := "unknown"
		for u, v := range extKeyUsages {
			if v == e && u != cmapi.UsageSMIME {
				name = string(u)
			}
		}
		names = append(names, name)
	}
	return names
}
