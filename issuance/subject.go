package issuance

// The certificate subject: spec.literalSubject parsed as an RFC 4514 string,
// or spec.commonName plus spec.subject.*, turned into the DER Name that goes
// into the CSR (behaviour reference §4.2).

import (
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
)

// Attribute types a literal subject may name, by their RFC 4514 short names
// (matched case-insensitively). Anything else must be a dotted OID.
var subjectAttributeTypes = map[string]asn1.ObjectIdentifier{
	"CN":           {2, 5, 4, 3},
	"C":            {2, 5, 4, 6},
	"L":            {2, 5, 4, 7},
	"ST":           {2, 5, 4, 8},
	"STREET":       {2, 5, 4, 9},
	"O":            {2, 5, 4, 10},
	"OU":           {2, 5, 4, 11},
	"SERIALNUMBER": {2, 5, 4, 5},
	"POSTALCODE":   {2, 5, 4, 17},
	"DC":           {0, 9, 2342, 19200300, 100, 1, 25},
	"UID":          {0, 9, 2342, 19200300, 100, 1, 1},
}

var oidCommonName = asn1.ObjectIdentifier{2, 5, 4, 3}

// emptySubjectDER is the DER of a Name with no attributes: an empty SEQUENCE.
var emptySubjectDER = []byte{0x30, 0x00}

// subjectForCertificate returns the DER subject the CSR carries and the
// common name in it. literalSubject, when set, wins over commonName and
// subject.*, which the webhook forbids combining with it anyway.
func subjectForCertificate(crt *cmapi.Certificate) (der []byte, commonName string, err error) {
	var rdns pkix.RDNSequence
	if crt.Spec.LiteralSubject != "" {
		rdns, err = ParseLiteralSubject(crt.Spec.LiteralSubject)
		if err != nil {
			return nil, "", fmt.Errorf("parsing literalSubject: %w", err)
		}
		commonName = commonNameOf(rdns)
	} else {
		var s cmapi.X509Subject
		if crt.Spec.Subject != nil {
			s = *crt.Spec.Subject
		}
		commonName = crt.Spec.CommonName
		// pkix.Name writes its attributes in a fixed order, the same one
		// cert-manager gets by going through the same type.
		rdns = pkix.Name{
			Country:            s.Countries,
			Organization:       s.Organizations,
			OrganizationalUnit: s.OrganizationalUnits,
			Locality:           s.Localities,
			Province:           s.Provinces,
			StreetAddress:      s.StreetAddresses,
			PostalCode:         s.PostalCodes,
			SerialNumber:       s.SerialNumber,
			CommonName:         commonName,
		}.ToRDNSequence()
	}
	if rdns == nil {
		rdns = pkix.RDNSequence{}
	}
	der, err = asn1.Marshal(rdns)
	if err != nil {
		return nil, "", fmt.Errorf("encoding subject: %w", err)
	}
	return der, commonName, nil
}

// commonNameOf returns the first common name held as a plain string.
func commonNameOf(rdns pkix.RDNSequence) string {
	for _, rdn := range rdns {
		for _, atv := range rdn {
			if s, ok := atv.Value.(string); ok && atv.Type.Equal(oidCommonName) {
				return s
			}
		}
	}
	return ""
}

// ParseLiteralSubject parses an RFC 4514 distinguished name such as
// "CN=app,O=Example\, Inc.,C=DE" into the RDN sequence an X.509 Name holds.
// The string lists the most specific RDN first; X.509 stores it last, so the
// order is reversed. Multi-valued RDNs ("OU=a+OU=b"), backslash escapes
// ("\,", "\2C") and hex-encoded BER values ("#0c03616263") are understood.
// String values are encoded as PrintableString when they fit and as
// UTF8String otherwise; hex values are kept exactly as given.
func ParseLiteralSubject(s string) (pkix.RDNSequence, error) {
	p := &dnParser{in: s}
	p.skipSpaces()
	if p.done() {
		return pkix.RDNSequence{}, nil
	}

	var rdns pkix.RDNSequence
	for {
		rdn, err := p.parseRDN()
		if err != nil {
			return nil, err
		}
		rdns = append(rdns, rdn)
		if p.done() {
			break
		}
		// parseRDN stops only at the end or at a ','.
		p.pos++
	}

	for i, j := 0, len(rdns)-1; i < j; i, j = i+1, j-1 {
		rdns[i], rdns[j] = rdns[j], rdns[i]
	}
	return rdns, nil
}

// dnParser walks an RFC 4514 string byte by byte.
type dnParser struct {
	in  string
	pos int
}

func (p *dnParser) done() bool { return p.pos >= len(p.in) }

func (p *dnParser) skipSpaces() {
	for !p.done() && p.in[p.pos] == ' ' {
		p.pos++
	}
}

// parseRDN reads attributes joined by '+' up to a ',' or the end.
func (p *dnParser) parseRDN() (pkix.RelativeDistinguishedNameSET, error) {
	var rdn pkix.RelativeDistinguishedNameSET
	for {
		atv, err := p.parseAttribute()
		if err != nil {
			return nil, err
		}
		rdn = append(rdn, atv)
		if p.done() || p.in[p.pos] == ',' {
			return rdn, nil
		}
		// parseAttribute stops only at the end, a ',' or a '+'.
		p.pos++
	}
}

