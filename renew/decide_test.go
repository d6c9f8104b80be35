package renew

import (
	"strings"
	"testing"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// leafRenewal is when the default fixture's leaf renews: 90-day lifetime,
// a third before expiry.
var leafRenewal = now.Add(80*24*time.Hour - 30*24*time.Hour)

// TestDecideTriggers reads like cert-manager's FAQ "when is a certificate
// (re)issued?": one row per trigger, and one row per look-alike that must
// not trigger.
func TestDecideTriggers(t *testing.T) {
	tests := []struct {
		name       string
		edit       func(t *testing.T, f *fixture)
		wantAction Action
		wantReason string
		// wantMessage must equal the message, or be its prefix when it ends
		// in "…".
		wantMessage string
	}{
		{
			name:       "up to date: nothing to do",
			edit:       func(*testing.T, *fixture) {},
			wantAction: ActionNone,
		},
		// 1
		{
			name:        "Secret does not exist",
			edit:        func(_ *testing.T, f *fixture) { f.secret = nil },
			wantAction:  ActionIssue,
			wantReason:  ReasonDoesNotExist,
			wantMessage: "Issuing certificate as Secret does not exist",
		},
		// 2
		{
			name:        "Secret has no data",
			edit:        func(_ *testing.T, f *fixture) { f.secret.Data = nil },
			wantAction:  ActionIssue,
			wantReason:  ReasonMissingData,
			wantMessage: "Issuing certificate as Secret does not contain any data",
		},
		{
			name:        "Secret has no private key",
			edit:        func(_ *testing.T, f *fixture) { delete(f.secret.Data, corev1.TLSPrivateKeyKey) },
			wantAction:  ActionIssue,
			wantReason:  ReasonMissingData,
			wantMessage: "Issuing certificate as Secret does not contain a private key",
		},
		{
			name:        "Secret has no certificate",
			edit:        func(_ *testing.T, f *fixture) { f.secret.Data[corev1.TLSCertKey] = []byte{} },
			wantAction:  ActionIssue,
			wantReason:  ReasonMissingData,
			wantMessage: "Issuing certificate as Secret does not contain a certificate",
		},
		// 3
		{
			name:        "private key is garbage",
			edit:        func(_ *testing.T, f *fixture) { f.secret.Data[corev1.TLSPrivateKeyKey] = []byte("not a key") },
			wantAction:  ActionIssue,
			wantReason:  ReasonInvalidKeyPair,
			wantMessage: "Issuing certificate as Secret contains invalid private key data: …",
		},
		{
			name:        "certificate is garbage",
			edit:        func(_ *testing.T, f *fixture) { f.secret.Data[corev1.TLSCertKey] = []byte("not a cert") },
			wantAction:  ActionIssue,
			wantReason:  ReasonInvalidCertificate,
			wantMessage: "Issuing certificate as Secret contains an invalid certificate: …",
		},
		{
			name: "both broken: the key is reported first",
			edit: func(_ *testing.T, f *fixture) {
				f.secret.Data[corev1.TLSCertKey] = []byte("not a cert")
				f.secret.Data[corev1.TLSPrivateKeyKey] = []byte("not a key")
			},
			wantAction:  ActionIssue,
			wantReason:  ReasonInvalidKeyPair,
			wantMessage: "Issuing certificate as Secret contains invalid private key data: …",
		},
		{
			name:        "private key does not match the certificate",
			edit:        func(t *testing.T, f *fixture) { f.secret.Data[corev1.TLSPrivateKeyKey] = keyPEM(t, otherRSA()) },
			wantAction:  ActionIssue,
			wantReason:  ReasonInvalidKeyPair,
			wantMessage: "Issuing certificate as Secret contains a private key that does not match the certificate",
		},
		{
			name:        "private key of another type than the certificate's",
			edit:        func(t *testing.T, f *fixture) { f.secret.Data[corev1.TLSPrivateKeyKey] = keyPEM(t, ecP256()) },
			wantAction:  ActionIssue,
			wantReason:  ReasonInvalidKeyPair,
			wantMessage: "Issuing certificate as Secret contains a private key that does not match the certificate",
		},
		{
			name:       "private key re-encoded as PKCS#8: not a trigger",
			edit:       func(t *testing.T, f *fixture) { f.secret.Data[corev1.TLSPrivateKeyKey] = pkcs8PEM(t, rsa2048()) },
			wantAction: ActionNone,
		},
		// 4
		{
			name:        "issued by another issuer",
			edit:        func(_ *testing.T, f *fixture) { f.secret.Annotations[cmapi.IssuerNameAnnotationKey] = "old-ca" },
			wantAction:  ActionIssue,
			wantReason:  ReasonIncorrectIssuer,
			wantMessage: `Issuing certificate as Secret was previously issued by "Issuer.cert-manager.io/old-ca"`,
		},
		{
			name: "issuerRef now names a ClusterIssuer",
			edit: func(_ *testing.T, f *fixture) {
				f.crt.Spec.IssuerRef.Kind = "ClusterIssuer"
			},
			wantAction:  ActionIssue,
			wantReason:  ReasonIncorrectIssuer,
			wantMessage: `Issuing certificate as Secret was previously issued by "Issuer.cert-manager.io/ca"`,
		},
		{
			name: "issuerRef spells out the default kind and group: not a trigger",
			edit: func(_ *testing.T, f *fixture) {
				f.crt.Spec.IssuerRef = cmmeta.IssuerReference{Name: "ca", Kind: "Issuer", Group: "cert-manager.io"}
				f.current.Spec.IssuerRef = cmmeta.IssuerReference{Name: "ca"}
			},
			wantAction: ActionNone,
		},
		// 5
		{
			name:        "issued for another Certificate",
			edit:        func(_ *testing.T, f *fixture) { f.secret.Annotations[cmapi.CertificateNameKey] = "api" },
			wantAction:  ActionIssue,
			wantReason:  ReasonIncorrectCertificate,
			wantMessage: `Secret was issued for "api". If this message is not transient, you might have two conflicting Certificates pointing to the same secret.`,
		},
		{
			name:       "no certificate-name annotation: not a trigger",
			edit:       func(_ *testing.T, f *fixture) { delete(f.secret.Annotations, cmapi.CertificateNameKey) },
			wantAction: ActionNone,
		},
		// 6
		{
			name: "spec asks for ECDSA",
			edit: func(_ *testing.T, f *fixture) {
				f.crt.Spec.PrivateKey = &cmapi.CertificatePrivateKey{Algorithm: cmapi.ECDSAKeyAlgorithm}
			},
			wantAction:  ActionIssue,
			wantReason:  ReasonSecretMismatch,
			wantMessage: "Existing private key is not up to date for spec: [spec.privateKey.algorithm]",
		},
		{
			name: "spec asks for RSA 3072",
			edit: func(_ *testing.T, f *fixture) {
				f.crt.Spec.PrivateKey = &cmapi.CertificatePrivateKey{Size: 3072}
			},
			wantAction:  ActionIssue,
			wantReason:  ReasonSecretMismatch,
			wantMessage: "Existing private key is not up to date for spec: [spec.privateKey.size]",
		},
		{
			name: "spec changes only the key encoding or rotation policy: not a trigger",
			edit: func(_ *testing.T, f *fixture) {
				f.crt.Spec.PrivateKey = &cmapi.CertificatePrivateKey{Encoding: cmapi.PKCS8, RotationPolicy: cmapi.RotationPolicyNever}
			},
			wantAction: ActionNone,
		},
		// 7
		{
			name:        "Secret's key is not the one of the current request",
			edit:        func(t *testing.T, f *fixture) { f.current.Spec.Request = csrPEM(t, otherRSA(), nil) },
			wantAction:  ActionIssue,
			wantReason:  ReasonSecretMismatch,
			wantMessage: "Secret contains a private key that does not match the current CertificateRequest",
		},
		{
			name:        "current request cannot be decoded",
			edit:        func(_ *testing.T, f *fixture) { f.current.Spec.Request = []byte("garbage") },
			wantAction:  ActionIssue,
			wantReason:  ReasonInvalidCertificateRequest,
			wantMessage: "Failed to decode current CertificateRequest: …",
		},
		// 8
		{
			name:        "spec changed since the current request",
			edit:        func(_ *testing.T, f *fixture) { f.crt.Spec.DNSNames = append(f.crt.Spec.DNSNames, "www.example.com") },
			wantAction:  ActionIssue,
			wantReason:  ReasonRequestChanged,
			wantMessage: "Fields on existing CertificateRequest resource not up to date: [spec.dnsNames]",
		},
		{
			name: "spec changed and there is no current request: compare with the certificate",
			edit: func(_ *testing.T, f *fixture) {
				f.current = nil
				f.crt.Spec.DNSNames = append(f.crt.Spec.DNSNames, "www.example.com")
			},
			wantAction:  ActionIssue,
			wantReason:  ReasonSecretMismatch,
			wantMessage: "Issuing certificate as Existing issued Secret is not up to date for spec: [spec.dnsNames]",
		},
		{
			name: "duration changed but there is no current request: not a trigger",
			edit: func(_ *testing.T, f *fixture) {
				f.current = nil
				f.crt.Spec.Duration = &metav1.Duration{Duration: 24 * time.Hour}
			},
			wantAction: ActionNone,
		},
		{
			// A literalSubject that does not parse cannot be compared with the
			// current request; cert-manager's webhook refuses it, and so do we
			// now that no webhook stands in front (issue: validation).
			name: "literalSubject that does not parse: refused, no request",
			edit: func(_ *testing.T, f *fixture) {
				f.crt.Spec.CommonName = ""
				f.crt.Spec.LiteralSubject = "CN=unterminated\\"
			},
			wantAction:  ActionWait,
			wantReason:  ReasonInvalidCertificateSpec,
			wantMessage: `admission webhook "webhook.cert-manager.io" would deny the request: spec.literalSubject: …`,
		},
		// 9
		{
			name:        "renewal time reached",
			edit:        func(_ *testing.T, f *fixture) { f.now = leafRenewal },
			wantAction:  ActionIssue,
			wantReason:  ReasonRenewing,
			wantMessage: "Renewing certificate as renewal was scheduled at 2026-03-06 12:00:00 +0000 UTC",
		},
		{
			name:       "a second before the renewal time: not a trigger",
			edit:       func(_ *testing.T, f *fixture) { f.now = leafRenewal.Add(-time.Second) },
			wantAction: ActionNone,
		},
		{
			name: "expired but renewal Disabled: not a trigger",
			edit: func(_ *testing.T, f *fixture) {
				f.crt.Spec.Renewal = &cmapi.CertificateRenewal{Policy: cmapi.CertificateRenewalPolicyDisabled}
				f.now = now.Add(100 * 24 * time.Hour)
			},
			wantAction: ActionNone,
		},
		{
			name: "renewal due but no window fits: renew anyway",
			edit: func(_ *testing.T, f *fixture) {
				f.now = leafRenewal
				f.crt.Spec.Renewal = &cmapi.CertificateRenewal{
					Policy: cmapi.CertificateRenewalPolicyRenewBefore,
					// 29 February 2027 never comes.
					Windows: []cmapi.CertificateRenewalWindows{{Cron: "0 0 29 2 *", WindowDuration: &metav1.Duration{Duration: time.Hour}}},
				}
			},
			wantAction:  ActionIssue,
			wantReason:  ReasonRenewing,
			wantMessage: "Renewing certificate without satisfying renewal windows at: 2026-03-06 12:00:00 +0000 UTC",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			tt.edit(t, f)
			d := Decide(f.input(), Options{})
			if d.Action != tt.wantAction || d.Reason != tt.wantReason {
				t.Fatalf("Decide() = %s %q (%s), want %s %q", d.Action, d.Reason, d.Message, tt.wantAction, tt.wantReason)
			}
			if prefix, ok := strings.CutSuffix(tt.wantMessage, "…"); ok {
				if !strings.HasPrefix(d.Message, prefix) {
					t.Errorf("message = %q, want prefix %q", d.Message, prefix)
				}
			} else if d.Message != tt.wantMessage {
				t.Errorf("message = %q, want %q", d.Message, tt.wantMessage)
			}
		})
	}
}

