package metrics

import (
	"strings"
	"testing"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	"github.com/prometheus/client_golang/prometheus/testutil"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/certsweep/certsweep/job"
)

var (
	notBefore = time.Unix(1_700_000_000, 0)
	notAfter  = time.Unix(1_707_776_000, 0)
	renewal   = time.Unix(1_705_184_000, 0)
)

// TestCertificateSeries reads as cert-manager's collector: three
// ready_status series per Certificate with 1 on the Ready condition's
// status (Unknown when there is none), and the four timestamps, 0 while
// not set; the issuer labels are spec.issuerRef as written.
func TestCertificateSeries(t *testing.T) {
	certs := []Certificate{
		{Namespace: "web", Name: "site", CertificateSnapshot: job.CertificateSnapshot{
			IssuerRef: cmmeta.IssuerReference{Name: "ca", Kind: "ClusterIssuer", Group: "cert-manager.io"},
			Ready:     cmmeta.ConditionTrue, NotBefore: notBefore, NotAfter: notAfter, RenewalTime: renewal,
		}},
		{Namespace: "web", Name: "broken", CertificateSnapshot: job.CertificateSnapshot{
			IssuerRef: cmmeta.IssuerReference{Name: "missing"},
			Ready:     cmmeta.ConditionFalse,
		}},
		{Namespace: "api", Name: "new", CertificateSnapshot: job.CertificateSnapshot{
			IssuerRef: cmmeta.IssuerReference{Name: "step", Kind: "StepIssuer", Group: "certmanager.step.sm"},
		}},
	}
	want := `
# HELP certmanager_certificate_expiration_timestamp_seconds The timestamp after which the certificate expires, expressed in Unix Epoch Time.
# TYPE certmanager_certificate_expiration_timestamp_seconds gauge
certmanager_certificate_expiration_timestamp_seconds{issuer_group="",issuer_kind="",issuer_name="missing",name="broken",namespace="web"} 0
certmanager_certificate_expiration_timestamp_seconds{issuer_group="cert-manager.io",issuer_kind="ClusterIssuer",issuer_name="ca",name="site",namespace="web"} 1.707776e+09
certmanager_certificate_expiration_timestamp_seconds{issuer_group="certmanager.step.sm",issuer_kind="StepIssuer",issuer_name="step",name="new",namespace="api"} 0
# HELP certmanager_certificate_not_after_timestamp_seconds The timestamp after which the certificate is invalid, expressed as a Unix Epoch Time.
# TYPE certmanager_certificate_not_after_timestamp_seconds gauge
certmanager_certificate_not_after_timestamp_seconds{issuer_group="",issuer_kind="",issuer_name="missing",name="broken",namespace="web"} 0
certmanager_certificate_not_after_timestamp_seconds{issuer_group="cert-manager.io",issuer_kind="ClusterIssuer",issuer_name="ca",name="site",namespace="web"} 1.707776e+09
certmanager_certificate_not_after_timestamp_seconds{issuer_group="certmanager.step.sm",issuer_kind="StepIssuer",issuer_name="step",name="new",namespace="api"} 0
# HELP certmanager_certificate_not_before_timestamp_seconds The timestamp before which the certificate is invalid, expressed as a Unix Epoch Time.
# TYPE certmanager_certificate_not_before_timestamp_seconds gauge
certmanager_certificate_not_before_timestamp_seconds{issuer_group="",issuer_kind="",issuer_name="missing",name="broken",namespace="web"} 0
certmanager_certificate_not_before_timestamp_seconds{issuer_group="cert-manager.io",issuer_kind="ClusterIssuer",issuer_name="ca",name="site",namespace="web"} 1.7e+09
certmanager_certificate_not_before_timestamp_seconds{issuer_group="certmanager.step.sm",issuer_kind="StepIssuer",issuer_name="step",name="new",namespace="api"} 0
# HELP certmanager_certificate_ready_status The ready status of the certificate.
# TYPE certmanager_certificate_ready_status gauge
certmanager_certificate_ready_status{condition="False",issuer_group="",issuer_kind="",issuer_name="missing",name="broken",namespace="web"} 1
certmanager_certificate_ready_status{condition="False",issuer_group="cert-manager.io",issuer_kind="ClusterIssuer",issuer_name="ca",name="site",namespace="web"} 0
certmanager_certificate_ready_status{condition="False",issuer_group="certmanager.step.sm",issuer_kind="StepIssuer",issuer_name="step",name="new",namespace="api"} 0
certmanager_certificate_ready_status{condition="True",issuer_group="",issuer_kind="",issuer_name="missing",name="broken",namespace="web"} 0
certmanager_certificate_ready_status{condition="True",issuer_group="cert-manager.io",issuer_kind="ClusterIssuer",issuer_name="ca",name="site",namespace="web"} 1
certmanager_certificate_ready_status{condition="True",issuer_group="certmanager.step.sm",issuer_kind="StepIssuer",issuer_name="step",name="new",namespace="api"} 0
certmanager_certificate_ready_status{condition="Unknown",issuer_group="",issuer_kind="",issuer_name="missing",name="broken",namespace="web"} 0
certmanager_certificate_ready_status{condition="Unknown",issuer_group="cert-manager.io",issuer_kind="ClusterIssuer",issuer_name="ca",name="site",namespace="web"} 0
certmanager_certificate_ready_status{condition="Unknown",issuer_group="certmanager.step.sm",issuer_kind="StepIssuer",issuer_name="step",name="new",namespace="api"} 1
# HELP certmanager_certificate_renewal_timestamp_seconds The timestamp after which the certificate should be renewed, expressed in Unix Epoch Time.
# TYPE certmanager_certificate_renewal_timestamp_seconds gauge
certmanager_certificate_renewal_timestamp_seconds{issuer_group="",issuer_kind="",issuer_name="missing",name="broken",namespace="web"} 0
certmanager_certificate_renewal_timestamp_seconds{issuer_group="cert-manager.io",issuer_kind="ClusterIssuer",issuer_name="ca",name="site",namespace="web"} 1.705184e+09
certmanager_certificate_renewal_timestamp_seconds{issuer_group="certmanager.step.sm",issuer_kind="StepIssuer",issuer_name="step",name="new",namespace="api"} 0
`
	if err := testutil.CollectAndCompare(CertificateCollector(certs), strings.NewReader(want)); err != nil {
		t.Fatal(err)
	}
}

