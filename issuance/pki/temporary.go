package pki

import (
	"bytes"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
)

// The temporary certificate cert-manager's issuing controller puts in a
// Secret, while the real one is awaited, for a Certificate annotated
// cert-manager.io/issue-temporary-certificate: "true"
// (pkg/util/pki/temporarycertificate.go, docs/semantics.md §4.8). It is
// signed by a throw-away CA of this common name, and its subject carries
// this serial number.
const (
	TemporaryIssuerCommonName    = "cert-manager.local"
	TemporarySubjectSerialNumber = "1234567890"
)

var (
	oidTemporaryCommonName = asn1.ObjectIdentifier{2, 5, 4, 3}
	oidSubjectSerialNumber = asn1.ObjectIdentifier{2, 5, 4, 5}
)

// SignedByTemporaryCA reports whether leaf was signed by a throw-away CA
// of the kind temporary certificates are signed by: an issuer name of
// exactly one attribute, the common name cert-manager.local, and a leaf
// that is not its own issuer.
func SignedByTemporaryCA(leaf *x509.Certificate) bool {
	if leaf == nil || leaf.Issuer.CommonName != TemporaryIssuerCommonName || bytes.Equal(leaf.RawIssuer, leaf.RawSubject) {
		return false
	}
	var issuer pkix.RDNSequence
	if rest, err := asn1.Unmarshal(leaf.RawIssuer, &issuer); err != nil || len(rest) > 0 {
		return false
	}
	if len(issuer) != 1 || len(issuer[0]) != 1 {
		return false
	}
	atv := issuer[0][0]
	cn, ok := atv.Value.(string)
	return ok && atv.Type.Equal(oidTemporaryCommonName) && cn == TemporaryIssuerCommonName
}

// HasTemporarySerialNumber reports whether leaf's subject carries the
// serial number attribute temporary certificates are marked with.
func HasTemporarySerialNumber(leaf *x509.Certificate) bool {
	return leaf != nil && leaf.Subject.SerialNumber == TemporarySubjectSerialNumber
}

// WithTemporarySerialNumber returns the DER subject rawSubject with its
// serial number attribute set to TemporarySubjectSerialNumber: any serial
// number it had is dropped and the marker appended as an RDN of its own,
// where crypto/x509 writes a pkix.Name's serial number. The other
// attributes keep their order and their encoding, byte for byte.
func WithTemporarySerialNumber(rawSubject []byte) ([]byte, error) {
	var rdns []rawRDNSET
	if rest, err := asn1.Unmarshal(rawSubject, &rdns); err != nil {
		return nil, err
	} else if len(rest) > 0 {
		return nil, errors.New("trailing data after the subject")
	}
	out := []rawRDNSET{}
	for _, rdn := range rdns {
		var kept rawRDNSET
		for _, atv := range rdn {
			if !atv.Type.Equal(oidSubjectSerialNumber) {
				kept = append(kept, atv)
			}
		}
		if len(kept) > 0 {
			out = append(out, kept)
		}
	}
	serial, err := asn1.MarshalWithParams(TemporarySubjectSerialNumber, "printable")
	if err != nil {
		return nil, err
	}
	out = append(out, rawRDNSET{{Type: oidSubjectSerialNumber, Value: asn1.RawValue{FullBytes: serial}}})
	return asn1.Marshal(out)
}

// rawATV is an attribute of a name with its value left as encoded, and
// rawRDNSET one relative name (a SET, as its type's name tells
// encoding/asn1).
type (
	rawATV struct {
		Type  asn1.ObjectIdentifier
		Value asn1.RawValue
	}
	rawRDNSET []rawATV
)
