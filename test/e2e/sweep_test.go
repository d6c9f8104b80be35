package e2e

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"slices"
	"testing"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/certsweep/certsweep/job"
	"github.com/certsweep/certsweep/test/harness"
)

// TestIssuesEveryKeyAlgorithmAndEncoding issues through a CA made by a
// SelfSigned issuer, in one sweep, and checks each Secret with crypto/x509.
func TestIssuesEveryKeyAlgorithmAndEncoding(t *testing.T) {
	e := newEnv(t)
	e.withCA()
	cases := []struct {
		name    string
		key     cmapi.CertificatePrivateKey
		pemType string
		check   func(any) bool
	}{
		{"rsa2048-pkcs1", cmapi.CertificatePrivateKey{Algorithm: cmapi.RSAKeyAlgorithm, Size: 2048}, "RSA PRIVATE KEY",
			func(k any) bool { r, ok := k.(*rsa.PrivateKey); return ok && r.N.BitLen() == 2048 }},
		{"rsa3072-pkcs8", cmapi.CertificatePrivateKey{Algorithm: cmapi.RSAKeyAlgorithm, Size: 3072, Encoding: cmapi.PKCS8}, "PRIVATE KEY",
			func(k any) bool { r, ok := k.(*rsa.PrivateKey); return ok && r.N.BitLen() == 3072 }},
		{"default-key", cmapi.CertificatePrivateKey{}, "RSA PRIVATE KEY",
			func(k any) bool { r, ok := k.(*rsa.PrivateKey); return ok && r.N.BitLen() == 2048 }},
		{"ecdsa256", cmapi.CertificatePrivateKey{Algorithm: cmapi.ECDSAKeyAlgorithm}, "EC PRIVATE KEY",
			func(k any) bool { c, ok := k.(*ecdsa.PrivateKey); return ok && c.Curve.Params().BitSize == 256 }},
		{"ecdsa384-pkcs8", cmapi.CertificatePrivateKey{Algorithm: cmapi.ECDSAKeyAlgorithm, Size: 384, Encoding: cmapi.PKCS8}, "PRIVATE KEY",
			func(k any) bool { c, ok := k.(*ecdsa.PrivateKey); return ok && c.Curve.Params().BitSize == 384 }},
		{"ecdsa521", cmapi.CertificatePrivateKey{Algorithm: cmapi.ECDSAKeyAlgorithm, Size: 521}, "EC PRIVATE KEY",
			func(k any) bool { c, ok := k.(*ecdsa.PrivateKey); return ok && c.Curve.Params().BitSize == 521 }},
		{"ed25519", cmapi.CertificatePrivateKey{Algorithm: cmapi.Ed25519KeyAlgorithm}, "PRIVATE KEY",
			func(k any) bool { _, ok := k.(ed25519.PrivateKey); return ok }},
	}
	for _, c := range cases {
		e.create(certificate(c.name, issuerRef("ca"), func(s *cmapi.CertificateSpec) {
			key := c.key
			s.PrivateKey = &key
			s.CommonName = c.name + ".example.test"
			s.Subject = &cmapi.X509Subject{Organizations: []string{"certsweep"}}
			s.IPAddresses = []string{"192.0.2.10"}
			s.Usages = []cmapi.KeyUsage{cmapi.UsageDigitalSignature, cmapi.UsageKeyEncipherment, cmapi.UsageServerAuth}
		}))
	}
	rep := e.run()
	if rep.Issued != len(cases)+1 || rep.Failed != 0 {
		t.Fatalf("want %d issued and none failed in one sweep, got %s", len(cases)+1, rep.Summary())
	}
	root := parseSecret(t, e.secret("root-ca"))
	if !root.chain[0].IsCA || !slices.Equal(root.chain[0].Raw, root.ca[0].Raw) {
		t.Fatalf("root CA secret: IsCA=%v, ca.crt should equal tls.crt for a SelfSigned issuer", root.chain[0].IsCA)
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e.requireReady(c.name, 1)
			sec := e.secret(c.name + "-tls")
			if sec.Type != corev1.SecretTypeTLS || sec.Labels[cmapi.PartOfCertManagerControllerLabelKey] != "true" {
				t.Fatalf("secret type %q labels %v", sec.Type, sec.Labels)
			}
			for k, want := range map[string]string{
				cmapi.CertificateNameKey:      c.name,
				cmapi.IssuerNameAnnotationKey: "ca",
				cmapi.CommonNameAnnotationKey: c.name + ".example.test",
				cmapi.AltNamesAnnotationKey:   c.name + ".example.test",
				cmapi.IPSANAnnotationKey:      "192.0.2.10",
			} {
				if got := sec.Annotations[k]; got != want {
					t.Errorf("annotation %s = %q, want %q", k, got, want)
				}
			}
			p := parseSecret(t, sec)
			if p.keyPEM != c.pemType || !c.check(p.key) {
				t.Fatalf("key: PEM %q (want %q), type %T", p.keyPEM, c.pemType, p.key)
			}
			leaf := p.chain[0]
			if leaf.Subject.CommonName != c.name+".example.test" || !slices.Equal(leaf.Subject.Organization, []string{"certsweep"}) {
				t.Errorf("subject = %s", leaf.Subject)
			}
			if !slices.Equal(leaf.DNSNames, []string{c.name + ".example.test"}) || len(leaf.IPAddresses) != 1 || leaf.IPAddresses[0].String() != "192.0.2.10" {
				t.Errorf("SANs = %v %v", leaf.DNSNames, leaf.IPAddresses)
			}
			if len(p.chain) != 1 || len(p.ca) != 1 || !slices.Equal(p.ca[0].Raw, root.chain[0].Raw) {
				t.Fatalf("tls.crt should be the leaf alone and ca.crt the root: %d certs, %d CAs", len(p.chain), len(p.ca))
			}
			verifyChain(t, p)
			crs := e.requests(c.name)
			if len(crs) != 1 || crs[0].Name != c.name+"-1" || crs[0].Annotations[cmapi.CertificateRequestRevisionAnnotationKey] != "1" {
				t.Fatalf("want exactly one request %s-1, got %d", c.name, len(crs))
			}
		})
	}
	if keys, _ := e.kube.CoreV1().Secrets(e.ns).List(e.ctx(), metav1.ListOptions{LabelSelector: cmapi.IsNextPrivateKeySecretLabelKey + "=true"}); len(keys.Items) != 0 {
		t.Fatalf("next-private-key Secrets left behind: %d", len(keys.Items))
	}
	ca, _ := e.cm.CertmanagerV1().Issuers(e.ns).Get(e.ctx(), "ca", metav1.GetOptions{})
	if len(ca.Status.Conditions) == 0 || ca.Status.Conditions[0].Reason != "KeyPairVerified" || ca.Status.Conditions[0].Status != cmmeta.ConditionTrue {
		t.Fatalf("CA issuer Ready condition = %+v", ca.Status.Conditions)
	}
}

