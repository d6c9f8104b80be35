package pki

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
)

// PEM block types certsweep reads and writes.
const (
	PEMTypeCertificate        = "CERTIFICATE"
	PEMTypeCertificateRequest = "CERTIFICATE REQUEST"
	pemTypeRSAPrivateKey      = "RSA PRIVATE KEY" // PKCS#1
	pemTypeECPrivateKey       = "EC PRIVATE KEY"  // SEC 1
	pemTypePKCS8PrivateKey    = "PRIVATE KEY"     // PKCS#8
)

// Size limits keep a hostile or corrupted object from costing much time or
// memory. They are cert-manager's defaults (internal/pem), so that the same
// Secret is judged the same way by both: a private key of at most 13,000
// bytes of PEM, a CSR of at most 36,500, and a certificate chain (a Secret's
// tls.crt, what an issuer returns, a CA's certificates) of at most 330,000.
const (
	MaxKeyPEMBytes  = 13000
	MaxCSRPEMBytes  = 36500
	MaxCertPEMBytes = 330000
)

// The decoders' errors are cert-manager's words (pkg/util/pki/parse.go and
// internal/pem), since they end up in conditions: "Issuing certificate as
// Secret contains invalid private key data: <error>" and the like.
var errNoPEMData = errors.New("no PEM data was found in given input")

func errPEMTooLarge(limit int) error {
	return fmt.Errorf("provided PEM data was larger than the maximum %dB", limit)
}

// DecodePrivateKey reads the private key in the first PEM block of data, as
// PKCS#1 ("RSA PRIVATE KEY"), SEC 1 ("EC PRIVATE KEY") or PKCS#8 ("PRIVATE
// KEY") holding an RSA, ECDSA or Ed25519 key. Any other first block (an "EC
// PARAMETERS" block as `openssl ecparam -genkey` writes it, an encrypted
// PKCS#8 key) is refused, and so is a legacy encrypted key, whose body does
// not parse; PEM headers are otherwise ignored. RSA keys are validated.
// Errors name the block type and the parser's complaint, never the bytes.
func DecodePrivateKey(data []byte) (crypto.Signer, error) {
	if len(data) > MaxKeyPEMBytes {
		return nil, fmt.Errorf("error decoding private key PEM block: %w", errPEMTooLarge(MaxKeyPEMBytes))
	}
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, fmt.Errorf("error decoding private key PEM block: %w", errNoPEMData)
	}
	return parsePrivateKeyBlock(block)
}

func parsePrivateKeyBlock(block *pem.Block) (crypto.Signer, error) {
	switch block.Type {
	case pemTypePKCS8PrivateKey:
		// crypto/x509 validates RSA keys as it parses them.
		parsed, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("error parsing pkcs#8 private key: %w", err)
		}
		switch k := parsed.(type) {
		case *rsa.PrivateKey:
			return k, nil
		case *ecdsa.PrivateKey:
			return k, nil
		case ed25519.PrivateKey:
			return k, nil
		default:
			// An X25519 key, say: it cannot sign.
			return nil, errors.New("error parsing pkcs#8 private key: invalid key type")
		}
	case pemTypeECPrivateKey:
		k, err := x509.ParseECPrivateKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("error parsing ecdsa private key: %w", err)
		}
		return k, nil
	case pemTypeRSAPrivateKey:
		k, err := x509.ParsePKCS1PrivateKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("error parsing rsa private key: %w", err)
		}
		if err := k.Validate(); err != nil {
			return nil, fmt.Errorf("rsa private key failed validation: %w", err)
		}
		return k, nil
	default:
		// The type is cut short only when absurdly long, to keep the
		// condition writable; cert-manager quotes it whole.
		return nil, fmt.Errorf("unknown private key type: %s", Truncate(block.Type, 64))
	}
}

