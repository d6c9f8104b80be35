package e2e

// The Vault issuer against a real Vault dev server (harness.StartVault)
// and the real API server: each auth method, a role that refuses a name,
// Vault down, credentials changed between runs, no login on a run with
// nothing due, and faults on the TokenRequest write.

import (
	"bytes"
	"slices"
	"strings"
	"testing"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/certsweep/certsweep/renew"
	"github.com/certsweep/certsweep/test/harness"
)

// vaultSetup is a test's Vault: PKI at "pki" with a root, a role "web" for
// names under example.test, and a policy "sign-web" allowed to sign with it.
type vaultSetup struct {
	*env
	v    *harness.Vault
	root []byte // PEM of the PKI root
}

const (
	vaultSignPath = "pki/sign/web"
	vaultPolicy   = "sign-web"
)

func newVault(t *testing.T) *vaultSetup {
	t.Helper()
	return newVaultOn(t, newEnv(t))
}

// issuerSpec is a spec.vault for this Vault with auth.
func (s *vaultSetup) issuerSpec(auth cmapi.VaultAuth) *cmapi.VaultIssuer {
	return &cmapi.VaultIssuer{Server: s.v.Addr(), Path: vaultSignPath, CABundle: s.v.CABundle(), Auth: auth}
}

func vaultIssuer(name string, spec *cmapi.VaultIssuer) *cmapi.Issuer {
	return &cmapi.Issuer{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: cmapi.IssuerSpec{IssuerConfig: cmapi.IssuerConfig{Vault: spec}}}
}

func secretRef(name, key string) cmmeta.SecretKeySelector {
	return cmmeta.SecretKeySelector{LocalObjectReference: cmmeta.LocalObjectReference{Name: name}, Key: key}
}

func (s *vaultSetup) secretWith(name, key, value string) {
	s.create(&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name}, Data: map[string][]byte{key: []byte(value)}})
}

// withTokenIssuer creates the token Secret and an Issuer "vault" using it.
func (s *vaultSetup) withTokenIssuer() (token string) {
	token = s.v.CreateToken(s.t, vaultPolicy)
	s.secretWith("vault-token", "token", token)
	ref := secretRef("vault-token", "")
	s.create(vaultIssuer("vault", s.issuerSpec(cmapi.VaultAuth{TokenSecretRef: &ref})))
	return token
}

// requireIssued checks name's Secret: a leaf for its names from the Vault
// root, the leaf alone in tls.crt and the root in ca.crt.
func (s *vaultSetup) requireIssued(name string, revision int) parsedSecret {
	s.t.Helper()
	s.requireReady(name, revision)
	p := parseSecret(s.t, s.secret(name+"-tls"))
	verifyChain(s.t, p)
	root := parseCerts(s.t, s.root)
	if len(p.chain) != 1 || len(p.ca) != 1 || len(root) != 1 || !bytes.Equal(p.ca[0].Raw, root[0].Raw) {
		s.t.Fatalf("%s: want the leaf in tls.crt and the Vault root in ca.crt; got %d and %d certificates", name, len(p.chain), len(p.ca))
	}
	return p
}

// issuerCondition is the Ready condition of the Issuer name.
func (s *vaultSetup) issuerCondition(name string) *cmapi.IssuerCondition {
	s.t.Helper()
	iss, err := s.cm.CertmanagerV1().Issuers(s.ns).Get(s.ctx(), name, metav1.GetOptions{})
	if err != nil {
		s.t.Fatal(err)
	}
	for i := range iss.Status.Conditions {
		if iss.Status.Conditions[i].Type == cmapi.IssuerConditionReady {
			return &iss.Status.Conditions[i]
		}
	}
	return nil
}

func (s *vaultSetup) requireIssuerReady(name string, status cmmeta.ConditionStatus, reason string) {
	s.t.Helper()
	c := s.issuerCondition(name)
	if c == nil || c.Status != status || c.Reason != reason {
		s.t.Fatalf("Issuer %s Ready = %+v, want %s/%s", name, c, status, reason)
	}
}

// vaultRequests is what Vault's audit log recorded since the mark.
func (s *vaultSetup) vaultRequestsSince(mark int) []harness.VaultRequest {
	return s.v.Requests(s.t)[mark:]
}