// TestDecideReady checks the readiness chain: the same checks, with Expired
// last instead of the renewal time.
func TestDecideReady(t *testing.T) {
	tests := []struct {
		name        string
		edit        func(t *testing.T, f *fixture)
		wantStatus  cmmeta.ConditionStatus
		wantReason  string
		wantMessage string
	}{
		{
			name:        "up to date",
			edit:        func(*testing.T, *fixture) {},
			wantStatus:  cmmeta.ConditionTrue,
			wantReason:  ReasonReady,
			wantMessage: "Certificate is up to date and has not expired",
		},
		{
			name:        "inside the renewal window: still Ready",
			edit:        func(_ *testing.T, f *fixture) { f.now = leafRenewal.Add(time.Hour) },
			wantStatus:  cmmeta.ConditionTrue,
			wantReason:  ReasonReady,
			wantMessage: "Certificate is up to date and has not expired",
		},
		{
			name:        "expired",
			edit:        func(_ *testing.T, f *fixture) { f.now = now.Add(81 * 24 * time.Hour) },
			wantStatus:  cmmeta.ConditionFalse,
			wantReason:  ReasonExpired,
			wantMessage: "Certificate expired on Sun, 05 Apr 2026 12:00:00 UTC",
		},
		{
			name:        "Secret missing",
			edit:        func(_ *testing.T, f *fixture) { f.secret = nil },
			wantStatus:  cmmeta.ConditionFalse,
			wantReason:  ReasonDoesNotExist,
			wantMessage: "Issuing certificate as Secret does not exist",
		},
		{
			name: "invalid window configuration",
			edit: func(_ *testing.T, f *fixture) {
				f.crt.Spec.Renewal = &cmapi.CertificateRenewal{
					Policy: cmapi.CertificateRenewalPolicyRenewBefore,
					// A zero window passes the CRD and the webhook (an unparsable
					// cron no longer reaches here: it is refused as the webhook
					// would), yet no window can be computed from it.
					Windows: []cmapi.CertificateRenewalWindows{{Cron: "0 3 * * *", WindowDuration: &metav1.Duration{Duration: 0}}},
				}
			},
			wantStatus:  cmmeta.ConditionFalse,
			wantReason:  ReasonWindowError,
			wantMessage: "Could not calculate renewal time: renewal window 0: windowDuration must be a positive duration",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			tt.edit(t, f)
			r := Decide(f.input(), Options{}).Ready
			if r.Type != cmapi.CertificateConditionReady || r.Status != tt.wantStatus || r.Reason != tt.wantReason {
				t.Fatalf("Ready = %s %s %q (%s), want %s %q", r.Type, r.Status, r.Reason, r.Message, tt.wantStatus, tt.wantReason)
			}
			if prefix, ok := strings.CutSuffix(tt.wantMessage, "…"); ok {
				if !strings.HasPrefix(r.Message, prefix) {
					t.Errorf("message = %q, want prefix %q", r.Message, prefix)
				}
			} else if r.Message != tt.wantMessage {
				t.Errorf("message = %q, want %q", r.Message, tt.wantMessage)
			}
		})
	}
}

