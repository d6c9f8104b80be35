package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
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
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/certsweep/certsweep/test/harness"
)

// floorNamespace holds the objects of the write floor, apart from the
// Certificates certsweep works on.
const floorNamespace = "floor"

// floorWorkers matches certsweep's default concurrency on this machine, so
// the floor and the sweep keep the same number of requests in flight.
const floorWorkers = 16

// writeFloor is the floor an issuance is held to: the API server's own cost
// of exactly the seven writes certsweep makes per issued Certificate (next
// key, request, its signed status, Secret apply, Certificate status, one
// event, next key delete), made with precomputed payloads of the same sizes
// by a raw client, with no key generation, signing or deciding at all. It
// returns the wall time of the writes and the control plane's CPU.
func writeFloor(ctx context.Context, cp *harness.ControlPlane, n int) (wall, server time.Duration, err error) {
	cfg := rest.CopyConfig(cp.Config)
	cfg.QPS = -1
	kcfg := rest.CopyConfig(cfg)
	kcfg.ContentType = "application/vnd.kubernetes.protobuf"
	kcfg.AcceptContentTypes = "application/vnd.kubernetes.protobuf,application/json"
	kube, err := kubernetes.NewForConfig(kcfg)
	if err != nil {
		return 0, 0, err
	}
	cm, err := cmclient.NewForConfig(cfg)
	if err != nil {
		return 0, 0, err
	}
	if _, err := kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: floorNamespace}}, metav1.CreateOptions{}); err != nil {
		return 0, 0, fmt.Errorf("creating namespace %s: %w", floorNamespace, err)
	}
	p, err := newPayloads()
	if err != nil {
		return 0, 0, err
	}
	// The Certificates exist before the clock starts, as in the sweep.
	certs := make([]*cmapi.Certificate, n)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(seedWorkers)
	for i := range n {
		g.Go(func() error {
			c, err := cm.CertmanagerV1().Certificates(floorNamespace).Create(gctx, &cmapi.Certificate{
				ObjectMeta: metav1.ObjectMeta{Name: certName(i), Namespace: floorNamespace},
				Spec: cmapi.CertificateSpec{
					SecretName: certName(i) + "-tls", DNSNames: []string{certName(i) + ".bench.example"},
					PrivateKey: &cmapi.CertificatePrivateKey{Algorithm: cmapi.ECDSAKeyAlgorithm, Size: 256},
					IssuerRef:  cmmeta.IssuerReference{Name: "ca", Kind: cmapi.IssuerKind, Group: "cert-manager.io"},
				},
			}, metav1.CreateOptions{})
			certs[i] = c
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return 0, 0, fmt.Errorf("seeding the write floor: %w", err)
	}

	cpu0, err := serverCPU(cp)
	if err != nil {
		return 0, 0, err
	}
	start := time.Now()
	g, gctx = errgroup.WithContext(ctx)
	g.SetLimit(floorWorkers)
	for _, crt := range certs {
		g.Go(func() error { return p.issueWrites(gctx, kube, cm, crt) })
	}
	if err := g.Wait(); err != nil {
		return 0, 0, fmt.Errorf("write floor: %w", err)
	}
	wall = time.Since(start)
	cpu1, err := serverCPU(cp)
	return wall, cpu1 - cpu0, err
}

// payloads are the fixed bytes every floor issuance writes.
type payloads struct {
	keyPEM, csrPEM, chainPEM, caPEM []byte
}

func newPayloads() (*payloads, error) {
	caKey, caDER, err := newCA("floor CA")
	if err != nil {
		return nil, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	caCert, _ := x509.ParseCertificate(caDER)
	leafTmpl := &x509.Certificate{SerialNumber: big.NewInt(2), DNSNames: []string{"c-00000.bench.example"},
		NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour), KeyUsage: x509.KeyUsageDigitalSignature}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, caCert, &key.PublicKey, caKey)
	if err != nil {
		return nil, err
	}
	csrDER, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{DNSNames: []string{"c-00000.bench.example"}}, key)
	if err != nil {
		return nil, err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	enc := func(t string, b []byte) []byte { return pem.EncodeToMemory(&pem.Block{Type: t, Bytes: b}) }
	return &payloads{
		keyPEM:   enc("PRIVATE KEY", keyDER),
		csrPEM:   enc("CERTIFICATE REQUEST", csrDER),
		chainPEM: enc("CERTIFICATE", leafDER),
		caPEM:    enc("CERTIFICATE", caDER),
	}, nil
}

