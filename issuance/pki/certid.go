package pki

import (
	"crypto/x509"
	"encoding/asn1"
	"encoding/base64"
	"errors"
	"fmt"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// ARICertID is leaf's certificate identifier for ACME Renewal Information
// (RFC 9773 §4.1): base64url of the authority key identifier, a dot, and
// base64url of the serial number's DER content octets (its two's
// complement bytes, without tag and length). Both renew/ (an order's
// "replaces") and issuance/acme (the renewalInfo URL) name a certificate
// this way, so there is one place that computes it. A leaf without an
// authority key identifier has none.
func ARICertID(leaf *x509.Certificate) (string, error) {
	switch {
	case leaf == nil:
		return "", errors.New("ARI certificate ID: no certificate")
	case len(leaf.AuthorityKeyId) == 0:
		return "", errors.New("ARI certificate ID: the certificate has no authority key identifier")
	case leaf.SerialNumber == nil:
		return "", errors.New("ARI certificate ID: the certificate has no serial number")
	}
	der, err := asn1.Marshal(leaf.SerialNumber)
	if err != nil {
		return "", fmt.Errorf("ARI certificate ID: encoding the serial number: %w", err)
	}
	// Read the INTEGER back to find its content octets, whatever the length
	// of its length field.
	var content cryptobyte.String
	in := cryptobyte.String(der)
	if !in.ReadASN1(&content, cbasn1.INTEGER) || !in.Empty() {
		return "", errors.New("ARI certificate ID: the serial number does not encode as one DER INTEGER")
	}
	enc := base64.RawURLEncoding
	return enc.EncodeToString(leaf.AuthorityKeyId) + "." + enc.EncodeToString(content), nil
}