func TestDecideStatusTimes(t *testing.T) {
	f := newFixture(t)
	d := Decide(f.input(), Options{})
	if d.NotBefore == nil || !d.NotBefore.Equal(now.Add(-10*24*time.Hour)) {
		t.Errorf("NotBefore = %v", d.NotBefore)
	}
	if d.NotAfter == nil || !d.NotAfter.Equal(now.Add(80*24*time.Hour)) {
		t.Errorf("NotAfter = %v", d.NotAfter)
	}
	if d.RenewalTime == nil || !d.RenewalTime.Equal(leafRenewal) {
		t.Errorf("RenewalTime = %v, want %v", d.RenewalTime, leafRenewal)
	}
	if !d.NextLook.Equal(leafRenewal) {
		t.Errorf("NextLook = %v, want the renewal time %v", d.NextLook, leafRenewal)
	}

	f.crt.Spec.Renewal = &cmapi.CertificateRenewal{Policy: cmapi.CertificateRenewalPolicyDisabled}
	d = Decide(f.input(), Options{})
	if d.RenewalTime != nil || !d.NextLook.IsZero() || d.NotAfter == nil {
		t.Errorf("Disabled: RenewalTime = %v, NextLook = %v, NotAfter = %v; want nil, zero, set", d.RenewalTime, d.NextLook, d.NotAfter)
	}

	f.secret.Data[corev1.TLSCertKey] = []byte("garbage")
	d = Decide(f.input(), Options{})
	if d.NotBefore != nil || d.NotAfter != nil || d.RenewalTime != nil {
		t.Errorf("undecodable leaf: times = %v %v %v, want nil", d.NotBefore, d.NotAfter, d.RenewalTime)
	}
}