// requireQuietSecondRun: a run with nothing due makes no API write and asks
// nothing of Vault (no login, no TokenRequest, no sign).
func (s *vaultSetup) requireQuietSecondRun() {
	s.t.Helper()
	mark := len(s.v.Requests(s.t))
	cfg, counter := harness.WrapCounting(s.cp.Config)
	rep, err := s.sweeper(cfg).Run(s.ctx())
	if err != nil {
		s.t.Fatal(err)
	}
	if counter.Writes() != 0 || rep.Issued != 0 {
		s.t.Fatalf("a run with nothing due wrote: %v (%s)", counter.Snapshot().Writes(), rep.Summary())
	}
	if got := s.vaultRequestsSince(mark); len(got) != 0 {
		s.t.Fatalf("a run with nothing due asked Vault: %v", got)
	}
}

// warningsOn counts the Warning events about one object.
func (s *vaultSetup) warningsOn(kind, name string) int {
	s.t.Helper()
	list, err := s.kube.CoreV1().Events(s.ns).List(s.ctx(), metav1.ListOptions{})
	if err != nil {
		s.t.Fatal(err)
	}
	n := 0
	for _, ev := range list.Items {
		if ev.Type == corev1.EventTypeWarning && ev.InvolvedObject.Kind == kind && ev.InvolvedObject.Name == name {
			s.t.Logf("Warning %s on %s %s: %s", ev.Reason, kind, name, ev.Message)
			n++
		}
	}
	return n
}

func countPaths(reqs []harness.VaultRequest, suffix string) int {
	n := 0
	for _, r := range reqs {
		if strings.HasSuffix(r.Path, suffix) {
			n++
		}
	}
	return n
}

func TestVaultTokenAuth(t *testing.T) {
	s := newVault(t)
	s.withTokenIssuer()
	s.create(certificate("web", issuerRef("vault"), ecdsaKey))
	s.create(certificate("api", issuerRef("vault"), ecdsaKey, func(c *cmapi.CertificateSpec) {
		c.CommonName = "api.example.test"
		c.Duration = &metav1.Duration{Duration: 48 * time.Hour}
	}))
	mark := len(s.v.Requests(t))
	s.run()
	s.requireIssued("web", 1)
	p := s.requireIssued("api", 1)
	if d := p.chain[0].NotAfter.Sub(p.chain[0].NotBefore); d < 47*time.Hour || d > 49*time.Hour {
		t.Errorf("api lasts %s, want the 48h duration sent as ttl", d)
	}
	if !slices.Equal(p.chain[0].DNSNames, []string{"api.example.test"}) {
		t.Errorf("api SANs = %v, want the Certificate's one name", p.chain[0].DNSNames)
	}
	if n := countPaths(s.vaultRequestsSince(mark), vaultSignPath); n != 2 {
		t.Errorf("%d sign requests, want 2", n)
	}
	s.requireIssuerReady("vault", cmmeta.ConditionTrue, "VaultVerified")
	s.requireQuietSecondRun()
}

