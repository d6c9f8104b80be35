package e2e

// Owner references on target Secrets (CERTSWEEP_ENABLE_CERTIFICATE_OWNER_REF,
// cert-manager's --enable-certificate-owner-ref) against the real API
// server: set at issuance and in place when the setting is turned on,
// removed in place when it is off (cert-manager left it), never a reissue,
// and a Secret cert-manager wrote with one is taken over untouched.

import (
	"bytes"
	"encoding/pem"
	"slices"
	"strings"
	"testing"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	metav1ac "k8s.io/client-go/applyconfigurations/meta/v1"
	"software.sslmate.com/src/go-pkcs12"

	"github.com/certsweep/certsweep/job"
	"github.com/certsweep/certsweep/renew"
	"github.com/certsweep/certsweep/test/harness"
)

// ownerRefOn is CERTSWEEP_ENABLE_CERTIFICATE_OWNER_REF=true.
func ownerRefOn(o *job.Options) { o.Decide.OwnerRef = true }

// certificateOwnerRef is the owner reference cert-manager puts on a
// Secret for crt: the Certificate as its controller.
func certificateOwnerRef(crt *cmapi.Certificate) *metav1ac.OwnerReferenceApplyConfiguration {
	return metav1ac.OwnerReference().WithAPIVersion("cert-manager.io/v1").WithKind("Certificate").
		WithName(crt.Name).WithUID(crt.UID).WithController(true).WithBlockOwnerDeletion(true)
}

// requireSecretControlledBy asserts that the Secret's one owner reference makes
// the Certificate its controller, and that cert-manager's field manager
// owns it (so that turning the setting off removes it).
func (e *env) requireSecretControlledBy(secretName, certName string) {
	e.t.Helper()
	sec, crt := e.secret(secretName), e.certificate(certName)
	want := metav1.NewControllerRef(crt, cmapi.SchemeGroupVersion.WithKind(cmapi.CertificateKind))
	if len(sec.OwnerReferences) != 1 || !equalOwnerRefs(sec.OwnerReferences[0], *want) {
		e.t.Fatalf("Secret %s owner references %+v, want the Certificate %s as its controller", secretName, sec.OwnerReferences, certName)
	}
	if !slices.ContainsFunc(sec.ManagedFields, func(mf metav1.ManagedFieldsEntry) bool {
		return mf.Manager == renew.FieldManager && mf.Operation == metav1.ManagedFieldsOperationApply && mf.FieldsV1 != nil &&
			strings.Contains(mf.FieldsV1.GetRawString(), `"k:{\"uid\":\"`+string(crt.UID)+`\"}"`)
	}) {
		e.t.Fatalf("Secret %s: %s does not own the owner reference", secretName, renew.FieldManager)
	}
}

func equalOwnerRefs(a, b metav1.OwnerReference) bool {
	deref := func(p *bool) any {
		if p == nil {
			return nil
		}
		return *p
	}
	return a.APIVersion == b.APIVersion && a.Kind == b.Kind && a.Name == b.Name && a.UID == b.UID &&
		deref(a.Controller) == deref(b.Controller) && deref(a.BlockOwnerDeletion) == deref(b.BlockOwnerDeletion)
}

// requireQuietRun: once settled, a sweep with these options writes
// nothing.
func (e *env) requireQuietRun(mutate ...func(*job.Options)) {
	e.t.Helper()
	cfg, counter := harness.WrapCounting(e.cp.Config)
	rep, err := e.sweeper(cfg, mutate...).Run(e.ctx())
	if err != nil {
		e.t.Fatal(err)
	}
	if counter.Writes() != 0 || rep.Issued != 0 || rep.Rewritten != 0 {
		e.t.Fatalf("a settled run wrote: %v (%s)", counter.Snapshot().Writes(), rep.Summary())
	}
}

// rewritesInPlace runs once with mutate and expects the named
// Certificates' Secrets rewritten for reason and nothing else done: same
// keys, same certificates, same revisions.
func (e *env) rewritesInPlace(reason string, names []string, mutate ...func(*job.Options)) {
	e.t.Helper()
	before := map[string]*corev1.Secret{}
	for _, n := range names {
		before[n] = e.secret(e.certificate(n).Spec.SecretName)
	}
	rep := e.run(mutate...)
	if rep.Rewritten != len(names) || rep.Issued != 0 || rep.Failed != 0 {
		e.t.Fatalf("want %d in-place rewrites: %s %+v", len(names), rep.Summary(), rep.Outcomes)
	}
	for _, o := range rep.Outcomes {
		if slices.Contains(names, o.Name) && (o.Result != job.ResultRewritten || o.Reason != reason) {
			e.t.Fatalf("%s: %s for %q %q, want rewritten for %q", o.Name, o.Result, o.Reason, o.Message, reason)
		}
	}
	for _, n := range names {
		after := e.secret(e.certificate(n).Spec.SecretName)
		for _, k := range []string{corev1.TLSPrivateKeyKey, corev1.TLSCertKey} {
			if !bytes.Equal(after.Data[k], before[n].Data[k]) {
				e.t.Fatalf("%s: the rewrite changed %s", n, k)
			}
		}
		e.requireReady(n, 1)
	}
}

