package pki

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"strings"
	"testing"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
)

func TestGeneratePrivateKey(t *testing.T) {
	tests := []struct {
		name      string
		spec      *cmapi.CertificatePrivateKey
		wantType  string
		wantBits  int    // RSA modulus size
		wantCurve string // ECDSA curve name
		wantErr   string
	}{
		{name: "nil spec defaults to RSA 2048", spec: nil, wantType: "RSA", wantBits: 2048},
		{name: "empty algorithm defaults to RSA 2048", spec: &cmapi.CertificatePrivateKey{}, wantType: "RSA", wantBits: 2048},
		{name: "RSA 3072", spec: &cmapi.CertificatePrivateKey{Algorithm: cmapi.RSAKeyAlgorithm, Size: 3072}, wantType: "RSA", wantBits: 3072},
		{name: "ECDSA default P-256", spec: &cmapi.CertificatePrivateKey{Algorithm: cmapi.ECDSAKeyAlgorithm}, wantType: "ECDSA", wantCurve: "P-256"},
		{name: "ECDSA 256", spec: &cmapi.CertificatePrivateKey{Algorithm: cmapi.ECDSAKeyAlgorithm, Size: 256}, wantType: "ECDSA", wantCurve: "P-256"},
		{name: "ECDSA 384", spec: &cmapi.CertificatePrivateKey{Algorithm: cmapi.ECDSAKeyAlgorithm, Size: 384}, wantType: "ECDSA", wantCurve: "P-384"},
		{name: "ECDSA 521", spec: &cmapi.CertificatePrivateKey{Algorithm: cmapi.ECDSAKeyAlgorithm, Size: 521}, wantType: "ECDSA", wantCurve: "P-521"},
		{name: "Ed25519 ignores size", spec: &cmapi.CertificatePrivateKey{Algorithm: cmapi.Ed25519KeyAlgorithm, Size: 4096}, wantType: "Ed25519"},

		{name: "RSA below 2048", spec: &cmapi.CertificatePrivateKey{Algorithm: cmapi.RSAKeyAlgorithm, Size: 1024}, wantErr: "must be between 2048 and 8192"},
		{name: "RSA just below 2048", spec: &cmapi.CertificatePrivateKey{Algorithm: cmapi.RSAKeyAlgorithm, Size: 2047}, wantErr: "must be between 2048 and 8192"},
		{name: "RSA above 8192", spec: &cmapi.CertificatePrivateKey{Algorithm: cmapi.RSAKeyAlgorithm, Size: 8193}, wantErr: "must be between 2048 and 8192"},
		{name: "RSA negative", spec: &cmapi.CertificatePrivateKey{Algorithm: cmapi.RSAKeyAlgorithm, Size: -1}, wantErr: "must be between 2048 and 8192"},
		{name: "ECDSA 255", spec: &cmapi.CertificatePrivateKey{Algorithm: cmapi.ECDSAKeyAlgorithm, Size: 255}, wantErr: "must be 256, 384 or 521"},
		{name: "ECDSA 2048", spec: &cmapi.CertificatePrivateKey{Algorithm: cmapi.ECDSAKeyAlgorithm, Size: 2048}, wantErr: "must be 256, 384 or 521"},
		{name: "unknown algorithm", spec: &cmapi.CertificatePrivateKey{Algorithm: "DSA"}, wantErr: `"DSA" is not supported`},
		{name: "algorithm is case sensitive", spec: &cmapi.CertificatePrivateKey{Algorithm: "rsa"}, wantErr: `"rsa" is not supported`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			key, err := GeneratePrivateKey(tc.spec)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("GeneratePrivateKey: %v", err)
			}
			switch k := key.(type) {
			case *rsa.PrivateKey:
				if tc.wantType != "RSA" || k.N.BitLen() != tc.wantBits {
					t.Errorf("got RSA %d bits, want %s %d", k.N.BitLen(), tc.wantType, tc.wantBits)
				}
			case *ecdsa.PrivateKey:
				if tc.wantType != "ECDSA" || k.Curve.Params().Name != tc.wantCurve {
					t.Errorf("got ECDSA %s, want %s %s", k.Curve.Params().Name, tc.wantType, tc.wantCurve)
				}
			case ed25519.PrivateKey:
				if tc.wantType != "Ed25519" {
					t.Errorf("got Ed25519, want %s", tc.wantType)
				}
			default:
				t.Fatalf("unexpected key type %T", key)
			}
		})
	}
}

