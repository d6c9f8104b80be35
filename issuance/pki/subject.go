package pki

import (
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// spec.literalSubject is an RFC 4514 string whose DER encoding becomes the
// CSR subject byte for byte, so a literal subject matches a request only when
// both were encoded the same way. The standard library prints RFC 4514 but
// cannot parse it, hence this small parser. It is the only one: issuance/
// builds CSR subjects with it and renew/ compares requests with it, so what
// is requested is exactly what is later found to match.
//
// It reads a string the way cert-manager v1.21 does (go-ldap v3's ParseDN,
// then pkg/util/pki's UnmarshalSubjectStringToRDNSequence and asn1.Marshal),
// quirks included, so that a Certificate cert-manager issued is found up to
// date rather than reissued once (docs/semantics.md §1.6):
//
//   - every value becomes a Go string, which encoding/asn1 writes as a
//     PrintableString when every character allows it, else as a UTF8String;
//   - a value whose first character, right after '=', is '#' is hex of a BER
//     value; only that value's contents are kept, as a string, so
//     "CN=#0c0161" (UTF8String "a") is written as PrintableString "a". Bytes
//     after the first BER value are ignored; a '#' after a space is text;
//   - only spaces (not tabs) around a type or value are insignificant, an
//     escaped backslash before a trailing space keeps that space, and a type
//     may be escaped like a value;
//   - '"', '<', '>' and NUL need no escape; invalid UTF-8 in the string is
//     read as U+FFFD, but a value made invalid by \XX escapes is refused;
//   - a pair whose type is empty ("=a=b") takes the next '=' as its end.

// subjectAttributeTypes are the attribute names cert-manager knows in a
// literal subject, spelled as it wants them (upper case).
var subjectAttributeTypes = map[string]asn1.ObjectIdentifier{
	"CN":           {2, 5, 4, 3},
	"SERIALNUMBER": {2, 5, 4, 5},
	"C":            {2, 5, 4, 6},
	"L":            {2, 5, 4, 7},
	"ST":           {2, 5, 4, 8},
	"STREET":       {2, 5, 4, 9},
	"O":            {2, 5, 4, 10},
	"OU":           {2, 5, 4, 11},
	"UID":          {0, 9, 2342, 19200300, 100, 1, 1},
	"DC":           {0, 9, 2342, 19200300, 100, 1, 25},
}

// extraAttributeTypes are read as well, although cert-manager cannot encode
// them (so its webhook refuses them, and so does renew's validation): the
// names above in any case, and POSTALCODE.
var extraAttributeTypes = map[string]asn1.ObjectIdentifier{
	"POSTALCODE": {2, 5, 4, 17},
}

// LiteralSubjectDER parses an RFC 4514 subject and returns its DER
// RDNSequence, ready for x509.CertificateRequest.RawSubject.
func LiteralSubjectDER(s string) ([]byte, error) {
	rdns, err := ParseLiteralSubject(s)
	if err != nil {
		return nil, err
	}
	return asn1.Marshal(rdns)
}

// ParseLiteralSubject parses an RFC 4514 distinguished name. The string lists
// RDNs most specific first ("CN=a,O=b"), the sequence most general first, so
// the order is reversed. It fails where cert-manager cannot build a CSR
// subject from s: a string it cannot parse, a type that is neither a name
// nor a dotted OID, a value that is not valid UTF-8.
func ParseLiteralSubject(s string) (pkix.RDNSequence, error) {
	written, err := splitLiteralSubject(s)
	if err != nil {
		return nil, fmt.Errorf("parsing literal subject: %w", err)
	}
	seq := make(pkix.RDNSequence, 0, len(written))
	for i := len(written) - 1; i >= 0; i-- {
		rdn := make(pkix.RelativeDistinguishedNameSET, 0, len(written[i]))
		for _, a := range written[i] {
			oid, err := attributeOID(a.Type)
			if err != nil {
				return nil, fmt.Errorf("parsing literal subject: %w", err)
			}
			if !utf8.ValidString(a.Value) {
				return nil, fmt.Errorf("parsing literal subject: %s: value is not valid UTF-8", a.Type)
			}
			rdn = append(rdn, pkix.AttributeTypeAndValue{Type: oid, Value: a.Value})
		}
		seq = append(seq, rdn)
	}
	// An OID may still be one DER cannot hold (one arc, a first arc above 2).
	if _, err := asn1.Marshal(seq); err != nil {
		return nil, fmt.Errorf("encoding literal subject: %w", err)
	}
	return seq, nil
}

// LiteralAttribute is one type=value pair of a literal subject as
// cert-manager's webhook sees it: the type and the value with spaces trimmed
// and escapes undone, and for a "#hex" value the contents of its BER value.
type LiteralAttribute struct {
	Type, Value string
}

// LiteralSubjectAttributes parses s as ParseLiteralSubject does and returns
// its attributes in the order written, without judging types or values, so
// a caller can hold them to its own rule (cert-manager's webhook knows fewer
// names). It fails only where go-ldap's parser fails.
func LiteralSubjectAttributes(s string) ([]LiteralAttribute, error) {
	written, err := splitLiteralSubject(s)
	if err != nil {
		return nil, fmt.Errorf("parsing literal subject: %w", err)
	}
	var out []LiteralAttribute
	for _, rdn := range written {
		out = append(out, rdn...)
	}
	return out, nil
}

// splitLiteralSubject reads s into RDNs, in the order written, each a list
// of pairs. A pair's type ends at its first unescaped '='; a pair ends at an
// unescaped '+' (same RDN), ',' or ';' (next RDN), or the end of s.
func splitLiteralSubject(s string) ([][]LiteralAttribute, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var (
		rdns    [][]LiteralAttribute
		rdn     []LiteralAttribute
		typ     string // "" until the pair's '=' has been read
		start   int
		escaped bool
	)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case escaped:
			escaped = false
		case c == '\\':
			escaped = true
		case c == '=' && typ == "":
			t, err := unescapeDN(s[start:i])
			if err != nil {
				return nil, err
			}
			typ, start = t, i+1
		case c == ',' || c == '+' || c == ';':
			if typ == "" {
				return nil, fmt.Errorf("missing '=' after %q", s[start:i])
			}
			v, err := attributeValue(typ, s[start:i])
			if err != nil {
				return nil, err
			}
			rdn = append(rdn, LiteralAttribute{Type: typ, Value: v})
			typ, start = "", i+1
			if c != '+' {
				rdns, rdn = append(rdns, rdn), nil
			}
		}
	}
	if typ == "" {
		return nil, fmt.Errorf("missing '=' after %q", s[start:])
	}
	v, err := attributeValue(typ, s[start:])
	if err != nil {
		return nil, err
	}
	return append(rdns, append(rdn, LiteralAttribute{Type: typ, Value: v})), nil
}

