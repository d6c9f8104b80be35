package renew

import (
	"crypto/x509"
	"encoding/json"
	"strings"
	"testing"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/certsweep/certsweep/issuance/pki"
)

// outputDER is key.der for a tls.key.
func outputDER(keyPEM []byte) []byte { return pki.OutputFormatDER(keyPEM) }

// ownData makes FieldManager own exactly these data keys, and another
// manager own others.
func ownData(f *fixture, ours []string, theirs ...string) {
	fields := func(keys []string) *metav1.FieldsV1 {
		data := map[string]any{}
		for _, k := range keys {
			data["f:"+k] = map[string]any{}
		}
		raw, _ := json.Marshal(map[string]any{"f:data": data})
		return metav1.NewFieldsV1(string(raw))
	}
	f.secret.ManagedFields = []metav1.ManagedFieldsEntry{{Manager: FieldManager, Operation: metav1.ManagedFieldsOperationApply, FieldsV1: fields(ours)}}
	if len(theirs) > 0 {
		f.secret.ManagedFields = append(f.secret.ManagedFields, metav1.ManagedFieldsEntry{Manager: "kubectl", Operation: metav1.ManagedFieldsOperationApply, FieldsV1: fields(theirs)})
	}
}

var (
	derFormat      = cmapi.CertificateAdditionalOutputFormat{Type: cmapi.CertificateOutputFormatDER}
	combinedFormat = cmapi.CertificateAdditionalOutputFormat{Type: cmapi.CertificateOutputFormatCombinedPEM}
)

// TestDecideAdditionalOutputFormats: checks 6 and 7 of §1.11 with
// cert-manager's reason and messages: a format asked for must be there with
// the right value and owned by us; one no longer asked for and owned by us
// is removed.
func TestDecideAdditionalOutputFormats(t *testing.T) {
	const (
		dataMsg  = "Certificate's AdditionalOutputFormats doesn't match Secret Data"
		ownerMsg = "Certificate's AdditionalOutputFormats doesn't match Secret ManagedFields"
	)
	both := func(f *fixture) {
		f.crt.Spec.AdditionalOutputFormats = []cmapi.CertificateAdditionalOutputFormat{combinedFormat, derFormat}
		key, crt := f.secret.Data[corev1.TLSPrivateKeyKey], f.secret.Data[corev1.TLSCertKey]
		f.secret.Data["key.der"] = outputDER(key)
		f.secret.Data["tls-combined.pem"] = pki.OutputFormatCombinedPEM(key, crt)
		ownData(f, []string{"tls.key", "tls.crt", "key.der", "tls-combined.pem"})
	}
	tests := []struct {
		name       string
		edit       func(f *fixture)
		wantAction Action
		wantReason string
		wantMsg    string
	}{
		{name: "both written and owned", edit: both, wantAction: ActionNone},
		{name: "key.der missing", edit: func(f *fixture) { both(f); delete(f.secret.Data, "key.der") },
			wantAction: ActionRewriteSecret, wantReason: ReasonAdditionalOutputFormatsMismatch, wantMsg: dataMsg},
		{name: "key.der wrong", edit: func(f *fixture) { both(f); f.secret.Data["key.der"] = []byte{0x30, 0} },
			wantAction: ActionRewriteSecret, wantReason: ReasonAdditionalOutputFormatsMismatch, wantMsg: dataMsg},
		{name: "tls-combined.pem missing", edit: func(f *fixture) { both(f); delete(f.secret.Data, "tls-combined.pem") },
			wantAction: ActionRewriteSecret, wantReason: ReasonAdditionalOutputFormatsMismatch, wantMsg: dataMsg},
		{name: "tls-combined.pem without the newline", edit: func(f *fixture) {
			both(f)
			f.secret.Data["tls-combined.pem"] = append(append([]byte{}, f.secret.Data["tls.key"]...), f.secret.Data["tls.crt"]...)
		}, wantAction: ActionRewriteSecret, wantReason: ReasonAdditionalOutputFormatsMismatch, wantMsg: dataMsg},
		{name: "right values written by someone else", edit: func(f *fixture) {
			both(f)
			ownData(f, []string{"tls.key", "tls.crt"}, "key.der", "tls-combined.pem")
		}, wantAction: ActionRewriteSecret, wantReason: ReasonAdditionalOutputFormatsMismatch, wantMsg: ownerMsg},
		{name: "DER no longer asked for", edit: func(f *fixture) {
			both(f)
			f.crt.Spec.AdditionalOutputFormats = []cmapi.CertificateAdditionalOutputFormat{combinedFormat}
		}, wantAction: ActionRewriteSecret, wantReason: ReasonAdditionalOutputFormatsMismatch, wantMsg: ownerMsg},
		{name: "no format asked for, none owned", edit: func(f *fixture) {
			ownData(f, []string{"tls.key", "tls.crt"})
		}, wantAction: ActionNone},
		{name: "someone else's key.der is theirs to keep", edit: func(f *fixture) {
			f.secret.Data["key.der"] = []byte("theirs")
			ownData(f, []string{"tls.key", "tls.crt"}, "key.der")
		}, wantAction: ActionNone},
		{name: "unreadable managedFields: values still checked", edit: func(f *fixture) {
			both(f)
			delete(f.secret.Data, "key.der")
			f.secret.ManagedFields = []metav1.ManagedFieldsEntry{{Manager: FieldManager, Operation: metav1.ManagedFieldsOperationApply, FieldsV1: metav1.NewFieldsV1(`{"f:data":`)}}
		}, wantAction: ActionRewriteSecret, wantReason: ReasonAdditionalOutputFormatsMismatch, wantMsg: dataMsg},
		{name: "template drift is reported first", edit: func(f *fixture) {
			both(f)
			delete(f.secret.Data, "key.der")
			f.crt.Spec.SecretTemplate = &cmapi.CertificateSecretTemplate{Labels: map[string]string{"team": "web"}}
		}, wantAction: ActionRewriteSecret, wantReason: ReasonSecretTemplateMismatch, wantMsg: "Certificate's SecretTemplate Labels missing or incorrect value on Secret"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			tt.edit(f)
			d := Decide(f.input(), Options{})
			if d.Action != tt.wantAction || d.Reason != tt.wantReason || d.Message != tt.wantMsg {
				t.Errorf("Decide() = %s %q %q, want %s %q %q", d.Action, d.Reason, d.Message, tt.wantAction, tt.wantReason, tt.wantMsg)
			}
		})
	}
}

