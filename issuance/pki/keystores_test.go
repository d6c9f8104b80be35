package pki

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"encoding/pem"
	"math/big"
	"strings"
	"testing"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	jks "github.com/pavlo-v-chernykh/keystore-go/v4"
	"software.sslmate.com/src/go-pkcs12"
)

// testPassword is a password the tests look for in every error message.
const testPassword = "s3cret-Pa55word"

var allProfiles = []cmapi.PKCS12Profile{
	cmapi.LegacyRC2PKCS12Profile, cmapi.LegacyDESPKCS12Profile,
	cmapi.Modern2023PKCS12Profile, cmapi.Modern2026PKCS12Profile,
}

// testPKI is a root, an intermediate signed by it, and a leaf signed by
// the intermediate, with the leaf's key.
type testPKI struct {
	key         crypto.Signer
	leaf, inter *x509.Certificate
	root        *x509.Certificate
}

func (p testPKI) contents() KeystoreContents {
	return KeystoreContents{Key: p.key, Chain: []*x509.Certificate{p.leaf, p.inter}, CAs: []*x509.Certificate{p.root}}
}

func newTestPKI(t testing.TB, key crypto.Signer) testPKI {
	t.Helper()
	rootKey, interKey := ecKey(t), ecKey(t)
	issue := func(cn string, pub crypto.PublicKey, isCA bool, parent *x509.Certificate, signer crypto.Signer) *x509.Certificate {
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
			IsCA: isCA, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		}
		if parent == nil {
			parent = tmpl
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, signer)
		if err != nil {
			t.Fatal(err)
		}
		c, err := x509.ParseCertificate(der)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	root := issue("root", rootKey.Public(), true, nil, rootKey)
	inter := issue("intermediate", interKey.Public(), true, root, rootKey)
	leaf := issue("leaf", key.Public(), false, inter, interKey)
	return testPKI{key: key, leaf: leaf, inter: inter, root: root}
}

func noPassword(t *testing.T, err error) {
	t.Helper()
	if err != nil && strings.Contains(err.Error(), testPassword) {
		t.Fatalf("error carries the password: %v", err)
	}
}

// TestPKCS12ProfileShapes: each profile's files have the shape the table
// says, so CheckPKCS12Profile tells the profiles apart, and a library
// update that changes an algorithm is caught here.
func TestPKCS12ProfileShapes(t *testing.T) {
	p := newTestPKI(t, ecKey(t))
	pw := []byte(testPassword)
	for _, profile := range allProfiles {
		t.Run(string(profile), func(t *testing.T) {
			ks, err := EncodePKCS12Keystore(profile, pw, p.contents())
			if err != nil {
				t.Fatal(err)
			}
			ts, err := EncodePKCS12Truststore(profile, pw, []*x509.Certificate{p.root})
			if err != nil {
				t.Fatal(err)
			}
			shape, err := readPKCS12Shape(ks)
			if err != nil || shape != pkcs12Profiles[profile] {
				t.Fatalf("keystore shape = %+v, %v; want %+v", shape, err, pkcs12Profiles[profile])
			}
			tsShape, err := readPKCS12Shape(ts)
			want := pkcs12Profiles[profile]
			want.Key, want.KeyRounds = "", 0
			if err != nil || tsShape != want {
				t.Fatalf("truststore shape = %+v, %v; want %+v", tsShape, err, want)
			}
			for _, other := range allProfiles {
				err := CheckPKCS12Profile(ks, other)
				if (err == nil) != (other == profile) {
					t.Errorf("CheckPKCS12Profile(%s file, %s) = %v", profile, other, err)
				}
				if other != profile && (err == nil || err.Error() != "was written with profile "+string(profile)+", not "+string(other)) {
					t.Errorf("message = %v", err)
				}
			}
		})
	}
	// The empty profile is cert-manager's default, LegacyRC2.
	ks, err := EncodePKCS12Keystore("", pw, p.contents())
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckPKCS12Profile(ks, cmapi.LegacyRC2PKCS12Profile); err != nil {
		t.Fatalf("default profile: %v", err)
	}
	if _, err := EncodePKCS12Keystore("Nonsense", pw, p.contents()); err == nil {
		t.Fatal("an unknown profile was encoded")
	}
}