// TestSecondRunWritesNothing: once everything is issued, a sweep makes zero
// write requests, because our own writes would otherwise trigger us again.
func TestSecondRunWritesNothing(t *testing.T) {
	e := newEnv(t)
	e.withCA()
	for _, n := range []string{"a", "b", "c"} {
		e.create(certificate(n, issuerRef("ca")))
	}
	e.run()
	cfg, counter := harness.WrapCounting(e.cp.Config)
	rep, err := e.sweeper(cfg).Run(e.ctx())
	if err != nil {
		t.Fatal(err)
	}
	if counter.Writes() != 0 {
		t.Fatalf("second run wrote: %v", counter.Snapshot().Writes())
	}
	if rep.Scanned != 4 || rep.Issued != 0 || rep.NextDue.IsZero() {
		t.Fatalf("second run report: %s", rep.Summary())
	}
	if gets := counter.Count(harness.VerbGet); gets != 0 {
		t.Fatalf("a no-op sweep should make no per-object GETs, made %d: %v", gets, counter.Snapshot())
	}
}

// TestClusterIssuerWithIntermediate: a ClusterIssuer reads its CA Secret from
// the cluster resource namespace; an intermediate CA's chain lands in
// tls.crt without the root, and the root lands in ca.crt.
func TestClusterIssuerWithIntermediate(t *testing.T) {
	e := newEnv(t)
	e.create(selfSignedIssuer("selfsigned"))
	e.create(certificate("root", issuerRef("selfsigned"), func(s *cmapi.CertificateSpec) {
		s.IsCA, s.CommonName, s.DNSNames, s.SecretName = true, "root", nil, "root-ca"
	}))
	e.create(caIssuer("root", "root-ca"))
	e.run() // root first: the intermediate's issuer needs it
	e.create(certificate("intermediate", issuerRef("root"), func(s *cmapi.CertificateSpec) {
		s.IsCA, s.CommonName, s.DNSNames, s.SecretName = true, "intermediate", nil, "intermediate-ca"
	}))
	e.run()
	cluster := "ca-" + e.ns
	e.create(&cmapi.ClusterIssuer{ObjectMeta: metav1.ObjectMeta{Name: cluster}, Spec: cmapi.IssuerSpec{IssuerConfig: cmapi.IssuerConfig{CA: &cmapi.CAIssuer{SecretName: "intermediate-ca"}}}})
	e.create(certificate("leaf", cmmeta.IssuerReference{Name: cluster, Kind: "ClusterIssuer", Group: "cert-manager.io"}))
	rep := e.run()
	if rep.Failed != 0 {
		t.Fatalf("run: %s %+v", rep.Summary(), rep.Outcomes)
	}
	e.requireReady("leaf", 1)
	p := parseSecret(t, e.secret("leaf-tls"))
	if len(p.chain) != 2 || p.chain[1].Subject.CommonName != "intermediate" {
		t.Fatalf("tls.crt should be leaf + intermediate, got %d certs", len(p.chain))
	}
	if len(p.ca) != 1 || p.ca[0].Subject.CommonName != "root" {
		t.Fatalf("ca.crt should be the root")
	}
	verifyChain(t, p)
	sec := e.secret("leaf-tls")
	if sec.Annotations[cmapi.IssuerKindAnnotationKey] != "ClusterIssuer" || sec.Annotations[cmapi.IssuerNameAnnotationKey] != cluster {
		t.Fatalf("issuer annotations: %v", sec.Annotations)
	}
}

