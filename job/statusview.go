package job

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"fmt"
	"sort"
	"strconv"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"

	"github.com/certsweep/certsweep/issuance/pki"
	"github.com/certsweep/certsweep/renew"
)

// CertificateStatus is what `certsweep status` shows about one
// Certificate, to answer "why is this one stuck?" on one screen: its
// conditions, what its Secret holds, its requests, the retry window, the
// decision a sweep would take now (with the ACME order's progress), and
// its recent events. It is read-only. The JSON field names are a stable
// interface; add fields, never rename them.
type CertificateStatus struct {
	Namespace  string                       `json:"namespace"`
	Name       string                       `json:"name"`
	Conditions []cmapi.CertificateCondition `json:"conditions"`
	// Secret is what the Secret holds; SecretProblem says why there is
	// nothing to show (missing, or its certificate does not decode).
	Secret        *SecretSummary   `json:"secret,omitempty"`
	SecretProblem string           `json:"secretProblem,omitempty"`
	Requests      []RequestSummary `json:"requests"`
	// Retry is the retry window from the certsweep.io annotations.
	Retry *RetrySummary `json:"retry,omitempty"`
	// Decision is the plan row: the action a sweep would take now and why,
	// and where an ACME order in flight stands.
	Decision PlanRow        `json:"decision"`
	Events   []EventSummary `json:"events"`
}

// SecretSummary describes the certificate in a Certificate's Secret.
type SecretSummary struct {
	Name         string    `json:"name"`
	IssuerName   string    `json:"issuerName,omitempty"` // the cert-manager.io/issuer-* annotations
	IssuedBy     string    `json:"issuedBy"`             // the leaf's issuer DN
	Subject      string    `json:"subject"`
	DNSNames     []string  `json:"dnsNames,omitempty"`
	IPAddresses  []string  `json:"ipAddresses,omitempty"`
	URIs         []string  `json:"uris,omitempty"`
	Emails       []string  `json:"emailAddresses,omitempty"`
	KeyAlgorithm string    `json:"keyAlgorithm"`
	KeySize      int       `json:"keySize,omitempty"`
	Serial       string    `json:"serial"`
	NotBefore    time.Time `json:"notBefore"`
	NotAfter     time.Time `json:"notAfter"`
}

// RequestSummary is one CertificateRequest of the Certificate.
type RequestSummary struct {
	Name     string    `json:"name"`
	Revision string    `json:"revision"`
	Phase    string    `json:"phase"`
	Reason   string    `json:"reason,omitempty"`
	Message  string    `json:"message,omitempty"`
	Created  time.Time `json:"created"`
}

// RetrySummary is the retry window as the annotations announce it.
type RetrySummary struct {
	FailedAttempts  int       `json:"failedAttempts"`
	Class           string    `json:"class"`
	LastFailureTime string    `json:"lastFailureTime"`
	NextAttempt     time.Time `json:"nextAttempt"`
}

// EventSummary is one recent Event about the Certificate.
type EventSummary struct {
	Type    string    `json:"type"`
	Reason  string    `json:"reason"`
	Message string    `json:"message"`
	Count   int32     `json:"count,omitempty"`
	Last    time.Time `json:"last"`
}

// statusEvents is how many of the latest events status shows.
const statusEvents = 10

