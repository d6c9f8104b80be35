package pki

import (
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// spec.literalSubject is an RFC 4514 string whose DER encoding becomes the
// CSR subject byte for byte, so a literal subject matches a request only when
// both were encoded the same way. The standard library prints RFC 4514 but
// cannot parse it, hence this small parser. It is the only one: issuance/
// builds CSR subjects with it and renew/ compares requests with it, so what
// is requested is exactly what is later found to match.

// subjectAttributeTypes are the attribute names cert-manager accepts in a
// literal subject, plus POSTALCODE. Anything else must be a dotted OID.
var subjectAttributeTypes = map[string]asn1.ObjectIdentifier{
	"CN":           {2, 5, 4, 3},
	"SERIALNUMBER": {2, 5, 4, 5},
	"C":            {2, 5, 4, 6},
	"L":            {2, 5, 4, 7},
	"ST":           {2, 5, 4, 8},
	"STREET":       {2, 5, 4, 9},
	"O":            {2, 5, 4, 10},
	"OU":           {2, 5, 4, 11},
	"POSTALCODE":   {2, 5, 4, 17},
	"UID":          {0, 9, 2342, 19200300, 100, 1, 1},
	"DC":           {0, 9, 2342, 19200300, 100, 1, 25},
}

// LiteralSubjectDER parses an RFC 4514 subject and returns its DER
// RDNSequence, ready for x509.CertificateRequest.RawSubject.
func LiteralSubjectDER(s string) ([]byte, error) {
	rdns, err := ParseLiteralSubject(s)
	if err != nil {
		return nil, err
	}
	der, err := asn1.Marshal(rdns)
	if err != nil {
		return nil, fmt.Errorf("encoding literal subject: %w", err)
	}
	return der, nil
}

// ParseLiteralSubject parses an RFC 4514 distinguished name. The string lists
// RDNs most specific first ("CN=a,O=b"), the sequence most general first, so
// the order is reversed. String values are encoded the way encoding/asn1 (and
// so cert-manager and crypto/x509) encodes Go strings: PrintableString when
// every character allows it, UTF8String otherwise. A "#hex" value is the BER
// of the value itself and is used verbatim.
func ParseLiteralSubject(s string) (pkix.RDNSequence, error) {
	seq := pkix.RDNSequence{}
	if strings.TrimSpace(s) == "" {
		return seq, nil
	}
	p := dnParser{in: s}
	for {
		rdn, last, err := p.rdn()
		if err != nil {
			return nil, fmt.Errorf("parsing literal subject: %w", err)
		}
		seq = append(seq, rdn)
		if last {
			break
		}
	}
	for i, j := 0, len(seq)-1; i < j; i, j = i+1, j-1 {
		seq[i], seq[j] = seq[j], seq[i]
	}
	return seq, nil
}

type dnParser struct {
	in  string
	pos int
	// attrs records each attribute as written, for LiteralSubjectAttributes.
	attrs []LiteralAttribute
	// anyType accepts attribute types it cannot resolve, for a caller that
	// judges the types itself.
	anyType bool
}

// LiteralAttribute is one type=value pair of a literal subject as written:
// the type as spelled (a name or a dotted OID), and the value unescaped
// ("#hex" values are left as written).
type LiteralAttribute struct {
	Type, Value string
}

// LiteralSubjectAttributes parses s as ParseLiteralSubject does and returns
// its attributes in the order written, so a caller can hold the spelling of
// each type to a stricter rule (cert-manager's webhook knows fewer names).
func LiteralSubjectAttributes(s string) ([]LiteralAttribute, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	p := dnParser{in: s, anyType: true}
	for {
		_, last, err := p.rdn()
		if err != nil {
			return nil, fmt.Errorf("parsing literal subject: %w", err)
		}
		if last {
			return p.attrs, nil
		}
	}
}

// valueChar is one byte of an attribute value; escaped bytes are never
// separators and never trimmed as insignificant spaces.
type valueChar struct {
	b       byte
	escaped bool
}

// rdn reads "type=value[+type=value...]" up to an unescaped ',' or ';' or the
// end of input; last is true at the end of input.
func (p *dnParser) rdn() (rdn pkix.RelativeDistinguishedNameSET, last bool, err error) {
	for {
		typ, err := p.attrType()
		if err != nil {
			return nil, false, err
		}
		val, sep, err := p.attrValue()
		if err != nil {
			return nil, false, err
		}
		atv, err := newAttribute(typ, val)
		var unknown *unknownTypeError
		if p.anyType && errors.As(err, &unknown) {
			atv, err = newAttribute("CN", val) // any known type; only the value is kept
		}
		if err != nil {
			return nil, false, err
		}
		rdn = append(rdn, atv)
		shown, ok := atv.Value.(string)
		if !ok {
			shown = "#" + hex.EncodeToString(atv.Value.(asn1.RawValue).FullBytes)
		}
		p.attrs = append(p.attrs, LiteralAttribute{Type: typ, Value: shown})
		switch sep {
		case '+':
			continue
		case 0:
			return rdn, true, nil
		default:
			return rdn, false, nil
		}
	}
}

func (p *dnParser) attrType() (string, error) {
	i := strings.IndexByte(p.in[p.pos:], '=')
	if i < 0 {
		return "", fmt.Errorf("missing '=' after %q", p.in[p.pos:])
	}
	typ := strings.TrimSpace(p.in[p.pos : p.pos+i])
	if typ == "" || strings.ContainsAny(typ, `,;+\`) {
		return "", fmt.Errorf("invalid attribute type %q", typ)
	}
	p.pos += i + 1
	return typ, nil
}

// attrValue reads an escaped value up to an unescaped separator and returns
// the separator (0 at the end of input).
func (p *dnParser) attrValue() ([]valueChar, byte, error) {
	var out []valueChar
	for p.pos < len(p.in) {
		c := p.in[p.pos]
		p.pos++
		switch c {
		case ',', ';', '+':
			return out, c, nil
		case '"', '<', '>', 0:
			return nil, 0, fmt.Errorf("character %q must be escaped", c)
		case '\\':
			b, err := p.escape()
			if err != nil {
				return nil, 0, err
			}
			out = append(out, valueChar{b: b, escaped: true})
		default:
			out = append(out, valueChar{b: c})
		}
	}
	return out, 0, nil
}

// escape decodes what follows a backslash: one special character, or two hex
// digits standing for one byte (possibly part of a UTF-8 sequence).
func (p *dnParser) escape() (byte, error) {
	if p.pos >= len(p.in) {
		return 0, errors.New("dangling escape at end of input")
	}
	if c := p.in[p.pos]; strings.IndexByte(` "#+,;<=>\`, c) >= 0 {
		p.pos++
		return c, nil
	}
	if p.pos+2 > len(p.in) {
		return 0, errors.New("truncated hex escape")
	}
	b, err := hex.DecodeString(p.in[p.pos : p.pos+2])
	if err != nil {
		return 0, fmt.Errorf("invalid escape: %w", err)
	}
	p.pos += 2
	return b[0], nil
}

func newAttribute(typ string, val []valueChar) (pkix.AttributeTypeAndValue, error) {
	oid, err := attributeOID(typ)
	if err != nil {
		return pkix.AttributeTypeAndValue{}, err
	}
	// Unescaped leading and trailing spaces are not part of the value.
	for len(val) > 0 && val[0] == (valueChar{b: ' '}) {
		val = val[1:]
	}
	for len(val) > 0 && val[len(val)-1] == (valueChar{b: ' '}) {
		val = val[:len(val)-1]
	}
	raw := make([]byte, len(val))
	for i, c := range val {
		raw[i] = c.b
	}
	if len(val) > 0 && val[0] == (valueChar{b: '#'}) {
		ber, err := hex.DecodeString(string(raw[1:]))
		if err != nil {
			return pkix.AttributeTypeAndValue{}, fmt.Errorf("%s: invalid #hex value: %w", typ, err)
		}
		var rv asn1.RawValue
		rest, err := asn1.Unmarshal(ber, &rv)
		if err != nil || len(rest) > 0 {
			return pkix.AttributeTypeAndValue{}, fmt.Errorf("%s: #hex value is not exactly one ASN.1 value", typ)
		}
		return pkix.AttributeTypeAndValue{Type: oid, Value: rv}, nil
	}
	if !utf8.Valid(raw) {
		return pkix.AttributeTypeAndValue{}, fmt.Errorf("%s: value is not valid UTF-8", typ)
	}
	return pkix.AttributeTypeAndValue{Type: oid, Value: string(raw)}, nil
}

// attributeOID resolves a known attribute name (case-insensitively) or a
// dotted-decimal OID such as 1.2.840.113549.1.9.1 (optionally "OID."-prefixed).
func attributeOID(typ string) (asn1.ObjectIdentifier, error) {
	if oid, ok := subjectAttributeTypes[strings.ToUpper(typ)]; ok {
		return oid, nil
	}
	oid, err := ParseOID(strings.TrimPrefix(strings.ToLower(typ), "oid."))
	if err != nil {
		return nil, &unknownTypeError{typ: typ, err: err}
	}
	return oid, nil
}

// unknownTypeError is an attribute type that is neither a known name nor a
// dotted OID.
type unknownTypeError struct {
	typ string
	err error
}

func (e *unknownTypeError) Error() string {
	return fmt.Sprintf("unknown attribute type %q: %v", e.typ, e.err)
}
func (e *unknownTypeError) Unwrap() error { return e.err }