// EncodePrivateKey writes key as PEM in the encoding spec.privateKey.encoding
// names. PKCS1, the default, means the algorithm's traditional form: RSA keys
// as "RSA PRIVATE KEY" and ECDSA keys as SEC 1 "EC PRIVATE KEY". Ed25519 has
// no such form and is written as PKCS#8 either way, as cert-manager does.
func EncodePrivateKey(key crypto.Signer, enc cmapi.PrivateKeyEncoding) ([]byte, error) {
	if key == nil {
		return nil, errors.New("cannot encode a nil private key")
	}
	switch enc {
	case "", cmapi.PKCS1:
		switch k := key.(type) {
		case *rsa.PrivateKey:
			return pemEncode(pemTypeRSAPrivateKey, x509.MarshalPKCS1PrivateKey(k)), nil
		case *ecdsa.PrivateKey:
			der, err := x509.MarshalECPrivateKey(k)
			if err != nil {
				return nil, fmt.Errorf("encoding ECDSA private key: %w", err)
			}
			return pemEncode(pemTypeECPrivateKey, der), nil
		case ed25519.PrivateKey, *ed25519.PrivateKey:
			return encodePKCS8(key)
		default:
			return nil, fmt.Errorf("private key type %T is not supported", key)
		}
	case cmapi.PKCS8:
		return encodePKCS8(key)
	default:
		return nil, fmt.Errorf("private key encoding %q is not supported: must be PKCS1 or PKCS8", enc)
	}
}

func encodePKCS8(key crypto.Signer) ([]byte, error) {
	if p, ok := key.(*ed25519.PrivateKey); ok {
		key = *p
	}
	switch key.(type) {
	case *rsa.PrivateKey, *ecdsa.PrivateKey, ed25519.PrivateKey:
	default:
		return nil, fmt.Errorf("private key type %T is not supported", key)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("encoding %T as PKCS#8: %w", key, err)
	}
	return pemEncode(pemTypePKCS8PrivateKey, der), nil
}

func pemEncode(blockType string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: blockType, Bytes: der})
}

// DecodeCertificates reads every PEM block of data as a certificate, in
// order; the first is the leaf. As in cert-manager, a block of another type
// (a key, a CRL) is a certificate that does not parse, text around the
// blocks is ignored, and finding no block at all is an error.
//
// This is the one rule for reading a chain, used for a Secret's tls.crt and
// for what an issuer returns alike, so that a Secret judged fine by renew/ is
// never refused by issuance/ (or the other way round).
func DecodeCertificates(data []byte) ([]*x509.Certificate, error) {
	if len(data) > MaxCertPEMBytes {
		return nil, errPEMTooLarge(MaxCertPEMBytes)
	}
	var certs []*x509.Certificate
	for rest := data; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("error parsing X.509 certificate: %w", err)
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		return nil, errors.New("error decoding certificate PEM block: no valid certificates found")
	}
	return certs, nil
}

// EncodeCertificates writes certs as consecutive PEM CERTIFICATE blocks.
func EncodeCertificates(certs ...*x509.Certificate) []byte {
	var buf bytes.Buffer
	for _, c := range certs {
		_ = pem.Encode(&buf, &pem.Block{Type: PEMTypeCertificate, Bytes: c.Raw})
	}
	return buf.Bytes()
}

// DecodeCSR reads the first PEM block of data, whatever its type, as a
// certificate request. A request that does not parse is refused with the
// parser's own words, as cert-manager refuses it. The CSR's signature is not
// checked here; signers do (see issuance's template).
func DecodeCSR(data []byte) (*x509.CertificateRequest, error) {
	if len(data) > MaxCSRPEMBytes {
		return nil, fmt.Errorf("error decoding certificate request PEM block: %w", errPEMTooLarge(MaxCSRPEMBytes))
	}
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, fmt.Errorf("error decoding certificate request PEM block: %w", errNoPEMData)
	}
	return x509.ParseCertificateRequest(block.Bytes)
}

// EncodeCSR writes a DER certificate request as PEM.
func EncodeCSR(der []byte) []byte {
	return pemEncode(PEMTypeCertificateRequest, der)
}
