package e2e

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"sync/atomic"
	"testing"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	cmclient "github.com/cert-manager/cert-manager/pkg/client/clientset/versioned"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/certsweep/certsweep/job"
	"github.com/certsweep/certsweep/test/harness"
)

// env is one test's view of the shared control plane: a fresh namespace,
// admin clients, and a clock the test can move.
type env struct {
	t    *testing.T
	cp   *harness.ControlPlane
	ns   string
	kube kubernetes.Interface
	cm   cmclient.Interface
	now  atomic.Pointer[time.Time]
}

func newEnv(t *testing.T) *env {
	t.Helper()
	cp := harness.Shared(t)
	e := &env{t: t, cp: cp, ns: cp.Namespace(t)}
	e.kube, e.cm = clientsFor(t, cp.Config)
	now := time.Now()
	e.now.Store(&now)
	return e
}

func clientsFor(t *testing.T, cfg *rest.Config) (kubernetes.Interface, cmclient.Interface) {
	t.Helper()
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	cm, err := cmclient.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return kube, cm
}

func (e *env) clock() time.Time { return *e.now.Load() }

// advance moves the test clock, so backoff windows pass without sleeping.
func (e *env) advance(d time.Duration) {
	n := e.clock().Add(d)
	e.now.Store(&n)
}

func (e *env) ctx() context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	e.t.Cleanup(cancel)
	return ctx
}

// sweeper builds a Sweeper over this test's namespace using cfg's identity.
func (e *env) sweeper(cfg *rest.Config, mutate ...func(*job.Options)) *job.Sweeper {
	kube, cm := clientsFor(e.t, cfg)
	opts := job.Options{Namespace: e.ns, Approve: true, Concurrency: 4, Now: e.clock, ClusterResourceNamespace: e.ns}
	for _, m := range mutate {
		m(&opts)
	}
	return job.New(kube, cm, opts)
}

// run performs one sweep as admin and fails the test if the run itself fails.
func (e *env) run(mutate ...func(*job.Options)) *job.Report {
	e.t.Helper()
	rep, err := e.sweeper(e.cp.Config, mutate...).Run(e.ctx())
	if err != nil {
		e.t.Fatalf("sweep: %v", err)
	}
	e.t.Logf("sweep: %s", rep.Summary())
	return rep
}

func (e *env) create(obj any) {
	e.t.Helper()
	ctx := e.ctx()
	var err error
	switch o := obj.(type) {
	case *cmapi.Issuer:
		o.Namespace = e.ns
		_, err = e.cm.CertmanagerV1().Issuers(e.ns).Create(ctx, o, metav1.CreateOptions{})
	case *cmapi.ClusterIssuer:
		_, err = e.cm.CertmanagerV1().ClusterIssuers().Create(ctx, o, metav1.CreateOptions{})
		name := o.Name
		e.t.Cleanup(func() {
			_ = e.cm.CertmanagerV1().ClusterIssuers().Delete(context.Background(), name, metav1.DeleteOptions{})
		})
	case *cmapi.Certificate:
		o.Namespace = e.ns
		_, err = e.cm.CertmanagerV1().Certificates(e.ns).Create(ctx, o, metav1.CreateOptions{})
	case *corev1.Secret:
		o.Namespace = e.ns
		_, err = e.kube.CoreV1().Secrets(e.ns).Create(ctx, o, metav1.CreateOptions{})
	default:
		err = fmt.Errorf("unsupported fixture %T", obj)
	}
	if err != nil {
		e.t.Fatalf("creating fixture: %v", err)
	}
}

func selfSignedIssuer(name string) *cmapi.Issuer {
	return &cmapi.Issuer{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: cmapi.IssuerSpec{IssuerConfig: cmapi.IssuerConfig{SelfSigned: &cmapi.SelfSignedIssuer{}}}}
}

func caIssuer(name, secret string) *cmapi.Issuer {
	return &cmapi.Issuer{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: cmapi.IssuerSpec{IssuerConfig: cmapi.IssuerConfig{CA: &cmapi.CAIssuer{SecretName: secret}}}}
}

func certificate(name string, ref cmmeta.IssuerReference, mutate ...func(*cmapi.CertificateSpec)) *cmapi.Certificate {
	c := &cmapi.Certificate{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: cmapi.CertificateSpec{
			SecretName: name + "-tls",
			DNSNames:   []string{name + ".example.test"},
			IssuerRef:  ref,
		},
	}
	for _, m := range mutate {
		m(&c.Spec)
	}
	return c
}

func issuerRef(name string) cmmeta.IssuerReference { return cmmeta.IssuerReference{Name: name} }

// withCA creates a SelfSigned issuer, a CA Certificate from it and a CA
// issuer named "ca" over that Certificate's Secret.
func (e *env) withCA() {
	e.create(selfSignedIssuer("selfsigned"))
	e.create(certificate("root", issuerRef("selfsigned"), func(s *cmapi.CertificateSpec) {
		s.IsCA = true
		s.CommonName = "test root"
		s.DNSNames = nil
		s.SecretName = "root-ca"
		s.PrivateKey = &cmapi.CertificatePrivateKey{Algorithm: cmapi.ECDSAKeyAlgorithm}
	}))
	e.create(caIssuer("ca", "root-ca"))
}

func (e *env) certificate(name string) *cmapi.Certificate {
	e.t.Helper()
	c, err := e.cm.CertmanagerV1().Certificates(e.ns).Get(e.ctx(), name, metav1.GetOptions{})
	if err != nil {
		e.t.Fatalf("reading certificate %s: %v", name, err)
	}
	return c
}