// Status reads one Certificate and everything that explains it. The
// decision comes from Plan over the Sweeper's namespace, which must be the
// Certificate's, so it is exactly what a sweep would decide.
func (s *Sweeper) Status(ctx context.Context, namespace, name string) (*CertificateStatus, error) {
	crt, err := s.cm.CertmanagerV1().Certificates(namespace).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, fmt.Errorf("certificate %s/%s not found", namespace, name)
	}
	if err != nil {
		return nil, fmt.Errorf("reading certificate %s/%s: %w", namespace, name, err)
	}
	st := &CertificateStatus{Namespace: namespace, Name: name, Conditions: crt.Status.Conditions}

	rows, err := s.Plan(ctx)
	if err != nil {
		return nil, err
	}
	for _, r := range rows {
		if r.Namespace == namespace && r.Name == name {
			st.Decision = r
		}
	}

	// The window as renew/ decoded it for the decision (the annotations
	// may be garbage, and the issuer's Retry-After counts too).
	if d := st.Decision; d.Attempts > 0 && d.NextAttempt != nil {
		st.Retry = &RetrySummary{FailedAttempts: d.Attempts, Class: crt.Annotations[renew.AnnotationFailureClass],
			LastFailureTime: crt.Annotations[renew.AnnotationLastFailureTime], NextAttempt: *d.NextAttempt}
	}

	sec, err := s.getSecret(ctx, namespace, crt.Spec.SecretName)
	switch {
	case apierrors.IsNotFound(err):
		st.SecretProblem = fmt.Sprintf("Secret %q does not exist", crt.Spec.SecretName)
	case err != nil:
		return nil, fmt.Errorf("reading secret %s/%s: %w", namespace, crt.Spec.SecretName, err)
	default:
		st.Secret, st.SecretProblem = summarizeSecret(sec)
	}

	reqs, err := s.cm.CertmanagerV1().CertificateRequests(namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("listing certificate requests in %s: %w", namespace, err)
	}
	for i := range reqs.Items {
		cr := &reqs.Items[i]
		if !metav1.IsControlledBy(cr, crt) {
			continue
		}
		read := pki.ReadRequest(cr)
		st.Requests = append(st.Requests, RequestSummary{
			Name: cr.Name, Revision: cr.Annotations[cmapi.CertificateRequestRevisionAnnotationKey],
			Phase: string(read.Phase), Reason: read.Reason, Message: read.Message, Created: cr.CreationTimestamp.Time,
		})
	}
	sort.Slice(st.Requests, func(i, j int) bool {
		a, _ := strconv.Atoi(st.Requests[i].Revision)
		b, _ := strconv.Atoi(st.Requests[j].Revision)
		return a < b
	})

	evs, err := s.kube.CoreV1().Events(namespace).List(ctx, metav1.ListOptions{FieldSelector: fields.OneTermEqualSelector("involvedObject.uid", string(crt.UID)).String()})
	if err != nil {
		return nil, fmt.Errorf("listing events of certificate %s/%s: %w", namespace, name, err)
	}
	for _, ev := range evs.Items {
		st.Events = append(st.Events, EventSummary{Type: ev.Type, Reason: ev.Reason, Message: ev.Message, Count: ev.Count, Last: eventTime(ev)})
	}
	sort.Slice(st.Events, func(i, j int) bool { return st.Events[i].Last.Before(st.Events[j].Last) })
	if len(st.Events) > statusEvents {
		st.Events = st.Events[len(st.Events)-statusEvents:]
	}
	return st, nil
}

// summarizeSecret describes a Secret's leaf; never its key.
func summarizeSecret(sec *corev1.Secret) (*SecretSummary, string) {
	certs, err := pki.DecodeCertificates(sec.Data[corev1.TLSCertKey])
	if err != nil {
		return nil, fmt.Sprintf("Secret %q: %s does not hold a certificate: %v", sec.Name, corev1.TLSCertKey, err)
	}
	leaf := certs[0]
	sum := &SecretSummary{
		Name: sec.Name, IssuedBy: leaf.Issuer.String(), Subject: leaf.Subject.String(),
		DNSNames: leaf.DNSNames, Emails: leaf.EmailAddresses,
		Serial: leaf.SerialNumber.Text(16), NotBefore: leaf.NotBefore, NotAfter: leaf.NotAfter,
	}
	if n := sec.Annotations[cmapi.IssuerNameAnnotationKey]; n != "" {
		// cert-manager records the issuerRef as written, so an empty kind
		// or group is its default, spelled out here as plan does.
		sum.IssuerName = issuerRefName(cmmeta.IssuerReference{Name: n, Kind: sec.Annotations[cmapi.IssuerKindAnnotationKey], Group: sec.Annotations[cmapi.IssuerGroupAnnotationKey]})
	}
	for _, ip := range leaf.IPAddresses {
		sum.IPAddresses = append(sum.IPAddresses, ip.String())
	}
	for _, u := range leaf.URIs {
		sum.URIs = append(sum.URIs, u.String())
	}
	switch k := leaf.PublicKey.(type) {
	case *rsa.PublicKey:
		sum.KeyAlgorithm, sum.KeySize = "RSA", k.N.BitLen()
	case *ecdsa.PublicKey:
		sum.KeyAlgorithm, sum.KeySize = "ECDSA", k.Curve.Params().BitSize
	case ed25519.PublicKey:
		sum.KeyAlgorithm = "Ed25519"
	default:
		sum.KeyAlgorithm = leaf.PublicKeyAlgorithm.String()
	}
	return sum, ""
}

// eventTime is when an Event last happened, whichever API wrote it.
func eventTime(ev corev1.Event) time.Time {
	switch {
	case !ev.LastTimestamp.IsZero():
		return ev.LastTimestamp.Time
	case !ev.EventTime.IsZero():
		return ev.EventTime.Time
	}
	return ev.CreationTimestamp.Time
}
