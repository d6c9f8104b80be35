package e2e

// spec.additionalOutputFormats and spec.keystores against the real API
// server, each output read back with the programs people read them with:
// OpenSSL for DER, combined PEM and PKCS#12, Java's keytool for JKS and
// PKCS#12. Private keys are only ever written to files in a temporary
// directory and compared in Go; no command output that could hold one is
// printed.

import (
	"bytes"
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	jks "github.com/pavlo-v-chernykh/keystore-go/v4"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	"software.sslmate.com/src/go-pkcs12"

	"github.com/certsweep/certsweep/job"
	"github.com/certsweep/certsweep/renew"
	"github.com/certsweep/certsweep/test/harness"
)

var (
	derOutput      = cmapi.CertificateAdditionalOutputFormat{Type: cmapi.CertificateOutputFormatDER}
	combinedOutput = cmapi.CertificateAdditionalOutputFormat{Type: cmapi.CertificateOutputFormatCombinedPEM}
)

// toolRun runs a command and returns its standard output. On failure the
// test stops with the command's standard error only: standard output may
// hold a key.
func toolRun(t *testing.T, dir, name string, args ...string) string {
	t.Helper()
	out, stderr, err := toolTry(dir, name, args...)
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", filepath.Base(name), redactArgs(args), err, stderr)
	}
	return out
}

func toolTry(dir, name string, args ...string) (stdout, stderr string, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err = cmd.Run()
	return o.String(), e.String(), err
}

// redactArgs hides passwords in a command line shown in a failure.
func redactArgs(args []string) string {
	out := slices.Clone(args)
	for i, a := range out {
		switch {
		case strings.HasPrefix(a, "pass:"):
			out[i] = "pass:<redacted>"
		case i > 0 && strings.HasSuffix(out[i-1], "pass"):
			out[i] = "<redacted>"
		}
	}
	return strings.Join(out, " ")
}