// TestCertificateCollectorEmpty: no Certificates, no series (and no error:
// a namespace with none is a valid push).
func TestCertificateCollectorEmpty(t *testing.T) {
	if n := testutil.CollectAndCount(CertificateCollector(nil)); n != 0 {
		t.Fatalf("series = %d, want 0", n)
	}
}

// TestSnapshotOf reads the status as the collector needs it: the Ready
// condition among the others, and each time only when set.
func TestSnapshotOf(t *testing.T) {
	crt := &cmapi.Certificate{
		Spec: cmapi.CertificateSpec{IssuerRef: cmmeta.IssuerReference{Name: "ca", Kind: "Issuer"}},
		Status: cmapi.CertificateStatus{
			Conditions: []cmapi.CertificateCondition{
				{Type: cmapi.CertificateConditionIssuing, Status: cmmeta.ConditionTrue},
				{Type: cmapi.CertificateConditionReady, Status: cmmeta.ConditionFalse},
			},
			NotAfter: &metav1.Time{Time: notAfter},
		},
	}
	got := *job.SnapshotOf(crt)
	want := job.CertificateSnapshot{IssuerRef: crt.Spec.IssuerRef, Ready: cmmeta.ConditionFalse, NotAfter: notAfter}
	if got != want {
		t.Fatalf("snapshot = %+v, want %+v", got, want)
	}
	if s := job.SnapshotOf(&cmapi.Certificate{}); s.Ready != "" || !s.NotBefore.IsZero() || !s.RenewalTime.IsZero() {
		t.Fatalf("empty status: snapshot = %+v", s)
	}
}

// TestFromReport: a Certificate deleted during the run (no snapshot) has
// no series; one named twice has one set, from its later outcome.
func TestFromReport(t *testing.T) {
	rep := &job.Report{Outcomes: []job.Outcome{
		{Namespace: "a", Name: "x", Certificate: &job.CertificateSnapshot{Ready: cmmeta.ConditionFalse}},
		{Namespace: "a", Name: "gone"},
		{Namespace: "b", Name: "x", Certificate: &job.CertificateSnapshot{}},
		{Namespace: "a", Name: "x", Certificate: &job.CertificateSnapshot{Ready: cmmeta.ConditionTrue}},
	}}
	got := FromReport(rep)
	if len(got) != 2 || got[0].Namespace != "a" || got[0].Ready != cmmeta.ConditionTrue || got[1].Namespace != "b" {
		t.Fatalf("FromReport = %+v", got)
	}
	if FromReport(nil) != nil {
		t.Fatal("FromReport(nil) is not empty")
	}
	if n := testutil.CollectAndCount(CertificateCollector(got), "certmanager_certificate_ready_status"); n != 6 {
		t.Fatalf("ready_status series = %d, want 3 per Certificate", n)
	}
}

// TestClock: both of cert-manager's clock series carry the time of the
// collection, in whole seconds.
func TestClock(t *testing.T) {
	now := time.Unix(1_750_000_000, 900_000_000)
	for _, c := range ClockCollectors(func() time.Time { return now }) {
		if v := testutil.ToFloat64(c); v != 1_750_000_000 {
			t.Fatalf("clock = %v, want 1750000000", v)
		}
	}
	want := `
# HELP certmanager_clock_time_seconds DEPRECATED: use clock_time_seconds_gauge instead. The clock time given in seconds (from 1970/01/01 UTC).
# TYPE certmanager_clock_time_seconds counter
certmanager_clock_time_seconds 1.75e+09
`
	if err := testutil.CollectAndCompare(ClockCollectors(func() time.Time { return now })[0], strings.NewReader(want)); err != nil {
		t.Fatal(err)
	}
}
