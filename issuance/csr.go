package issuance

// The certificate signing request for a Certificate, built as cert-manager's
// request manager builds it (docs/semantics.md §4.2).

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	"github.com/certsweep/certsweep/issuance/pki"
)

// signatureAlgorithms maps spec.signatureAlgorithm to crypto/x509's values.
var signatureAlgorithms = map[cmapi.SignatureAlgorithm]x509.SignatureAlgorithm{
	cmapi.SHA256WithRSA:   x509.SHA256WithRSA,
	cmapi.SHA384WithRSA:   x509.SHA384WithRSA,
	cmapi.SHA512WithRSA:   x509.SHA512WithRSA,
	cmapi.ECDSAWithSHA256: x509.ECDSAWithSHA256,
	cmapi.ECDSAWithSHA384: x509.ECDSAWithSHA384,
	cmapi.ECDSAWithSHA512: x509.ECDSAWithSHA512,
	cmapi.PureEd25519:     x509.PureEd25519,
}

// BuildCSR makes the PEM CSR for crt, signed by key:
//   - subject: spec.literalSubject, or spec.commonName plus spec.subject.*;
//   - subjectAltName with DNS names, emails, IPs, URIs and otherNames,
//     critical when the subject is empty;
//   - keyUsage and extKeyUsage from spec.usages (defaults when empty, "cert
//     sign" added for isCA), unless spec.encodeUsagesInRequest is false;
//   - nameConstraints when spec.nameConstraints holds anything.
//
// Like cert-manager it writes no basicConstraints (that is behind an alpha
// gate there). The signature algorithm is spec.signatureAlgorithm, or the
// one the key's type and size call for.
func BuildCSR(crt *cmapi.Certificate, key crypto.Signer) ([]byte, error) {
	if crt == nil || key == nil {
		return nil, errors.New("a Certificate and a private key are required to build a CSR")
	}

	subject, commonName, err := subjectForCertificate(crt)
	if err != nil {
		return nil, err
	}
	sans, err := sansForCertificate(crt)
	if err != nil {
		return nil, err
	}
	if commonName == "" && sans.empty() {
		return nil, errors.New("at least one of commonName (from the commonName field or from a literalSubject), dnsNames, emailSANs, ipAddresses, otherNames, or uriSANs must be set")
	}

	sigAlg, err := csrSignatureAlgorithm(crt.Spec.SignatureAlgorithm, key)
	if err != nil {
		return nil, err
	}

	var exts []pkix.Extension
	if !sans.empty() {
		ext, err := marshalSANs(sans, isEmptySubject(subject))
		if err != nil {
			return nil, err
		}
		exts = append(exts, ext)
	}

	if crt.Spec.EncodeUsagesInRequest == nil || *crt.Spec.EncodeUsagesInRequest {
		ku, ekus, err := KeyUsages(crt.Spec.Usages, crt.Spec.IsCA)
		if err != nil {
			return nil, err
		}
		if ku != 0 {
			ext, err := marshalKeyUsage(ku)
			if err != nil {
				return nil, err
			}
			exts = append(exts, ext)
		}
		if len(ekus) > 0 {
			ext, err := marshalExtKeyUsage(ekus)
			if err != nil {
				return nil, err
			}
			exts = append(exts, ext)
		}
	}

	if ext, ok, err := marshalNameConstraints(crt.Spec.NameConstraints); err != nil {
		return nil, err
	} else if ok {
		exts = append(exts, ext)
	}

	template := &x509.CertificateRequest{
		SignatureAlgorithm: sigAlg,
		RawSubject:         subject,
		ExtraExtensions:    exts,
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, template, key)
	if err != nil {
		return nil, fmt.Errorf("signing the CSR: %w", err)
	}
	// crypto/x509 writes some values it cannot read back (a URI such as
	// "http://[::1"); no signer could read such a request either, so it is
	// refused here, before anything is created with it.
	if _, err := x509.ParseCertificateRequest(der); err != nil {
		return nil, fmt.Errorf("the CSR built from the spec cannot be read back: %w", err)
	}
	return pki.EncodeCSR(der), nil
}

func isEmptySubject(der []byte) bool {
	return bytes.Equal(der, emptySubjectDER)
}

// csrSignatureAlgorithm picks the CSR's signature algorithm: the one the
// spec names, which must suit the key, or else the one for the key.
func csrSignatureAlgorithm(spec cmapi.SignatureAlgorithm, key crypto.Signer) (x509.SignatureAlgorithm, error) {
	byKey, err := signatureAlgorithmForKey(key.Public())
	if err != nil {
		return x509.UnknownSignatureAlgorithm, err
	}
	if spec == "" {
		return byKey, nil
	}
	alg, ok := signatureAlgorithms[spec]
	if !ok {
		return x509.UnknownSignatureAlgorithm, fmt.Errorf("signature algorithm %q is not supported", spec)
	}
	if publicKeyAlgorithmOf(alg) != publicKeyAlgorithmOf(byKey) {
		return x509.UnknownSignatureAlgorithm, fmt.Errorf("signature algorithm %q cannot be used with a %s key", spec, keyTypeName(key.Public()))
	}
	return alg, nil
}

// signatureAlgorithmForKey is the signature algorithm cert-manager uses for
// a key: RSA with SHA-256 below 3072 bits, SHA-384 from 3072, SHA-512 from
// 4096; ECDSA with the hash matching the curve; Ed25519 pure.
func signatureAlgorithmForKey(pub crypto.PublicKey) (x509.SignatureAlgorithm, error) {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		switch bits := k.N.BitLen(); {
		case bits >= 4096:
			return x509.SHA512WithRSA, nil
		case bits >= 3072:
			return x509.SHA384WithRSA, nil
		case bits >= 2048:
			return x509.SHA256WithRSA, nil
		default:
			return x509.UnknownSignatureAlgorithm, fmt.Errorf("RSA key of %d bits is too small: at least 2048 bits are required", bits)
		}
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256():
			return x509.ECDSAWithSHA256, nil
		case elliptic.P384():
			return x509.ECDSAWithSHA384, nil
		case elliptic.P521():
			return x509.ECDSAWithSHA512, nil
		default:
			return x509.UnknownSignatureAlgorithm, errors.New("ECDSA key on an unsupported curve: must be P-256, P-384 or P-521")
		}
	case ed25519.PublicKey:
		return x509.PureEd25519, nil
	default:
		return x509.UnknownSignatureAlgorithm, fmt.Errorf("public key type %T is not supported", pub)
	}
}

func publicKeyAlgorithmOf(alg x509.SignatureAlgorithm) x509.PublicKeyAlgorithm {
	switch alg {
	case x509.SHA256WithRSA, x509.SHA384WithRSA, x509.SHA512WithRSA:
		return x509.RSA
	case x509.ECDSAWithSHA256, x509.ECDSAWithSHA384, x509.ECDSAWithSHA512:
		return x509.ECDSA
	case x509.PureEd25519:
		return x509.Ed25519
	default:
		return x509.UnknownPublicKeyAlgorithm
	}
}

func keyTypeName(pub crypto.PublicKey) string {
	switch pub.(type) {
	case *rsa.PublicKey:
		return "RSA"
	case *ecdsa.PublicKey:
		return "ECDSA"
	case ed25519.PublicKey:
		return "Ed25519"
	default:
		return fmt.Sprintf("%T", pub)
	}
}