// TestBrokenCertificatesDoNotStopOthers: a missing issuer and a CA issuer
// whose Secret is missing each get a clear condition, a Warning event and
// retry state, while the healthy Certificate issues in the same run.
func TestBrokenCertificatesDoNotStopOthers(t *testing.T) {
	e := newEnv(t)
	e.withCA()
	e.create(caIssuer("no-secret", "does-not-exist"))
	e.create(certificate("good", issuerRef("ca")))
	e.create(certificate("orphan", issuerRef("missing")))
	e.create(certificate("nosecret", issuerRef("no-secret")))
	rep := e.run()
	if rep.Issued != 2 || rep.Failed != 2 {
		t.Fatalf("want 2 issued (root, good) and 2 failed: %s", rep.Summary())
	}
	e.requireReady("good", 1)
	for name, reason := range map[string]string{"orphan": "IssuerNotFound", "nosecret": "IssuerNotReady"} {
		c := e.certificate(name)
		issuing := condition(c, cmapi.CertificateConditionIssuing)
		if issuing == nil || issuing.Status != cmmeta.ConditionFalse || issuing.Reason != reason {
			t.Fatalf("%s: Issuing condition = %+v, want False/%s", name, issuing, reason)
		}
		ready := condition(c, cmapi.CertificateConditionReady)
		if ready == nil || ready.Status != cmmeta.ConditionFalse {
			t.Fatalf("%s: Ready = %+v", name, ready)
		}
		if c.Annotations["certsweep.io/failed-attempts"] != "1" || c.Annotations["certsweep.io/failure-class"] != "temporary" {
			t.Fatalf("%s: retry annotations = %v", name, c.Annotations)
		}
		if c.Status.FailedIssuanceAttempts == nil || *c.Status.FailedIssuanceAttempts != 1 || c.Status.LastFailureTime == nil {
			t.Fatalf("%s: retry state not mirrored into status: %+v", name, c.Status)
		}
		if len(e.requests(name)) != 0 {
			t.Fatalf("%s: no request should be made while its issuer cannot sign", name)
		}
		evs, _ := e.kube.CoreV1().Events(e.ns).List(e.ctx(), metav1.ListOptions{FieldSelector: "involvedObject.name=" + name})
		found := false
		for _, ev := range evs.Items {
			found = found || (ev.Type == corev1.EventTypeWarning && ev.Reason == reason)
		}
		if !found {
			t.Fatalf("%s: no Warning event %s", name, reason)
		}
	}
	nosecret, _ := e.cm.CertmanagerV1().Issuers(e.ns).Get(e.ctx(), "no-secret", metav1.GetOptions{})
	if len(nosecret.Status.Conditions) == 0 || nosecret.Status.Conditions[0].Status != cmmeta.ConditionFalse {
		t.Fatalf("issuer with a missing CA Secret should be Ready=False: %+v", nosecret.Status.Conditions)
	}
}

