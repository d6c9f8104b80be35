package pki

import (
	"crypto"
	"crypto/elliptic"
	"slices"
	"testing"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
)

func TestKeyMatchesSpec(t *testing.T) {
	rsa2048, rsa3072 := rsaKey(2048), rsaKey(3072)
	ecP256, ecP384, ed := ecCurve(elliptic.P256()), ecCurve(elliptic.P384()), edKey
	tests := []struct {
		name string
		key  func() crypto.Signer
		pk   *cmapi.CertificatePrivateKey
		want []string
	}{
		{"no privateKey: RSA 2048", rsa2048, nil, nil},
		{"RSA 2048 explicit", rsa2048, &cmapi.CertificatePrivateKey{Algorithm: cmapi.RSAKeyAlgorithm, Size: 2048}, nil},
		{"RSA 3072 wanted", rsa2048, &cmapi.CertificatePrivateKey{Size: 3072}, []string{"spec.privateKey.size"}},
		{"RSA 3072 held, default wanted", rsa3072, nil, []string{"spec.privateKey.size"}},
		{"ECDSA wanted, RSA held", rsa2048, &cmapi.CertificatePrivateKey{Algorithm: cmapi.ECDSAKeyAlgorithm}, []string{"spec.privateKey.algorithm"}},
		{"ECDSA default P-256", ecP256, &cmapi.CertificatePrivateKey{Algorithm: cmapi.ECDSAKeyAlgorithm}, nil},
		{"ECDSA 384 wanted, P-256 held", ecP256, &cmapi.CertificatePrivateKey{Algorithm: cmapi.ECDSAKeyAlgorithm, Size: 384}, []string{"spec.privateKey.size"}},
		{"ECDSA 384", ecP384, &cmapi.CertificatePrivateKey{Algorithm: cmapi.ECDSAKeyAlgorithm, Size: 384}, nil},
		{"Ed25519 ignores size", ed, &cmapi.CertificatePrivateKey{Algorithm: cmapi.Ed25519KeyAlgorithm, Size: 4096}, nil},
		{"Ed25519 wanted, ECDSA held", ecP256, &cmapi.CertificatePrivateKey{Algorithm: cmapi.Ed25519KeyAlgorithm}, []string{"spec.privateKey.algorithm"}},
		{"RSA wanted, Ed25519 held", ed, nil, []string{"spec.privateKey.algorithm"}},
		{"unknown algorithm never matches", rsa2048, &cmapi.CertificatePrivateKey{Algorithm: "DSA"}, []string{"spec.privateKey.algorithm"}},
		{"encoding is not compared", rsa2048, &cmapi.CertificatePrivateKey{Encoding: cmapi.PKCS8}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := cmapi.CertificateSpec{PrivateKey: tt.pk}
			if got := KeyMatchesSpec(tt.key(), spec); !slices.Equal(got, tt.want) {
				t.Errorf("private key: got %v, want %v", got, tt.want)
			}
			if got := KeyMatchesSpec(tt.key().Public(), spec); !slices.Equal(got, tt.want) {
				t.Errorf("public key: got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestKeyMatches(t *testing.T) {
	a, b := ecKey(t), ecKey(t)
	if !KeyMatches(a, a.Public()) {
		t.Error("a key does not match its own public key")
	}
	if KeyMatches(a, b.Public()) || KeyMatches(nil, a.Public()) || KeyMatches(a, nil) {
		t.Error("a key matches what is not its public key")
	}
}
