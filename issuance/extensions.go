package issuance

// DER encodings of the X.509 extensions a CSR carries and a signer checks:
// subjectAltName, keyUsage, extKeyUsage, basicConstraints and nameConstraints
// (RFC 5280 §4.2.1). crypto/x509 writes these only for certificates, not for
// requests, and cannot write otherName SANs at all, so they are built here.

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"unicode/utf8"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	"github.com/certsweep/certsweep/issuance/pki"
)

var (
	oidExtensionKeyUsage         = asn1.ObjectIdentifier{2, 5, 29, 15}
	oidExtensionBasicConstraints = asn1.ObjectIdentifier{2, 5, 29, 19}
	oidExtensionNameConstraints  = asn1.ObjectIdentifier{2, 5, 29, 30}
	oidExtensionExtendedKeyUsage = asn1.ObjectIdentifier{2, 5, 29, 37}
)

// extKeyUsageOIDs are the OIDs of crypto/x509's ExtKeyUsage values, which
// the standard library keeps private.
var extKeyUsageOIDs = map[x509.ExtKeyUsage]asn1.ObjectIdentifier{
	x509.ExtKeyUsageAny:                            {2, 5, 29, 37, 0},
	x509.ExtKeyUsageServerAuth:                     {1, 3, 6, 1, 5, 5, 7, 3, 1},
	x509.ExtKeyUsageClientAuth:                     {1, 3, 6, 1, 5, 5, 7, 3, 2},
	x509.ExtKeyUsageCodeSigning:                    {1, 3, 6, 1, 5, 5, 7, 3, 3},
	x509.ExtKeyUsageEmailProtection:                {1, 3, 6, 1, 5, 5, 7, 3, 4},
	x509.ExtKeyUsageIPSECEndSystem:                 {1, 3, 6, 1, 5, 5, 7, 3, 5},
	x509.ExtKeyUsageIPSECTunnel:                    {1, 3, 6, 1, 5, 5, 7, 3, 6},
	x509.ExtKeyUsageIPSECUser:                      {1, 3, 6, 1, 5, 5, 7, 3, 7},
	x509.ExtKeyUsageTimeStamping:                   {1, 3, 6, 1, 5, 5, 7, 3, 8},
	x509.ExtKeyUsageOCSPSigning:                    {1, 3, 6, 1, 5, 5, 7, 3, 9},
	x509.ExtKeyUsageMicrosoftServerGatedCrypto:     {1, 3, 6, 1, 4, 1, 311, 10, 3, 3},
	x509.ExtKeyUsageNetscapeServerGatedCrypto:      {2, 16, 840, 1, 113730, 4, 1},
	x509.ExtKeyUsageMicrosoftCommercialCodeSigning: {1, 3, 6, 1, 4, 1, 311, 2, 1, 22},
	x509.ExtKeyUsageMicrosoftKernelCodeSigning:     {1, 3, 6, 1, 4, 1, 311, 61, 1, 1},
}

// GeneralName CHOICE tags (RFC 5280 §4.2.1.6).
const (
	generalNameOther = 0
	generalNameEmail = 1
	generalNameDNS   = 2
	generalNameURI   = 6
	generalNameIP    = 7
)

// subjectAltNames is what a Certificate asks for in its SAN extension.
type subjectAltNames struct {
	DNSNames   []string
	Emails     []string
	IPs        []net.IP
	URIs       []string
	OtherNames []cmapi.OtherName
}

func (s subjectAltNames) empty() bool {
	return len(s.DNSNames) == 0 && len(s.Emails) == 0 && len(s.IPs) == 0 &&
		len(s.URIs) == 0 && len(s.OtherNames) == 0
}

// sansForCertificate collects the SANs from a Certificate's spec.
func sansForCertificate(crt *cmapi.Certificate) (subjectAltNames, error) {
	ips, err := parseIPs(crt.Spec.IPAddresses)
	if err != nil {
		return subjectAltNames{}, err
	}
	return subjectAltNames{
		DNSNames:   crt.Spec.DNSNames,
		Emails:     crt.Spec.EmailAddresses,
		IPs:        ips,
		URIs:       crt.Spec.URIs,
		OtherNames: crt.Spec.OtherNames,
	}, nil
}

func parseIPs(in []string) ([]net.IP, error) {
	var out []net.IP
	for _, s := range in {
		addr, err := netip.ParseAddr(s)
		if err != nil || addr.Zone() != "" {
			return nil, fmt.Errorf("invalid IP address %q", s)
		}
		out = append(out, net.IP(addr.AsSlice()))
	}
	return out, nil
}