var _ = job.ResultIssued

// TestUnlabelledSecretIsReadBeforeItIsReplaced: a Secret another tool made
// without cert-manager's label is invisible to the labelled LIST. A
// never-issued Certificate naming it issues without reading it first, but
// its first Secret write refuses to take over the other tool's fields; the
// sweep then reads the Secret and replaces the pair as cert-manager would,
// keeping the other tool's extra key, with one CertificateRequest.
func TestUnlabelledSecretIsReadBeforeItIsReplaced(t *testing.T) {
	e := newEnv(t)
	e.withCA()
	e.run()
	keyPEM, certPEM := selfSignedPEM(t, "someone-else")
	e.create(&corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "site-tls", Namespace: e.ns},
		Type:       corev1.SecretTypeTLS,
		Data:       map[string][]byte{corev1.TLSPrivateKeyKey: keyPEM, corev1.TLSCertKey: certPEM, "extra": []byte("kept")},
	})
	e.create(certificate("site", issuerRef("ca")))
	if rep := e.run(); rep.Issued != 1 {
		t.Fatalf("want one issuance: %s %+v", rep.Summary(), rep.Outcomes)
	}
	e.requireReady("site", 1)
	if crs := e.requests("site"); len(crs) != 1 {
		t.Fatalf("want exactly one CertificateRequest, got %d", len(crs))
	}
	sec := e.secret("site-tls")
	leaf := parseSecret(t, sec).chain[0] // parseSecret checks the new key matches it
	if leaf.Subject.CommonName == "someone-else" || leaf.Issuer.CommonName == "someone-else" {
		t.Fatalf("the other tool's certificate is still there: %v", leaf.Subject)
	}
	if string(sec.Data["extra"]) != "kept" || sec.Labels[cmapi.PartOfCertManagerControllerLabelKey] != "true" {
		t.Fatalf("extra key or label wrong: extra=%q labels=%v", sec.Data["extra"], sec.Labels)
	}
}

// TestIssuedCertificateWithUnlabelledSecretIsNotReissued: a Certificate
// issued before whose Secret lost cert-manager's label (as Secrets written
// by older cert-manager versions never had it) is read once and repaired in
// place, not reissued.
func TestIssuedCertificateWithUnlabelledSecretIsNotReissued(t *testing.T) {
	e := newEnv(t)
	e.withCA()
	e.create(certificate("site", issuerRef("ca")))
	e.run()
	sec := e.secret("site-tls")
	before := parseSecret(t, sec).chain[0].SerialNumber
	delete(sec.Labels, cmapi.PartOfCertManagerControllerLabelKey)
	if _, err := e.kube.CoreV1().Secrets(e.ns).Update(e.ctx(), sec, metav1.UpdateOptions{FieldManager: "legacy"}); err != nil {
		t.Fatal(err)
	}
	rep := e.run()
	if rep.Issued != 0 {
		t.Fatalf("an issued Certificate was reissued because its Secret is unlabelled: %s", rep.Summary())
	}
	e.requireReady("site", 1)
	sec = e.secret("site-tls")
	if parseSecret(t, sec).chain[0].SerialNumber.Cmp(before) != 0 {
		t.Fatal("the certificate changed")
	}
	if sec.Labels[cmapi.PartOfCertManagerControllerLabelKey] != "true" {
		t.Fatalf("label not restored: %v", sec.Labels)
	}
	if crs := e.requests("site"); len(crs) != 1 {
		t.Fatalf("want the one CertificateRequest, got %d", len(crs))
	}
}