func TestDecideDeletingAndDuplicate(t *testing.T) {
	f := newFixture(t)
	f.crt.DeletionTimestamp = mtime(now)
	if d := Decide(f.input(), Options{}); d.Action != ActionNone || d.Ready.Type != "" {
		t.Errorf("deleting: %+v, want ActionNone and no Ready", d)
	}

	f = newFixture(t)
	f.secret = nil                                  // would trigger DoesNotExist for the owner
	f.peers = []Peer{{Name: "api"}}                 // as old as "web"; the name breaks the tie
	setIssuing(f.crt, ReasonManuallyTriggered, now) // even a manual trigger
	d := Decide(f.input(), Options{})
	want := `Secret "web-tls" is owned by Certificate "api", which names the same secretName; not issuing so the two do not overwrite each other`
	if d.Action != ActionNone || d.Reason != ReasonDuplicateSecretName || d.Message != want {
		t.Errorf("duplicate: %s %q %q", d.Action, d.Reason, d.Message)
	}
	if d.Ready.Status != cmmeta.ConditionFalse || d.Ready.Reason != ReasonDuplicateSecretName || d.Ready.Message != want {
		t.Errorf("duplicate Ready = %+v", d.Ready)
	}
	if !d.NextLook.Equal(now.Add(duplicateRecheck)) {
		t.Errorf("duplicate NextLook = %v", d.NextLook)
	}
}