// TestVaultTokenChangedBetweenRuns: nothing is cached across runs. The token
// a Certificate was issued with is revoked and the Secret holds a new one;
// the next issuance uses the new token.
func TestVaultTokenChangedBetweenRuns(t *testing.T) {
	s := newVault(t)
	old := s.withTokenIssuer()
	s.create(certificate("web", issuerRef("vault"), ecdsaKey))
	s.run()
	s.requireIssued("web", 1)

	s.v.RevokeToken(t, old)
	sec := s.secret("vault-token")
	sec.Data["token"] = []byte(s.v.CreateToken(t, vaultPolicy) + "\n") // a trailing newline, as `echo` leaves it
	if _, err := s.kube.CoreV1().Secrets(s.ns).Update(s.ctx(), sec, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	s.updateSpec("web", func(c *cmapi.CertificateSpec) { c.DNSNames = append(c.DNSNames, "www.example.test") })
	s.run()
	s.requireIssued("web", 2)
	s.requireQuietSecondRun()
}

func TestVaultAppRoleAuth(t *testing.T) {
	s := newVault(t)
	roleID, secretID := s.v.EnableAppRole(t, "approle", "certsweep", vaultPolicy)
	s.secretWith("approle", "secretId", secretID)
	// The server's CA from a Secret (ca.crt by default) this time.
	s.secretWith("vault-ca", "ca.crt", string(s.v.CABundle()))
	spec := s.issuerSpec(cmapi.VaultAuth{AppRole: &cmapi.VaultAppRole{
		Path: "approle", RoleId: roleID, SecretRef: secretRef("approle", "secretId"),
	}})
	caRef := secretRef("vault-ca", "")
	spec.CABundle, spec.CABundleSecretRef = nil, &caRef
	s.create(vaultIssuer("vault", spec))
	s.create(certificate("web", issuerRef("vault"), ecdsaKey))
	s.create(certificate("api", issuerRef("vault"), ecdsaKey))
	mark := len(s.v.Requests(t))
	s.run()
	s.requireIssued("web", 1)
	s.requireIssued("api", 1)
	s.requireIssuerReady("vault", cmmeta.ConditionTrue, "VaultVerified")
	if n := countPaths(s.vaultRequestsSince(mark), "auth/approle/login"); n != 1 {
		t.Errorf("%d AppRole logins for two Certificates of one issuer, want 1", n)
	}
	s.requireQuietSecondRun()
}

// withKubernetesAuth points Vault's Kubernetes auth at the test API server
// and creates the ServiceAccount sa.
func (s *vaultSetup) withKubernetesAuth(sa string) {
	s.t.Helper()
	s.v.EnableKubernetesAuth(s.t, "kubernetes", harness.KubernetesAuth{
		Host: s.cp.URL, CACert: s.cp.Config.CAData, ReviewerToken: s.cp.Config.BearerToken,
	})
	if _, err := s.kube.CoreV1().ServiceAccounts(s.ns).Create(s.ctx(), &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: sa}}, metav1.CreateOptions{}); err != nil {
		s.t.Fatal(err)
	}
}

// TestVaultKubernetesAuth: a serviceAccountRef Issuer and ClusterIssuer log
// in with a token minted by a TokenRequest carrying cert-manager's
// audiences; Vault reviews it against the API server. One TokenRequest per
// issuer and run, none on a run with nothing due.
func TestVaultKubernetesAuth(t *testing.T) {
	s := newVault(t)
	s.withKubernetesAuth("vault-issuer")
	// The roles accept only the issuer-specific audiences, so a token
	// minted without them would be refused.
	s.v.WriteKubernetesRole(t, "kubernetes", "issuer", s.ns, "vault-issuer", "vault://"+s.ns+"/vault", vaultPolicy)
	clusterIssuer := s.ns + "-vault"
	s.v.WriteKubernetesRole(t, "kubernetes", "cluster", s.ns, "vault-issuer", "vault://"+clusterIssuer, vaultPolicy)

	s.create(vaultIssuer("vault", s.issuerSpec(cmapi.VaultAuth{Kubernetes: &cmapi.VaultKubernetesAuth{
		Role: "issuer", ServiceAccountRef: &cmapi.ServiceAccountRef{Name: "vault-issuer"},
	}})))
	s.create(&cmapi.ClusterIssuer{ObjectMeta: metav1.ObjectMeta{Name: clusterIssuer}, Spec: cmapi.IssuerSpec{IssuerConfig: cmapi.IssuerConfig{
		Vault: s.issuerSpec(cmapi.VaultAuth{Kubernetes: &cmapi.VaultKubernetesAuth{
			Path: "/v1/auth/kubernetes", Role: "cluster", ServiceAccountRef: &cmapi.ServiceAccountRef{Name: "vault-issuer"},
		}}),
	}}})
	s.create(certificate("web", issuerRef("vault"), ecdsaKey))
	s.create(certificate("api", issuerRef("vault"), ecdsaKey))
	s.create(certificate("cluster", cmmeta.IssuerReference{Name: clusterIssuer, Kind: cmapi.ClusterIssuerKind}, ecdsaKey))

	cfg, counter := harness.WrapCounting(s.cp.Config)
	mark := len(s.v.Requests(t))
	if _, err := s.sweeper(cfg).Run(s.ctx()); err != nil {
		t.Fatal(err)
	}
	s.requireIssued("web", 1)
	s.requireIssued("api", 1)
	s.requireIssued("cluster", 1)
	s.requireIssuerReady("vault", cmmeta.ConditionTrue, "VaultVerified")
	if n := counter.Snapshot().ByResource["CREATE serviceaccounts/token"]; n != 2 {
		t.Errorf("%d TokenRequests, want one per issuer (2): %v", n, counter.Snapshot().Writes())
	}
	if n := countPaths(s.vaultRequestsSince(mark), "auth/kubernetes/login"); n != 2 {
		t.Errorf("%d Kubernetes logins, want 2", n)
	}
	s.requireQuietSecondRun()
}

