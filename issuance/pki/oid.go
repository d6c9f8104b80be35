package pki

import (
	"encoding/asn1"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ParseOID reads a dotted-decimal object identifier such as
// "1.3.6.1.4.1.311.20.2.3". It wants at least two arcs, digits only, no
// leading zeros, and a first arc of 0, 1 or 2 (with a second arc below 40
// under 0 and 1), which is what DER can encode.
func ParseOID(s string) (asn1.ObjectIdentifier, error) {
	arcs := strings.Split(s, ".")
	if len(arcs) < 2 {
		return nil, fmt.Errorf("%q is not a dotted OID", s)
	}
	oid := make(asn1.ObjectIdentifier, len(arcs))
	for i, a := range arcs {
		if a == "" || strings.Trim(a, "0123456789") != "" || (len(a) > 1 && a[0] == '0') {
			return nil, fmt.Errorf("%q is not a dotted OID", s)
		}
		n, err := strconv.Atoi(a)
		if err != nil {
			return nil, fmt.Errorf("%q is not a dotted OID: %w", s, errors.Unwrap(err))
		}
		oid[i] = n
	}
	if oid[0] > 2 || (oid[0] < 2 && oid[1] > 39) {
		return nil, fmt.Errorf("%q is not a valid OID", s)
	}
	return oid, nil
}