func TestEncodeDecodePrivateKey(t *testing.T) {
	rsaKey, err := GeneratePrivateKey(&cmapi.CertificatePrivateKey{Algorithm: cmapi.RSAKeyAlgorithm})
	if err != nil {
		t.Fatal(err)
	}
	keys := map[string]crypto.Signer{"RSA": rsaKey}
	for _, size := range []int{256, 384, 521} {
		k, err := GeneratePrivateKey(&cmapi.CertificatePrivateKey{Algorithm: cmapi.ECDSAKeyAlgorithm, Size: size})
		if err != nil {
			t.Fatal(err)
		}
		keys["ECDSA-"+k.(*ecdsa.PrivateKey).Curve.Params().Name] = k
	}
	edKey, err := GeneratePrivateKey(&cmapi.CertificatePrivateKey{Algorithm: cmapi.Ed25519KeyAlgorithm})
	if err != nil {
		t.Fatal(err)
	}
	keys["Ed25519"] = edKey

	wantBlock := map[string]map[cmapi.PrivateKeyEncoding]string{
		"RSA":         {"": "RSA PRIVATE KEY", cmapi.PKCS1: "RSA PRIVATE KEY", cmapi.PKCS8: "PRIVATE KEY"},
		"ECDSA-P-256": {"": "EC PRIVATE KEY", cmapi.PKCS1: "EC PRIVATE KEY", cmapi.PKCS8: "PRIVATE KEY"},
		"ECDSA-P-384": {"": "EC PRIVATE KEY", cmapi.PKCS1: "EC PRIVATE KEY", cmapi.PKCS8: "PRIVATE KEY"},
		"ECDSA-P-521": {"": "EC PRIVATE KEY", cmapi.PKCS1: "EC PRIVATE KEY", cmapi.PKCS8: "PRIVATE KEY"},
		"Ed25519":     {"": "PRIVATE KEY", cmapi.PKCS1: "PRIVATE KEY", cmapi.PKCS8: "PRIVATE KEY"},
	}

	for name, key := range keys {
		for enc, blockType := range wantBlock[name] {
			t.Run(name+"/"+string(enc), func(t *testing.T) {
				encoded, err := EncodePrivateKey(key, enc)
				if err != nil {
					t.Fatalf("EncodePrivateKey: %v", err)
				}
				block, rest := pem.Decode(encoded)
				if block == nil || len(bytes.TrimSpace(rest)) != 0 {
					t.Fatalf("encoded key is not exactly one PEM block")
				}
				if block.Type != blockType {
					t.Errorf("PEM type = %q, want %q", block.Type, blockType)
				}
				decoded, err := DecodePrivateKey(encoded)
				if err != nil {
					t.Fatalf("DecodePrivateKey: %v", err)
				}
				if !samePublicKey(decoded.Public(), key.Public()) {
					t.Errorf("decoded key differs from the original")
				}
			})
		}
	}

	t.Run("unknown encoding", func(t *testing.T) {
		if _, err := EncodePrivateKey(edKey, "PKCS12"); err == nil || !strings.Contains(err.Error(), `"PKCS12" is not supported`) {
			t.Errorf("error = %v", err)
		}
	})
	t.Run("nil key", func(t *testing.T) {
		if _, err := EncodePrivateKey(nil, cmapi.PKCS8); err == nil {
			t.Errorf("expected an error")
		}
	})
}

func TestDecodePrivateKeyErrors(t *testing.T) {
	key := ecKey(t)
	pkcs8, err := EncodePrivateKey(key, cmapi.PKCS8)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(pkcs8)
	der := block.Bytes

	truncated := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der[:len(der)/2]})
	wrongType := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: der})
	certBlock := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})

	tests := []struct {
		name    string
		in      []byte
		wantErr string
	}{
		// One decoder serves renew/ and issuance/ since the two were
		// merged; its messages are cert-manager's, which users see in
		// conditions.
		{"empty", nil, "no PEM data was found in given input"},
		{"garbage", []byte("not a key at all"), "no PEM data was found in given input"},
		{"truncated PKCS#8", truncated, "error parsing pkcs#8 private key"},
		{"PKCS#8 labelled as PKCS#1", wrongType, "error parsing rsa private key"},
		{"certificate block", certBlock, "unknown private key type: CERTIFICATE"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodePrivateKey(tc.in)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error = %v, want one containing %q", err, tc.wantErr)
			}
			assertNoKeyMaterial(t, err.Error(), der)
		})
	}
}

// assertNoKeyMaterial fails when msg contains der in any usual spelling.
func assertNoKeyMaterial(t *testing.T, msg string, der []byte) {
	t.Helper()
	for _, form := range []string{
		base64.StdEncoding.EncodeToString(der)[:16],
		hex.EncodeToString(der[:8]),
		string(der[len(der)-8:]),
	} {
		if strings.Contains(msg, form) {
			t.Fatalf("error message contains key material")
		}
	}
}