// secretFiles writes each data key of s to a file of that name in a fresh
// directory.
func secretFiles(t *testing.T, s *corev1.Secret) string {
	t.Helper()
	dir := t.TempDir()
	for k, v := range s.Data {
		if err := os.WriteFile(filepath.Join(dir, k), v, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// fingerprint is a certificate's SHA-256 fingerprint as keytool prints it.
func fingerprint(c *x509.Certificate) string {
	sum := sha256.Sum256(c.Raw)
	h := strings.ToUpper(hex.EncodeToString(sum[:]))
	var b strings.Builder
	for i := 0; i < len(h); i += 2 {
		if i > 0 {
			b.WriteByte(':')
		}
		b.WriteString(h[i : i+2])
	}
	return b.String()
}

// keytoolEntry is one entry of `keytool -list -v`.
type keytoolEntry struct {
	alias, kind  string
	chainLength  int
	fingerprints []string // SHA-256, in the order printed (chain order)
}

// keytoolList lists a keystore with keytool; storetype is JKS or PKCS12.
func keytoolList(t *testing.T, keytool, file, storetype, password string) []keytoolEntry {
	t.Helper()
	out := toolRun(t, filepath.Dir(file), keytool, "-list", "-v", "-keystore", file, "-storetype", storetype, "-storepass", password)
	var entries []keytoolEntry
	for _, part := range strings.Split(out, "Alias name: ")[1:] {
		lines := strings.Split(part, "\n")
		e := keytoolEntry{alias: strings.TrimSpace(lines[0])}
		for _, l := range lines[1:] {
			l = strings.TrimSpace(l)
			switch {
			case strings.HasPrefix(l, "Entry type: "):
				e.kind = strings.TrimPrefix(l, "Entry type: ")
			case strings.HasPrefix(l, "Certificate chain length: "):
				e.chainLength, _ = strconv.Atoi(strings.TrimPrefix(l, "Certificate chain length: "))
			case strings.HasPrefix(l, "SHA256: "):
				e.fingerprints = append(e.fingerprints, strings.TrimPrefix(l, "SHA256: "))
			}
		}
		entries = append(entries, e)
	}
	return entries
}

// opensslPKCS12 reads a PKCS#12 file with `openssl pkcs12`: its
// certificates and, for a keystore, its private key. legacy loads OpenSSL
// 3's legacy provider, which RC2 needs.
func opensslPKCS12(t *testing.T, openssl, file, password string, legacy, withKey bool) (certs []*x509.Certificate, key any) {
	t.Helper()
	dir := filepath.Dir(file)
	base := []string{"pkcs12", "-in", file, "-passin", "pass:" + password}
	if legacy {
		base = append(base, "-legacy")
	}
	certsFile := filepath.Join(dir, filepath.Base(file)+".certs.pem")
	toolRun(t, dir, openssl, append(base, "-nokeys", "-out", certsFile)...)
	certsPEM, err := os.ReadFile(certsFile)
	if err != nil {
		t.Fatal(err)
	}
	certs = parseCerts(t, certsPEM)
	if !withKey {
		return certs, nil
	}
	keyFile := filepath.Join(dir, filepath.Base(file)+".key.pem")
	toolRun(t, dir, openssl, append(base, "-nocerts", "-nodes", "-out", keyFile)...)
	keyPEM, err := os.ReadFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(keyPEM)
	if block == nil {
		t.Fatalf("openssl wrote no private key for %s", filepath.Base(file))
	}
	if key, err = x509.ParsePKCS8PrivateKey(block.Bytes); err != nil {
		t.Fatalf("openssl's private key for %s does not parse as PKCS#8 (%s)", filepath.Base(file), block.Type)
	}
	return certs, key
}

// sameCerts reports whether got and want hold the same certificates, in
// any order.
func sameCerts(got, want []*x509.Certificate) bool {
	if len(got) != len(want) {
		return false
	}
	for _, w := range want {
		if !slices.ContainsFunc(got, func(g *x509.Certificate) bool { return bytes.Equal(g.Raw, w.Raw) }) {
			return false
		}
	}
	return true
}

func certNames(certs []*x509.Certificate) []string {
	var out []string
	for _, c := range certs {
		out = append(out, c.Subject.CommonName)
	}
	return out
}

func sameKey(a any, p parsedSecret) bool {
	k, ok := a.(interface{ Equal(crypto.PrivateKey) bool })
	return ok && k.Equal(p.key)
}

// passwordSecret stores a keystore password in a Secret of the namespace.
func (e *env) passwordSecret(name, password string) {
	e.create(&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name}, Data: map[string][]byte{"password": []byte(password)}})
}

func passwordRefTo(name string) cmmeta.SecretKeySelector {
	return cmmeta.SecretKeySelector{LocalObjectReference: cmmeta.LocalObjectReference{Name: name}, Key: "password"}
}

// runLogged performs one sweep with a debug-level JSON log kept for the
// test to search, and fails the test if the run itself fails.
func (e *env) runLogged(logs *syncBuffer) *job.Report {
	e.t.Helper()
	return e.run(func(o *job.Options) {
		o.Logger = slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
}

// requireNoPasswordLeak looks for each password in the sweep's log, the
// namespace's Events and every Certificate's conditions.
func (e *env) requireNoPasswordLeak(logs string, passwords ...string) {
	e.t.Helper()
	events, err := e.kube.CoreV1().Events(e.ns).List(e.ctx(), metav1.ListOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	crts, err := e.cm.CertmanagerV1().Certificates(e.ns).List(e.ctx(), metav1.ListOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	var seen strings.Builder
	seen.WriteString(logs)
	for _, ev := range events.Items {
		seen.WriteString(ev.Reason + " " + ev.Message + "\n")
	}
	for _, c := range crts.Items {
		for _, cond := range c.Status.Conditions {
			seen.WriteString(cond.Reason + " " + cond.Message + "\n")
		}
	}
	for _, pw := range passwords {
		if strings.Contains(seen.String(), pw) {
			e.t.Errorf("a keystore password appears in the logs, events or conditions")
		}
	}
}

// requireSecondRunWritesNothing: once settled, a sweep makes no write and
// no per-object read.
func (e *env) requireSecondRunWritesNothing() {
	e.t.Helper()
	cfg, counter := harness.WrapCounting(e.cp.Config)
	rep, err := e.sweeper(cfg).Run(e.ctx())
	if err != nil {
		e.t.Fatal(err)
	}
	if counter.Writes() != 0 || rep.Issued != 0 || rep.Rewritten != 0 {
		e.t.Fatalf("a settled run wrote: %v (%s)", counter.Snapshot().Writes(), rep.Summary())
	}
	if gets := counter.Count(harness.VerbGet); gets != 0 {
		e.t.Fatalf("a settled run made %d per-object GETs: %v", gets, counter.Snapshot())
	}
}

// updateSpec changes a Certificate's spec.
func (e *env) updateSpec(name string, mutate func(*cmapi.CertificateSpec)) {
	e.t.Helper()
	crt := e.certificate(name)
	mutate(&crt.Spec)
	if _, err := e.cm.CertmanagerV1().Certificates(e.ns).Update(e.ctx(), crt, metav1.UpdateOptions{}); err != nil {
		e.t.Fatal(err)
	}
}

// rewritesOnce: the next run rewrites the Secret in place for reason, and
// issues nothing; the revision stays.
func (e *env) rewritesOnce(name, reason string) {
	e.t.Helper()
	before := e.secret(name + "-tls")
	rep := e.run()
	if rep.Rewritten != 1 || rep.Issued != 0 {
		e.t.Fatalf("want one in-place rewrite: %s %+v", rep.Summary(), rep.Outcomes)
	}
	for _, o := range rep.Outcomes {
		if o.Name == name && o.Reason != reason {
			e.t.Fatalf("rewritten for %q %q, want %q", o.Reason, o.Message, reason)
		}
	}
	after := e.secret(name + "-tls")
	if !bytes.Equal(after.Data[corev1.TLSPrivateKeyKey], before.Data[corev1.TLSPrivateKeyKey]) || !bytes.Equal(after.Data[corev1.TLSCertKey], before.Data[corev1.TLSCertKey]) {
		e.t.Fatal("the rewrite changed the key or the certificate")
	}
	e.requireReady(name, 1)
}

// TestOutputFormatsWrittenRepairedAndRemoved: key.der and tls-combined.pem
// are written at issuance and read by OpenSSL as the Secret's key and
// chain; a damaged or deleted one is repaired in place; one no longer
// asked for is removed; and a settled run writes nothing.
func TestOutputFormatsWrittenRepairedAndRemoved(t *testing.T) {
	openssl := harness.OpenSSL(t)
	e := issued(t, func(s *cmapi.CertificateSpec) {
		s.AdditionalOutputFormats = []cmapi.CertificateAdditionalOutputFormat{derOutput, combinedOutput}
	})
	sec := e.secret("site-tls")
	p := parseSecret(t, sec)
	dir := secretFiles(t, sec)

	certPub := toolRun(t, dir, openssl, "x509", "-in", "tls.crt", "-noout", "-pubkey")
	if pub := toolRun(t, dir, openssl, "pkey", "-inform", "DER", "-in", "key.der", "-pubout"); pub != certPub {
		t.Fatal("OpenSSL: key.der is not the key of tls.crt")
	}
	if pub := toolRun(t, dir, openssl, "pkey", "-in", "tls-combined.pem", "-pubout"); pub != certPub {
		t.Fatal("OpenSSL: the key in tls-combined.pem is not the key of tls.crt")
	}
	if pub := toolRun(t, dir, openssl, "x509", "-in", "tls-combined.pem", "-noout", "-pubkey"); pub != certPub {
		t.Fatal("OpenSSL: the certificate in tls-combined.pem is not tls.crt's")
	}
	toolRun(t, dir, openssl, "verify", "-CAfile", "ca.crt", "tls-combined.pem")
	want := append(append(slices.Clone(sec.Data[corev1.TLSPrivateKeyKey]), '\n'), sec.Data[corev1.TLSCertKey]...)
	if !bytes.Equal(sec.Data["tls-combined.pem"], want) {
		t.Fatal("tls-combined.pem is not tls.key, a newline, tls.crt")
	}
	block, _ := pem.Decode(sec.Data[corev1.TLSPrivateKeyKey])
	wantDER := block.Bytes
	if k, err := x509.ParsePKCS1PrivateKey(sec.Data["key.der"]); err != nil || !sameKey(k, p) || !bytes.Equal(sec.Data["key.der"], wantDER) {
		t.Fatal("key.der is not tls.key's PKCS#1 DER")
	}
	e.requireSecondRunWritesNothing()

	// Damaged and deleted by someone else: repaired, not reissued.
	sec = e.secret("site-tls")
	sec.Data["key.der"] = []byte{0x30, 0x00}
	delete(sec.Data, "tls-combined.pem")
	if _, err := e.kube.CoreV1().Secrets(e.ns).Update(e.ctx(), sec, metav1.UpdateOptions{FieldManager: "someone"}); err != nil {
		t.Fatal(err)
	}
	e.rewritesOnce("site", renew.ReasonAdditionalOutputFormatsMismatch)
	repaired := e.secret("site-tls")
	if !bytes.Equal(repaired.Data["tls-combined.pem"], want) || !bytes.Equal(repaired.Data["key.der"], wantDER) {
		t.Fatal("the output formats were not repaired")
	}
	e.requireSecondRunWritesNothing()

	// No longer asked for: removed.
	e.updateSpec("site", func(s *cmapi.CertificateSpec) {
		s.AdditionalOutputFormats = []cmapi.CertificateAdditionalOutputFormat{derOutput}
	})
	e.rewritesOnce("site", renew.ReasonAdditionalOutputFormatsMismatch)
	removed := e.secret("site-tls")
	if _, ok := removed.Data["tls-combined.pem"]; ok {
		t.Fatal("tls-combined.pem kept after CombinedPEM was removed from the spec")
	}
	if len(removed.Data["key.der"]) == 0 {
		t.Fatal("key.der removed although DER is still asked for")
	}
	e.requireSecondRunWritesNothing()
}

// TestKeystorePKCS12ReadByOpenSSLAndKeytool: for each profile OpenSSL and
// Java's keytool open keystore.p12 and truststore.p12 with the password
// (literal or from a Secret); the keystore holds the Secret's key, its
// leaf and the CA, the trust store the CA.
func TestKeystorePKCS12ReadByOpenSSLAndKeytool(t *testing.T) {
	openssl, keytool := harness.OpenSSL(t), harness.Keytool(t)
	e := newEnv(t)
	e.withCA()
	const literal, fromSecret = "p12-Literal-9f3c", "p12-FromSecret-41aa"
	e.passwordSecret("p12-password", fromSecret)
	cases := []struct {
		name     string
		profile  cmapi.PKCS12Profile
		literal  bool
		legacy   bool // OpenSSL 3 needs its legacy provider for RC2
		javaRead bool // Java 17 cannot verify PBMAC1 (Modern2026)
	}{
		{name: "p12-default", profile: "", literal: true, legacy: true, javaRead: true},
		{name: "p12-legacyrc2", profile: cmapi.LegacyRC2PKCS12Profile, legacy: true, javaRead: true},
		{name: "p12-legacydes", profile: cmapi.LegacyDESPKCS12Profile, literal: true, javaRead: true},
		{name: "p12-modern2023", profile: cmapi.Modern2023PKCS12Profile, javaRead: true},
		{name: "p12-modern2026", profile: cmapi.Modern2026PKCS12Profile, literal: true},
	}
	for _, c := range cases {
		e.create(certificate(c.name, issuerRef("ca"), func(s *cmapi.CertificateSpec) {
			s.Keystores = &cmapi.CertificateKeystores{PKCS12: &cmapi.PKCS12Keystore{Create: true, Profile: c.profile}}
			if c.literal {
				s.Keystores.PKCS12.Password = ptrTo(literal)
			} else {
				s.Keystores.PKCS12.PasswordSecretRef = passwordRefTo("p12-password")
			}
		}))
	}
	logs := &syncBuffer{}
	if rep := e.runLogged(logs); rep.Issued != len(cases)+1 || rep.Failed != 0 {
		t.Fatalf("want every Certificate issued: %s %+v", rep.Summary(), rep.Outcomes)
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e.requireReady(c.name, 1)
			sec := e.secret(c.name + "-tls")
			p := parseSecret(t, sec)
			password := fromSecret
			if c.literal {
				password = literal
			}
			dir := secretFiles(t, sec)
			keystore, truststore := filepath.Join(dir, "keystore.p12"), filepath.Join(dir, "truststore.p12")
			if c.profile == cmapi.Modern2026PKCS12Profile {
				// PBMAC1 needs OpenSSL 3.4 and Java 26; OpenSSL 3.0 still
				// decrypts the contents when told not to verify the MAC.
				if v := toolRun(t, dir, openssl, "version"); !strings.HasPrefix(v, "OpenSSL 3.0") {
					t.Logf("openssl is %s", strings.TrimSpace(v))
				}
				if _, _, err := toolTry(dir, openssl, "pkcs12", "-in", keystore, "-passin", "pass:"+password, "-nokeys", "-nomacver", "-out", filepath.Join(dir, "m.pem")); err != nil {
					t.Skip("this OpenSSL cannot read PBES2 without the MAC; Modern2026 is checked by the unit tests")
				}
				certs := parseCerts(t, mustRead(t, filepath.Join(dir, "m.pem")))
				if !sameCerts(certs, append(slices.Clone(p.chain), p.ca...)) {
					t.Fatalf("Modern2026 keystore holds %v", certNames(certs))
				}
				return
			}
			certs, key := opensslPKCS12(t, openssl, keystore, password, c.legacy, true)
			if !sameKey(key, p) {
				t.Fatal("OpenSSL: keystore.p12's private key is not tls.key")
			}
			if !sameCerts(certs, append(slices.Clone(p.chain), p.ca...)) {
				t.Fatalf("OpenSSL: keystore.p12 holds %v, want the leaf and the CA", certNames(certs))
			}
			if _, _, err := toolTry(dir, openssl, "pkcs12", "-in", keystore, "-passin", "pass:wrong", "-nokeys", "-legacy"); err == nil {
				t.Fatal("OpenSSL opened keystore.p12 with a wrong password")
			}
			caCerts, _ := opensslPKCS12(t, openssl, truststore, password, c.legacy, false)
			if !sameCerts(caCerts, p.ca) {
				t.Fatalf("OpenSSL: truststore.p12 holds %v, want the CA", certNames(caCerts))
			}
			if !c.javaRead {
				return
			}
			entries := keytoolList(t, keytool, keystore, "PKCS12", password)
			if len(entries) != 1 || entries[0].kind != "PrivateKeyEntry" || len(entries[0].fingerprints) == 0 || entries[0].fingerprints[0] != fingerprint(p.chain[0]) {
				t.Fatalf("keytool: keystore.p12 entries %+v, want one PrivateKeyEntry for the leaf %s", entries, fingerprint(p.chain[0]))
			}
			if !slices.Contains(entries[0].fingerprints, fingerprint(p.ca[0])) {
				t.Fatalf("keytool: the key entry's chain %v lacks the CA %s", entries[0].fingerprints, fingerprint(p.ca[0]))
			}
			trusted := keytoolList(t, keytool, truststore, "PKCS12", password)
			if len(trusted) != 1 || trusted[0].kind != "trustedCertEntry" || !slices.Contains(trusted[0].fingerprints, fingerprint(p.ca[0])) {
				t.Fatalf("keytool: truststore.p12 entries %+v, want the CA as a trustedCertEntry", trusted)
			}
		})
	}
	e.requireNoPasswordLeak(logs.String(), literal, fromSecret)
	e.requireSecondRunWritesNothing()
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func ptrTo[T any](v T) *T { return &v }

// TestKeystoreJKSReadByKeytool: keytool opens keystore.jks with the
// password from a Secret and finds the key entry under the alias, with the
// leaf, and the CA as a trusted entry; moved to PKCS#12 by keytool, OpenSSL
// finds the Secret's own key in it. truststore.jks holds the CA.
func TestKeystoreJKSReadByKeytool(t *testing.T) {
	openssl, keytool := harness.OpenSSL(t), harness.Keytool(t)
	e := newEnv(t)
	e.withCA()
	const password, literal = "jks-FromSecret-7d21", "jks-Literal-c0de"
	e.passwordSecret("jks-password", password)
	e.create(certificate("java", issuerRef("ca"), func(s *cmapi.CertificateSpec) {
		s.Keystores = &cmapi.CertificateKeystores{JKS: &cmapi.JKSKeystore{Create: true, Alias: ptrTo("web"), PasswordSecretRef: passwordRefTo("jks-password")}}
	}))
	e.create(certificate("java-default", issuerRef("ca"), func(s *cmapi.CertificateSpec) {
		s.Keystores = &cmapi.CertificateKeystores{JKS: &cmapi.JKSKeystore{Create: true, Password: ptrTo(literal)}}
	}))
	logs := &syncBuffer{}
	if rep := e.runLogged(logs); rep.Issued != 3 || rep.Failed != 0 {
		t.Fatalf("want every Certificate issued: %s %+v", rep.Summary(), rep.Outcomes)
	}
	for _, c := range []struct{ name, alias, password string }{
		{"java", "web", password},
		{"java-default", "certificate", literal},
	} {
		t.Run(c.name, func(t *testing.T) {
			sec := e.secret(c.name + "-tls")
			p := parseSecret(t, sec)
			dir := secretFiles(t, sec)
			keystore := filepath.Join(dir, "keystore.jks")
			entries := keytoolList(t, keytool, keystore, "JKS", c.password)
			byAlias := map[string]keytoolEntry{}
			for _, en := range entries {
				byAlias[en.alias] = en
			}
			key, ok := byAlias[c.alias]
			if len(entries) != 2 || !ok || key.kind != "PrivateKeyEntry" || key.chainLength != len(p.chain) || key.fingerprints[0] != fingerprint(p.chain[0]) {
				t.Fatalf("keytool: keystore.jks entries %+v, want a PrivateKeyEntry %q for the leaf %s and the CA", entries, c.alias, fingerprint(p.chain[0]))
			}
			if ca, ok := byAlias["ca"]; !ok || ca.kind != "trustedCertEntry" || !slices.Contains(ca.fingerprints, fingerprint(p.ca[0])) {
				t.Fatalf("keytool: keystore.jks has no trusted entry \"ca\" for the CA: %+v", entries)
			}
			trusted := keytoolList(t, keytool, filepath.Join(dir, "truststore.jks"), "JKS", c.password)
			if len(trusted) != 1 || trusted[0].alias != "ca" || trusted[0].kind != "trustedCertEntry" || !slices.Contains(trusted[0].fingerprints, fingerprint(p.ca[0])) {
				t.Fatalf("keytool: truststore.jks entries %+v, want the CA as \"ca\"", trusted)
			}
			if _, _, err := toolTry(dir, keytool, "-list", "-keystore", keystore, "-storetype", "JKS", "-storepass", "wrong-password"); err == nil {
				t.Fatal("keytool opened keystore.jks with a wrong password")
			}
			// The key itself: keytool moves the entry to PKCS#12, OpenSSL
			// reads the key out of that, Go compares it with tls.key.
			moved := filepath.Join(dir, "moved.p12")
			toolRun(t, dir, keytool, "-importkeystore", "-noprompt", "-srckeystore", keystore, "-srcstoretype", "JKS", "-srcstorepass", c.password,
				"-srcalias", c.alias, "-destkeystore", moved, "-deststoretype", "PKCS12", "-deststorepass", c.password)
			_, k := opensslPKCS12(t, openssl, moved, c.password, false, true)
			if !sameKey(k, p) {
				t.Fatal("keytool + OpenSSL: keystore.jks's private key is not tls.key")
			}
		})
	}
	e.requireNoPasswordLeak(logs.String(), password, literal)
	e.requireSecondRunWritesNothing()
}

// TestKeystoreChangesRewriteWithoutReissue: a new literal password, PKCS#12
// profile or JKS alias is put into the keystores by rewriting the Secret in
// place: same key, same certificate, same revision.
func TestKeystoreChangesRewriteWithoutReissue(t *testing.T) {
	openssl, keytool := harness.OpenSSL(t), harness.Keytool(t)
	e := issued(t, func(s *cmapi.CertificateSpec) {
		s.Keystores = &cmapi.CertificateKeystores{
			PKCS12: &cmapi.PKCS12Keystore{Create: true, Password: ptrTo("first-p12-pw")},
			JKS:    &cmapi.JKSKeystore{Create: true, Password: ptrTo("first-jks-pw")},
		}
	})
	e.requireSecondRunWritesNothing()

	e.updateSpec("site", func(s *cmapi.CertificateSpec) { s.Keystores.PKCS12.Password = ptrTo("second-p12-pw") })
	before := e.secret("site-tls")
	e.rewritesOnce("site", renew.ReasonSecretMismatch)
	after := e.secret("site-tls")
	if !bytes.Equal(before.Data["keystore.jks"], after.Data["keystore.jks"]) {
		t.Fatal("keystore.jks rewritten although only the PKCS#12 password changed")
	}
	dir := secretFiles(t, after)
	p := parseSecret(t, after)
	_, key := opensslPKCS12(t, openssl, filepath.Join(dir, "keystore.p12"), "second-p12-pw", true, true)
	if !sameKey(key, p) {
		t.Fatal("keystore.p12 under the new password does not hold tls.key")
	}
	e.requireSecondRunWritesNothing()

	e.updateSpec("site", func(s *cmapi.CertificateSpec) { s.Keystores.PKCS12.Profile = cmapi.Modern2023PKCS12Profile })
	e.rewritesOnce("site", renew.ReasonSecretMismatch)
	dir = secretFiles(t, e.secret("site-tls"))
	// Modern2023 needs no legacy provider.
	if _, key = opensslPKCS12(t, openssl, filepath.Join(dir, "keystore.p12"), "second-p12-pw", false, true); !sameKey(key, p) {
		t.Fatal("Modern2023 keystore.p12 does not hold tls.key")
	}
	e.requireSecondRunWritesNothing()

	e.updateSpec("site", func(s *cmapi.CertificateSpec) { s.Keystores.JKS.Alias = ptrTo("renamed") })
	e.rewritesOnce("site", renew.ReasonSecretMismatch)
	dir = secretFiles(t, e.secret("site-tls"))
	entries := keytoolList(t, keytool, filepath.Join(dir, "keystore.jks"), "JKS", "first-jks-pw")
	if !slices.ContainsFunc(entries, func(en keytoolEntry) bool { return en.alias == "renamed" && en.kind == "PrivateKeyEntry" }) {
		t.Fatalf("keytool: no key entry under the new alias: %+v", entries)
	}
	e.requireSecondRunWritesNothing()

	// Removed from the spec: the keystores go.
	e.updateSpec("site", func(s *cmapi.CertificateSpec) { s.Keystores = nil })
	e.rewritesOnce("site", renew.ReasonSecretMismatch)
	for _, k := range []string{"keystore.p12", "truststore.p12", "keystore.jks", "truststore.jks"} {
		if _, ok := e.secret("site-tls").Data[k]; ok {
			t.Fatalf("%s kept after keystores were removed from the spec", k)
		}
	}
	e.requireSecondRunWritesNothing()
}

// TestKeystorePasswordSecretMissing: a missing password Secret is
// cert-manager's Warning event and a failed attempt that backs off; the
// Secret is never written without its keystore. Once the password Secret
// exists, the next run after the window completes the issuance.
func TestKeystorePasswordSecretMissing(t *testing.T) {
	e := newEnv(t)
	e.withCA()
	e.create(certificate("site", issuerRef("ca"), func(s *cmapi.CertificateSpec) {
		s.Keystores = &cmapi.CertificateKeystores{JKS: &cmapi.JKSKeystore{Create: true, PasswordSecretRef: passwordRefTo("later")}}
	}))
	rep := e.run()
	if rep.Failed != 1 {
		t.Fatalf("want the issuance to fail for its password: %s %+v", rep.Summary(), rep.Outcomes)
	}
	if _, err := e.kube.CoreV1().Secrets(e.ns).Get(e.ctx(), "site-tls", metav1.GetOptions{}); err == nil {
		t.Fatal("the Secret was written without its keystore")
	}
	events, err := e.kube.CoreV1().Events(e.ns).List(e.ctx(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(events.Items, func(ev corev1.Event) bool {
		return ev.Reason == "KeystorePasswordSecretNotFound" && ev.Message == `JKS keystore password Secret "later" not found` && ev.InvolvedObject.Name == "site"
	}) {
		t.Fatalf("no KeystorePasswordSecretNotFound event: %+v", events.Items)
	}
	if c := condition(e.certificate("site"), cmapi.CertificateConditionIssuing); c == nil || c.Status != cmmeta.ConditionFalse || !strings.Contains(c.Message, `JKS keystore password Secret "later" not found`) {
		t.Fatalf("Issuing condition = %+v", c)
	}
	// A failed attempt gets one Warning event: this one, not also a generic one.
	warnings := 0
	for _, ev := range events.Items {
		if ev.Type == corev1.EventTypeWarning && ev.InvolvedObject.Name == "site" {
			warnings++
		}
	}
	if warnings != 1 {
		t.Fatalf("%d Warning events for one failed attempt, want 1: %+v", warnings, events.Items)
	}
	if c := condition(e.certificate("site"), cmapi.CertificateConditionIssuing); c.Reason != "KeystorePasswordSecretNotFound" {
		t.Fatalf("Issuing reason %q, want cert-manager's KeystorePasswordSecretNotFound", c.Reason)
	}

	e.passwordSecret("later", "Later-Password-55")
	e.advance(10 * time.Minute)
	if rep := e.run(); rep.Issued != 1 {
		t.Fatalf("want the certificate stored once the password exists: %s %+v", rep.Summary(), rep.Outcomes)
	}
	e.requireReady("site", 1)
	if len(e.secret("site-tls").Data["keystore.jks"]) == 0 {
		t.Fatal("keystore.jks missing")
	}
	e.requireSecondRunWritesNothing()
}

// TestOutputsTakenOverFromCertManager: a Secret written the way
// cert-manager v1.21 writes it (server-side apply under its field manager,
// key.der, tls-combined.pem, and PKCS#12 and JKS stores made by the same
// libraries with cert-manager's defaults) is taken over by a sweep without
// a write to the Secret and without a reissue; the sweep after writes
// nothing at all.
func TestOutputsTakenOverFromCertManager(t *testing.T) {
	e := issued(t)
	const p12Password, jksPassword = "cm-p12-Password", "cm-jks-Password"
	sec := e.secret("site-tls")
	p := parseSecret(t, sec)

	// What cert-manager's issuing controller writes for this spec.
	data := map[string][]byte{}
	for k, v := range sec.Data {
		data[k] = v
	}
	block, _ := pem.Decode(sec.Data[corev1.TLSPrivateKeyKey])
	data["key.der"] = block.Bytes
	data["tls-combined.pem"] = bytes.Join([][]byte{sec.Data[corev1.TLSPrivateKeyKey], sec.Data[corev1.TLSCertKey]}, []byte("\n"))
	var err error
	if data["keystore.p12"], err = pkcs12.LegacyRC2.Encode(p.key, p.chain[0], append(slices.Clone(p.chain[1:]), p.ca...), p12Password); err != nil {
		t.Fatal(err)
	}
	if data["truststore.p12"], err = pkcs12.LegacyRC2.EncodeTrustStore(p.ca, p12Password); err != nil {
		t.Fatal(err)
	}
	data["keystore.jks"], data["truststore.jks"] = certManagerJKS(t, p, []byte(jksPassword))
	ac := corev1ac.Secret(sec.Name, e.ns).WithType(sec.Type).WithLabels(sec.Labels).WithAnnotations(sec.Annotations).WithData(data)
	if _, err := e.kube.CoreV1().Secrets(e.ns).Apply(e.ctx(), ac, metav1.ApplyOptions{FieldManager: renew.FieldManager, Force: true}); err != nil {
		t.Fatal(err)
	}
	e.updateSpec("site", func(s *cmapi.CertificateSpec) {
		s.AdditionalOutputFormats = []cmapi.CertificateAdditionalOutputFormat{derOutput, combinedOutput}
		s.Keystores = &cmapi.CertificateKeystores{
			PKCS12: &cmapi.PKCS12Keystore{Create: true, Password: ptrTo(p12Password)},
			JKS:    &cmapi.JKSKeystore{Create: true, Password: ptrTo(jksPassword)},
		}
	})
	written := e.secret("site-tls")

	rep := e.run()
	if rep.Issued != 0 || rep.Rewritten != 0 || rep.Failed != 0 {
		t.Fatalf("the take-over sweep acted on the Secret: %s %+v", rep.Summary(), rep.Outcomes)
	}
	after := e.secret("site-tls")
	if after.ResourceVersion != written.ResourceVersion {
		t.Fatal("the take-over sweep wrote the Secret")
	}
	for k, v := range data {
		if !bytes.Equal(after.Data[k], v) {
			t.Errorf("%s changed", k)
		}
	}
	e.requireReady("site", 1)
	e.requireSecondRunWritesNothing()
}

// certManagerJKS makes keystore.jks and truststore.jks as cert-manager's
// issuing controller does: keystore-go, alias "certificate", a PKCS#8 key,
// the whole chain, the CAs as "ca", "ca-1", ...
func certManagerJKS(t *testing.T, p parsedSecret, password []byte) (keystore, truststore []byte) {
	t.Helper()
	keyDER, err := x509.MarshalPKCS8PrivateKey(p.key)
	if err != nil {
		t.Fatal(err)
	}
	var chain []jks.Certificate
	for _, c := range p.chain {
		chain = append(chain, jks.Certificate{Type: "X509", Content: c.Raw})
	}
	store := func(withKey bool) []byte {
		ks := jks.New()
		if withKey {
			if err := ks.SetPrivateKeyEntry("certificate", jks.PrivateKeyEntry{CreationTime: time.Now(), PrivateKey: keyDER, CertificateChain: chain}, password); err != nil {
				t.Fatal(err)
			}
		}
		for i, ca := range p.ca {
			alias := "ca"
			if i > 0 {
				alias = fmt.Sprintf("ca-%d", i)
			}
			if err := ks.SetTrustedCertificateEntry(alias, jks.TrustedCertificateEntry{CreationTime: time.Now(), Certificate: jks.Certificate{Type: "X509", Content: ca.Raw}}); err != nil {
				t.Fatal(err)
			}
		}
		var buf bytes.Buffer
		if err := ks.Store(&buf, password); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	return store(true), store(false)
}

// TestOutputsSecondRunWritesNothing: Certificates with each output
// format and each keystore, passwords literal and in Secrets, settle after
// one run.
func TestOutputsSecondRunWritesNothing(t *testing.T) {
	e := newEnv(t)
	e.withCA()
	e.passwordSecret("pw", "Shared-Password-1")
	specs := map[string]func(*cmapi.CertificateSpec){
		"der": func(s *cmapi.CertificateSpec) {
			s.AdditionalOutputFormats = []cmapi.CertificateAdditionalOutputFormat{derOutput}
		},
		"combined": func(s *cmapi.CertificateSpec) {
			s.AdditionalOutputFormats = []cmapi.CertificateAdditionalOutputFormat{combinedOutput}
		},
		"p12-literal": func(s *cmapi.CertificateSpec) {
			s.Keystores = &cmapi.CertificateKeystores{PKCS12: &cmapi.PKCS12Keystore{Create: true, Password: ptrTo("x"), Profile: cmapi.Modern2023PKCS12Profile}}
		},
		"p12-secret": func(s *cmapi.CertificateSpec) {
			s.Keystores = &cmapi.CertificateKeystores{PKCS12: &cmapi.PKCS12Keystore{Create: true, PasswordSecretRef: passwordRefTo("pw")}}
		},
		"jks-literal": func(s *cmapi.CertificateSpec) {
			s.Keystores = &cmapi.CertificateKeystores{JKS: &cmapi.JKSKeystore{Create: true, Password: ptrTo("x"), Alias: ptrTo("a")}}
		},
		"jks-secret": func(s *cmapi.CertificateSpec) {
			s.Keystores = &cmapi.CertificateKeystores{JKS: &cmapi.JKSKeystore{Create: true, PasswordSecretRef: passwordRefTo("pw")}}
		},
		"selfsigned-all": func(s *cmapi.CertificateSpec) {
			s.IssuerRef = issuerRef("selfsigned")
			s.AdditionalOutputFormats = []cmapi.CertificateAdditionalOutputFormat{derOutput, combinedOutput}
			s.Keystores = &cmapi.CertificateKeystores{
				PKCS12: &cmapi.PKCS12Keystore{Create: true, PasswordSecretRef: passwordRefTo("pw"), Profile: cmapi.LegacyDESPKCS12Profile},
				JKS:    &cmapi.JKSKeystore{Create: true, Password: ptrTo("x")},
			}
		},
	}
	for name, mutate := range specs {
		e.create(certificate(name, issuerRef("ca"), mutate))
	}
	if rep := e.run(); rep.Issued != len(specs)+1 || rep.Failed != 0 {
		t.Fatalf("want every Certificate issued: %s %+v", rep.Summary(), rep.Outcomes)
	}
	e.requireSecondRunWritesNothing()
}
