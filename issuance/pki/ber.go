package pki

import (
	"errors"
	"unicode/utf8"
)

// berContents reads the first BER value of b and returns what cert-manager
// makes of a literal subject's "#hex" value: go-ldap decodes it with
// github.com/go-asn1-ber/asn1-ber and keeps the packet's data, which is
//
//   - for a primitive value, its contents octets;
//   - for a constructed one, its elements one after the other, each written
//     again with a short identifier and a minimal definite length (an
//     indefinite length is closed by its end-of-contents, which is dropped).
//
// Bytes after the first value are ignored. It fails where that decoder
// fails: a truncated header, length or value; a length byte 0xff, a long
// length of more than 8 bytes or below -1; an indefinite primitive; a
// constructed value whose elements overrun its length, or that holds an
// end-of-contents when its length is definite; a high tag starting with a
// zero septet or longer than 9 bytes; and, for UNIVERSAL primitives, a
// UTF8String that is not UTF-8, or a PrintableString or IA5String with a
// character those types forbid. (That decoder also checks REAL and
// GeneralizedTime contents; those are taken as they are here.)
func berContents(b []byte) ([]byte, error) {
	_, data, _, err := readBER(b)
	return data, err
}

// berIdentifier is a BER value's class and form bits (the top three bits of
// its first byte) and its tag number.
type berIdentifier struct {
	classAndForm byte
	tag          uint64
}

const (
	berConstructed   = 0x20
	berClassMask     = 0xc0
	berIndefinite    = -1
	berTagUTF8       = 12
	berTagPrintable  = 19
	berTagIA5        = 22
	berHighTagMarker = 0x1f
)

var errBERTruncated = errors.New("BER value truncated")

// readBER reads one value from the start of b: its identifier, its data (as
// berContents describes it) and how many bytes of b it took.
func readBER(b []byte) (id berIdentifier, data []byte, used int, err error) {
	id, length, used, err := readBERHeader(b)
	if err != nil {
		return id, nil, 0, err
	}
	if id.classAndForm&berConstructed != 0 {
		read := 0
		for {
			if length != berIndefinite {
				if read == length {
					return id, data, used, nil
				}
				if read > length {
					return id, nil, 0, errors.New("BER elements overrun their length")
				}
			}
			child, childData, n, err := readBER(b[used:])
			if err != nil {
				return id, nil, 0, err
			}
			used += n
			read += n
			if child.classAndForm == 0 && child.tag == 0 && len(childData) == 0 {
				if length == berIndefinite {
					return id, data, used, nil
				}
				return id, nil, 0, errors.New("BER end-of-contents inside a definite length")
			}
			data = appendBERHeader(data, child, len(childData))
			data = append(data, childData...)
		}
	}
	if length > len(b)-used {
		return id, nil, 0, errBERTruncated
	}
	data = b[used : used+length]
	used += length
	if id.classAndForm&berClassMask == 0 && !universalStringOK(id.tag, data) {
		return id, nil, 0, errors.New("BER string holds characters its type forbids")
	}
	return id, data, used, nil
}

// readBERHeader reads an identifier and a length.
func readBERHeader(b []byte) (id berIdentifier, length, used int, err error) {
	if len(b) == 0 {
		return id, 0, 0, errBERTruncated
	}
	id.classAndForm = b[0] &^ berHighTagMarker
	id.tag = uint64(b[0] & berHighTagMarker)
	used = 1
	if id.tag == berHighTagMarker {
		id.tag = 0
		for septets := 1; ; septets++ {
			if used >= len(b) {
				return id, 0, 0, errBERTruncated
			}
			c := b[used]
			used++
			id.tag = id.tag<<7 | uint64(c&0x7f)
			if septets == 1 && id.tag == 0 {
				return id, 0, 0, errors.New("BER high tag starts with a zero septet")
			}
			if septets > 9 {
				return id, 0, 0, errors.New("BER high tag too long")
			}
			if c&0x80 == 0 {
				break
			}
		}
	}
	if used >= len(b) {
		return id, 0, 0, errBERTruncated
	}
	c := b[used]
	used++
	switch {
	case c == 0xff:
		return id, 0, 0, errors.New("BER length byte 0xff")
	case c == 0x80:
		length = berIndefinite
	case c&0x80 == 0:
		length = int(c)
	default:
		n := int(c & 0x7f)
		if n > 8 {
			return id, 0, 0, errors.New("BER length too long")
		}
		if used+n > len(b) {
			return id, 0, 0, errBERTruncated
		}
		var v int64
		for _, d := range b[used : used+n] {
			v = v<<8 | int64(d)
		}
		used += n
		// Eight bytes can make a negative number; -1 then reads as the
		// indefinite form, as it does in asn1-ber.
		if v < berIndefinite {
			return id, 0, 0, errors.New("BER length negative")
		}
		length = int(v)
	}
	if length == berIndefinite && id.classAndForm&berConstructed == 0 {
		return id, 0, 0, errors.New("BER indefinite length on a primitive value")
	}
	return id, length, used, nil
}

// appendBERHeader writes an identifier and a minimal definite length.
func appendBERHeader(dst []byte, id berIdentifier, length int) []byte {
	if id.tag < berHighTagMarker {
		dst = append(dst, id.classAndForm|byte(id.tag))
	} else {
		dst = append(dst, id.classAndForm|berHighTagMarker)
		var septets []byte
		for t := id.tag; t > 0; t >>= 7 {
			septets = append(septets, byte(t&0x7f))
		}
		for i := len(septets) - 1; i >= 0; i-- {
			s := septets[i]
			if i > 0 {
				s |= 0x80
			}
			dst = append(dst, s)
		}
	}
	if length < 0x80 {
		return append(dst, byte(length))
	}
	var digits []byte
	for l := length; l > 0; l >>= 8 {
		digits = append(digits, byte(l))
	}
	dst = append(dst, 0x80|byte(len(digits)))
	for i := len(digits) - 1; i >= 0; i-- {
		dst = append(dst, digits[i])
	}
	return dst
}

// universalStringOK applies asn1-ber's checks on UNIVERSAL string contents.
func universalStringOK(tag uint64, data []byte) bool {
	switch tag {
	case berTagUTF8:
		return utf8.Valid(data)
	case berTagPrintable:
		for _, c := range data {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == ' ' ||
				c == '\'' || c == '(' || c == ')' || c == '+' || c == ',' || c == '-' || c == '.' ||
				c == '/' || c == ':' || c == '=' || c == '?') {
				return false
			}
		}
	case berTagIA5:
		for _, c := range data {
			if c >= 0x7f {
				return false
			}
		}
	}
	return true
}