// TestDecideInFlight covers Issuing=True: the issuance continues whatever the
// chains say, and the next request's state tells job/ how.
func TestDecideInFlight(t *testing.T) {
	since := now.Add(-time.Hour)
	// nextCR is the request an earlier run made, with its key still stored
	// in the next-key Secret, as a run leaves them.
	nextCR := func(t *testing.T, f *fixture) *cmapi.CertificateRequest {
		key := rsa2048()
		cr := baseRequest(f.crt, csrPEM(t, key, nil))
		cr.Name = "web-2"
		f.keys = []*corev1.Secret{nextKeySecret(t, f.crt, key)}
		return cr
	}
	tests := []struct {
		name        string
		signs       bool
		edit        func(t *testing.T, f *fixture)
		wantAction  Action
		wantState   RequestAction
		wantReason  string
		wantMessage string
	}{
		{
			name:        "no request yet: create one",
			signs:       true,
			edit:        func(*testing.T, *fixture) {},
			wantAction:  ActionIssue,
			wantState:   RequestNone,
			wantReason:  "Renewing",
			wantMessage: "issuing for test",
		},
		{
			name:  "request issued: finish it",
			signs: false,
			edit: func(t *testing.T, f *fixture) {
				f.next = nextCR(t, f)
				setCRCondition(f.next, cmapi.CertificateRequestConditionReady, cmmeta.ConditionTrue, cmapi.CertificateRequestReasonIssued, now)
			},
			wantAction:  ActionIssue,
			wantState:   RequestIssued,
			wantReason:  "Renewing",
			wantMessage: "issuing for test",
		},
		{
			name:  "request failed during this attempt: record the failure",
			signs: true,
			edit: func(t *testing.T, f *fixture) {
				f.next = nextCR(t, f)
				setCRCondition(f.next, cmapi.CertificateRequestConditionReady, cmmeta.ConditionFalse, cmapi.CertificateRequestReasonFailed, now)
				f.next.Status.FailureTime = mtime(now.Add(-time.Minute))
			},
			wantAction:  ActionIssue,
			wantState:   RequestFailed,
			wantReason:  "Failed",
			wantMessage: "The certificate request has failed to complete and will be retried: Failed for test",
		},
		{
			name:  "request denied: record the failure",
			signs: true,
			edit: func(t *testing.T, f *fixture) {
				f.next = nextCR(t, f)
				setCRCondition(f.next, cmapi.CertificateRequestConditionDenied, cmmeta.ConditionTrue, "Policy", now)
			},
			wantAction:  ActionIssue,
			wantState:   RequestFailed,
			wantReason:  "Policy",
			wantMessage: "The certificate request has failed to complete and will be retried: Policy for test",
		},
		{
			name:  "request invalid: record the failure",
			signs: true,
			edit: func(t *testing.T, f *fixture) {
				f.next = nextCR(t, f)
				setCRCondition(f.next, cmapi.CertificateRequestConditionInvalidRequest, cmmeta.ConditionTrue, "BadCSR", now)
			},
			wantAction:  ActionIssue,
			wantState:   RequestFailed,
			wantReason:  "BadCSR",
			wantMessage: "The certificate request has failed to complete and will be retried: BadCSR for test",
		},
		{
			name:  "request failed before this attempt began: replace it",
			signs: true,
			edit: func(t *testing.T, f *fixture) {
				f.next = nextCR(t, f)
				setCRCondition(f.next, cmapi.CertificateRequestConditionReady, cmmeta.ConditionFalse, cmapi.CertificateRequestReasonFailed, since.Add(-time.Hour))
				f.next.Status.FailureTime = mtime(since.Add(-time.Hour))
			},
			wantAction:  ActionIssue,
			wantState:   RequestStale,
			wantReason:  "Renewing",
			wantMessage: "issuing for test",
		},
		{
			name:  "request made for an older spec: replace it",
			signs: false,
			edit: func(t *testing.T, f *fixture) {
				f.next = nextCR(t, f)
				f.crt.Spec.DNSNames = []string{"example.com", "www.example.com"}
			},
			wantAction:  ActionIssue,
			wantState:   RequestStale,
			wantReason:  "Renewing",
			wantMessage: "issuing for test",
		},
		{
			name:  "request pending with an external issuer: wait",
			signs: false,
			edit: func(t *testing.T, f *fixture) {
				f.next = nextCR(t, f)
				setCRCondition(f.next, cmapi.CertificateRequestConditionReady, cmmeta.ConditionFalse, cmapi.CertificateRequestReasonPending, now)
			},
			wantAction:  ActionWait,
			wantState:   RequestPending,
			wantReason:  ReasonPending,
			wantMessage: `Waiting for CertificateRequest "web-2" to be signed by its issuer`,
		},
		{
			name:  "request pending, we sign it ourselves: sign",
			signs: true,
			edit: func(t *testing.T, f *fixture) {
				f.next = nextCR(t, f)
			},
			wantAction:  ActionIssue,
			wantState:   RequestPending,
			wantReason:  "Renewing",
			wantMessage: "issuing for test",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			if !tt.signs {
				f.signElsewhere()
			}
			setIssuing(f.crt, "Renewing", since)
			// Backing off and a broken Secret do not stop an issuance under way.
			f.crt.Annotations = RecordFailure(RetryState{}, ClassIssuance, now, DefaultBackoff).Annotations()
			f.secret = nil
			tt.edit(t, f)
			d := Decide(f.input(), Options{})
			if d.Action != tt.wantAction || d.Request != tt.wantState || d.Reason != tt.wantReason || d.Message != tt.wantMessage {
				t.Errorf("Decide() = %s %q %q %q, want %s %q %q %q", d.Action, d.Request, d.Reason, d.Message, tt.wantAction, tt.wantState, tt.wantReason, tt.wantMessage)
			}
			if d.Ready.Reason != ReasonDoesNotExist {
				t.Errorf("Ready comes from the Secret while issuing: got %q", d.Ready.Reason)
			}
			if tt.wantAction == ActionWait && !d.NextLook.Equal(now.Add(pendingPoll)) {
				t.Errorf("NextLook = %v, want now+%s", d.NextLook, pendingPoll)
			}
		})
	}

	t.Run("manual trigger", func(t *testing.T) {
		f := newFixture(t)
		setIssuing(f.crt, ReasonManuallyTriggered, now)
		d := Decide(f.input(), Options{})
		if d.Action != ActionIssue || !d.Manual || d.Reason != ReasonManuallyTriggered {
			t.Errorf("Decide() = %s manual=%v %q", d.Action, d.Manual, d.Reason)
		}
	})
}

