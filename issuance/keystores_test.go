package issuance

import (
	"bytes"
	"crypto/x509"
	"errors"
	"sort"
	"strings"
	"testing"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/certsweep/certsweep/issuance/pki"
)

const testPassword = "Build-Secret-Pw"

// issuedPEM is a key, a leaf signed by a root and the root, as PEM.
func issuedPEM(t *testing.T) (keyPEM, certPEM, caPEM []byte) {
	t.Helper()
	root, rootKey := makeCA(t, "root", nil, nil)
	cr, key := requestFor(t, testCertificate())
	ca := NewCA((&fakeSecrets{}).get, "ns", cmapi.CAIssuer{SecretName: "ca"})
	ca.loaded = &caKeyPair{key: rootKey, certs: []*x509.Certificate{root}}
	ca.Clock = fixedClock
	res, err := ca.Sign(t.Context(), Request{CertificateRequest: cr})
	if err != nil || res.State != StateIssued {
		t.Fatalf("Sign = %+v, %v", res, err)
	}
	keyPEM, err = pki.EncodePrivateKey(key, cmapi.PKCS1)
	if err != nil {
		t.Fatal(err)
	}
	return keyPEM, res.Certificate, res.CA
}

func keysOf(m map[string][]byte) string {
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return strings.Join(keys, ",")
}

