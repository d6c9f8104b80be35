package issuance

import (
	"bytes"
	"context"
	"slices"
	"testing"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	"github.com/certsweep/certsweep/issuance/pki"
)

func TestExternal(t *testing.T) {
	root, rootKey := makeCA(t, "root", nil, nil)
	inter, interKey := makeCA(t, "intermediate", root, rootKey)
	leaf, _ := makeLeaf(t, "leaf", inter, interKey)
	stranger, _ := makeCA(t, "stranger", nil, nil)

	ready := func(status cmmeta.ConditionStatus, reason, msg string) cmapi.CertificateRequestCondition {
		return cmapi.CertificateRequestCondition{Type: cmapi.CertificateRequestConditionReady, Status: status, Reason: reason, Message: msg}
	}
	issued := ready(cmmeta.ConditionTrue, "Issued", "Certificate fetched from issuer successfully")

	tests := []struct {
		name        string
		conds       []cmapi.CertificateRequestCondition
		certificate []byte
		ca          []byte
		wantState   State
		wantReason  string
		wantMessage string
		wantTLS     []string // subjects, or nil to compare wantTLSRaw
		wantTLSRaw  []byte
		wantCA      []string
	}{
		{
			name: "no answer yet", wantState: StatePending, wantReason: "Pending",
			wantMessage: "Waiting for the CertificateRequest to be signed",
		},
		{
			name: "issuer says pending", conds: []cmapi.CertificateRequestCondition{ready(cmmeta.ConditionFalse, "Pending", "Waiting on order")},
			wantState: StatePending, wantReason: "Pending", wantMessage: "Waiting on order",
		},
		{
			name: "failed", conds: []cmapi.CertificateRequestCondition{ready(cmmeta.ConditionFalse, "Failed", "quota exceeded")},
			wantState: StateFailed, wantReason: "Failed", wantMessage: "quota exceeded",
		},
		{
			name: "denied",
			conds: []cmapi.CertificateRequestCondition{
				{Type: cmapi.CertificateRequestConditionDenied, Status: cmmeta.ConditionTrue, Reason: "policy.cert-manager.io", Message: "no matching policy"},
			},
			wantState: StateDenied, wantReason: "policy.cert-manager.io", wantMessage: "no matching policy",
		},
		{
			name: "issued, in order", conds: []cmapi.CertificateRequestCondition{issued},
			certificate: pki.EncodeCertificates(leaf, inter), ca: pki.EncodeCertificates(root),
			wantState: StateIssued, wantTLS: []string{"leaf", "intermediate"}, wantCA: []string{"root"},
		},
		{
			name: "issued, reversed and with duplicates", conds: []cmapi.CertificateRequestCondition{issued},
			certificate: pki.EncodeCertificates(inter, leaf, inter), ca: pki.EncodeCertificates(root),
			wantState: StateIssued, wantTLS: []string{"leaf", "intermediate"}, wantCA: []string{"root"},
		},
		{
			name: "issued with the root in the chain and no CA", conds: []cmapi.CertificateRequestCondition{issued},
			certificate: pki.EncodeCertificates(leaf, inter, root),
			wantState:   StateIssued, wantTLS: []string{"leaf", "intermediate"}, wantCA: []string{"root"},
		},
		{
			name: "issued with the root in the chain and a CA given", conds: []cmapi.CertificateRequestCondition{issued},
			certificate: pki.EncodeCertificates(leaf, inter, root), ca: pki.EncodeCertificates(stranger),
			wantState: StateIssued, wantTLS: []string{"leaf", "intermediate"}, wantCA: []string{"stranger"},
		},
		{
			name: "issued, chain without root and no CA", conds: []cmapi.CertificateRequestCondition{issued},
			certificate: pki.EncodeCertificates(leaf, inter),
			wantState:   StateIssued, wantTLS: []string{"leaf", "intermediate"},
		},
		{
			name: "issued with an unrelated certificate is passed on as is", conds: []cmapi.CertificateRequestCondition{issued},
			certificate: pki.EncodeCertificates(leaf, stranger, inter), ca: pki.EncodeCertificates(root),
			wantState: StateIssued, wantTLSRaw: pki.EncodeCertificates(leaf, stranger, inter), wantCA: []string{"root"},
		},
		{
			name: "issued with garbage is passed on as is", conds: []cmapi.CertificateRequestCondition{issued},
			certificate: []byte("not a certificate"),
			wantState:   StateIssued, wantTLSRaw: []byte("not a certificate"),
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cr := &cmapi.CertificateRequest{Status: cmapi.CertificateRequestStatus{
				Conditions: tc.conds, Certificate: tc.certificate, CA: tc.ca,
			}}
			var ext Issuer = External{}
			res, err := ext.Sign(context.Background(), Request{CertificateRequest: cr})
			if err != nil {
				t.Fatalf("Sign: %v", err)
			}
			if res.State != tc.wantState {
				t.Fatalf("state = %s, want %s", res.State, tc.wantState)
			}
			if tc.wantState != StateIssued {
				if res.Reason != tc.wantReason || res.Message != tc.wantMessage {
					t.Errorf("reason, message = %q, %q; want %q, %q", res.Reason, res.Message, tc.wantReason, tc.wantMessage)
				}
				if len(res.Certificate) != 0 || len(res.CA) != 0 {
					t.Errorf("certificates returned without issuance")
				}
				return
			}
			if tc.wantTLS != nil {
				if got := subjects(mustDecodeCerts(t, res.Certificate)); !slices.Equal(got, tc.wantTLS) {
					t.Errorf("tls.crt = %v, want %v", got, tc.wantTLS)
				}
			} else if !bytes.Equal(res.Certificate, tc.wantTLSRaw) {
				t.Errorf("tls.crt changed: %q", res.Certificate)
			}
			var gotCA []string
			if len(res.CA) > 0 {
				gotCA = subjects(mustDecodeCerts(t, res.CA))
			}
			if !slices.Equal(gotCA, tc.wantCA) {
				t.Errorf("ca.crt = %v, want %v", gotCA, tc.wantCA)
			}
		})
	}
}

// Keep the compiler honest about the Issuer implementations.
var _ = []Issuer{External{}, &SelfSigned{}, &CA{}}