// TestDecideBackoff: after a failure the retry window is waited out, unless
// a person fixed the spec or asked for a renewal.
func TestDecideBackoff(t *testing.T) {
	failed := func(t *testing.T, f *fixture, attempts int, class FailureClass, at time.Time) {
		s := RetryState{}
		for range attempts {
			s = RecordFailure(s, class, at, DefaultBackoff)
		}
		f.crt.Annotations = s.Annotations()
		f.secret = nil // the Secret never got written
		f.next = baseRequest(f.crt, csrPEM(t, ecP256(), nil))
		setCRCondition(f.next, cmapi.CertificateRequestConditionReady, cmmeta.ConditionFalse, cmapi.CertificateRequestReasonFailed, at)
	}

	t.Run("third issuance failure waits 4h", func(t *testing.T) {
		f := newFixture(t)
		failed(t, f, 3, ClassIssuance, now.Add(-time.Hour))
		d := Decide(f.input(), Options{})
		want := "Retrying in 3h0m0s after 3 failed attempt(s) (issuance); next attempt at 2026-01-15T15:00:00Z"
		if d.Action != ActionWait || d.Reason != ReasonBackoff || d.Message != want {
			t.Fatalf("Decide() = %s %q %q, want wait %q", d.Action, d.Reason, d.Message, want)
		}
		if !d.NextLook.Equal(now.Add(3 * time.Hour)) {
			t.Errorf("NextLook = %v", d.NextLook)
		}
		if d.Retry.FailedAttempts != 3 || d.Ready.Reason != ReasonDoesNotExist {
			t.Errorf("Retry = %+v, Ready = %+v", d.Retry, d.Ready)
		}
	})
	t.Run("window over: the chain decides again and the old request is replaced", func(t *testing.T) {
		f := newFixture(t)
		failed(t, f, 3, ClassIssuance, now.Add(-4*time.Hour))
		d := Decide(f.input(), Options{})
		if d.Action != ActionIssue || d.Reason != ReasonDoesNotExist || d.Request != RequestStale {
			t.Errorf("Decide() = %s %q %q", d.Action, d.Reason, d.Request)
		}
	})
	t.Run("temporary failure waits 5s", func(t *testing.T) {
		f := newFixture(t)
		failed(t, f, 1, ClassTemporary, now.Add(-4*time.Second))
		if d := Decide(f.input(), Options{}); d.Action != ActionWait || !d.NextLook.Equal(now.Add(time.Second)) {
			t.Errorf("Decide() = %s until %v", d.Action, d.NextLook)
		}
	})
	t.Run("spec fixed since the failed request: bypass", func(t *testing.T) {
		f := newFixture(t)
		failed(t, f, 3, ClassIssuance, now.Add(-time.Hour))
		f.crt.Spec.DNSNames = []string{"example.com", "fixed.example.com"}
		if d := Decide(f.input(), Options{}); d.Action != ActionIssue {
			t.Errorf("Decide() = %s %q, want issue", d.Action, d.Message)
		}
	})
	t.Run("spec changed since a failure that made no request: bypass", func(t *testing.T) {
		f := newFixture(t)
		failed(t, f, 1, ClassTemporary, now.Add(-time.Second))
		f.next = nil
		f.crt.Generation = 3
		f.crt.Status.Conditions = append(f.crt.Status.Conditions, cmapi.CertificateCondition{
			Type: cmapi.CertificateConditionIssuing, Status: cmmeta.ConditionFalse, Reason: "IssuerNotFound", ObservedGeneration: 2})
		if d := Decide(f.input(), Options{}); d.Action != ActionIssue {
			t.Errorf("Decide() = %s %q, want issue", d.Action, d.Message)
		}
	})
	t.Run("same generation as the failure that made no request: no bypass", func(t *testing.T) {
		f := newFixture(t)
		failed(t, f, 1, ClassTemporary, now.Add(-time.Second))
		f.next = nil
		f.crt.Generation = 2
		f.crt.Status.Conditions = append(f.crt.Status.Conditions, cmapi.CertificateCondition{
			Type: cmapi.CertificateConditionIssuing, Status: cmmeta.ConditionFalse, Reason: "IssuerNotFound", ObservedGeneration: 2})
		if d := Decide(f.input(), Options{}); d.Action != ActionWait {
			t.Errorf("Decide() = %s %q, want wait", d.Action, d.Message)
		}
	})
	// An unreadable request says nothing about the spec. Bypassing on it
	// (as this row once asserted) made a request whose CSR no signer could
	// parse retry on every run, inside its own announced window.
	t.Run("failed request unreadable: wait out the window", func(t *testing.T) {
		f := newFixture(t)
		failed(t, f, 3, ClassIssuance, now.Add(-time.Hour))
		f.next.Spec.Request = []byte("garbage")
		if d := Decide(f.input(), Options{}); d.Action != ActionWait || d.Reason != ReasonBackoff {
			t.Errorf("Decide() = %s %q, want wait", d.Action, d.Message)
		}
	})
	t.Run("manual trigger: bypass", func(t *testing.T) {
		f := newFixture(t)
		failed(t, f, 3, ClassIssuance, now.Add(-time.Hour))
		setIssuing(f.crt, ReasonManuallyTriggered, now)
		d := Decide(f.input(), Options{})
		if d.Action != ActionIssue || !d.Manual || d.Request != RequestStale {
			t.Errorf("Decide() = %s manual=%v %q", d.Action, d.Manual, d.Request)
		}
	})
	t.Run("failure time in the future blocks one delay at most", func(t *testing.T) {
		f := newFixture(t)
		f.secret = nil
		f.crt.Annotations = map[string]string{AnnotationLastFailureTime: "2999-01-01T00:00:00Z", AnnotationFailedAttempts: "1", AnnotationFailureClass: "issuance"}
		d := Decide(f.input(), Options{})
		if d.Action != ActionWait || !d.NextLook.Equal(now.Add(time.Hour)) || len(d.Warnings) == 0 {
			t.Errorf("Decide() = %s until %v, warnings %q", d.Action, d.NextLook, d.Warnings)
		}
	})
	t.Run("cert-manager status fields are honoured without annotations", func(t *testing.T) {
		f := newFixture(t)
		f.secret = nil
		f.crt.Status.LastFailureTime = mtime(now.Add(-time.Hour))
		f.crt.Status.FailedIssuanceAttempts = ptr(2)
		d := Decide(f.input(), Options{})
		if d.Action != ActionWait || !d.NextLook.Equal(now.Add(time.Hour)) || d.Retry.Class != ClassIssuance {
			t.Errorf("Decide() = %s until %v, retry %+v", d.Action, d.NextLook, d.Retry)
		}
	})
}