// keystoreFixture is an up-to-date Certificate whose Secret has a CA (the
// self-signed leaf, as a SelfSigned issuer writes it) and both keystores,
// written with literal passwords and owned by us.
const (
	p12Password = "p12-Secret-pw"
	jksPassword = "jks-Secret-pw"
)

func keystoreFixture(t *testing.T) *fixture {
	t.Helper()
	f := newFixture(t)
	f.secret.Data[cmmeta.TLSCAKey] = f.secret.Data[corev1.TLSCertKey]
	f.crt.Spec.Keystores = &cmapi.CertificateKeystores{
		PKCS12: &cmapi.PKCS12Keystore{Create: true, Password: ptr(p12Password), Profile: cmapi.Modern2023PKCS12Profile},
		JKS:    &cmapi.JKSKeystore{Create: true, Password: ptr(jksPassword), Alias: ptr("web")},
	}
	writeKeystores(t, f)
	ownData(f, []string{"tls.key", "tls.crt", "ca.crt", "keystore.p12", "truststore.p12", "keystore.jks", "truststore.jks"})
	return f
}

// writeKeystores writes the fixture's keystores as its spec asks, with the
// spec's literal passwords.
func writeKeystores(t *testing.T, f *fixture) {
	t.Helper()
	c := pki.KeystoreContents{Key: rsa2048(), Chain: []*x509.Certificate{parseCert(t, f.secret.Data[corev1.TLSCertKey])}, CAs: []*x509.Certificate{parseCert(t, f.secret.Data[cmmeta.TLSCAKey])}}
	ks := f.crt.Spec.Keystores
	must := func(b []byte, err error) []byte {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	if ks.PKCS12 != nil {
		pw := []byte(*ks.PKCS12.Password)
		f.secret.Data["keystore.p12"] = must(pki.EncodePKCS12Keystore(ks.PKCS12.Profile, pw, c))
		f.secret.Data["truststore.p12"] = must(pki.EncodePKCS12Truststore(ks.PKCS12.Profile, pw, c.CAs))
	}
	if ks.JKS != nil {
		pw := []byte(*ks.JKS.Password)
		f.secret.Data["keystore.jks"] = must(pki.EncodeJKSKeystore(pw, pki.JKSAlias(ks.JKS), c, now))
		f.secret.Data["truststore.jks"] = must(pki.EncodeJKSTruststore(pw, c.CAs, now))
	}
}

func passwordRef(name string) cmmeta.SecretKeySelector {
	return cmmeta.SecretKeySelector{LocalObjectReference: cmmeta.LocalObjectReference{Name: name}, Key: "password"}
}

// TestDecideKeystores: check 10 of §1.11 in cert-manager's words (presence,
// JKS before PKCS#12), then what each keystore holds: a changed literal
// password, PKCS#12 profile or JKS alias rewrites the Secret, no reissue.
func TestDecideKeystores(t *testing.T) {
	tests := []struct {
		name       string
		edit       func(t *testing.T, f *fixture)
		wantAction Action
		wantMsg    string // reason SecretMismatch when set
	}{
		{name: "up to date", edit: func(*testing.T, *fixture) {}, wantAction: ActionNone},
		{name: "PKCS#12 keystore missing", edit: func(_ *testing.T, f *fixture) { delete(f.secret.Data, "keystore.p12") },
			wantAction: ActionRewriteSecret, wantMsg: "PKCS12 Keystore key does not contain data"},
		{name: "PKCS#12 trust store missing while there is a CA", edit: func(_ *testing.T, f *fixture) { delete(f.secret.Data, "truststore.p12") },
			wantAction: ActionRewriteSecret, wantMsg: "PKCS12 Keystore key does not contain data"},
		{name: "no trust store needed without a CA", edit: func(t *testing.T, f *fixture) {
			delete(f.secret.Data, "ca.crt")
			delete(f.secret.Data, "truststore.p12")
			delete(f.secret.Data, "truststore.jks")
			writeKeystoresNoCA(t, f)
		}, wantAction: ActionNone},
		{name: "PKCS#12 password changed", edit: func(_ *testing.T, f *fixture) { f.crt.Spec.Keystores.PKCS12.Password = ptr("new-password") },
			wantAction: ActionRewriteSecret, wantMsg: "PKCS12 Keystore does not open with the configured password"},
		{name: "PKCS#12 profile changed", edit: func(_ *testing.T, f *fixture) { f.crt.Spec.Keystores.PKCS12.Profile = cmapi.LegacyDESPKCS12Profile },
			wantAction: ActionRewriteSecret, wantMsg: "PKCS12 Keystore was written with profile Modern2023, not LegacyDES"},
		{name: "PKCS#12 profile unset means LegacyRC2", edit: func(_ *testing.T, f *fixture) { f.crt.Spec.Keystores.PKCS12.Profile = "" },
			wantAction: ActionRewriteSecret, wantMsg: "PKCS12 Keystore was written with profile Modern2023, not LegacyRC2"},
		{name: "PKCS#12 trust store of another CA", edit: func(t *testing.T, f *fixture) {
			other := pki.KeystoreContents{CAs: []*x509.Certificate{parseCert(t, certPEM(t, otherRSA(), nil))}}
			b, err := pki.EncodePKCS12Truststore(cmapi.Modern2023PKCS12Profile, []byte(p12Password), other.CAs)
			if err != nil {
				t.Fatal(err)
			}
			f.secret.Data["truststore.p12"] = b
		}, wantAction: ActionRewriteSecret, wantMsg: "PKCS12 Truststore does not hold the Secret's CA certificates"},
		{name: "PKCS#12 garbage", edit: func(_ *testing.T, f *fixture) { f.secret.Data["keystore.p12"] = []byte("junk") },
			wantAction: ActionRewriteSecret, wantMsg: "PKCS12 Keystore is not a PKCS#12 file"},
		{name: "PKCS#12 password in a Secret: contents cannot be judged", edit: func(_ *testing.T, f *fixture) {
			f.crt.Spec.Keystores.PKCS12.Password = nil
			f.crt.Spec.Keystores.PKCS12.PasswordSecretRef = passwordRef("p12-password")
		}, wantAction: ActionNone},
		{name: "PKCS#12 password in a Secret: the profile still is", edit: func(_ *testing.T, f *fixture) {
			f.crt.Spec.Keystores.PKCS12.Password = nil
			f.crt.Spec.Keystores.PKCS12.PasswordSecretRef = passwordRef("p12-password")
			f.crt.Spec.Keystores.PKCS12.Profile = cmapi.Modern2026PKCS12Profile
		}, wantAction: ActionRewriteSecret, wantMsg: "PKCS12 Keystore was written with profile Modern2023, not Modern2026"},
		{name: "JKS keystore missing", edit: func(_ *testing.T, f *fixture) { delete(f.secret.Data, "keystore.jks") },
			wantAction: ActionRewriteSecret, wantMsg: "JKS Keystore key does not contain data"},
		{name: "JKS alias changed", edit: func(_ *testing.T, f *fixture) { f.crt.Spec.Keystores.JKS.Alias = ptr("server") },
			wantAction: ActionRewriteSecret, wantMsg: `JKS Keystore has no private key entry under alias "server"`},
		{name: "JKS alias unset means certificate", edit: func(_ *testing.T, f *fixture) { f.crt.Spec.Keystores.JKS.Alias = nil },
			wantAction: ActionRewriteSecret, wantMsg: `JKS Keystore has no private key entry under alias "certificate"`},
		{name: "JKS password changed", edit: func(_ *testing.T, f *fixture) { f.crt.Spec.Keystores.JKS.Password = ptr("new-password") },
			wantAction: ActionRewriteSecret, wantMsg: "JKS Keystore does not open with the configured password, or is corrupt"},
		{name: "JKS trust store holds something else", edit: func(_ *testing.T, f *fixture) { f.secret.Data["truststore.jks"] = f.secret.Data["keystore.jks"] },
			wantAction: ActionRewriteSecret, wantMsg: "JKS Truststore does not hold exactly the Secret's CA certificates"},
		{name: "JKS password in a Secret: not judged", edit: func(_ *testing.T, f *fixture) {
			f.crt.Spec.Keystores.JKS.Password = nil
			f.crt.Spec.Keystores.JKS.PasswordSecretRef = passwordRef("jks-password")
			f.crt.Spec.Keystores.JKS.Alias = ptr("server")
		}, wantAction: ActionNone},
		{name: "JKS is judged before PKCS#12", edit: func(_ *testing.T, f *fixture) {
			delete(f.secret.Data, "keystore.p12")
			delete(f.secret.Data, "keystore.jks")
		}, wantAction: ActionRewriteSecret, wantMsg: "JKS Keystore key does not contain data"},
		{name: "keystores removed from the spec", edit: func(_ *testing.T, f *fixture) { f.crt.Spec.Keystores = nil },
			wantAction: ActionRewriteSecret, wantMsg: "Keystore is not defined"},
		{name: "keystores removed, and someone else's: left alone", edit: func(_ *testing.T, f *fixture) {
			f.crt.Spec.Keystores = nil
			ownData(f, []string{"tls.key", "tls.crt", "ca.crt"}, "keystore.p12", "truststore.p12", "keystore.jks", "truststore.jks")
		}, wantAction: ActionNone},
		{name: "PKCS#12 create turned off", edit: func(_ *testing.T, f *fixture) { f.crt.Spec.Keystores.PKCS12.Create = false },
			wantAction: ActionRewriteSecret, wantMsg: "PKCS12 Keystore create disabled"},
		{name: "PKCS#12 store removed", edit: func(_ *testing.T, f *fixture) { f.crt.Spec.Keystores.PKCS12 = nil },
			wantAction: ActionRewriteSecret, wantMsg: "PKCS12 Keystore not defined"},
		{name: "JKS create turned off", edit: func(_ *testing.T, f *fixture) { f.crt.Spec.Keystores.JKS.Create = false },
			wantAction: ActionRewriteSecret, wantMsg: "JKS Keystore create disabled"},
		{name: "JKS store removed", edit: func(_ *testing.T, f *fixture) { f.crt.Spec.Keystores.JKS = nil },
			wantAction: ActionRewriteSecret, wantMsg: "JKS Keystore not defined"},
		{name: "output formats are judged before keystores", edit: func(_ *testing.T, f *fixture) {
			f.crt.Spec.AdditionalOutputFormats = []cmapi.CertificateAdditionalOutputFormat{derFormat}
			delete(f.secret.Data, "keystore.jks")
		}, wantAction: ActionRewriteSecret, wantMsg: "Certificate's AdditionalOutputFormats doesn't match Secret Data"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := keystoreFixture(t)
			tt.edit(t, f)
			d := Decide(f.input(), Options{})
			wantReason := ""
			switch {
			case strings.HasPrefix(tt.wantMsg, "Certificate's AdditionalOutputFormats"):
				wantReason = ReasonAdditionalOutputFormatsMismatch
			case tt.wantMsg != "":
				wantReason = ReasonSecretMismatch
			}
			if d.Action != tt.wantAction || d.Reason != wantReason || d.Message != tt.wantMsg {
				t.Errorf("Decide() = %s %q %q, want %s %q %q", d.Action, d.Reason, d.Message, tt.wantAction, wantReason, tt.wantMsg)
			}
			for _, pw := range []string{p12Password, jksPassword, "new-password"} {
				if strings.Contains(d.Message, pw) || strings.Contains(d.Ready.Message, pw) || strings.Contains(strings.Join(d.Warnings, " "), pw) {
					t.Errorf("a password leaked into the decision: %q", d.Message)
				}
			}
		})
	}
}

// writeKeystoresNoCA rewrites the fixture's keystores for a Secret without
// ca.crt: no trust stores.
func writeKeystoresNoCA(t *testing.T, f *fixture) {
	t.Helper()
	c := pki.KeystoreContents{Key: rsa2048(), Chain: []*x509.Certificate{parseCert(t, f.secret.Data[corev1.TLSCertKey])}}
	ks := f.crt.Spec.Keystores
	var err error
	if f.secret.Data["keystore.p12"], err = pki.EncodePKCS12Keystore(ks.PKCS12.Profile, []byte(*ks.PKCS12.Password), c); err != nil {
		t.Fatal(err)
	}
	if f.secret.Data["keystore.jks"], err = pki.EncodeJKSKeystore([]byte(*ks.JKS.Password), pki.JKSAlias(ks.JKS), c, now); err != nil {
		t.Fatal(err)
	}
}