// TestBuildSecretData: the data keys written for each combination of
// output formats and keystores, each value holding what it should.
func TestBuildSecretData(t *testing.T) {
	keyPEM, certPEM, caPEM := issuedPEM(t)
	contents := pki.KeystoreContents{}
	var err error
	if contents.Key, err = pki.DecodePrivateKey(keyPEM); err != nil {
		t.Fatal(err)
	}
	if contents.Chain, err = pki.DecodeCertificates(certPEM); err != nil {
		t.Fatal(err)
	}
	if contents.CAs, err = pki.DecodeCertificates(caPEM); err != nil {
		t.Fatal(err)
	}
	pw := KeystorePasswords{PKCS12: []byte(testPassword), JKS: []byte(testPassword + "-jks")}
	p12 := func(profile cmapi.PKCS12Profile) *cmapi.CertificateKeystores {
		return &cmapi.CertificateKeystores{PKCS12: &cmapi.PKCS12Keystore{Create: true, Password: ptrTo(testPassword), Profile: profile}}
	}
	tests := []struct {
		name     string
		formats  []cmapi.CertificateAdditionalOutputFormat
		stores   *cmapi.CertificateKeystores
		noCA     bool
		wantKeys string
	}{
		{name: "plain", wantKeys: "ca.crt,tls.crt,tls.key"},
		{name: "plain without a CA", noCA: true, wantKeys: "tls.crt,tls.key"},
		{name: "DER", formats: []cmapi.CertificateAdditionalOutputFormat{{Type: cmapi.CertificateOutputFormatDER}}, wantKeys: "ca.crt,key.der,tls.crt,tls.key"},
		{name: "CombinedPEM", formats: []cmapi.CertificateAdditionalOutputFormat{{Type: cmapi.CertificateOutputFormatCombinedPEM}}, wantKeys: "ca.crt,tls-combined.pem,tls.crt,tls.key"},
		{name: "PKCS#12 default profile", stores: p12(""), wantKeys: "ca.crt,keystore.p12,tls.crt,tls.key,truststore.p12"},
		{name: "PKCS#12 LegacyDES", stores: p12(cmapi.LegacyDESPKCS12Profile), wantKeys: "ca.crt,keystore.p12,tls.crt,tls.key,truststore.p12"},
		{name: "PKCS#12 Modern2023", stores: p12(cmapi.Modern2023PKCS12Profile), wantKeys: "ca.crt,keystore.p12,tls.crt,tls.key,truststore.p12"},
		{name: "PKCS#12 Modern2026", stores: p12(cmapi.Modern2026PKCS12Profile), wantKeys: "ca.crt,keystore.p12,tls.crt,tls.key,truststore.p12"},
		{name: "PKCS#12 without a CA: no trust store", stores: p12(""), noCA: true, wantKeys: "keystore.p12,tls.crt,tls.key"},
		{name: "PKCS#12 create false", stores: &cmapi.CertificateKeystores{PKCS12: &cmapi.PKCS12Keystore{Password: ptrTo("x")}}, wantKeys: "ca.crt,tls.crt,tls.key"},
		{name: "JKS with an alias", stores: &cmapi.CertificateKeystores{JKS: &cmapi.JKSKeystore{Create: true, Password: ptrTo("x"), Alias: ptrTo("web")}}, wantKeys: "ca.crt,keystore.jks,tls.crt,tls.key,truststore.jks"},
		{name: "JKS without a CA", stores: &cmapi.CertificateKeystores{JKS: &cmapi.JKSKeystore{Create: true, Password: ptrTo("x")}}, noCA: true, wantKeys: "keystore.jks,tls.crt,tls.key"},
		{
			name:    "everything",
			formats: []cmapi.CertificateAdditionalOutputFormat{{Type: cmapi.CertificateOutputFormatDER}, {Type: cmapi.CertificateOutputFormatCombinedPEM}},
			stores: &cmapi.CertificateKeystores{
				PKCS12: &cmapi.PKCS12Keystore{Create: true, Password: ptrTo("x")},
				JKS:    &cmapi.JKSKeystore{Create: true, Password: ptrTo("x")},
			},
			wantKeys: "ca.crt,key.der,keystore.jks,keystore.p12,tls-combined.pem,tls.crt,tls.key,truststore.jks,truststore.p12",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			crt := testCertificate()
			crt.Spec.AdditionalOutputFormats = tt.formats
			crt.Spec.Keystores = tt.stores
			ca, cas := caPEM, contents.CAs
			if tt.noCA {
				ca, cas = nil, nil
			}
			data, err := BuildSecretData(SecretContent{Certificate: crt, KeyPEM: keyPEM, CertPEM: certPEM, CAPEM: ca, Passwords: pw, Now: testNow})
			if err != nil {
				t.Fatal(err)
			}
			if got := keysOf(data); got != tt.wantKeys {
				t.Fatalf("keys = %s, want %s", got, tt.wantKeys)
			}
			c := pki.KeystoreContents{Key: contents.Key, Chain: contents.Chain, CAs: cas}
			if v, ok := data["key.der"]; ok && !bytes.Equal(v, pki.OutputFormatDER(keyPEM)) {
				t.Error("key.der is not tls.key's DER")
			}
			if v, ok := data["tls-combined.pem"]; ok && !bytes.Equal(v, pki.OutputFormatCombinedPEM(keyPEM, certPEM)) {
				t.Error("tls-combined.pem is not tls.key + tls.crt")
			}
			if v, ok := data["keystore.p12"]; ok {
				if err := pki.CheckPKCS12Keystore(v, tt.stores.PKCS12.Profile, pw.PKCS12, c); err != nil {
					t.Errorf("keystore.p12 %v", err)
				}
			}
			if v, ok := data["truststore.p12"]; ok {
				if err := pki.CheckPKCS12Truststore(v, tt.stores.PKCS12.Profile, pw.PKCS12, cas); err != nil {
					t.Errorf("truststore.p12 %v", err)
				}
			}
			if v, ok := data["keystore.jks"]; ok {
				if err := pki.CheckJKSKeystore(v, pw.JKS, pki.JKSAlias(tt.stores.JKS), c); err != nil {
					t.Errorf("keystore.jks %v", err)
				}
			}
			if v, ok := data["truststore.jks"]; ok {
				if err := pki.CheckJKSTruststore(v, pw.JKS, cas); err != nil {
					t.Errorf("truststore.jks %v", err)
				}
			}
		})
	}
}

