package renew

import (
	"bytes"
	"encoding/pem"
	"strings"
	"testing"

	"github.com/certsweep/certsweep/issuance/pki"
	corev1 "k8s.io/api/core/v1"
)

func TestDecodeSecret(t *testing.T) {
	rsaCert := certPEM(t, rsa2048(), nil)
	tests := []struct {
		name       string
		key, cert  []byte
		wantKey    bool
		wantLeaf   bool
		keyErr     string
		certErr    string
		wantChainN int
	}{
		{name: "RSA PKCS#1", key: keyPEM(t, rsa2048()), cert: rsaCert, wantKey: true, wantLeaf: true, wantChainN: 1},
		{name: "RSA PKCS#8", key: pkcs8PEM(t, rsa2048()), cert: rsaCert, wantKey: true, wantLeaf: true, wantChainN: 1},
		{name: "ECDSA SEC 1", key: keyPEM(t, ecP256()), cert: certPEM(t, ecP256(), nil), wantKey: true, wantLeaf: true, wantChainN: 1},
		{name: "Ed25519 PKCS#8", key: keyPEM(t, ed()), cert: certPEM(t, ed(), nil), wantKey: true, wantLeaf: true, wantChainN: 1},
		{name: "chain: leaf first", key: keyPEM(t, rsa2048()), cert: append(slicesClone(rsaCert), certPEM(t, ecP256(), nil)...), wantKey: true, wantLeaf: true, wantChainN: 2},
		{name: "missing parts are not errors", wantChainN: 0},
		{name: "not PEM", key: []byte("garbage"), cert: []byte("garbage"), keyErr: "no PEM data was found in given input", certErr: "no valid certificates found"},
		{
			name:   "unknown key block",
			key:    pem.EncodeToMemory(&pem.Block{Type: "DSA PRIVATE KEY", Bytes: []byte{1, 2, 3}}),
			keyErr: "unknown private key type: DSA PRIVATE KEY",
		},
		{
			name:   "encrypted key",
			key:    pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Headers: map[string]string{"Proc-Type": "4,ENCRYPTED"}, Bytes: []byte{1}}),
			keyErr: "error parsing rsa private key",
		},
		{
			name:   "PKCS#1 label on a PKCS#8 body",
			key:    relabel(pkcs8PEM(t, rsa2048()), "RSA PRIVATE KEY"),
			keyErr: "error parsing rsa private key",
		},
		{
			name:    "truncated certificate DER",
			cert:    truncatedDER(rsaCert),
			certErr: "error parsing X.509 certificate",
		},
		{
			name:    "too large",
			cert:    bytes.Repeat([]byte("A"), pki.MaxCertPEMBytes+1),
			certErr: "larger than the maximum",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &corev1.Secret{Data: map[string][]byte{corev1.TLSPrivateKeyKey: tt.key, corev1.TLSCertKey: tt.cert}}
			c, err := decodeSecret(s)
			if (c.PrivateKey != nil) != tt.wantKey || (c.Leaf != nil) != tt.wantLeaf || len(c.Chain) != tt.wantChainN {
				t.Fatalf("key %v leaf %v chain %d", c.PrivateKey != nil, c.Leaf != nil, len(c.Chain))
			}
			checkErr(t, "key", c.KeyError, tt.keyErr)
			checkErr(t, "cert", c.CertError, tt.certErr)
			if (err != nil) != (tt.keyErr != "" || tt.certErr != "") {
				t.Errorf("joined error = %v", err)
			}
		})
	}
	if c, err := decodeSecret(nil); c != nil || err == nil {
		t.Errorf("nil Secret: %v %v", c, err)
	}
}

func checkErr(t *testing.T, what string, err error, want string) {
	t.Helper()
	if want == "" && err != nil || want != "" && (err == nil || !strings.Contains(err.Error(), want)) {
		t.Errorf("%s error = %v, want %q", what, err, want)
	}
}

func slicesClone(b []byte) []byte { return append([]byte(nil), b...) }

func relabel(p []byte, typ string) []byte {
	b, _ := pem.Decode(p)
	b.Type = typ
	return pem.EncodeToMemory(b)
}

func truncatedDER(p []byte) []byte {
	b, _ := pem.Decode(p)
	b.Bytes = b.Bytes[:len(b.Bytes)/2]
	return pem.EncodeToMemory(b)
}

// FuzzDecodeSecret: arbitrary Secret data never panics, a decoded key or leaf
// is always usable, and no error ever repeats the key's bytes.
//
// The seeds avoid RSA: fuzzing instruments math/big too, which makes RSA key
// generation in every worker take longer than the whole fuzzing budget.
func FuzzDecodeSecret(f *testing.F) {
	ecKey := keyPEM(f, ecP256())
	ecCert := certPEM(f, ecP256(), nil)
	edCert := certPEM(f, ed(), nil)
	f.Add(ecKey, ecCert)
	f.Add(ecKey, edCert) // key and cert of different types
	f.Add(pkcs8PEM(f, ed()), edCert)
	f.Add(pkcs8PEM(f, ecP256()), ecCert)
	f.Add(relabel(ecKey, "RSA PRIVATE KEY"), truncatedDER(ecCert))
	f.Add([]byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"), []byte("-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n"))
	f.Add([]byte{}, []byte("garbage"))
	f.Fuzz(func(t *testing.T, key, cert []byte) {
		c, err := decodeSecret(&corev1.Secret{Data: map[string][]byte{corev1.TLSPrivateKeyKey: key, corev1.TLSCertKey: cert}})
		if c == nil {
			t.Fatal("nil contents for a Secret")
		}
		if c.PrivateKey != nil && c.PrivateKey.Public() == nil {
			t.Fatal("key without a public half")
		}
		if c.Leaf != nil && c.Leaf != c.Chain[0] {
			t.Fatal("leaf is not the first certificate")
		}
		if err == nil {
			return
		}
		if b, _ := pem.Decode(key); b != nil && len(b.Bytes) >= 8 && strings.Contains(err.Error(), string(b.Bytes)) {
			t.Fatalf("error leaks key bytes: %v", err)
		}
		if len(key) >= 16 && strings.Contains(err.Error(), string(key)) {
			t.Fatalf("error leaks key PEM: %v", err)
		}
	})
}