// TestOwnerRefFollowsTheSetting: with the setting on, a first issuance's
// Secret is controlled by its Certificate from its first write; Secrets
// issued with it off get the owner reference in place when it is turned
// on, and lose it in place when it is turned off again, without a reissue;
// each time the run after writes nothing.
func TestOwnerRefFollowsTheSetting(t *testing.T) {
	e := newEnv(t)
	e.withCA()
	e.create(certificate("site", issuerRef("ca"), ecdsaKey))
	e.run()
	e.requireReady("site", 1)
	for _, s := range []string{"root-ca", "site-tls"} {
		if refs := e.secret(s).OwnerReferences; len(refs) != 0 {
			t.Fatalf("Secret %s has owner references with the setting off: %+v", s, refs)
		}
	}
	e.requireQuietRun()

	e.rewritesInPlace(renew.ReasonSecretOwnerRefMismatch, []string{"root", "site"}, ownerRefOn)
	e.requireSecretControlledBy("root-ca", "root")
	e.requireSecretControlledBy("site-tls", "site")
	e.requireQuietRun(ownerRefOn)

	// A first issuance with it on: the owner reference comes with the
	// Secret's first write.
	e.create(certificate("fresh", issuerRef("ca"), ecdsaKey))
	if rep := e.run(ownerRefOn); rep.Issued != 1 || rep.Rewritten != 0 {
		t.Fatalf("want one issuance: %s %+v", rep.Summary(), rep.Outcomes)
	}
	e.requireReady("fresh", 1)
	e.requireSecretControlledBy("fresh-tls", "fresh")
	e.requireQuietRun(ownerRefOn)

	e.rewritesInPlace(renew.ReasonSecretOwnerRefMismatch, []string{"root", "site", "fresh"})
	for _, s := range []string{"root-ca", "site-tls", "fresh-tls"} {
		if refs := e.secret(s).OwnerReferences; len(refs) != 0 {
			t.Fatalf("Secret %s kept its owner references with the setting off: %+v", s, refs)
		}
	}
	e.requireQuietRun()
}

// TestOwnerRefStaleRemovedWithoutReissue: cert-manager, run with
// --enable-certificate-owner-ref, left the Certificate as the Secret's
// controller. With the setting off (the default) the sweep removes it by
// rewriting the Secret in place: same key, same certificate, same
// revision. An owner reference another field manager set is theirs and
// stays.
func TestOwnerRefStaleRemovedWithoutReissue(t *testing.T) {
	e := issued(t, ecdsaKey)
	sec, crt := e.secret("site-tls"), e.certificate("site")
	// What cert-manager's issuing controller applies with the flag: the
	// same Secret, the Certificate as its controller.
	ac := corev1ac.Secret(sec.Name, e.ns).WithType(sec.Type).WithLabels(sec.Labels).WithAnnotations(sec.Annotations).
		WithData(sec.Data).WithOwnerReferences(certificateOwnerRef(crt))
	if _, err := e.kube.CoreV1().Secrets(e.ns).Apply(e.ctx(), ac, metav1.ApplyOptions{FieldManager: renew.FieldManager, Force: true}); err != nil {
		t.Fatal(err)
	}
	e.requireSecretControlledBy("site-tls", "site")
	// Another tool makes the root Certificate own its Secret.
	root := e.certificate("root")
	theirs := corev1ac.Secret("root-ca", e.ns).WithOwnerReferences(certificateOwnerRef(root))
	if _, err := e.kube.CoreV1().Secrets(e.ns).Apply(e.ctx(), theirs, metav1.ApplyOptions{FieldManager: "gitops"}); err != nil {
		t.Fatal(err)
	}

	e.rewritesInPlace(renew.ReasonSecretOwnerRefMismatch, []string{"site"})
	if refs := e.secret("site-tls").OwnerReferences; len(refs) != 0 {
		t.Fatalf("the stale owner reference is still there: %+v", refs)
	}
	if refs := e.secret("root-ca").OwnerReferences; len(refs) != 1 || refs[0].UID != root.UID {
		t.Fatalf("another tool's owner reference was touched: %+v", refs)
	}
	if n := len(e.requests("site")); n != 1 {
		t.Fatalf("want the one request of revision 1, found %d", n)
	}
	e.requireQuietRun()
}

