package issuance

import (
	"crypto/x509"
	"slices"
	"strings"
	"testing"
)

func TestOrderChain(t *testing.T) {
	root, rootKey := makeCA(t, "root", nil, nil)
	inter, interKey := makeCA(t, "intermediate", root, rootKey)
	inter2, inter2Key := makeCA(t, "intermediate-2", inter, interKey)
	leaf, _ := makeLeaf(t, "leaf", inter2, inter2Key)
	sibling, _ := makeLeaf(t, "sibling", inter2, inter2Key)
	otherRoot, _ := makeCA(t, "other-root", nil, nil)
	// The same name and key as inter, signed by another root: a cross-sign.
	cross := crossSign(t, inter)

	tests := []struct {
		name    string
		in      []*x509.Certificate
		want    []string
		wantErr string
	}{
		{name: "already ordered", in: []*x509.Certificate{leaf, inter2, inter, root}, want: []string{"leaf", "intermediate-2", "intermediate", "root"}},
		{name: "shuffled", in: []*x509.Certificate{root, leaf, inter, inter2}, want: []string{"leaf", "intermediate-2", "intermediate", "root"}},
		{name: "duplicates dropped", in: []*x509.Certificate{leaf, inter2, inter2, inter, leaf, root}, want: []string{"leaf", "intermediate-2", "intermediate", "root"}},
		{name: "no root", in: []*x509.Certificate{inter, leaf, inter2}, want: []string{"leaf", "intermediate-2", "intermediate"}},
		{name: "single", in: []*x509.Certificate{leaf}, want: []string{"leaf"}},
		{name: "single root", in: []*x509.Certificate{root}, want: []string{"root"}},
		{name: "gap is broken", in: []*x509.Certificate{leaf, inter, root}, wantErr: "broken"},
		{name: "unrelated certificate is broken", in: []*x509.Certificate{leaf, inter2, otherRoot}, wantErr: "broken"},
		{name: "two leaves is forked", in: []*x509.Certificate{leaf, sibling, inter2}, wantErr: "forked"},
		{name: "two issuers is forked", in: []*x509.Certificate{leaf, inter2, inter, cross}, wantErr: "forked"},
		{name: "empty", in: nil, wantErr: "empty"},
		{name: "nil certificate", in: []*x509.Certificate{leaf, nil}, wantErr: "certificate 2 of the chain is empty"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := orderChain(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("orderChain: %v", err)
			}
			if !slices.Equal(subjects(got), tc.want) {
				t.Errorf("order = %v, want %v", subjects(got), tc.want)
			}
		})
	}
}

// crossSign re-issues ca (same subject, key and key identifier) under a new
// root, as a CA does when it is cross-signed.
func crossSign(t *testing.T, ca *x509.Certificate) *x509.Certificate {
	t.Helper()
	newRoot, newRootKey := makeCA(t, "cross-root", nil, nil)
	tmpl := *ca
	c, err := signCertificate(&tmpl, newRoot, newRootKey)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestSplitChain(t *testing.T) {
	root, rootKey := makeCA(t, "root", nil, nil)
	inter, interKey := makeCA(t, "intermediate", root, rootKey)
	leaf, _ := makeLeaf(t, "leaf", inter, interKey)
	selfLeaf, _ := makeCA(t, "self", nil, nil)

	tests := []struct {
		name    string
		in      []*x509.Certificate
		wantTLS []string
		wantCA  []string
	}{
		{"root is left out of tls.crt", []*x509.Certificate{leaf, inter, root}, []string{"leaf", "intermediate"}, []string{"root"}},
		{"top without root is in both", []*x509.Certificate{leaf, inter}, []string{"leaf", "intermediate"}, []string{"intermediate"}},
		{"self-signed alone is both", []*x509.Certificate{selfLeaf}, []string{"self"}, []string{"self"}},
		{"single issued certificate has no CA", []*x509.Certificate{leaf}, []string{"leaf"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tlsCrt, caCrt := splitChain(tc.in)
			if got := subjects(mustDecodeCerts(t, tlsCrt)); !slices.Equal(got, tc.wantTLS) {
				t.Errorf("tls.crt = %v, want %v", got, tc.wantTLS)
			}
			var gotCA []string
			if len(caCrt) > 0 {
				gotCA = subjects(mustDecodeCerts(t, caCrt))
			}
			if !slices.Equal(gotCA, tc.wantCA) {
				t.Errorf("ca.crt = %v, want %v", gotCA, tc.wantCA)
			}
		})
	}
}

func TestBuildChainLeafMustBeAtTheBottom(t *testing.T) {
	root, rootKey := makeCA(t, "root", nil, nil)
	inter, interKey := makeCA(t, "intermediate", root, rootKey)
	leaf, _ := makeLeaf(t, "leaf", inter, interKey)
	if _, _, err := buildChain(inter, []*x509.Certificate{leaf, root}); err == nil || !strings.Contains(err.Error(), "not at its end") {
		t.Errorf("error = %v", err)
	}
	if _, _, err := buildChain(leaf, []*x509.Certificate{inter, root}); err != nil {
		t.Errorf("buildChain: %v", err)
	}
}
