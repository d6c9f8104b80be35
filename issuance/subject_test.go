package issuance

import (
	"crypto/x509/pkix"
	"encoding/asn1"
	"testing"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
)

func TestLiteralSubjectOrderInDER(t *testing.T) {
	// "CN=app,O=Org" lists the most specific RDN first; DER holds O first.
	crt := &cmapi.Certificate{Spec: cmapi.CertificateSpec{LiteralSubject: "CN=app,O=Org"}}
	der, cn, err := subjectForCertificate(crt)
	if err != nil {
		t.Fatal(err)
	}
	var rdns pkix.RDNSequence
	if _, err := asn1.Unmarshal(der, &rdns); err != nil {
		t.Fatal(err)
	}
	if cn != "app" {
		t.Errorf("common name = %q", cn)
	}
	if len(rdns) != 2 || !rdns[0][0].Type.Equal(asn1.ObjectIdentifier{2, 5, 4, 10}) || !rdns[1][0].Type.Equal(oidCommonName) {
		t.Errorf("RDN order = %v", rdns)
	}
}
