package renew

import (
	"bytes"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/certsweep/certsweep/issuance/pki"
)

// The matchers in this file answer "does this existing thing still satisfy
// the spec?" and return the names of the spec fields that it violates, in the
// order cert-manager reports them (docs/semantics.md §1.4–§1.7). job/ reuses
// them to decide whether an in-flight request or a next key is stale.

const (
	defaultIssuerKind  = "Issuer"
	defaultIssuerGroup = "cert-manager.io"
)

// requestMatchesSpec compares a CertificateRequest with the spec (§1.6) and
// returns the violated spec fields. It errors when the CSR cannot be decoded
// (or its otherNames / the spec's literalSubject cannot be), because then
// nothing can be said either way; callers decide what that means.
func requestMatchesSpec(cr *cmapi.CertificateRequest, spec cmapi.CertificateSpec) ([]string, error) {
	if cr == nil {
		return nil, errors.New("no CertificateRequest")
	}
	csr, err := pki.DecodeCSR(cr.Spec.Request)
	if err != nil {
		return nil, fmt.Errorf("CertificateRequest %q: %w", cr.Name, err)
	}
	return requestMatchesCSR(cr, csr, spec)
}

// requestMatchesSpec is requestMatchesSpec on a CSR already decoded, which
// a decision reuses rather than parse the same request three times.
func requestMatchesCSR(cr *cmapi.CertificateRequest, csr *x509.CertificateRequest, spec cmapi.CertificateSpec) ([]string, error) {
	subject := cmapi.X509Subject{}
	if spec.Subject != nil {
		subject = *spec.Subject
	}

	var v []string
	add := func(ok bool, field string) {
		if !ok {
			v = append(v, field)
		}
	}

	add(ipsMatch(csr.IPAddresses, spec.IPAddresses), "spec.ipAddresses")
	add(sameMultiset(urlStrings(csr.URIs), spec.URIs), "spec.uris")
	add(sameMultiset(csr.EmailAddresses, spec.EmailAddresses), "spec.emailAddresses")
	add(sameMultiset(csr.DNSNames, spec.DNSNames), "spec.dnsNames")

	// otherNames are only compared when the spec asks for some, so that
	// requests made before otherNames existed do not all become stale.
	if spec.OtherNames != nil {
		got, found, err := pki.CSROtherNames(csr)
		if err != nil {
			return nil, fmt.Errorf("CertificateRequest %q: %w", cr.Name, err)
		}
		// A CSR without a SAN extension cannot carry the requested names.
		add(found && sameOtherNames(got, spec.OtherNames), "spec.otherNames")
	}

	if spec.LiteralSubject == "" {
		add(csr.Subject.CommonName == spec.CommonName, "spec.commonName")
		add(csr.Subject.SerialNumber == subject.SerialNumber, "spec.subject.serialNumber")
		add(sameMultiset(csr.Subject.Organization, subject.Organizations), "spec.subject.organizations")
		add(sameMultiset(csr.Subject.Country, subject.Countries), "spec.subject.countries")
		add(sameMultiset(csr.Subject.Locality, subject.Localities), "spec.subject.localities")
		add(sameMultiset(csr.Subject.OrganizationalUnit, subject.OrganizationalUnits), "spec.subject.organizationalUnits")
		add(sameMultiset(csr.Subject.PostalCode, subject.PostalCodes), "spec.subject.postCodes")
		add(sameMultiset(csr.Subject.Province, subject.Provinces), "spec.subject.provinces")
		add(sameMultiset(csr.Subject.StreetAddress, subject.StreetAddresses), "spec.subject.streetAddresses")
	} else {
		want, err := pki.LiteralSubjectDER(spec.LiteralSubject)
		if err != nil {
			return nil, fmt.Errorf("spec.literalSubject: %w", err)
		}
		add(bytes.Equal(csr.RawSubject, want), "spec.literalSubject")
	}

	add(cr.Spec.IsCA == spec.IsCA, "spec.isCA")
	// Usages are compared as written, without defaulting: "signing" and
	// "digital signature" differ here, as in cert-manager.
	add(sameMultiset(usageStrings(cr.Spec.Usages), usageStrings(spec.Usages)), "spec.usages")
	// Quirk kept on purpose: adding or removing spec.duration does not make
	// a request stale, only changing one explicit value to another.
	if cr.Spec.Duration != nil && spec.Duration != nil {
		add(cr.Spec.Duration.Duration == spec.Duration.Duration, "spec.duration")
	}
	add(issuerRefsEqual(cr.Spec.IssuerRef, spec.IssuerRef), "spec.issuerRef")
	return v, nil
}

// fuzzyCertificateMatchesSpec compares an issued certificate with the spec
// when there is no CertificateRequest to compare with (§1.7). Issuers may
// move names between the CN and the DNS SANs, so those are pooled as a set;
// IP, URI and email SANs are compared as multisets. Nothing else is compared,
// because issuers are free to override it.
func fuzzyCertificateMatchesSpec(cert *x509.Certificate, spec cmapi.CertificateSpec) []string {
	var v []string
	want := setOf(spec.DNSNames...)
	if spec.CommonName != "" {
		want[spec.CommonName] = true
	}
	got := setOf(cert.DNSNames...)
	if cert.Subject.CommonName != "" {
		got[cert.Subject.CommonName] = true
	}
	if !sameSet(want, got) {
		if (spec.CommonName != "" && !got[spec.CommonName]) ||
			(cert.Subject.CommonName != "" && !want[cert.Subject.CommonName]) {
			v = append(v, "spec.commonName")
		}
		if !hasAll(got, spec.DNSNames) || !hasAll(want, cert.DNSNames) {
			v = append(v, "spec.dnsNames")
		}
	}
	if !ipsMatch(cert.IPAddresses, spec.IPAddresses) {
		v = append(v, "spec.ipAddresses")
	}
	if !sameMultiset(urlStrings(cert.URIs), spec.URIs) {
		v = append(v, "spec.uris")
	}
	if !sameMultiset(cert.EmailAddresses, spec.EmailAddresses) {
		v = append(v, "spec.emailAddresses")
	}
	return v
}

