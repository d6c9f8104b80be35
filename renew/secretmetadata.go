package renew

import (
	"crypto/x509"
	"encoding/csv"
	"maps"
	"net"
	"strings"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	corev1 "k8s.io/api/core/v1"
)

// FieldManager is the server-side-apply field manager job/ writes target
// Secrets with. It is cert-manager's own issuing field manager, so that a
// Secret moves between cert-manager and certsweep in either direction with
// its ownership intact: whichever writes next can drop keys the other wrote.
const FieldManager = "cert-manager-certificates-issuing"

// DesiredSecretMetadata is the metadata job/ applies on the target Secret
// with every write (docs/semantics.md §4.6):
//   - labels: spec.secretTemplate.labels plus controller.cert-manager.io/fao;
//   - annotations: spec.secretTemplate.annotations, overridden by the
//     certificate-details annotations derived from leaf, then
//     cert-manager.io/certificate-name and the issuer-name/kind/group of the
//     issuerRef the certificate was requested with (verbatim, not defaulted).
//
// A nil leaf yields no details annotations.
func DesiredSecretMetadata(crt *cmapi.Certificate, leaf *x509.Certificate, issuerRef cmmeta.IssuerReference) (labels, annotations map[string]string) {
	labels = map[string]string{}
	annotations = map[string]string{}
	if t := crt.Spec.SecretTemplate; t != nil {
		maps.Copy(labels, t.Labels)
		maps.Copy(annotations, t.Annotations)
	}
	labels[cmapi.PartOfCertManagerControllerLabelKey] = "true"
	maps.Copy(annotations, certificateDetailsAnnotations(leaf))
	annotations[cmapi.CertificateNameKey] = crt.Name
	annotations[cmapi.IssuerNameAnnotationKey] = issuerRef.Name
	annotations[cmapi.IssuerKindAnnotationKey] = issuerRef.Kind
	annotations[cmapi.IssuerGroupAnnotationKey] = issuerRef.Group
	return labels, annotations
}

// TemporarySecretMetadata is the metadata job/ applies with a temporary
// certificate (§4.8): DesiredSecretMetadata's, with the details of the
// temporary leaf, and without the issuer annotations, since no issuer
// issued it. cert-manager writes it so too; the missing annotations are
// one of the signs a temporary certificate is known by.
func TemporarySecretMetadata(crt *cmapi.Certificate, leaf *x509.Certificate) (labels, annotations map[string]string) {
	labels, annotations = DesiredSecretMetadata(crt, leaf, cmmeta.IssuerReference{})
	delete(annotations, cmapi.IssuerNameAnnotationKey)
	delete(annotations, cmapi.IssuerKindAnnotationKey)
	delete(annotations, cmapi.IssuerGroupAnnotationKey)
	return labels, annotations
}

// certificateDetailsAnnotations describes a certificate for people browsing
// Secrets. common-name, alt-names, ip-sans and uri-sans are always written,
// even empty; the others only when non-empty. cert-manager does not explain
// the difference; we keep it so that Secrets compare equal across the two.
func certificateDetailsAnnotations(leaf *x509.Certificate) map[string]string {
	out := map[string]string{}
	if leaf == nil {
		return out
	}
	put := func(always bool, key string, values ...string) {
		if len(values) == 0 && !always {
			return
		}
		out[key] = joinCSV(values)
	}
	single := func(always bool, key, value string) {
		if value == "" && !always {
			return
		}
		out[key] = value
	}
	subj := leaf.Subject
	single(true, cmapi.CommonNameAnnotationKey, subj.CommonName)
	single(false, cmapi.SubjectSerialNumberAnnotationKey, subj.SerialNumber)
	put(false, cmapi.SubjectOrganizationsAnnotationKey, subj.Organization...)
	put(false, cmapi.SubjectOrganizationalUnitsAnnotationKey, subj.OrganizationalUnit...)
	put(false, cmapi.SubjectCountriesAnnotationKey, subj.Country...)
	put(false, cmapi.SubjectProvincesAnnotationKey, subj.Province...)
	put(false, cmapi.SubjectLocalitiesAnnotationKey, subj.Locality...)
	put(false, cmapi.SubjectPostalCodesAnnotationKey, subj.PostalCode...)
	put(false, cmapi.SubjectStreetAddressesAnnotationKey, subj.StreetAddress...)
	put(false, cmapi.EmailsAnnotationKey, leaf.EmailAddresses...)
	put(true, cmapi.AltNamesAnnotationKey, leaf.DNSNames...)
	put(true, cmapi.IPSANAnnotationKey, ipStrings(leaf.IPAddresses)...)
	put(true, cmapi.URISANAnnotationKey, urlStrings(leaf.URIs)...)
	return out
}

// joinCSV joins values as one CSV record without the line end, quoting a
// value only when it needs it ("a,b" becomes `"a,b"`), exactly as
// cert-manager does with encoding/csv.
func joinCSV(values []string) string {
	var b strings.Builder
	w := csv.NewWriter(&b)
	// Writing to a strings.Builder with the default separator cannot fail,
	// so there is no error to report.
	_ = w.Write(values)
	w.Flush()
	return strings.TrimSuffix(b.String(), "\n")
}

func ipStrings(ips []net.IP) []string {
	out := make([]string, len(ips))
	for i, ip := range ips {
		out[i] = ip.String()
	}
	return out
}

// desiredSecretDataKeys are the data keys job/ may write for crt: the key,
// the chain and the CA, plus the additional output formats and keystores the
// spec asks for. A key outside this set that our field manager owns is stale
// and removed by a rewrite.
func desiredSecretDataKeys(crt *cmapi.Certificate) map[string]bool {
	keys := setOf(corev1.TLSCertKey, corev1.TLSPrivateKeyKey, cmmeta.TLSCAKey)
	for _, f := range crt.Spec.AdditionalOutputFormats {
		switch f.Type {
		case cmapi.CertificateOutputFormatDER:
			keys[cmapi.CertificateOutputFormatDERKey] = true
		case cmapi.CertificateOutputFormatCombinedPEM:
			keys[cmapi.CertificateOutputFormatCombinedPEMKey] = true
		}
	}
	if ks := crt.Spec.Keystores; ks != nil {
		if ks.PKCS12 != nil && ks.PKCS12.Create {
			keys[cmapi.PKCS12SecretKey] = true
			keys[cmapi.PKCS12TruststoreKey] = true
		}
		if ks.JKS != nil && ks.JKS.Create {
			keys[cmapi.JKSSecretKey] = true
			keys[cmapi.JKSTruststoreKey] = true
		}
	}
	return keys
}