func (p *payloads) issueWrites(ctx context.Context, kube kubernetes.Interface, cm cmclient.Interface, crt *cmapi.Certificate) error {
	ns, name := crt.Namespace, crt.Name
	owner := []metav1.OwnerReference{*metav1.NewControllerRef(crt, cmapi.SchemeGroupVersion.WithKind(cmapi.CertificateKind))}
	keySecret, err := kube.CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: name + "-next-key", Namespace: ns, OwnerReferences: owner,
			Labels: map[string]string{cmapi.IsNextPrivateKeySecretLabelKey: "true", cmapi.PartOfCertManagerControllerLabelKey: "true"}},
		Type: corev1.SecretTypeOpaque, Data: map[string][]byte{corev1.TLSPrivateKeyKey: p.keyPEM},
	}, metav1.CreateOptions{})
	if err != nil {
		return err
	}
	cr, err := cm.CertmanagerV1().CertificateRequests(ns).Create(ctx, &cmapi.CertificateRequest{
		ObjectMeta: metav1.ObjectMeta{Name: name + "-1", Namespace: ns, OwnerReferences: owner,
			Annotations: map[string]string{cmapi.CertificateRequestRevisionAnnotationKey: "1", cmapi.CertificateNameKey: name,
				cmapi.CertificateRequestPrivateKeyAnnotationKey: keySecret.Name}},
		Spec: cmapi.CertificateRequestSpec{Request: p.csrPEM, IssuerRef: crt.Spec.IssuerRef,
			Usages: []cmapi.KeyUsage{cmapi.UsageDigitalSignature, cmapi.UsageKeyEncipherment}},
	}, metav1.CreateOptions{})
	if err != nil {
		return err
	}
	now := metav1.Now()
	cr.Status.Conditions = []cmapi.CertificateRequestCondition{
		{Type: cmapi.CertificateRequestConditionApproved, Status: cmmeta.ConditionTrue, Reason: "cert-manager.io", Message: "approved", LastTransitionTime: &now},
		{Type: cmapi.CertificateRequestConditionReady, Status: cmmeta.ConditionTrue, Reason: cmapi.CertificateRequestReasonIssued, Message: "issued", LastTransitionTime: &now},
	}
	cr.Status.Certificate, cr.Status.CA = p.chainPEM, p.caPEM
	if _, err := cm.CertmanagerV1().CertificateRequests(ns).UpdateStatus(ctx, cr, metav1.UpdateOptions{}); err != nil {
		return err
	}
	ac := corev1ac.Secret(crt.Spec.SecretName, ns).WithType(corev1.SecretTypeTLS).
		WithData(map[string][]byte{corev1.TLSPrivateKeyKey: p.keyPEM, corev1.TLSCertKey: p.chainPEM, "ca.crt": p.caPEM}).
		WithLabels(map[string]string{cmapi.PartOfCertManagerControllerLabelKey: "true"}).
		WithAnnotations(map[string]string{cmapi.CertificateNameKey: name, cmapi.IssuerNameAnnotationKey: "ca", cmapi.IssuerKindAnnotationKey: "Issuer",
			cmapi.IssuerGroupAnnotationKey: "cert-manager.io", cmapi.CommonNameAnnotationKey: "", cmapi.AltNamesAnnotationKey: name + ".bench.example"})
	if _, err := kube.CoreV1().Secrets(ns).Apply(ctx, ac, metav1.ApplyOptions{FieldManager: "cert-manager-certificates-issuing"}); err != nil {
		return err
	}
	rev := 1
	crt = crt.DeepCopy()
	crt.Status.Revision = &rev
	crt.Status.NotBefore, crt.Status.NotAfter, crt.Status.RenewalTime = &now, &now, &now
	crt.Status.Conditions = []cmapi.CertificateCondition{{Type: cmapi.CertificateConditionReady, Status: cmmeta.ConditionTrue, Reason: "Ready", Message: "Certificate is up to date and has not expired", LastTransitionTime: &now}}
	if _, err := cm.CertmanagerV1().Certificates(ns).UpdateStatus(ctx, crt, metav1.UpdateOptions{}); err != nil {
		return err
	}
	if _, err := kube.CoreV1().Events(ns).Create(ctx, &corev1.Event{
		ObjectMeta:     metav1.ObjectMeta{Name: fmt.Sprintf("%s.%x", name, now.UnixNano()), Namespace: ns},
		InvolvedObject: corev1.ObjectReference{APIVersion: "cert-manager.io/v1", Kind: "Certificate", Name: name, Namespace: ns, UID: crt.UID},
		Reason:         "Issued", Message: "The certificate has been successfully issued", Type: corev1.EventTypeNormal,
		Source: corev1.EventSource{Component: "certsweep"}, FirstTimestamp: now, LastTimestamp: now, Count: 1,
	}, metav1.CreateOptions{}); err != nil {
		return err
	}
	return kube.CoreV1().Secrets(ns).Delete(ctx, keySecret.Name, metav1.DeleteOptions{})
}