// TestOwnerRefTakenOverFromCertManager: a Secret as cert-manager v1.21
// writes it with --enable-certificate-owner-ref (server-side apply under
// its field manager, key.der, tls-combined.pem, a PKCS#12 keystore and
// trust store, the Certificate as controller) is taken over by a sweep
// with the setting on: nothing written to the Secret, nothing lost,
// nothing reissued; the run after writes nothing at all.
func TestOwnerRefTakenOverFromCertManager(t *testing.T) {
	e := issued(t)
	const password = "cm-p12-Password"
	sec, crt := e.secret("site-tls"), e.certificate("site")
	p := parseSecret(t, sec)
	data := map[string][]byte{}
	for k, v := range sec.Data {
		data[k] = v
	}
	block, _ := pem.Decode(sec.Data[corev1.TLSPrivateKeyKey])
	data["key.der"] = block.Bytes
	data["tls-combined.pem"] = bytes.Join([][]byte{sec.Data[corev1.TLSPrivateKeyKey], sec.Data[corev1.TLSCertKey]}, []byte("\n"))
	var err error
	if data["keystore.p12"], err = pkcs12.LegacyRC2.Encode(p.key, p.chain[0], append(slices.Clone(p.chain[1:]), p.ca...), password); err != nil {
		t.Fatal(err)
	}
	if data["truststore.p12"], err = pkcs12.LegacyRC2.EncodeTrustStore(p.ca, password); err != nil {
		t.Fatal(err)
	}
	ac := corev1ac.Secret(sec.Name, e.ns).WithType(sec.Type).WithLabels(sec.Labels).WithAnnotations(sec.Annotations).
		WithData(data).WithOwnerReferences(certificateOwnerRef(crt))
	if _, err := e.kube.CoreV1().Secrets(e.ns).Apply(e.ctx(), ac, metav1.ApplyOptions{FieldManager: renew.FieldManager, Force: true}); err != nil {
		t.Fatal(err)
	}
	e.updateSpec("site", func(s *cmapi.CertificateSpec) {
		s.AdditionalOutputFormats = []cmapi.CertificateAdditionalOutputFormat{derOutput, combinedOutput}
		s.Keystores = &cmapi.CertificateKeystores{PKCS12: &cmapi.PKCS12Keystore{Create: true, Password: ptrTo(password)}}
	})
	written := e.secret("site-tls")

	// root-ca, written by the first sweep with the setting off, gets its
	// owner reference; site-tls is left as it is.
	rep := e.run(ownerRefOn)
	if rep.Issued != 0 || rep.Failed != 0 {
		t.Fatalf("the take-over sweep issued: %s %+v", rep.Summary(), rep.Outcomes)
	}
	for _, o := range rep.Outcomes {
		if o.Name == "site" && o.Result != job.ResultUnchanged {
			t.Fatalf("the take-over sweep acted on site: %+v", o)
		}
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
	e.requireSecretControlledBy("site-tls", "site")
	e.requireReady("site", 1)
	e.requireQuietRun(ownerRefOn)
}

// TestOwnerRefEnvironmentVariable: the binary reads
// CERTSWEEP_ENABLE_CERTIFICATE_OWNER_REF as the manifests would set it:
// true sets the owner reference, unset (false) removes it again, and a
// value that is not a boolean is a configuration error (exit 2) that
// touches nothing.
func TestOwnerRefEnvironmentVariable(t *testing.T) {
	bin := certsweepBinary(t)
	e := newEnv(t)
	e.create(selfSignedIssuer("ss"))
	e.create(certificate("site", issuerRef("ss"), ecdsaKey))

	if code, _, stderr := runBinary(t, bin, e.podEnv(e.cp.Config, "CERTSWEEP_ENABLE_CERTIFICATE_OWNER_REF=maybe"), "run"); code != 2 {
		t.Fatalf("exit %d for a value that is not a boolean, want 2\nstderr:\n%s", code, stderr)
	}
	e.requireNotIssued("site")

	if code, _, stderr := runBinary(t, bin, e.podEnv(e.cp.Config, "CERTSWEEP_ENABLE_CERTIFICATE_OWNER_REF=true"), "run"); code != 0 {
		t.Fatalf("exit %d\nstderr:\n%s", code, stderr)
	}
	e.requireReady("site", 1)
	e.requireSecretControlledBy("site-tls", "site")

	if code, _, stderr := runBinary(t, bin, e.podEnv(e.cp.Config), "run"); code != 0 {
		t.Fatalf("exit %d\nstderr:\n%s", code, stderr)
	}
	if refs := e.secret("site-tls").OwnerReferences; len(refs) != 0 {
		t.Fatalf("the default left the owner reference: %+v", refs)
	}
	e.requireReady("site", 1)
}
