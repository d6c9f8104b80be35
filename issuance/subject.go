package issuance

// The certificate subject: spec.literalSubject parsed as an RFC 4514 string,
// or spec.commonName plus spec.subject.*, turned into the DER Name that goes
// into the CSR (docs/semantics.md §4.2).

import (
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"

	"github.com/certsweep/certsweep/issuance/pki"
)

var oidCommonName = asn1.ObjectIdentifier{2, 5, 4, 3}

// emptySubjectDER is the DER of a Name with no attributes: an empty SEQUENCE.
var emptySubjectDER = []byte{0x30, 0x00}

// subjectForCertificate returns the DER subject the CSR carries and the
// common name in it. literalSubject, when set, wins over commonName and
// subject.*, which the webhook forbids combining with it anyway.
func subjectForCertificate(crt *cmapi.Certificate) (der []byte, commonName string, err error) {
	var rdns pkix.RDNSequence
	if crt.Spec.LiteralSubject != "" {
		// pki's parser, the one renew/ compares requests with, so that
		// what is requested is exactly what is later found to match.
		rdns, err = pki.ParseLiteralSubject(crt.Spec.LiteralSubject)
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
