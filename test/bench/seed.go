package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	cmclient "github.com/cert-manager/cert-manager/pkg/client/clientset/versioned"
	"golang.org/x/sync/errgroup"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// benchNamespace holds every object the benchmark makes.
const benchNamespace = "bench"

// seedWorkers is how many creates are in flight while seeding: enough to
// keep the API server busy, so seeding takes seconds, not minutes.
const seedWorkers = 32

// certName is the name of the i-th benchmark Certificate.
func certName(i int) string { return fmt.Sprintf("c-%05d", i) }

// setupCA creates the namespace, a CA key pair in a Secret and a CA Issuer
// over it, as a platform team would before asking for certificates.
func setupCA(ctx context.Context, kube kubernetes.Interface, cm cmclient.Interface) error {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: benchNamespace}}
	if _, err := kube.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("creating namespace %s: %w", benchNamespace, err)
	}
	key, der, err := newCA("certsweep bench CA")
	if err != nil {
		return err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return fmt.Errorf("encoding CA key: %w", err)
	}
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "bench-ca", Namespace: benchNamespace},
		Type:       corev1.SecretTypeTLS,
		Data: map[string][]byte{
			corev1.TLSCertKey:       pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
			corev1.TLSPrivateKeyKey: pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}),
		},
	}
	if _, err := kube.CoreV1().Secrets(benchNamespace).Create(ctx, secret, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("creating CA secret: %w", err)
	}
	issuer := &cmapi.Issuer{
		ObjectMeta: metav1.ObjectMeta{Name: "ca", Namespace: benchNamespace},
		Spec: cmapi.IssuerSpec{IssuerConfig: cmapi.IssuerConfig{
			CA: &cmapi.CAIssuer{SecretName: "bench-ca"},
		}},
	}
	if _, err := cm.CertmanagerV1().Issuers(benchNamespace).Create(ctx, issuer, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("creating CA issuer: %w", err)
	}
	return nil
}

// newCA makes an ECDSA P-256 key and a self-signed CA certificate for it.
func newCA(commonName string) (*ecdsa.PrivateKey, []byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("generating CA key: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: commonName},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(10 * 365 * 24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("self-signing CA: %w", err)
	}
	return key, der, nil
}

// seedCertificates creates n ECDSA P-256 Certificates of the CA issuer with
// concurrent client creates.
func seedCertificates(ctx context.Context, cm cmclient.Interface, n int) error {
	return seedCertificatesOf(ctx, cm, n, "ca", "bench.example")
}

// seedCertificatesOf creates n ECDSA P-256 Certificates of the Issuer
// named issuer, each for one name <certificate>.<domain>, with concurrent
// client creates.
func seedCertificatesOf(ctx context.Context, cm cmclient.Interface, n int, issuer, domain string) error {
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(seedWorkers)
	for i := range n {
		g.Go(func() error {
			name := certName(i)
			crt := &cmapi.Certificate{
				ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: benchNamespace},
				Spec: cmapi.CertificateSpec{
					SecretName: name + "-tls",
					DNSNames:   []string{name + "." + domain},
					PrivateKey: &cmapi.CertificatePrivateKey{Algorithm: cmapi.ECDSAKeyAlgorithm, Size: 256},
					IssuerRef:  cmmeta.IssuerReference{Name: issuer, Kind: cmapi.IssuerKind, Group: "cert-manager.io"},
				},
			}
			if _, err := cm.CertmanagerV1().Certificates(benchNamespace).Create(ctx, crt, metav1.CreateOptions{}); err != nil {
				return fmt.Errorf("creating certificate %s: %w", name, err)
			}
			return nil
		})
	}
	return g.Wait()
}

// makeDue changes the spec of every step-th Certificate (a new DNS name), so
// exactly those are due for reissue, as when a team edits its manifests. It
// returns their names.
func makeDue(ctx context.Context, cm cmclient.Interface, n, step int) (map[string]bool, error) {
	due := map[string]bool{}
	for i := 0; i < n; i += step {
		due[certName(i)] = true
	}
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(seedWorkers)
	for name := range due {
		g.Go(func() error {
			crt, err := cm.CertmanagerV1().Certificates(benchNamespace).Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return fmt.Errorf("reading certificate %s: %w", name, err)
			}
			crt.Spec.DNSNames = append(crt.Spec.DNSNames, "renewed-"+name+".bench.example")
			if _, err := cm.CertmanagerV1().Certificates(benchNamespace).Update(ctx, crt, metav1.UpdateOptions{}); err != nil {
				return fmt.Errorf("changing certificate %s: %w", name, err)
			}
			return nil
		})
	}
	return due, g.Wait()
}

// versions maps each Certificate (by name) to the resourceVersions of it
// and of its Secret, to find out afterwards which ones a run wrote to.
type versions map[string][2]string

func readVersions(ctx context.Context, kube kubernetes.Interface, cm cmclient.Interface) (versions, error) {
	out := versions{}
	err := eachPage(ctx, "", func(opts metav1.ListOptions) (string, error) {
		list, err := cm.CertmanagerV1().Certificates(benchNamespace).List(ctx, opts)
		if err != nil {
			return "", fmt.Errorf("listing certificates: %w", err)
		}
		for _, c := range list.Items {
			v := out[c.Name]
			v[0] = c.ResourceVersion
			out[c.Name] = v
		}
		return list.Continue, nil
	})
	if err != nil {
		return nil, err
	}
	err = eachPage(ctx, cmapi.PartOfCertManagerControllerLabelKey+"=true", func(opts metav1.ListOptions) (string, error) {
		list, err := kube.CoreV1().Secrets(benchNamespace).List(ctx, opts)
		if err != nil {
			return "", fmt.Errorf("listing secrets: %w", err)
		}
		for _, s := range list.Items {
			if name := s.Annotations[cmapi.CertificateNameKey]; name != "" {
				v := out[name]
				v[1] = s.ResourceVersion
				out[name] = v
			}
		}
		return list.Continue, nil
	})
	return out, err
}

// changedSince names the Certificates whose object or Secret changed.
func (after versions) changedSince(before versions) map[string]bool {
	changed := map[string]bool{}
	for name, v := range after {
		if before[name] != v {
			changed[name] = true
		}
	}
	return changed
}

// countReady counts Certificates with Ready=True.
func countReady(ctx context.Context, cm cmclient.Interface) (int, error) {
	ready := 0
	err := eachPage(ctx, "", func(opts metav1.ListOptions) (string, error) {
		list, err := cm.CertmanagerV1().Certificates(benchNamespace).List(ctx, opts)
		if err != nil {
			return "", fmt.Errorf("listing certificates: %w", err)
		}
		for _, c := range list.Items {
			for _, cond := range c.Status.Conditions {
				if cond.Type == cmapi.CertificateConditionReady && cond.Status == cmmeta.ConditionTrue {
					ready++
				}
			}
		}
		return list.Continue, nil
	})
	return ready, err
}