// marshalSANs encodes the subjectAltName extension. The order follows
// crypto/x509 and cert-manager: DNS names, emails, IPs, URIs, then
// otherNames. RFC 5280 requires the extension to be critical when the
// subject is empty.
func marshalSANs(sans subjectAltNames, subjectEmpty bool) (pkix.Extension, error) {
	var names []asn1.RawValue
	addIA5 := func(tag int, kind, v string) error {
		if !isIA5(v) {
			return fmt.Errorf("%s %q cannot be encoded: only ASCII characters are allowed", kind, v)
		}
		names = append(names, asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: tag, Bytes: []byte(v)})
		return nil
	}
	for _, v := range sans.DNSNames {
		if err := addIA5(generalNameDNS, "DNS name", v); err != nil {
			return pkix.Extension{}, err
		}
	}
	for _, v := range sans.Emails {
		if err := addIA5(generalNameEmail, "email address", v); err != nil {
			return pkix.Extension{}, err
		}
	}
	for _, ip := range sans.IPs {
		if v4 := ip.To4(); v4 != nil {
			ip = v4
		}
		names = append(names, asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: generalNameIP, Bytes: ip})
	}
	for _, v := range sans.URIs {
		if err := addIA5(generalNameURI, "URI", v); err != nil {
			return pkix.Extension{}, err
		}
	}
	for _, on := range sans.OtherNames {
		raw, err := pki.MarshalOtherName(on)
		if err != nil {
			return pkix.Extension{}, err
		}
		names = append(names, raw)
	}

	der, err := asn1.Marshal(names)
	if err != nil {
		return pkix.Extension{}, fmt.Errorf("encoding subjectAltName: %w", err)
	}
	return pkix.Extension{Id: pki.OIDSubjectAltName, Critical: subjectEmpty, Value: der}, nil
}

func isIA5(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// marshalKeyUsage encodes the keyUsage extension, always critical. The bits
// are numbered from the most significant bit of the first byte, and trailing
// zero bits are left out as DER requires.
func marshalKeyUsage(ku x509.KeyUsage) (pkix.Extension, error) {
	bits := []byte{reverseBits(byte(ku)), reverseBits(byte(ku >> 8))}
	if bits[1] == 0 {
		bits = bits[:1]
	}
	length := len(bits) * 8
	for length > 0 && bits[(length-1)/8]&(0x80>>((length-1)%8)) == 0 {
		length--
	}
	der, err := asn1.Marshal(asn1.BitString{Bytes: bits, BitLength: length})
	if err != nil {
		return pkix.Extension{}, fmt.Errorf("encoding keyUsage: %w", err)
	}
	return pkix.Extension{Id: oidExtensionKeyUsage, Critical: true, Value: der}, nil
}

func reverseBits(b byte) byte {
	var r byte
	for range 8 {
		r = r<<1 | b&1
		b >>= 1
	}
	return r
}

// unmarshalKeyUsage reads a keyUsage extension's value.
func unmarshalKeyUsage(der []byte) (x509.KeyUsage, error) {
	var bits asn1.BitString
	rest, err := asn1.Unmarshal(der, &bits)
	if err != nil || len(rest) != 0 {
		return 0, errors.New("malformed keyUsage extension")
	}
	var ku x509.KeyUsage
	for i := range 9 {
		if bits.At(i) != 0 {
			ku |= 1 << i
		}
	}
	return ku, nil
}

// marshalExtKeyUsage encodes the extKeyUsage extension, not critical.
func marshalExtKeyUsage(ekus []x509.ExtKeyUsage) (pkix.Extension, error) {
	oids := make([]asn1.ObjectIdentifier, 0, len(ekus))
	for _, u := range ekus {
		oid, ok := extKeyUsageOIDs[u]
		if !ok {
			return pkix.Extension{}, fmt.Errorf("extended key usage %d has no known OID", u)
		}
		oids = append(oids, oid)
	}
	der, err := asn1.Marshal(oids)
	if err != nil {
		return pkix.Extension{}, fmt.Errorf("encoding extKeyUsage: %w", err)
	}
	return pkix.Extension{Id: oidExtensionExtendedKeyUsage, Value: der}, nil
}

// unmarshalExtKeyUsage reads an extKeyUsage extension's value. OIDs that
// crypto/x509 has no name for are returned separately.
func unmarshalExtKeyUsage(der []byte) ([]x509.ExtKeyUsage, []asn1.ObjectIdentifier, error) {
	var oids []asn1.ObjectIdentifier
	rest, err := asn1.Unmarshal(der, &oids)
	if err != nil || len(rest) != 0 {
		return nil, nil, errors.New("malformed extKeyUsage extension")
	}
	var known []x509.ExtKeyUsage
	var unknown []asn1.ObjectIdentifier
next:
	for _, oid := range oids {
		for u, o := range extKeyUsageOIDs {
			if o.Equal(oid) {
				known = append(known, u)
				continue next
			}
		}
		unknown = append(unknown, oid)
	}
	return known, unknown, nil
}

// basicConstraints is the value of the basicConstraints extension.
type basicConstraints struct {
	IsCA       bool `asn1:"optional"`
	MaxPathLen int  `asn1:"optional,default:-1"`
}

// unmarshalBasicConstraints reads whether a basicConstraints value says CA.
func unmarshalBasicConstraints(der []byte) (bool, error) {
	var bc basicConstraints
	rest, err := asn1.Unmarshal(der, &bc)
	if err != nil || len(rest) != 0 {
		return false, errors.New("malformed basicConstraints extension")
	}
	return bc.IsCA, nil
}

// marshalNameConstraints encodes spec.nameConstraints. ok is false when
// neither permitted nor excluded holds anything, in which case no extension
// is written.
func marshalNameConstraints(nc *cmapi.NameConstraints) (ext pkix.Extension, ok bool, err error) {
	if nc == nil {
		return pkix.Extension{}, false, nil
	}
	permitted, err := marshalGeneralSubtrees(nc.Permitted)
	if err != nil {
		return pkix.Extension{}, false, fmt.Errorf("nameConstraints.permitted: %w", err)
	}
	excluded, err := marshalGeneralSubtrees(nc.Excluded)
	if err != nil {
		return pkix.Extension{}, false, fmt.Errorf("nameConstraints.excluded: %w", err)
	}
	if len(permitted) == 0 && len(excluded) == 0 {
		return pkix.Extension{}, false, nil
	}

	var body []byte
	for i, subtrees := range [][]byte{permitted, excluded} {
		if len(subtrees) == 0 {
			continue
		}
		// permittedSubtrees [0] and excludedSubtrees [1], both IMPLICIT SEQUENCE OF.
		part, err := asn1.Marshal(asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: i, IsCompound: true, Bytes: subtrees})
		if err != nil {
			return pkix.Extension{}, false, err
		}
		body = append(body, part...)
	}
	der, err := asn1.Marshal(asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSequence, IsCompound: true, Bytes: body})
	if err != nil {
		return pkix.Extension{}, false, err
	}
	return pkix.Extension{Id: oidExtensionNameConstraints, Critical: nc.Critical, Value: der}, true, nil
}