// secretIssuerAnnotationsMatch reports whether the issuer annotations on a
// Secret agree with issuerRef (§1.5). Kind and group default to Issuer and
// cert-manager.io on both sides. When the Secret carries none of the three
// annotations (a Secret someone created by hand), the name is not compared,
// so it matches only a default-kind, default-group issuerRef: a hand-made
// Secret referenced with a ClusterIssuer is reissued.
func secretIssuerAnnotationsMatch(secret *corev1.Secret, issuerRef cmmeta.IssuerReference) bool {
	if secret == nil {
		return false
	}
	name, hasName := secret.Annotations[cmapi.IssuerNameAnnotationKey]
	kind, hasKind := secret.Annotations[cmapi.IssuerKindAnnotationKey]
	group, hasGroup := secret.Annotations[cmapi.IssuerGroupAnnotationKey]
	if (hasName || hasKind || hasGroup) && name != issuerRef.Name {
		return false
	}
	return issuerKind(kind) == issuerKind(issuerRef.Kind) && issuerGroup(group) == issuerGroup(issuerRef.Group)
}

// SecretIssuerRef is the issuer a Secret records having been issued by: its
// issuer annotations when it has any, else the Certificate's issuerRef,
// which is what a Secret without them matched (see
// secretIssuerAnnotationsMatch). Rewriting a Secret's metadata keeps it.
func SecretIssuerRef(secret *corev1.Secret, crt *cmapi.Certificate) cmmeta.IssuerReference {
	a := secret.Annotations
	_, hasName := a[cmapi.IssuerNameAnnotationKey]
	_, hasKind := a[cmapi.IssuerKindAnnotationKey]
	_, hasGroup := a[cmapi.IssuerGroupAnnotationKey]
	if !hasName && !hasKind && !hasGroup {
		return crt.Spec.IssuerRef
	}
	return cmmeta.IssuerReference{Name: a[cmapi.IssuerNameAnnotationKey], Kind: a[cmapi.IssuerKindAnnotationKey], Group: a[cmapi.IssuerGroupAnnotationKey]}
}

func issuerRefsEqual(a, b cmmeta.IssuerReference) bool {
	return a.Name == b.Name && issuerKind(a.Kind) == issuerKind(b.Kind) && issuerGroup(a.Group) == issuerGroup(b.Group)
}

func issuerKind(k string) string {
	if k == "" {
		return defaultIssuerKind
	}
	return k
}

func issuerGroup(g string) string {
	if g == "" {
		return defaultIssuerGroup
	}
	return g
}

// ipsMatch compares parsed IPs with the spec's strings as multisets, in
// 16-byte form so that an IPv4 address matches its IPv4-in-IPv6 form. An
// unparsable spec string matches nothing (the webhook rejects it anyway).
func ipsMatch(got []net.IP, want []string) bool {
	g := make([]string, len(got))
	for i, ip := range got {
		g[i] = string(ip.To16())
	}
	w := make([]string, len(want))
	for i, s := range want {
		w[i] = string(net.ParseIP(s).To16())
	}
	return sameMultiset(g, w)
}

func urlStrings(us []*url.URL) []string {
	out := make([]string, len(us))
	for i, u := range us {
		out[i] = u.String()
	}
	return out
}

func usageStrings(us []cmapi.KeyUsage) []string {
	out := make([]string, len(us))
	for i, u := range us {
		out[i] = string(u)
	}
	return out
}

// sameMultiset compares two string slices ignoring order but counting
// duplicates; nil and empty are equal.
func sameMultiset(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

func sameOtherNames(a, b []cmapi.OtherName) bool {
	key := func(ons []cmapi.OtherName) []string {
		out := make([]string, len(ons))
		for i, on := range ons {
			// NUL cannot occur in an OID, so the pair is unambiguous.
			out[i] = on.OID + "\x00" + on.UTF8Value
		}
		return out
	}
	return sameMultiset(key(a), key(b))
}

func setOf(items ...string) map[string]bool {
	s := make(map[string]bool, len(items))
	for _, it := range items {
		s[it] = true
	}
	return s
}

func sameSet(a, b map[string]bool) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if !b[k] {
			return false
		}
	}
	return true
}

func hasAll(s map[string]bool, items []string) bool {
	for _, it := range items {
		if !s[it] {
			return false
		}
	}
	return true
}

// sortedKeys lists a set's or map's keys in order, for stable messages.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// hasCertManagerPrefix reports whether a label or annotation key belongs to
// cert-manager's own namespace of keys.
func hasCertManagerPrefix(key string) bool {
	return strings.HasPrefix(key, "cert-manager.io/") || strings.HasPrefix(key, "controller.cert-manager.io/")
}