// TestBuildSecretDataKeepsCurrentKeystores: a rewrite for another reason
// keeps keystores that still hold the right things byte for byte, and
// replaces those that do not (the password changed).
func TestBuildSecretDataKeepsCurrentKeystores(t *testing.T) {
	keyPEM, certPEM, caPEM := issuedPEM(t)
	crt := testCertificate()
	crt.Spec.Keystores = &cmapi.CertificateKeystores{
		PKCS12: &cmapi.PKCS12Keystore{Create: true, Password: ptrTo("a")},
		JKS:    &cmapi.JKSKeystore{Create: true, Password: ptrTo("b")},
	}
	in := SecretContent{Certificate: crt, KeyPEM: keyPEM, CertPEM: certPEM, CAPEM: caPEM, Passwords: KeystorePasswords{PKCS12: []byte("a"), JKS: []byte("b")}, Now: testNow}
	first, err := BuildSecretData(in)
	if err != nil {
		t.Fatal(err)
	}
	in.Previous = first
	again, err := BuildSecretData(in)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"keystore.p12", "truststore.p12", "keystore.jks", "truststore.jks"} {
		if !bytes.Equal(first[k], again[k]) {
			t.Errorf("%s re-encoded although it was up to date", k)
		}
	}
	in.Passwords.PKCS12 = []byte("changed")
	changed, err := BuildSecretData(in)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(changed["keystore.p12"], first["keystore.p12"]) || bytes.Equal(changed["truststore.p12"], first["truststore.p12"]) {
		t.Error("PKCS#12 stores kept although the password changed")
	}
	if !bytes.Equal(changed["keystore.jks"], first["keystore.jks"]) {
		t.Error("JKS keystore re-encoded although only the PKCS#12 password changed")
	}
	// Without a new key: a fresh issuance never reuses (Previous is nil).
	in.Previous = nil
	fresh, err := BuildSecretData(in)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(fresh["keystore.jks"], first["keystore.jks"]) {
		t.Error("keystore reused without a previous Secret")
	}
}

func ptrTo[T any](v T) *T { return &v }