func TestDecideScheduleLookahead(t *testing.T) {
	tests := []struct {
		name    string
		nextRun time.Time
		want    Action
	}{
		{"next run after the renewal time: renew now", leafRenewal.Add(time.Minute), ActionIssue},
		{"next run at the renewal time: that run renews", leafRenewal, ActionNone},
		{"next run before the renewal time: not due", leafRenewal.Add(-time.Hour), ActionNone},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.now = leafRenewal.Add(-6 * time.Hour)
			d := Decide(f.input(), Options{Schedule: fixedSchedule{tt.nextRun}})
			if d.Action != tt.want {
				t.Errorf("Decide() = %s %q, want %s", d.Action, d.Message, tt.want)
			}
		})
	}
}

// fixedSchedule's next run is always at; after it, one day later.
type fixedSchedule struct{ at time.Time }

func (s fixedSchedule) Next(t time.Time) time.Time {
	if t.Before(s.at) {
		return s.at
	}
	return t.Add(24 * time.Hour)
}

func TestDecideJitter(t *testing.T) {
	f := newFixture(t)
	jitter := 48 * time.Hour
	d1 := Decide(f.input(), Options{Jitter: jitter})
	d2 := Decide(f.input(), Options{Jitter: jitter})
	if d1.RenewalTime == nil || !d1.RenewalTime.Equal(*d2.RenewalTime) {
		t.Fatalf("jittered renewal time not stable: %v vs %v", d1.RenewalTime, d2.RenewalTime)
	}
	if off := leafRenewal.Sub(*d1.RenewalTime); off < 0 || off >= jitter {
		t.Errorf("offset %s outside [0, %s)", off, jitter)
	}
	f.now = *d1.RenewalTime
	if d := Decide(f.input(), Options{Jitter: jitter}); d.Action != ActionIssue {
		t.Errorf("at the jittered renewal time: %s, want issue", d.Action)
	}
}