// TestVaultRoleRefusesName: Vault's 400 for a name its role does not allow
// fails the request (issuance class): the request's Failed condition, one
// Warning event, a retry window, and no new attempt inside it.
func TestVaultRoleRefusesName(t *testing.T) {
	s := newVault(t)
	s.withTokenIssuer()
	s.create(certificate("other", issuerRef("vault"), ecdsaKey, func(c *cmapi.CertificateSpec) {
		c.DNSNames = []string{"web.other.test"}
	}))
	s.run()
	crs := s.requests("other")
	if len(crs) != 1 {
		t.Fatalf("%d CertificateRequests, want 1", len(crs))
	}
	failed := false
	for _, c := range crs[0].Status.Conditions {
		if c.Type == cmapi.CertificateRequestConditionReady && c.Reason == cmapi.CertificateRequestReasonFailed {
			failed = true
			if !strings.Contains(c.Message, "web.other.test") {
				t.Errorf("the request's Failed message does not say what Vault refused: %q", c.Message)
			}
		}
	}
	if !failed || crs[0].Status.FailureTime == nil {
		t.Fatalf("request not Failed: %+v", crs[0].Status)
	}
	crt := s.certificate("other")
	if crt.Annotations[renew.AnnotationFailureClass] != "issuance" || crt.Annotations[renew.AnnotationNextAttempt] == "" {
		t.Fatalf("no issuance-class retry window: %v", crt.Annotations)
	}
	if c := condition(crt, cmapi.CertificateConditionIssuing); c == nil || c.Status != cmmeta.ConditionFalse {
		t.Fatalf("Issuing = %+v, want False", c)
	}
	if n := s.warningsOn("Certificate", "other"); n != 1 {
		t.Errorf("%d Warning events on the Certificate, want 1", n)
	}
	if n := s.warningsOn("CertificateRequest", crs[0].Name); n != 1 {
		t.Errorf("%d Warning events on the request, want 1", n)
	}
	// Inside the window: nothing is attempted, nothing is asked of Vault.
	s.advance(10 * time.Minute)
	s.requireQuietSecondRun()
	if len(s.requests("other")) != 1 {
		t.Fatal("an attempt was made inside the retry window")
	}
}

