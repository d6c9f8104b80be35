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
	pemTypeNewCSR             = "NEW CERTIFICATE REQUEST" // older tools' name for the same block
	pemTypeRSAPrivateKey      = "RSA PRIVATE KEY"         // PKCS#1
	pemTypeECPrivateKey       = "EC PRIVATE KEY"          // SEC 1
	pemTypePKCS8PrivateKey    = "PRIVATE KEY"             // PKCS#8
	pemTypeECParameters       = "EC PARAMETERS"           // written by `openssl ecparam -genkey` before the key
)

// Size limits keep a hostile or corrupted object from costing much time or
// memory. They are far above anything a real key or chain needs (an
// 8192-bit RSA key is ~6.5 KiB of PEM; a long chain is a few tens of KiB).
const (
	MaxKeyPEMBytes  = 64 << 10
	MaxCertPEMBytes = 1 << 20
	MaxCSRPEMBytes  = 64 << 10
	MaxChainLength  = 32
)

// DecodePrivateKey reads the private key in data: the first PEM block that is
// not "EC PARAMETERS", as PKCS#1 ("RSA PRIVATE KEY"), SEC 1 ("EC PRIVATE
// KEY") or PKCS#8 ("PRIVATE KEY") holding an RSA, ECDSA or Ed25519 key. An
// encrypted legacy key (PEM headers) is refused: no consumer of a TLS Secret
// could use it. RSA keys are validated. Errors name the block type and the
// parser's complaint, never the bytes.
func DecodePrivateKey(data []byte) (crypto.Signer, error) {
	if len(data) > MaxKeyPEMBytes {
		return nil, fmt.Errorf("private key PEM is %d bytes, more than the %d allowed", len(data), MaxKeyPEMBytes)
	}
	rest := data
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			return nil, errors.New("error decoding private key PEM block: no PEM data found")
		}
		if block.Type == pemTypeECParameters {
			continue
		}
		return parsePrivateKeyBlock(block)
	}
}

func parsePrivateKeyBlock(block *pem.Block) (crypto.Signer, error) {
	if len(block.Headers) > 0 {
		return nil, fmt.Errorf("error decoding private key PEM block: unexpected PEM headers on %q block (encrypted keys are not supported)", Truncate(block.Type, 64))
	}
	switch block.Type {
	case pemTypePKCS8PrivateKey:
		parsed, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("error parsing pkcs#8 private key: %w", err)
		}
		switch k := parsed.(type) {
		case *rsa.PrivateKey:
			if err := k.Validate(); err != nil {
				return nil, fmt.Errorf("rsa private key failed validation: %w", err)
			}
			return k, nil
		case *ecdsa.PrivateKey:
			return k, nil
		case ed25519.PrivateKey:
			return k, nil
		default:
			return nil, fmt.Errorf("error parsing pkcs#8 private key: unsupported key type %T", parsed)
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
		return nil, fmt.Errorf("unknown private key type: %q", Truncate(block.Type, 64))
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

// DecodeCertificates reads every CERTIFICATE block of data, in order; the
// first is the leaf. Blocks of other types are skipped: tools put keys,
// parameters or CRLs next to the chain in tls.crt, and cert-manager reads
// only the certificates too. A CERTIFICATE block that does not parse is an
// error, and so is finding none at all.
//
// This is the one rule for reading a chain, used for a Secret's tls.crt and
// for what an issuer returns alike, so that a Secret judged fine by renew/ is
// never refused by issuance/ (or the other way round).
func DecodeCertificates(data []byte) ([]*x509.Certificate, error) {
	if len(data) > MaxCertPEMBytes {
		return nil, fmt.Errorf("certificate PEM is %d bytes, more than the %d allowed", len(data), MaxCertPEMBytes)
	}
	var certs []*x509.Certificate
	for rest := data; len(rest) > 0; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != PEMTypeCertificate {
			continue
		}
		if len(certs) == MaxChainLength {
			return nil, fmt.Errorf("more than %d certificates in chain", MaxChainLength)
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("error parsing certificate %d of chain: %w", len(certs)+1, err)
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		return nil, errors.New("error decoding certificate PEM block: no CERTIFICATE block found")
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

// DecodeCSR reads the first PEM block of data as a certificate request. It
// does not check the CSR's signature; signers do (see issuance's template).
func DecodeCSR(data []byte) (*x509.CertificateRequest, error) {
	if len(data) > MaxCSRPEMBytes {
		return nil, fmt.Errorf("certificate request PEM is %d bytes, more than the %d allowed", len(data), MaxCSRPEMBytes)
	}
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, errors.New("error decoding certificate request PEM block: no PEM data found")
	}
	if block.Type != PEMTypeCertificateRequest && block.Type != pemTypeNewCSR {
		return nil, fmt.Errorf("error decoding certificate request PEM block: type %q is not a certificate request", Truncate(block.Type, 64))
	}
	csr, err := x509.ParseCertificateRequest(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("error parsing certificate request: %w", err)
	}
	return csr, nil
}

// EncodeCSR writes a DER certificate request as PEM.
func EncodeCSR(der []byte) []byte {
	return pemEncode(PEMTypeCertificateRequest, der)
}