func TestDecideDrift(t *testing.T) {
	owned := func(fields string) []metav1.ManagedFieldsEntry {
		return []metav1.ManagedFieldsEntry{{
			Manager: FieldManager, Operation: metav1.ManagedFieldsOperationApply,
			FieldsV1: metav1.NewFieldsV1(fields),
		}}
	}
	tests := []struct {
		name       string
		edit       func(t *testing.T, f *fixture)
		wantAction Action
		wantReason string
		wantMsg    string
	}{
		{
			name:       "fao label missing",
			edit:       func(_ *testing.T, f *fixture) { delete(f.secret.Labels, cmapi.PartOfCertManagerControllerLabelKey) },
			wantAction: ActionRewriteSecret, wantReason: ReasonSecretManagedMetadataMismatch,
			wantMsg: "Secret is missing these Managed Labels: [controller.cert-manager.io/fao]",
		},
		{
			name:       "fao label wrong",
			edit:       func(_ *testing.T, f *fixture) { f.secret.Labels[cmapi.PartOfCertManagerControllerLabelKey] = "false" },
			wantAction: ActionRewriteSecret, wantReason: ReasonSecretManagedMetadataMismatch,
			wantMsg: `wrong base label controller.cert-manager.io/fao value "false", expected "true"`,
		},
		{
			name:       "details annotation edited",
			edit:       func(_ *testing.T, f *fixture) { f.secret.Annotations[cmapi.AltNamesAnnotationKey] = "evil.example.com" },
			wantAction: ActionRewriteSecret, wantReason: ReasonSecretTemplateMismatch,
			wantMsg: "Secret metadata evil.example.com does not match certificate metadata example.com",
		},
		{
			name:       "details annotation removed",
			edit:       func(_ *testing.T, f *fixture) { delete(f.secret.Annotations, cmapi.IPSANAnnotationKey) },
			wantAction: ActionRewriteSecret, wantReason: ReasonSecretManagedMetadataMismatch,
			wantMsg: "Secret is missing these Managed Annotations: [cert-manager.io/ip-sans]",
		},
		{
			name: "secretTemplate label added",
			edit: func(_ *testing.T, f *fixture) {
				f.crt.Spec.SecretTemplate = &cmapi.CertificateSecretTemplate{Labels: map[string]string{"team": "web"}}
			},
			wantAction: ActionRewriteSecret, wantReason: ReasonSecretTemplateMismatch,
			wantMsg: "Certificate's SecretTemplate Labels missing or incorrect value on Secret",
		},
		{
			name: "secretTemplate annotation changed",
			edit: func(_ *testing.T, f *fixture) {
				f.crt.Spec.SecretTemplate = &cmapi.CertificateSecretTemplate{Annotations: map[string]string{"owner": "b"}}
				f.secret.Annotations["owner"] = "a"
			},
			wantAction: ActionRewriteSecret, wantReason: ReasonSecretTemplateMismatch,
			wantMsg: "Certificate's SecretTemplate Annotations missing or incorrect value on Secret",
		},
		{
			name: "secretTemplate label removed from the spec",
			edit: func(_ *testing.T, f *fixture) {
				f.secret.Labels["team"] = "web"
				f.secret.ManagedFields = owned(`{"f:metadata":{"f:labels":{".":{},"f:team":{},"f:controller.cert-manager.io/fao":{}}}}`)
			},
			wantAction: ActionRewriteSecret, wantReason: ReasonSecretTemplateMismatch,
			wantMsg: "Secret has these extra Labels: [team]",
		},
		{
			name: "someone else's label: not drift",
			edit: func(_ *testing.T, f *fixture) {
				f.secret.Labels["team"] = "web"
				f.secret.ManagedFields = []metav1.ManagedFieldsEntry{{
					Manager: "kubectl", Operation: metav1.ManagedFieldsOperationApply,
					FieldsV1: metav1.NewFieldsV1(`{"f:metadata":{"f:labels":{"f:team":{}}}}`),
				}}
			},
			wantAction: ActionNone,
		},
		{
			name: "a details annotation we own no longer applies",
			edit: func(_ *testing.T, f *fixture) {
				f.secret.ManagedFields = owned(`{"f:metadata":{"f:annotations":{"f:cert-manager.io/email-sans":{},"f:cert-manager.io/common-name":{}}}}`)
			},
			wantAction: ActionRewriteSecret, wantReason: ReasonSecretManagedMetadataMismatch,
			wantMsg: "Secret has these extra Annotations: [cert-manager.io/email-sans]",
		},
		{
			name: "a data key we own is no longer wanted",
			edit: func(_ *testing.T, f *fixture) {
				f.secret.ManagedFields = owned(`{"f:data":{".":{},"f:tls.crt":{},"f:tls.key":{},"f:ca.crt":{},"f:extra.pem":{}}}`)
			},
			wantAction: ActionRewriteSecret, wantReason: ReasonSecretDataMismatch,
			wantMsg: "Secret has these extra data keys: [extra.pem]",
		},
		{
			name: "a data key we own is still wanted",
			edit: func(_ *testing.T, f *fixture) {
				f.crt.Spec.AdditionalOutputFormats = []cmapi.CertificateAdditionalOutputFormat{{Type: cmapi.CertificateOutputFormatDER}}
				f.secret.Data[cmapi.CertificateOutputFormatDERKey] = outputDER(f.secret.Data[corev1.TLSPrivateKeyKey])
				f.secret.ManagedFields = owned(`{"f:data":{"f:tls.crt":{},"f:tls.key":{},"f:key.der":{}}}`)
			},
			wantAction: ActionNone,
		},
		{
			name: "a trigger wins over drift",
			edit: func(_ *testing.T, f *fixture) {
				delete(f.secret.Labels, cmapi.PartOfCertManagerControllerLabelKey)
				f.now = leafRenewal
			},
			wantAction: ActionIssue, wantReason: ReasonRenewing,
			wantMsg: "Renewing certificate as renewal was scheduled at 2026-03-06 12:00:00 +0000 UTC",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			tt.edit(t, f)
			d := Decide(f.input(), Options{})
			if d.Action != tt.wantAction || d.Reason != tt.wantReason || d.Message != tt.wantMsg {
				t.Errorf("Decide() = %s %q %q, want %s %q %q", d.Action, d.Reason, d.Message, tt.wantAction, tt.wantReason, tt.wantMsg)
			}
		})
	}

	t.Run("unreadable managedFields: warn, do not rewrite", func(t *testing.T) {
		f := newFixture(t)
		f.secret.ManagedFields = owned(`{"f:metadata":`)
		d := Decide(f.input(), Options{})
		if d.Action != ActionNone || len(d.Warnings) != 1 {
			t.Errorf("Decide() = %s, warnings %q", d.Action, d.Warnings)
		}
	})
}

// TestDecideHandMadeSecret: a Secret someone created by hand has no
// annotations. With an Issuer it is adopted (metadata rewritten, no
// reissue); with a ClusterIssuer it is reissued (§1.5).
func TestDecideHandMadeSecret(t *testing.T) {
	f := newFixture(t)
	f.current = nil
	f.secret.Annotations = nil
	f.secret.Labels = nil
	if d := Decide(f.input(), Options{}); d.Action != ActionRewriteSecret {
		t.Errorf("Issuer: %s %q, want rewrite", d.Action, d.Message)
	}
	f.crt.Spec.IssuerRef.Kind = "ClusterIssuer"
	if d := Decide(f.input(), Options{}); d.Action != ActionIssue || d.Reason != ReasonIncorrectIssuer {
		t.Errorf("ClusterIssuer: %s %q, want issue IncorrectIssuer", d.Action, d.Reason)
	}
}