// attributeValue reads a value as written: "#hex" of a BER value when '#'
// comes first, else escaped text.
func attributeValue(typ, raw string) (string, error) {
	h, isHex := strings.CutPrefix(raw, "#")
	if !isHex {
		return unescapeDN(raw)
	}
	ber, err := hex.DecodeString(h)
	if err != nil {
		return "", fmt.Errorf("%s: invalid #hex value: %w", typ, err)
	}
	contents, err := berContents(ber)
	if err != nil {
		return "", fmt.Errorf("%s: #hex value is not exactly one ASN.1 value", typ)
	}
	return string(contents), nil
}

// unescapeDN trims the spaces around a type or value and undoes its
// escapes: a backslash before one of ` "#+,;<=>\` stands for that
// character, before two hex digits for that byte.
func unescapeDN(raw string) (string, error) {
	trimmed := strings.Trim(raw, " ")
	// "\ " at the end: the space was escaped, so it stays.
	if strings.HasSuffix(trimmed, `\`) && strings.HasSuffix(raw, " ") {
		trimmed += " "
	}
	in := []rune(trimmed)
	var b strings.Builder
	for i := 0; i < len(in); i++ {
		if in[i] != '\\' {
			b.WriteRune(in[i])
			continue
		}
		if i+1 >= len(in) {
			return "", errors.New("dangling escape at end of input")
		}
		if strings.ContainsRune(` "#+,;<=>\`, in[i+1]) {
			b.WriteRune(in[i+1])
			i++
			continue
		}
		if i+2 >= len(in) {
			return "", errors.New("truncated hex escape")
		}
		digits := string(in[i+1 : i+3])
		if len(digits) != 2 {
			return "", fmt.Errorf("invalid escape %q", digits)
		}
		v, err := hex.DecodeString(digits)
		if err != nil {
			return "", fmt.Errorf("invalid escape: %w", err)
		}
		b.WriteByte(v[0])
		i += 2
	}
	return b.String(), nil
}

// attributeOID resolves a type the way cert-manager does (one of its names,
// spelled exactly, or dotted decimal read arc by arc with strconv.Atoi), and
// failing that, a name in any case, POSTALCODE, or an "OID."-prefixed OID.
func attributeOID(typ string) (asn1.ObjectIdentifier, error) {
	if oid, ok := subjectAttributeTypes[typ]; ok {
		return oid, nil
	}
	if oid, ok := atoiOID(typ); ok {
		return oid, nil
	}
	upper := strings.ToUpper(typ)
	if oid, ok := subjectAttributeTypes[upper]; ok {
		return oid, nil
	}
	if oid, ok := extraAttributeTypes[upper]; ok {
		return oid, nil
	}
	if rest, ok := strings.CutPrefix(upper, "OID."); ok {
		if oid, err := ParseOID(rest); err == nil {
			return oid, nil
		}
	}
	return nil, fmt.Errorf("unknown attribute type %q: neither a known name nor a dotted OID", typ)
}

// atoiOID reads dotted decimal as cert-manager's ParseObjectIdentifier does:
// each arc is anything strconv.Atoi takes ("05", "+5"). Whether DER can
// hold the result is left to encoding/asn1, as in cert-manager.
func atoiOID(s string) (asn1.ObjectIdentifier, bool) {
	if s == "" {
		return nil, false
	}
	arcs := strings.Split(s, ".")
	oid := make(asn1.ObjectIdentifier, len(arcs))
	for i, a := range arcs {
		n, err := strconv.Atoi(a)
		if err != nil {
			return nil, false
		}
		oid[i] = n
	}
	return oid, true
}