// TestDecodePrivateKeyReadsTheFirstBlock: only the first PEM block is read,
// as cert-manager reads it, so `openssl ecparam -genkey` output (parameters,
// then the key) is refused, while headers on a key are ignored.
func TestDecodePrivateKeyReadsTheFirstBlock(t *testing.T) {
	key := ecKey(t)
	sec1, err := EncodePrivateKey(key, cmapi.PKCS1)
	if err != nil {
		t.Fatal(err)
	}
	params := pem.EncodeToMemory(&pem.Block{Type: "EC PARAMETERS", Bytes: []byte{0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07}})
	if _, err := DecodePrivateKey(append(params, sec1...)); err == nil || err.Error() != "unknown private key type: EC PARAMETERS" {
		t.Errorf("parameters first: error = %v", err)
	}
	block, _ := pem.Decode(sec1)
	block.Headers = map[string]string{"Comment": "made by hand"}
	decoded, err := DecodePrivateKey(pem.EncodeToMemory(block))
	if err != nil {
		t.Fatalf("key with a header: %v", err)
	}
	if !samePublicKey(decoded.Public(), key.Public()) {
		t.Errorf("decoded key differs")
	}
}

func TestPublicKeysEqual(t *testing.T) {
	a, b := ecKey(t), ecKey(t)
	_, ed, _ := ed25519.GenerateKey(nil)
	// An equal key in a separate value: round-trip it through its encoding.
	samePub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), mustBytes(t, a.(*ecdsa.PrivateKey).PublicKey.Bytes))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		x, y crypto.PublicKey
		want bool
	}{
		{"same key", a.Public(), a.Public(), true},
		{"equal copies", a.Public(), samePub, true},
		{"different keys", a.Public(), b.Public(), false},
		{"different types", a.Public(), ed.Public(), false},
		{"nil left", nil, a.Public(), false},
		{"nil right", a.Public(), nil, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := samePublicKey(tc.x, tc.y); got != tc.want {
				t.Errorf("PublicKeysEqual = %v, want %v", got, tc.want)
			}
		})
	}
}

func FuzzDecodePrivateKey(f *testing.F) {
	// Seeds are made from keys generated now, never from stored keys.
	ec := ecKey(f)
	_, ed, _ := ed25519.GenerateKey(nil)
	for _, key := range []crypto.Signer{ec, ed} {
		for _, enc := range []cmapi.PrivateKeyEncoding{cmapi.PKCS1, cmapi.PKCS8} {
			p, err := EncodePrivateKey(key, enc)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(p)
			block, _ := pem.Decode(p)
			f.Add(pem.EncodeToMemory(&pem.Block{Type: block.Type, Bytes: block.Bytes[:len(block.Bytes)-3]}))
			f.Add(pem.EncodeToMemory(&pem.Block{Type: block.Type, Bytes: block.Bytes[:5]}))
			f.Add(p[:len(p)/2])
		}
	}
	f.Add([]byte("-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n"))
	f.Add([]byte("-----BEGIN EC PRIVATE KEY-----\n-----END EC PRIVATE KEY-----\n"))
	f.Add([]byte("-----BEGIN PRIVATE KEY-----\nMAA=\n-----END PRIVATE KEY-----\n"))
	f.Add([]byte("garbage"))
	f.Add([]byte{})

	f.Fuzz(func(t *testing.T, in []byte) {
		key, err := DecodePrivateKey(in)
		if err != nil {
			if key != nil {
				t.Fatalf("key returned together with an error")
			}
			return
		}
		// Whatever decodes must survive a round trip through every encoding.
		for _, enc := range []cmapi.PrivateKeyEncoding{cmapi.PKCS1, cmapi.PKCS8} {
			out, err := EncodePrivateKey(key, enc)
			if err != nil {
				t.Fatalf("re-encoding a decoded key as %s: %v", enc, err)
			}
			again, err := DecodePrivateKey(out)
			if err != nil {
				t.Fatalf("decoding a re-encoded key: %v", err)
			}
			if !samePublicKey(again.Public(), key.Public()) {
				t.Fatalf("round trip changed the key")
			}
		}
	})
}

// TestEncodedKeysParseWithStdlib makes sure the encodings are the standard ones.
func TestEncodedKeysParseWithStdlib(t *testing.T) {
	key := ecKey(t)
	p, _ := EncodePrivateKey(key, cmapi.PKCS1)
	block, _ := pem.Decode(p)
	if _, err := x509.ParseECPrivateKey(block.Bytes); err != nil {
		t.Errorf("SEC 1 output does not parse: %v", err)
	}
	p, _ = EncodePrivateKey(key, cmapi.PKCS8)
	block, _ = pem.Decode(p)
	if _, err := x509.ParsePKCS8PrivateKey(block.Bytes); err != nil {
		t.Errorf("PKCS#8 output does not parse: %v", err)
	}
}

func mustBytes(t *testing.T, f func() ([]byte, error)) []byte {
	t.Helper()
	b, err := f()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// samePublicKey is PublicKeysEqual where an incomparable key means "not equal".
func samePublicKey(a, b crypto.PublicKey) bool {
	eq, err := PublicKeysEqual(a, b)
	return err == nil && eq
}

func TestPublicKeysEqualUnknownType(t *testing.T) {
	if _, err := PublicKeysEqual(struct{}{}, ecKey(t).Public()); err == nil {
		t.Error("want an error for an unknown key type")
	}
}
