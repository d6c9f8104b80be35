package pki

import (
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"unicode/utf8"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
)

// OIDSubjectAltName identifies the X.509 SubjectAltName extension.
var OIDSubjectAltName = asn1.ObjectIdentifier{2, 5, 29, 17}

// CSROtherNames lists the otherName SANs of a CSR. crypto/x509 does not
// expose them, so the SubjectAltName extension is walked by hand (RFC 5280
// §4.2.1.6):
//
//	GeneralNames ::= SEQUENCE OF GeneralName
//	GeneralName  ::= CHOICE { otherName [0] IMPLICIT OtherName, ... }
//	OtherName    ::= SEQUENCE { type-id OID, value [0] EXPLICIT ANY }
//
// found is false when the CSR has no SAN extension at all. Like cert-manager,
// only UTF8String values are understood; any other value type is an error,
// because the spec can only ask for UTF8String values.
func CSROtherNames(csr *x509.CertificateRequest) (names []cmapi.OtherName, found bool, err error) {
	for _, ext := range csr.Extensions {
		if !ext.Id.Equal(OIDSubjectAltName) {
			continue
		}
		names, err := otherNamesFromSAN(ext.Value)
		return names, true, err
	}
	return nil, false, nil
}

func otherNamesFromSAN(der []byte) ([]cmapi.OtherName, error) {
	var seq asn1.RawValue
	rest, err := asn1.Unmarshal(der, &seq)
	if err != nil {
		return nil, fmt.Errorf("parsing SubjectAltName extension: %w", err)
	}
	if len(rest) > 0 || seq.Class != asn1.ClassUniversal || seq.Tag != asn1.TagSequence || !seq.IsCompound {
		return nil, errors.New("parsing SubjectAltName extension: not a single SEQUENCE")
	}

	names := []cmapi.OtherName{}
	for inner := seq.Bytes; len(inner) > 0; {
		var gn asn1.RawValue
		inner, err = asn1.Unmarshal(inner, &gn)
		if err != nil {
			return nil, fmt.Errorf("parsing SubjectAltName entry: %w", err)
		}
		if gn.Class != asn1.ClassContextSpecific || gn.Tag != 0 {
			continue // a DNS, IP, URI or email SAN; compared elsewhere
		}
		on, err := parseOtherName(gn.Bytes)
		if err != nil {
			return nil, err
		}
		names = append(names, on)
	}
	return names, nil
}

// parseOtherName decodes the contents of an [0] IMPLICIT OtherName, i.e. the
// OID followed by the [0] EXPLICIT wrapper around the value.
func parseOtherName(body []byte) (cmapi.OtherName, error) {
	var oid asn1.ObjectIdentifier
	rest, err := asn1.Unmarshal(body, &oid)
	if err != nil {
		return cmapi.OtherName{}, fmt.Errorf("parsing otherName type-id: %w", err)
	}
	var wrapper asn1.RawValue
	if _, err := asn1.Unmarshal(rest, &wrapper); err != nil {
		return cmapi.OtherName{}, fmt.Errorf("parsing otherName %s value: %w", oid, err)
	}
	if wrapper.Class != asn1.ClassContextSpecific || wrapper.Tag != 0 || !wrapper.IsCompound {
		return cmapi.OtherName{}, fmt.Errorf("otherName %s: value is not [0] EXPLICIT", oid)
	}
	var value asn1.RawValue
	if _, err := asn1.Unmarshal(wrapper.Bytes, &value); err != nil {
		return cmapi.OtherName{}, fmt.Errorf("parsing otherName %s value: %w", oid, err)
	}
	if value.Class != asn1.ClassUniversal || value.Tag != asn1.TagUTF8String {
		return cmapi.OtherName{}, fmt.Errorf("otherName %s is not a UTF8String value (tag %d)", oid, value.Tag)
	}
	return cmapi.OtherName{OID: oid.String(), UTF8Value: string(value.Bytes)}, nil
}

// MarshalOtherName encodes one otherName GeneralName for a SubjectAltName
// extension, the inverse of what CSROtherNames reads:
//
//	[0] IMPLICIT SEQUENCE { type-id OBJECT IDENTIFIER, value [0] EXPLICIT UTF8String }
func MarshalOtherName(on cmapi.OtherName) (asn1.RawValue, error) {
	oid, err := ParseOID(on.OID)
	if err != nil {
		return asn1.RawValue{}, fmt.Errorf("otherName: %w", err)
	}
	if on.UTF8Value == "" || !utf8.ValidString(on.UTF8Value) {
		return asn1.RawValue{}, fmt.Errorf("otherName %s: utf8Value must be a non-empty UTF-8 string", on.OID)
	}
	oidDER, err := asn1.Marshal(oid)
	if err != nil {
		return asn1.RawValue{}, fmt.Errorf("otherName %s: %w", on.OID, err)
	}
	str, err := asn1.Marshal(asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagUTF8String, Bytes: []byte(on.UTF8Value)})
	if err != nil {
		return asn1.RawValue{}, fmt.Errorf("otherName %s: %w", on.OID, err)
	}
	explicit, err := asn1.Marshal(asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: str})
	if err != nil {
		return asn1.RawValue{}, fmt.Errorf("otherName %s: %w", on.OID, err)
	}
	return asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: append(oidDER, explicit...)}, nil
}