func (e *env) secret(name string) *corev1.Secret {
	e.t.Helper()
	s, err := e.kube.CoreV1().Secrets(e.ns).Get(e.ctx(), name, metav1.GetOptions{})
	if err != nil {
		e.t.Fatalf("reading secret %s: %v", name, err)
	}
	return s
}

func (e *env) requests(cert string) []cmapi.CertificateRequest {
	e.t.Helper()
	list, err := e.cm.CertmanagerV1().CertificateRequests(e.ns).List(e.ctx(), metav1.ListOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	var out []cmapi.CertificateRequest
	for _, cr := range list.Items {
		if cr.Annotations[cmapi.CertificateNameKey] == cert {
			out = append(out, cr)
		}
	}
	return out
}

func condition(c *cmapi.Certificate, t cmapi.CertificateConditionType) *cmapi.CertificateCondition {
	for i := range c.Status.Conditions {
		if c.Status.Conditions[i].Type == t {
			return &c.Status.Conditions[i]
		}
	}
	return nil
}

// requireReady asserts the Certificate is Ready=True at the given revision.
func (e *env) requireReady(name string, revision int) *cmapi.Certificate {
	e.t.Helper()
	c := e.certificate(name)
	ready := condition(c, cmapi.CertificateConditionReady)
	if ready == nil || ready.Status != cmmeta.ConditionTrue {
		e.t.Fatalf("certificate %s not Ready: %+v", name, c.Status.Conditions)
	}
	if c.Status.Revision == nil || *c.Status.Revision != revision {
		e.t.Fatalf("certificate %s revision = %v, want %d", name, c.Status.Revision, revision)
	}
	if c.Status.NotAfter == nil || c.Status.RenewalTime == nil || c.Status.NotBefore == nil {
		e.t.Fatalf("certificate %s lacks notBefore/notAfter/renewalTime: %+v", name, c.Status)
	}
	return c
}

// parsedSecret is a target Secret decoded with crypto/x509.
type parsedSecret struct {
	key    crypto.PrivateKey
	keyPEM string // the PEM block type, e.g. "RSA PRIVATE KEY"
	chain  []*x509.Certificate
	ca     []*x509.Certificate
}

func parseSecret(t *testing.T, s *corev1.Secret) parsedSecret {
	t.Helper()
	var p parsedSecret
	block, _ := pem.Decode(s.Data[corev1.TLSPrivateKeyKey])
	if block == nil {
		t.Fatalf("secret %s: tls.key is not PEM", s.Name)
	}
	p.keyPEM = block.Type
	var err error
	switch block.Type {
	case "RSA PRIVATE KEY":
		p.key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		p.key, err = x509.ParseECPrivateKey(block.Bytes)
	case "PRIVATE KEY":
		p.key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	default:
		t.Fatalf("secret %s: unexpected key PEM type %q", s.Name, block.Type)
	}
	if err != nil {
		t.Fatalf("secret %s: tls.key does not parse (%s)", s.Name, block.Type) // never print key bytes
	}
	p.chain = parseCerts(t, s.Data[corev1.TLSCertKey])
	p.ca = parseCerts(t, s.Data[cmmeta.TLSCAKey])
	if len(p.chain) == 0 {
		t.Fatalf("secret %s: tls.crt has no certificate", s.Name)
	}
	pub := p.key.(interface{ Public() crypto.PublicKey }).Public()
	if !publicKeysEqual(pub, p.chain[0].PublicKey) {
		t.Fatalf("secret %s: tls.key does not match the leaf certificate", s.Name)
	}
	return p
}

func parseCerts(t *testing.T, data []byte) []*x509.Certificate {
	t.Helper()
	var out []*x509.Certificate
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			return out
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			t.Fatalf("bad certificate in PEM: %v", err)
		}
		out = append(out, c)
	}
}

func publicKeysEqual(a, b crypto.PublicKey) bool {
	switch k := a.(type) {
	case *rsa.PublicKey:
		return k.Equal(b)
	case *ecdsa.PublicKey:
		return k.Equal(b)
	case ed25519.PublicKey:
		return k.Equal(b)
	}
	return false
}

// verifyChain checks the leaf against ca.crt through the intermediates in
// tls.crt, and that no self-signed root sits in tls.crt.
func verifyChain(t *testing.T, p parsedSecret) {
	t.Helper()
	roots, inter := x509.NewCertPool(), x509.NewCertPool()
	for _, c := range p.ca {
		roots.AddCert(c)
	}
	for i, c := range p.chain {
		if i > 0 {
			inter.AddCert(c)
		}
		if i > 0 && c.CheckSignatureFrom(c) == nil {
			t.Fatalf("tls.crt carries the self-signed root %q", c.Subject)
		}
	}
	if _, err := p.chain[0].Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
		t.Fatalf("chain does not verify against ca.crt: %v", err)
	}
}

// selfSignedPEM makes a throwaway ECDSA key pair and self-signed certificate
// for a Secret some other tool wrote.
func selfSignedPEM(t *testing.T, commonName string) (keyPEM, certPEM []byte) {
	t.Helper()
	return selfSignedPair(t, commonName, time.Now().Add(-time.Hour), time.Now().Add(24*time.Hour), false)
}

// selfSignedPair makes a throwaway ECDSA key and a self-signed certificate
// for it, valid between notBefore and notAfter, a CA or not.
func selfSignedPair(t *testing.T, commonName string, notBefore, notAfter time.Time, isCA bool) (keyPEM, certPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: commonName},
		NotBefore:    notBefore,
		NotAfter:     notAfter,
	}
	if isCA {
		tmpl.IsCA, tmpl.BasicConstraintsValid = true, true
		tmpl.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}),
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}