// TestVaultDownBacksOff: Vault not answering is temporary: the Issuer says
// VaultError, the Certificate gets the short temporary window, no key and
// no request are made, and once Vault answers again the next run issues.
func TestVaultDownBacksOff(t *testing.T) {
	s := newVault(t)
	s.withTokenIssuer()
	s.create(certificate("web", issuerRef("vault"), ecdsaKey))
	s.v.Stop()
	s.run()
	crt := s.certificate("web")
	if crt.Annotations[renew.AnnotationFailureClass] != "temporary" || crt.Annotations[renew.AnnotationNextAttempt] == "" {
		t.Fatalf("no temporary retry window: %v", crt.Annotations)
	}
	next, err := time.Parse(time.RFC3339, crt.Annotations[renew.AnnotationNextAttempt])
	if err != nil || next.Sub(s.clock()) > 10*time.Minute {
		t.Fatalf("next attempt %v is not a short backoff from %v", crt.Annotations[renew.AnnotationNextAttempt], s.clock())
	}
	if n := len(s.requests("web")); n != 0 {
		t.Fatalf("%d CertificateRequests made while Vault is down", n)
	}
	s.requireIssuerReady("vault", cmmeta.ConditionFalse, "VaultError")
	if n := s.warningsOn("Certificate", "web"); n != 1 {
		t.Errorf("%d Warning events on the Certificate, want 1", n)
	}
	// Inside the window nothing is tried.
	cfg, counter := harness.WrapCounting(s.cp.Config)
	if _, err := s.sweeper(cfg).Run(s.ctx()); err != nil {
		t.Fatal(err)
	}
	if counter.Writes() != 0 {
		t.Fatalf("a run inside the window wrote: %v", counter.Snapshot().Writes())
	}

	// A Vault answers again (a new dev server: same setup, new address).
	back := newVaultOn(t, s.env)
	token := back.v.CreateToken(t, vaultPolicy)
	sec := s.secret("vault-token")
	sec.Data["token"] = []byte(token)
	if _, err := s.kube.CoreV1().Secrets(s.ns).Update(s.ctx(), sec, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	iss, err := s.cm.CertmanagerV1().Issuers(s.ns).Get(s.ctx(), "vault", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	iss.Spec.Vault = back.issuerSpec(iss.Spec.Vault.Auth)
	if _, err := s.cm.CertmanagerV1().Issuers(s.ns).Update(s.ctx(), iss, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	s.advance(time.Hour)
	s.run()
	back.requireIssued("web", 1)
	back.requireIssuerReady("vault", cmmeta.ConditionTrue, "VaultVerified")
}

// TestVaultSealedIsTemporary: a sealed Vault (sys/health says so, every
// other request is a 503) is a temporary failure with the Issuer saying
// why, and nothing is asked of it but its health.
func TestVaultSealedIsTemporary(t *testing.T) {
	s := newVault(t)
	s.withTokenIssuer()
	s.create(certificate("web", issuerRef("vault"), ecdsaKey))
	s.run()
	s.requireIssued("web", 1)

	s.v.Seal(t)
	s.updateSpec("web", func(c *cmapi.CertificateSpec) { c.DNSNames = append(c.DNSNames, "www.example.test") })
	s.run()
	crt := s.certificate("web")
	if crt.Annotations[renew.AnnotationFailureClass] != "temporary" {
		t.Fatalf("want a temporary failure, got %v", crt.Annotations)
	}
	c := s.issuerCondition("vault")
	if c == nil || c.Status != cmmeta.ConditionFalse || c.Reason != "VaultError" || !strings.Contains(c.Message, "sealed") {
		t.Fatalf("Issuer Ready = %+v, want False/VaultError saying sealed", c)
	}
	if n := len(s.requests("web")); n != 1 {
		t.Fatalf("%d CertificateRequests, want only the first revision's", n)
	}
}

// newVaultOn starts a Vault set up as newVault says, for an existing env.
func newVaultOn(t *testing.T, e *env) *vaultSetup {
	t.Helper()
	v := harness.StartVault(t)
	s := &vaultSetup{env: e, v: v}
	s.root = v.EnablePKI(t, "pki", "certsweep test root")
	v.WritePKIRole(t, "pki", "web", map[string]any{
		"allowed_domains": "example.test", "allow_subdomains": true,
		"key_type": "any", "max_ttl": "720h",
		// Certificates with only dnsNames have no common name to send.
		"require_cn": false,
	})
	v.WritePolicy(t, vaultPolicy, `path "pki/sign/web" { capabilities = ["create", "update"] }`)
	return s
}

// TestVaultTokenRequestFaults: the TokenRequest is a write and may fail like
// any other: a 500, or a reset after the API server minted the token. The
// run records a temporary failure (no request made) and the next clean run
// after the window issues, with one TokenRequest.
func TestVaultTokenRequestFaults(t *testing.T) {
	for _, kind := range []harness.FaultKind{harness.FaultInternalError, harness.FaultResetAfterForward, harness.FaultServiceUnavailable} {
		t.Run(string(kind), func(t *testing.T) {
			s := newVault(t)
			s.withKubernetesAuth("vault-issuer")
			s.v.WriteKubernetesRole(t, "kubernetes", "issuer", s.ns, "vault-issuer", "vault://"+s.ns+"/vault", vaultPolicy)
			s.create(vaultIssuer("vault", s.issuerSpec(cmapi.VaultAuth{Kubernetes: &cmapi.VaultKubernetesAuth{
				Role: "issuer", ServiceAccountRef: &cmapi.ServiceAccountRef{Name: "vault-issuer"},
			}})))
			s.create(certificate("web", issuerRef("vault"), ecdsaKey))

			proxy := harness.StartFaultProxy(t, s.cp, harness.FaultRule{
				Kind: kind, Verbs: []string{harness.VerbCreate}, Resources: []string{"serviceaccounts/token"}, Rate: 1,
			})
			mark := len(s.v.Requests(t))
			if _, err := s.sweeper(proxy.RESTConfig()).Run(s.ctx()); err != nil {
				t.Logf("faulty run: %v", err)
			}
			if proxy.Stats().Total() == 0 {
				t.Fatal("the fault never fired: no TokenRequest was made")
			}
			if n := countPaths(s.vaultRequestsSince(mark), "login"); n != 0 {
				t.Fatalf("%d logins without a token", n)
			}
			crt := s.certificate("web")
			if crt.Annotations[renew.AnnotationFailureClass] != "temporary" {
				t.Fatalf("want a temporary failure, got %v", crt.Annotations)
			}
			if n := len(s.requests("web")); n != 0 {
				t.Fatalf("%d CertificateRequests made without a login", n)
			}

			proxy.Disable()
			s.advance(time.Hour)
			cfg, counter := harness.WrapCounting(s.cp.Config)
			if _, err := s.sweeper(cfg).Run(s.ctx()); err != nil {
				t.Fatal(err)
			}
			s.requireIssued("web", 1)
			if n := counter.Snapshot().ByResource["CREATE serviceaccounts/token"]; n != 1 {
				t.Errorf("%d TokenRequests in the clean run, want 1", n)
			}
			s.requireQuietSecondRun()
		})
	}
}

// TestVaultRunsAsTheManifestServiceAccount: the binary, as the ServiceAccount
// of manifests/base, issues through a Vault ClusterIssuer with Kubernetes
// auth: reading the issuer, minting the token (serviceaccounts/token) and
// writing the issuer's status all within the ClusterRole.
func TestVaultRunsAsTheManifestServiceAccount(t *testing.T) {
	bin := certsweepBinary(t)
	s := newVault(t)
	if _, err := harness.Apply(s.ctx(), s.cp.Config, harness.ApplyOptions{}, baseManifests(t)); err != nil {
		t.Fatalf("applying manifests/base: %v", err)
	}
	s.waitAllowed("certsweep", "certsweep", "list", "cert-manager.io", "certificates")
	sa := s.cp.ServiceAccountConfig("certsweep", "certsweep")

	s.withKubernetesAuth("vault-issuer")
	clusterIssuer := s.ns + "-vault"
	s.v.WriteKubernetesRole(t, "kubernetes", "cluster", s.ns, "vault-issuer", "vault://"+clusterIssuer, vaultPolicy)
	s.create(&cmapi.ClusterIssuer{ObjectMeta: metav1.ObjectMeta{Name: clusterIssuer}, Spec: cmapi.IssuerSpec{IssuerConfig: cmapi.IssuerConfig{
		Vault: s.issuerSpec(cmapi.VaultAuth{Kubernetes: &cmapi.VaultKubernetesAuth{
			Role: "cluster", ServiceAccountRef: &cmapi.ServiceAccountRef{Name: "vault-issuer"},
		}}),
	}}})
	s.create(certificate("web", cmmeta.IssuerReference{Name: clusterIssuer, Kind: cmapi.ClusterIssuerKind}, ecdsaKey))
	code, stdout, stderr := runBinary(t, bin, s.podEnv(sa), "run")
	if code != 0 {
		t.Fatalf("sweep as the ServiceAccount: exit %d\nstderr:\n%s", code, stderr)
	}
	requireNoDenials(t, stderr)
	t.Logf("sweep: %s", strings.TrimSpace(stdout))
	s.requireIssued("web", 1)
	ci, err := s.cm.CertmanagerV1().ClusterIssuers().Get(s.ctx(), clusterIssuer, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(ci.Status.Conditions) == 0 || ci.Status.Conditions[0].Reason != "VaultVerified" {
		t.Fatalf("ClusterIssuer status = %+v, want VaultVerified", ci.Status.Conditions)
	}
}

// TestVaultLoginRefusedIsNotReady: a login Vault refuses (here a role that
// wants another audience than the token carries) is for a person to fix:
// the Issuer is VaultError saying so, the Certificate IssuerNotReady with
// the short window, and no key or request is made.
func TestVaultLoginRefusedIsNotReady(t *testing.T) {
	s := newVault(t)
	s.withKubernetesAuth("vault-issuer")
	s.v.WriteKubernetesRole(t, "kubernetes", "issuer", s.ns, "vault-issuer", "vault://elsewhere/vault", vaultPolicy)
	s.create(vaultIssuer("vault", s.issuerSpec(cmapi.VaultAuth{Kubernetes: &cmapi.VaultKubernetesAuth{
		Role: "issuer", ServiceAccountRef: &cmapi.ServiceAccountRef{Name: "vault-issuer"},
	}})))
	s.create(certificate("web", issuerRef("vault"), ecdsaKey))
	s.run()
	c := s.issuerCondition("vault")
	if c == nil || c.Status != cmmeta.ConditionFalse || c.Reason != "VaultError" || !strings.Contains(c.Message, "refused the login") {
		t.Fatalf("Issuer Ready = %+v, want False/VaultError with the refused login", c)
	}
	crt := s.certificate("web")
	if ic := condition(crt, cmapi.CertificateConditionIssuing); ic == nil || ic.Reason != "IssuerNotReady" {
		t.Fatalf("Issuing = %+v, want IssuerNotReady", ic)
	}
	if crt.Annotations[renew.AnnotationFailureClass] != "temporary" {
		t.Fatalf("want the temporary class, got %v", crt.Annotations)
	}
	if n := len(s.requests("web")); n != 0 {
		t.Fatalf("%d CertificateRequests for an issuer that cannot log in", n)
	}
	if _, err := s.kube.CoreV1().Secrets(s.ns).Get(s.ctx(), "web-next-key", metav1.GetOptions{}); err == nil {
		t.Fatal("a next private key was made for an issuer that cannot log in")
	}
}

// TestVaultIntermediateChain: signed by an intermediate whose chain Vault
// knows, tls.crt holds the leaf and the intermediate and ca.crt the root,
// from Vault's ca_chain.
func TestVaultIntermediateChain(t *testing.T) {
	s := newVault(t)
	interPEM := s.v.EnableIntermediatePKI(t, "pki_int", "pki", "certsweep test intermediate")
	s.v.WritePKIRole(t, "pki_int", "web", map[string]any{"allowed_domains": "example.test", "allow_subdomains": true, "key_type": "any", "require_cn": false})
	s.v.WritePolicy(t, "sign-int", `path "pki_int/sign/web" { capabilities = ["update"] }`)
	s.secretWith("vault-token", "token", s.v.CreateToken(t, "sign-int"))
	ref := secretRef("vault-token", "")
	spec := s.issuerSpec(cmapi.VaultAuth{TokenSecretRef: &ref})
	spec.Path = "/v1/pki_int/sign/web" // the form with /v1/ works too
	s.create(vaultIssuer("vault", spec))
	s.create(certificate("web", issuerRef("vault"), ecdsaKey))
	s.run()
	s.requireReady("web", 1)
	p := parseSecret(t, s.secret("web-tls"))
	verifyChain(t, p)
	want := parseCerts(t, interPEM)
	root := parseCerts(t, s.root)
	if len(p.chain) != 2 || !bytes.Equal(p.chain[1].Raw, want[0].Raw) {
		t.Fatalf("tls.crt holds %d certificates, want the leaf and the intermediate", len(p.chain))
	}
	if len(p.ca) != 1 || !bytes.Equal(p.ca[0].Raw, root[0].Raw) {
		t.Fatalf("ca.crt holds %d certificates, want the root", len(p.ca))
	}
}
