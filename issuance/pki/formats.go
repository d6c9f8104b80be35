package pki

import (
	"bytes"
	"encoding/pem"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
)

// spec.additionalOutputFormats (docs/semantics.md §4.6): the same key and
// chain as tls.key and tls.crt, in the shapes some programs want instead.
// issuance/ writes these values and renew/ compares the Secret with them,
// so the two can never disagree about what "right" is.

// OutputFormatDER is the value of key.der (format DER): the DER bytes of
// the first PEM block of keyPEM, in whichever encoding tls.key uses (PKCS#1,
// SEC 1 or PKCS#8), as cert-manager takes them. Nil when keyPEM holds no PEM
// block.
func OutputFormatDER(keyPEM []byte) []byte {
	block, _ := pem.Decode(keyPEM)
	if block == nil {
		return nil
	}
	return block.Bytes
}

// OutputFormatCombinedPEM is the value of tls-combined.pem (format
// CombinedPEM): tls.key, a newline, then tls.crt, byte for byte as they
// are stored, which is what cert-manager writes.
func OutputFormatCombinedPEM(keyPEM, certPEM []byte) []byte {
	return bytes.Join([][]byte{keyPEM, certPEM}, []byte("\n"))
}

// AdditionalOutputs is the data key and value of every output format in
// formats, made from tls.key and tls.crt. Unknown types are left out (the
// API server's schema only admits DER and CombinedPEM).
func AdditionalOutputs(formats []cmapi.CertificateAdditionalOutputFormat, keyPEM, certPEM []byte) map[string][]byte {
	out := map[string][]byte{}
	for _, f := range formats {
		switch f.Type {
		case cmapi.CertificateOutputFormatDER:
			out[cmapi.CertificateOutputFormatDERKey] = OutputFormatDER(keyPEM)
		case cmapi.CertificateOutputFormatCombinedPEM:
			out[cmapi.CertificateOutputFormatCombinedPEMKey] = OutputFormatCombinedPEM(keyPEM, certPEM)
		}
	}
	return out
}