// parseAttribute reads one "type=value".
func (p *dnParser) parseAttribute() (pkix.AttributeTypeAndValue, error) {
	p.skipSpaces()
	start := p.pos
	if p.done() || p.in[p.pos] == ',' || p.in[p.pos] == '+' {
		return pkix.AttributeTypeAndValue{}, fmt.Errorf("empty attribute at offset %d", start)
	}
	for !p.done() && p.in[p.pos] != '=' {
		if c := p.in[p.pos]; c == ',' || c == '+' {
			return pkix.AttributeTypeAndValue{}, fmt.Errorf("attribute %q at offset %d has no '=' and no value", strings.TrimSpace(p.in[start:p.pos]), start)
		}
		p.pos++
	}
	if p.done() {
		return pkix.AttributeTypeAndValue{}, fmt.Errorf("attribute %q at offset %d has no '=' and no value", strings.TrimSpace(p.in[start:]), start)
	}
	typ, err := attributeType(strings.TrimSpace(p.in[start:p.pos]))
	if err != nil {
		return pkix.AttributeTypeAndValue{}, err
	}
	p.pos++ // the '='
	p.skipSpaces()

	var value any
	if !p.done() && p.in[p.pos] == '#' {
		value, err = p.parseHexValue()
	} else {
		value, err = p.parseStringValue()
	}
	if err != nil {
		return pkix.AttributeTypeAndValue{}, fmt.Errorf("attribute %s: %w", typ, err)
	}
	return pkix.AttributeTypeAndValue{Type: typ, Value: value}, nil
}

// attributeType resolves a short name or a dotted OID.
func attributeType(name string) (asn1.ObjectIdentifier, error) {
	if name == "" {
		return nil, errors.New("attribute with an empty type")
	}
	if oid, ok := subjectAttributeTypes[strings.ToUpper(name)]; ok {
		return oid, nil
	}
	name = strings.TrimPrefix(strings.TrimPrefix(name, "OID."), "oid.")
	oid, err := parseOID(name)
	if err != nil {
		return nil, fmt.Errorf("unknown attribute type %q: use one of CN, C, O, OU, L, ST, STREET, POSTALCODE, SERIALNUMBER, DC, UID or a dotted OID", name)
	}
	return oid, nil
}

// parseStringValue reads an escaped string value up to an unescaped ',' or
// '+'. Unescaped spaces at either end are dropped; escaped ones are kept.
func (p *dnParser) parseStringValue() (string, error) {
	var b []byte
	keep := 0 // length of b that must survive trimming of trailing spaces
	for !p.done() {
		c := p.in[p.pos]
		switch {
		case c == ',' || c == '+':
			return p.finishString(b, keep)
		case c == '\\':
			p.pos++
			if p.done() {
				return "", errors.New("value ends with an unfinished escape")
			}
			if p.pos+1 < len(p.in) && isHexDigit(p.in[p.pos]) && isHexDigit(p.in[p.pos+1]) {
				v, _ := strconv.ParseUint(p.in[p.pos:p.pos+2], 16, 8)
				b = append(b, byte(v))
				p.pos += 2
			} else {
				b = append(b, p.in[p.pos])
				p.pos++
			}
			keep = len(b)
		default:
			b = append(b, c)
			p.pos++
			if c != ' ' {
				keep = len(b)
			}
		}
	}
	return p.finishString(b, keep)
}

func (p *dnParser) finishString(b []byte, keep int) (string, error) {
	b = b[:keep]
	if !utf8.Valid(b) {
		return "", errors.New("value is not valid UTF-8")
	}
	return string(b), nil
}

// parseHexValue reads "#" followed by the hex of one BER-encoded value.
func (p *dnParser) parseHexValue() (asn1.RawValue, error) {
	p.pos++ // the '#'
	start := p.pos
	for !p.done() && isHexDigit(p.in[p.pos]) {
		p.pos++
	}
	digits := p.in[start:p.pos]
	p.skipSpaces()
	if !p.done() && p.in[p.pos] != ',' && p.in[p.pos] != '+' {
		return asn1.RawValue{}, fmt.Errorf("unexpected %q after hex value", p.in[p.pos])
	}
	der, err := hex.DecodeString(digits)
	if err != nil || len(der) == 0 {
		return asn1.RawValue{}, errors.New("hex value is not an even, non-empty run of hex digits")
	}
	var raw asn1.RawValue
	rest, err := asn1.Unmarshal(der, &raw)
	if err != nil || len(rest) != 0 {
		return asn1.RawValue{}, errors.New("hex value is not exactly one ASN.1 value")
	}
	return raw, nil
}

func isHexDigit(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// parseOID parses a dotted object identifier such as "1.3.6.1.4.1.311.20.2.3".
func parseOID(s string) (asn1.ObjectIdentifier, error) {
	parts := strings.Split(s, ".")
	if len(parts) < 2 {
		return nil, fmt.Errorf("%q is not a dotted OID", s)
	}
	oid := make(asn1.ObjectIdentifier, 0, len(parts))
	for _, part := range parts {
		if part == "" || strings.TrimLeft(part, "0123456789") != "" {
			return nil, fmt.Errorf("%q is not a dotted OID", s)
		}
		n, err := strconv.Atoi(part)
		if err != nil {
			return nil, fmt.Errorf("%q is not a dotted OID", s)
		}
		oid = append(oid, n)
	}
	if oid[0] > 2 || oid[0] < 2 && oid[1] > 39 {
		return nil, fmt.Errorf("%q is not a valid OID", s)
	}
	return oid, nil
}