// TestCheckPKCS12Keystore: a keystore is up to date only when it opens
// with the password and holds the Secret's key, leaf, chain and CA.
func TestCheckPKCS12Keystore(t *testing.T) {
	pw := []byte(testPassword)
	// Two different keys of each type.
	keys := map[string][2]func() crypto.Signer{
		"rsa":     {rsaKey(2048), rsaKey(1024)},
		"ecdsa":   {func() crypto.Signer { return ecKey(t) }, func() crypto.Signer { return ecKey(t) }},
		"ed25519": {edKey, edKey},
	}
	for name, newKey := range keys {
		p := newTestPKI(t, newKey[0]())
		other := newTestPKI(t, newKey[1]())
		for _, profile := range allProfiles {
			ks, err := EncodePKCS12Keystore(profile, pw, p.contents())
			if err != nil {
				t.Fatalf("%s %s: %v", name, profile, err)
			}
			tests := []struct {
				name     string
				data     []byte
				profile  cmapi.PKCS12Profile
				password []byte
				c        KeystoreContents
				want     string
			}{
				{name: "up to date", data: ks, profile: profile, password: pw, c: p.contents()},
				{name: "password changed", data: ks, profile: profile, password: []byte("another"), c: p.contents(), want: "does not open with the configured password"},
				{name: "another key", data: ks, profile: profile, password: pw, c: KeystoreContents{Key: other.key, Chain: p.contents().Chain, CAs: p.contents().CAs}, want: "does not hold the Secret's private key"},
				{name: "another leaf", data: ks, profile: profile, password: pw, c: KeystoreContents{Key: p.key, Chain: []*x509.Certificate{other.leaf, p.inter}, CAs: p.contents().CAs}, want: "does not hold the Secret's certificate"},
				{name: "CA changed", data: ks, profile: profile, password: pw, c: KeystoreContents{Key: p.key, Chain: p.contents().Chain, CAs: []*x509.Certificate{other.root}}, want: "does not hold the Secret's chain and CA certificates"},
				{name: "CA gone", data: ks, profile: profile, password: pw, c: KeystoreContents{Key: p.key, Chain: p.contents().Chain}, want: "does not hold the Secret's chain and CA certificates"},
				{name: "not PKCS#12", data: []byte("garbage"), profile: profile, password: pw, c: p.contents(), want: "is not a PKCS#12 file"},
				{name: "truncated", data: ks[:len(ks)/2], profile: profile, password: pw, c: p.contents(), want: "is not a PKCS#12 file"},
			}
			for _, tt := range tests {
				err := CheckPKCS12Keystore(tt.data, tt.profile, tt.password, tt.c)
				noPassword(t, err)
				if got := errString(err); got != tt.want {
					t.Errorf("%s %s %s: CheckPKCS12Keystore = %q, want %q", name, profile, tt.name, got, tt.want)
				}
			}
		}
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func TestCheckPKCS12Truststore(t *testing.T) {
	p, other := newTestPKI(t, ecKey(t)), newTestPKI(t, ecKey(t))
	pw := []byte(testPassword)
	ts, err := EncodePKCS12Truststore(cmapi.Modern2023PKCS12Profile, pw, []*x509.Certificate{p.root})
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckPKCS12Truststore(ts, cmapi.Modern2023PKCS12Profile, pw, []*x509.Certificate{p.root}); err != nil {
		t.Fatalf("up to date: %v", err)
	}
	for name, err := range map[string]error{
		"another CA":       CheckPKCS12Truststore(ts, cmapi.Modern2023PKCS12Profile, pw, []*x509.Certificate{other.root}),
		"another password": CheckPKCS12Truststore(ts, cmapi.Modern2023PKCS12Profile, []byte("x"), []*x509.Certificate{p.root}),
		"another profile":  CheckPKCS12Truststore(ts, cmapi.LegacyDESPKCS12Profile, pw, []*x509.Certificate{p.root}),
	} {
		noPassword(t, err)
		if err == nil {
			t.Errorf("%s: truststore judged up to date", name)
		}
	}
}

// TestPKCS12CostlyFileIsRefusedUnopened: a file whose KDF would run for
// minutes is refused by its shape, before any key is derived.
func TestPKCS12CostlyFileIsRefusedUnopened(t *testing.T) {
	p := newTestPKI(t, ecKey(t))
	data, err := pkcs12.Modern2023.WithIterations(1<<20).Encode(p.key, p.leaf, nil, testPassword)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	err = CheckPKCS12Keystore(data, cmapi.Modern2023PKCS12Profile, []byte(testPassword), KeystoreContents{Key: p.key, Chain: []*x509.Certificate{p.leaf}})
	if err == nil || err.Error() != "is protected with algorithms of no PKCS#12 profile" {
		t.Fatalf("CheckPKCS12Keystore = %v", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("refusing took %s", d)
	}
}

// TestPKCS12FromCertManagersOrder: cert-manager's keystore (chain, then
// ca.crt as a set) and ours compare equal whatever the order of the CAs.
func TestPKCS12CAOrderDoesNotMatter(t *testing.T) {
	p := newTestPKI(t, ecKey(t))
	data, err := pkcs12.LegacyRC2.Encode(p.key, p.leaf, []*x509.Certificate{p.root, p.inter}, testPassword)
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckPKCS12Keystore(data, "", []byte(testPassword), p.contents()); err != nil {
		t.Fatal(err)
	}
}

func TestCheckJKSKeystore(t *testing.T) {
	pw := []byte(testPassword)
	created := time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)
	for name, newKey := range map[string][2]func() crypto.Signer{
		"rsa":   {rsaKey(2048), rsaKey(1024)},
		"ecdsa": {func() crypto.Signer { return ecKey(t) }, func() crypto.Signer { return ecKey(t) }},
	} {
		p, other := newTestPKI(t, newKey[0]()), newTestPKI(t, newKey[1]())
		ks, err := EncodeJKSKeystore(pw, "My-Alias", p.contents(), created)
		if err != nil {
			t.Fatal(err)
		}
		twoKeys := jksWith(t, ks, pw, func(s jks.KeyStore) {
			e, err := s.GetPrivateKeyEntry("my-alias", pw)
			if err != nil {
				t.Fatal(err)
			}
			if err := s.SetPrivateKeyEntry("old", e, pw); err != nil {
				t.Fatal(err)
			}
		})
		tests := []struct {
			name     string
			data     []byte
			password []byte
			alias    string
			c        KeystoreContents
			want     string
		}{
			{name: "up to date", data: ks, password: pw, alias: "My-Alias", c: p.contents()},
			{name: "aliases ignore case, as Java's do", data: ks, password: pw, alias: "my-alias", c: p.contents()},
			{name: "alias changed", data: ks, password: pw, alias: "server", c: p.contents(), want: `has no private key entry under alias "server"`},
			{name: "password changed", data: ks, password: []byte("another"), alias: "My-Alias", c: p.contents(), want: "does not open with the configured password, or is corrupt"},
			{name: "another key", data: ks, password: pw, alias: "My-Alias", c: KeystoreContents{Key: other.key, Chain: p.contents().Chain, CAs: p.contents().CAs}, want: "does not hold the Secret's private key"},
			{name: "chain changed", data: ks, password: pw, alias: "My-Alias", c: KeystoreContents{Key: p.key, Chain: []*x509.Certificate{p.leaf}, CAs: p.contents().CAs}, want: "does not hold the Secret's certificate chain"},
			{name: "CA changed", data: ks, password: pw, alias: "My-Alias", c: KeystoreContents{Key: p.key, Chain: p.contents().Chain, CAs: []*x509.Certificate{other.root}}, want: "does not hold the Secret's CA certificates"},
			{name: "a second key entry", data: twoKeys, password: pw, alias: "My-Alias", c: p.contents(), want: "holds private key entries under other aliases"},
			{name: "not JKS", data: []byte("garbage!garbage!"), password: pw, alias: "My-Alias", c: p.contents(), want: "is not a JKS file"},
			{name: "truncated", data: ks[:len(ks)-1], password: pw, alias: "My-Alias", c: p.contents(), want: "is corrupt"},
		}
		for _, tt := range tests {
			err := CheckJKSKeystore(tt.data, tt.password, tt.alias, tt.c)
			noPassword(t, err)
			if got := errString(err); got != tt.want {
				t.Errorf("%s %s: CheckJKSKeystore = %q, want %q", name, tt.name, got, tt.want)
			}
		}
	}
}

// jksWith loads a JKS file, changes it and stores it again.
func jksWith(t *testing.T, data, pw []byte, edit func(jks.KeyStore)) []byte {
	t.Helper()
	s := jks.New()
	if err := s.Load(bytes.NewReader(data), pw); err != nil {
		t.Fatal(err)
	}
	edit(s)
	var buf bytes.Buffer
	if err := s.Store(&buf, pw); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestCheckJKSTruststore(t *testing.T) {
	p, other := newTestPKI(t, ecKey(t)), newTestPKI(t, ecKey(t))
	pw := []byte(testPassword)
	ts, err := EncodeJKSTruststore(pw, []*x509.Certificate{p.root, p.inter}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckJKSTruststore(ts, pw, []*x509.Certificate{p.inter, p.root}); err != nil {
		t.Fatalf("up to date: %v", err)
	}
	if err := CheckJKSTruststore(ts, pw, []*x509.Certificate{other.root}); err == nil {
		t.Fatal("another CA judged up to date")
	}
	if err := CheckJKSTruststore(ts, []byte("x"), []*x509.Certificate{p.root, p.inter}); err == nil {
		t.Fatal("another password judged up to date")
	}
	ks, err := EncodeJKSKeystore(pw, DefaultJKSAlias, p.contents(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckJKSTruststore(ks, pw, p.contents().CAs); err == nil {
		t.Fatal("a keystore with a key passed as a trust store")
	}
}

// TestJKSLayoutRefusesWhatWouldCostMemory: lengths and counts pointing past
// the end of the file are refused before keystore-go allocates them, and no
// prefix of a good file makes anything panic.
func TestJKSLayoutRefusesWhatWouldCostMemory(t *testing.T) {
	p := newTestPKI(t, ecKey(t))
	good, err := EncodeJKSKeystore([]byte(testPassword), "a", p.contents(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := checkJKSLayout(good); err != nil {
		t.Fatalf("good file refused: %v", err)
	}
	for n := range good {
		if err := CheckJKSKeystore(good[:n], []byte(testPassword), "a", p.contents()); err == nil {
			t.Fatalf("prefix of %d bytes accepted", n)
		}
	}
	u32 := func(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }
	header := append(append(u32(0xfeedfeed), u32(2)...), u32(1)...)
	hugeKey := append(append(append(append([]byte{}, header...), u32(1)...), 0, 1, 'a'), make([]byte, 8)...)
	hugeKey = append(append(hugeKey, u32(0xffffffff)...), make([]byte, 40)...)
	hugeChain := append(append(append(append([]byte{}, header...), u32(1)...), 0, 1, 'a'), make([]byte, 8)...)
	hugeChain = append(append(append(hugeChain, u32(1)...), 0), u32(0xffffffff)...)
	hugeChain = append(hugeChain, make([]byte, 40)...)
	manyEntries := append(append(u32(0xfeedfeed), u32(2)...), u32(0xffffffff)...)
	for name, data := range map[string][]byte{"huge key": hugeKey, "huge chain": hugeChain, "many entries": manyEntries} {
		if err := CheckJKSKeystore(data, []byte(testPassword), "a", p.contents()); err == nil || err.Error() != "is corrupt" {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestLiteralKeystorePassword(t *testing.T) {
	lit := "pw"
	ref := cmmeta.SecretKeySelector{LocalObjectReference: cmmeta.LocalObjectReference{Name: "s"}, Key: "k"}
	if pw, ok := LiteralKeystorePassword(&lit, cmmeta.SecretKeySelector{}); !ok || string(pw) != "pw" {
		t.Errorf("literal: %q %v", pw, ok)
	}
	if _, ok := LiteralKeystorePassword(&lit, ref); ok {
		t.Error("a passwordSecretRef must win over the literal password")
	}
	if _, ok := LiteralKeystorePassword(nil, cmmeta.SecretKeySelector{}); ok {
		t.Error("no password at all reported as literal")
	}
}

func TestOutputFormats(t *testing.T) {
	ecDER, err := x509.MarshalECPrivateKey(ecKey(t).(*ecdsa.PrivateKey))
	if err != nil {
		t.Fatal(err)
	}
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: pemTypeECPrivateKey, Bytes: ecDER})
	withParams := append(pem.EncodeToMemory(&pem.Block{Type: "EC PARAMETERS", Bytes: []byte{6, 8, 42, 134, 72, 206, 61, 3, 1, 7}}), keyPEM...)
	certPEM := []byte("-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n")
	tests := []struct {
		name    string
		formats []cmapi.CertificateAdditionalOutputFormat
		keyPEM  []byte
		want    map[string][]byte
	}{
		{name: "none", keyPEM: keyPEM, want: map[string][]byte{}},
		{name: "DER", formats: []cmapi.CertificateAdditionalOutputFormat{{Type: cmapi.CertificateOutputFormatDER}}, keyPEM: keyPEM,
			want: map[string][]byte{"key.der": ecDER}},
		// The first block, as cert-manager takes it (such a tls.key is
		// refused by DecodePrivateKey, so it is never written).
		{name: "DER of the first block", formats: []cmapi.CertificateAdditionalOutputFormat{{Type: cmapi.CertificateOutputFormatDER}}, keyPEM: withParams,
			want: map[string][]byte{"key.der": {6, 8, 42, 134, 72, 206, 61, 3, 1, 7}}},
		{name: "CombinedPEM is key, newline, chain", formats: []cmapi.CertificateAdditionalOutputFormat{{Type: cmapi.CertificateOutputFormatCombinedPEM}}, keyPEM: keyPEM,
			want: map[string][]byte{"tls-combined.pem": append(append(append([]byte{}, keyPEM...), '\n'), certPEM...)}},
		{name: "both", formats: []cmapi.CertificateAdditionalOutputFormat{{Type: cmapi.CertificateOutputFormatCombinedPEM}, {Type: cmapi.CertificateOutputFormatDER}}, keyPEM: keyPEM,
			want: map[string][]byte{"key.der": ecDER, "tls-combined.pem": append(append(append([]byte{}, keyPEM...), '\n'), certPEM...)}},
		{name: "unknown type left out", formats: []cmapi.CertificateAdditionalOutputFormat{{Type: "PFX"}}, keyPEM: keyPEM, want: map[string][]byte{}},
	}
	for _, tt := range tests {
		got := AdditionalOutputs(tt.formats, tt.keyPEM, certPEM)
		if len(got) != len(tt.want) {
			t.Errorf("%s: keys %d, want %d", tt.name, len(got), len(tt.want))
		}
		for k, v := range tt.want {
			if !bytes.Equal(got[k], v) {
				t.Errorf("%s: %s differs", tt.name, k) // never print key bytes
			}
		}
	}
	if OutputFormatDER([]byte("no pem")) != nil {
		t.Error("DER of no PEM should be nil")
	}
}

// FuzzCheckKeystores: the keystore checks read Secret data anyone with
// write access to the Secret controls; they never panic and never accept
// what they did not write.
func FuzzCheckKeystores(f *testing.F) {
	p := newTestPKI(f, ecKey(f))
	pw := []byte(testPassword)
	p12, err := EncodePKCS12Keystore(cmapi.Modern2023PKCS12Profile, pw, p.contents())
	if err != nil {
		f.Fatal(err)
	}
	legacy, err := EncodePKCS12Truststore(cmapi.LegacyRC2PKCS12Profile, pw, p.contents().CAs)
	if err != nil {
		f.Fatal(err)
	}
	jksData, err := EncodeJKSKeystore(pw, DefaultJKSAlias, p.contents(), time.Now())
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range [][]byte{p12, legacy, jksData, p12[:len(p12)/3], jksData[:40], {}, []byte("garbage")} {
		f.Add(seed)
	}
	other := newTestPKI(f, ecKey(f)).contents()
	f.Fuzz(func(t *testing.T, in []byte) {
		_ = CheckPKCS12Profile(in, "")
		if CheckPKCS12Keystore(in, cmapi.Modern2023PKCS12Profile, pw, other) == nil {
			t.Fatal("accepted a keystore for another key")
		}
		_ = CheckPKCS12Truststore(in, cmapi.LegacyRC2PKCS12Profile, pw, other.CAs)
		if CheckJKSKeystore(in, pw, DefaultJKSAlias, other) == nil {
			t.Fatal("accepted a JKS keystore for another key")
		}
		_ = CheckJKSTruststore(in, pw, other.CAs)
	})
}

func BenchmarkCheckKeystores(b *testing.B) {
	p := newTestPKI(b, ecKey(b))
	pw := []byte(testPassword)
	for _, profile := range allProfiles {
		data, _ := EncodePKCS12Keystore(profile, pw, p.contents())
		b.Run(string(profile), func(b *testing.B) {
			for b.Loop() {
				if err := CheckPKCS12Keystore(data, profile, pw, p.contents()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	data, _ := EncodeJKSKeystore(pw, DefaultJKSAlias, p.contents(), time.Now())
	b.Run("JKS", func(b *testing.B) {
		for b.Loop() {
			if err := CheckJKSKeystore(data, pw, DefaultJKSAlias, p.contents()); err != nil {
				b.Fatal(err)
			}
		}
	})
}