// TestKeystorePasswordsFor: cert-manager's rule and messages, with no
// password in any error.
func TestKeystorePasswordsFor(t *testing.T) {
	ref := func(name, key string) cmmeta.SecretKeySelector {
		return cmmeta.SecretKeySelector{LocalObjectReference: cmmeta.LocalObjectReference{Name: name}, Key: key}
	}
	secrets := map[string]*corev1.Secret{
		"pw":    {ObjectMeta: metav1.ObjectMeta{Name: "pw"}, Data: map[string][]byte{"password": []byte(testPassword), "empty": {}}},
		"other": {ObjectMeta: metav1.ObjectMeta{Name: "other"}, Data: map[string][]byte{"password": []byte("other-" + testPassword)}},
	}
	get := func(name string) (*corev1.Secret, error) {
		if name == "broken" {
			return nil, errors.New("connection refused")
		}
		return secrets[name], nil
	}
	tests := []struct {
		name         string
		stores       *cmapi.CertificateKeystores
		wantPKCS12   string
		wantJKS      string
		wantErr      string
		wantNotFound bool
	}{
		{name: "no keystores"},
		{name: "create false needs no password", stores: &cmapi.CertificateKeystores{PKCS12: &cmapi.PKCS12Keystore{PasswordSecretRef: ref("missing", "password")}}},
		{name: "literal", stores: &cmapi.CertificateKeystores{PKCS12: &cmapi.PKCS12Keystore{Create: true, Password: ptrTo("lit")}}, wantPKCS12: "lit"},
		{name: "from a Secret", stores: &cmapi.CertificateKeystores{JKS: &cmapi.JKSKeystore{Create: true, PasswordSecretRef: ref("pw", "password")}}, wantJKS: testPassword},
		{name: "the Secret wins over a literal", stores: &cmapi.CertificateKeystores{PKCS12: &cmapi.PKCS12Keystore{Create: true, Password: ptrTo("lit"), PasswordSecretRef: ref("other", "password")}}, wantPKCS12: "other-" + testPassword},
		{name: "each store its own", stores: &cmapi.CertificateKeystores{
			PKCS12: &cmapi.PKCS12Keystore{Create: true, PasswordSecretRef: ref("pw", "password")},
			JKS:    &cmapi.JKSKeystore{Create: true, Password: ptrTo("lit")},
		}, wantPKCS12: testPassword, wantJKS: "lit"},
		{name: "Secret missing", stores: &cmapi.CertificateKeystores{PKCS12: &cmapi.PKCS12Keystore{Create: true, PasswordSecretRef: ref("missing", "password")}},
			wantErr: `PKCS12 keystore password Secret "missing" not found`, wantNotFound: true},
		{name: "key empty", stores: &cmapi.CertificateKeystores{JKS: &cmapi.JKSKeystore{Create: true, PasswordSecretRef: ref("pw", "empty")}},
			wantErr: `JKS keystore password Secret contains no data for key "empty"`},
		{name: "key missing", stores: &cmapi.CertificateKeystores{JKS: &cmapi.JKSKeystore{Create: true, PasswordSecretRef: ref("pw", "nope")}},
			wantErr: `JKS keystore password Secret contains no data for key "nope"`},
		{name: "read fails", stores: &cmapi.CertificateKeystores{JKS: &cmapi.JKSKeystore{Create: true, PasswordSecretRef: ref("broken", "password")}},
			wantErr: "fetching JKS keystore password from Secret: connection refused"},
		{name: "no password at all", stores: &cmapi.CertificateKeystores{PKCS12: &cmapi.PKCS12Keystore{Create: true}},
			wantErr: "either passwordSecretRef or password must be set for PKCS#12 keystore"},
		{name: "empty literal", stores: &cmapi.CertificateKeystores{JKS: &cmapi.JKSKeystore{Create: true, Password: ptrTo("")}},
			wantErr: "JKS literal password cannot be empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			crt := testCertificate()
			crt.Spec.Keystores = tt.stores
			pw, err := KeystorePasswordsFor(crt, get)
			if tt.wantErr != "" {
				var perr *KeystorePasswordError
				if err == nil || err.Error() != tt.wantErr || !errors.As(err, &perr) || perr.NotFound != tt.wantNotFound {
					t.Fatalf("err = %v, want %q (not found %v)", err, tt.wantErr, tt.wantNotFound)
				}
				if strings.Contains(err.Error(), testPassword) {
					t.Fatal("the password is in the error")
				}
				return
			}
			if err != nil || string(pw.PKCS12) != tt.wantPKCS12 || string(pw.JKS) != tt.wantJKS {
				t.Fatalf("= %q %q, %v; want %q %q", pw.PKCS12, pw.JKS, err, tt.wantPKCS12, tt.wantJKS)
			}
		})
	}
}

// TestBuildSecretDataRefusesWhatItCannotBuild: no password, or a CA that
// does not decode, is an error, never a Secret without its keystore.
func TestBuildSecretDataRefusesWhatItCannotBuild(t *testing.T) {
	keyPEM, certPEM, _ := issuedPEM(t)
	crt := testCertificate()
	crt.Spec.Keystores = &cmapi.CertificateKeystores{JKS: &cmapi.JKSKeystore{Create: true, Password: ptrTo("x")}}
	if _, err := BuildSecretData(SecretContent{Certificate: crt, KeyPEM: keyPEM, CertPEM: certPEM}); err == nil {
		t.Error("built a JKS keystore without its password")
	}
	if _, err := BuildSecretData(SecretContent{Certificate: crt, KeyPEM: keyPEM, CertPEM: certPEM, CAPEM: []byte("junk"), Passwords: KeystorePasswords{JKS: []byte("x")}}); err == nil {
		t.Error("built a keystore with an undecodable ca.crt")
	}
}