// marshalGeneralSubtrees encodes the concatenated GeneralSubtree SEQUENCEs
// of one side, in the order DNS domains, IP ranges, emails, URI domains.
func marshalGeneralSubtrees(item *cmapi.NameConstraintItem) ([]byte, error) {
	if item == nil {
		return nil, nil
	}
	var out []byte
	add := func(name asn1.RawValue) error {
		nameDER, err := asn1.Marshal(name)
		if err != nil {
			return err
		}
		subtree, err := asn1.Marshal(asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSequence, IsCompound: true, Bytes: nameDER})
		if err != nil {
			return err
		}
		out = append(out, subtree...)
		return nil
	}
	ia5 := func(tag int, kind string, values []string) error {
		for _, v := range values {
			if !isIA5(v) {
				return fmt.Errorf("%s %q cannot be encoded: only ASCII characters are allowed", kind, v)
			}
			if err := add(asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: tag, Bytes: []byte(v)}); err != nil {
				return err
			}
		}
		return nil
	}

	if err := ia5(generalNameDNS, "DNS domain", item.DNSDomains); err != nil {
		return nil, err
	}
	for _, cidr := range item.IPRanges {
		_, ipNet, err := net.ParseCIDR(cidr)
		if err != nil {
			return nil, fmt.Errorf("invalid IP range %q", cidr)
		}
		value := append(ipNet.IP.Mask(ipNet.Mask), ipNet.Mask...)
		if err := add(asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: generalNameIP, Bytes: value}); err != nil {
			return nil, err
		}
	}
	if err := ia5(generalNameEmail, "email address", item.EmailAddresses); err != nil {
		return nil, err
	}
	if err := ia5(generalNameURI, "URI domain", item.URIDomains); err != nil {
		return nil, err
	}
	return out, nil
}

// findExtension returns the extension with the given OID, if present.
func findExtension(exts []pkix.Extension, oid asn1.ObjectIdentifier) (pkix.Extension, bool) {
	for _, e := range exts {
		if e.Id.Equal(oid) {
			return e, true
		}
	}
	return pkix.Extension{}, false
}
