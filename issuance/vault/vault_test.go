package vault

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"errors"
	"math/big"
	"net"
	"net/url"
	"strings"
	"testing"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	vaultapi "github.com/hashicorp/vault/api"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/certsweep/certsweep/issuance"
	"github.com/certsweep/certsweep/issuance/pki"
)

func TestValidateSpec(t *testing.T) {
	token := &cmmeta.SecretKeySelector{LocalObjectReference: cmmeta.LocalObjectReference{Name: "t"}}
	base := func(auth cmapi.VaultAuth) cmapi.VaultIssuer {
		return cmapi.VaultIssuer{Server: "https://vault:8200", Path: "pki/sign/web", Auth: auth}
	}
	tests := []struct {
		name string
		spec cmapi.VaultIssuer
		want string // a part of the message; "" means valid
	}{
		{"token", base(cmapi.VaultAuth{TokenSecretRef: token}), ""},
		{"no server", cmapi.VaultIssuer{Path: "p", Auth: cmapi.VaultAuth{TokenSecretRef: token}}, "server and path are required"},
		{"no path", cmapi.VaultIssuer{Server: "s", Auth: cmapi.VaultAuth{TokenSecretRef: token}}, "server and path are required"},
		{"no auth", base(cmapi.VaultAuth{}), "is required"},
		{"two auths", base(cmapi.VaultAuth{TokenSecretRef: token, AppRole: &cmapi.VaultAppRole{RoleId: "r", SecretRef: *token}}), "Multiple auth methods"},
		{"token without name", base(cmapi.VaultAuth{TokenSecretRef: &cmmeta.SecretKeySelector{}}), "requires tokenSecretRef.name"},
		{"approle without role", base(cmapi.VaultAuth{AppRole: &cmapi.VaultAppRole{SecretRef: cmmeta.SecretKeySelector{LocalObjectReference: cmmeta.LocalObjectReference{Name: "s"}, Key: "k"}}}), "requires both roleId"},
		{"approle without key", base(cmapi.VaultAuth{AppRole: &cmapi.VaultAppRole{RoleId: "r", SecretRef: *token}}), "requires secretRef.key"},
		{"approle", base(cmapi.VaultAuth{AppRole: &cmapi.VaultAppRole{RoleId: "r", SecretRef: cmmeta.SecretKeySelector{LocalObjectReference: cmmeta.LocalObjectReference{Name: "s"}, Key: "k"}}}), ""},
		{"kubernetes without role", base(cmapi.VaultAuth{Kubernetes: &cmapi.VaultKubernetesAuth{ServiceAccountRef: &cmapi.ServiceAccountRef{Name: "sa"}}}), "requires a role"},
		{"kubernetes without token", base(cmapi.VaultAuth{Kubernetes: &cmapi.VaultKubernetesAuth{Role: "r"}}), "requires either secretRef.name or serviceAccountRef.name"},
		{"kubernetes with both", base(cmapi.VaultAuth{Kubernetes: &cmapi.VaultKubernetesAuth{Role: "r", SecretRef: *token, ServiceAccountRef: &cmapi.ServiceAccountRef{Name: "sa"}}}), "cannot be used with both"},
		{"kubernetes service account", base(cmapi.VaultAuth{Kubernetes: &cmapi.VaultKubernetesAuth{Role: "r", ServiceAccountRef: &cmapi.ServiceAccountRef{Name: "sa"}}}), ""},
		{"kubernetes secret", base(cmapi.VaultAuth{Kubernetes: &cmapi.VaultKubernetesAuth{Role: "r", SecretRef: *token}}), ""},
		{"client certificate", base(cmapi.VaultAuth{ClientCertificate: &cmapi.VaultClientCertificateAuth{}}), "not supported by certsweep"},
		{"aws", base(cmapi.VaultAuth{AWS: &cmapi.VaultAWSAuth{Role: "r"}}), "not supported by certsweep"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := validateSpec(&tt.spec)
			if tt.want == "" && got != "" {
				t.Fatalf("valid spec refused: %s", got)
			}
			if !strings.Contains(got, tt.want) {
				t.Fatalf("message %q does not contain %q", got, tt.want)
			}
		})
	}
}

func TestTokenAudiences(t *testing.T) {
	tests := []struct {
		name, namespace string
		extra           []string
		want            []string
	}{
		{"issuer", "team", nil, []string{"vault://team/v", "https://vault:8200"}},
		{"cluster issuer", "", nil, []string{"vault://v", "https://vault:8200"}},
		{"extra first", "team", []string{"a", "b"}, []string{"a", "b", "vault://team/v", "https://vault:8200"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := TokenAudiences(tt.namespace, "v", "https://vault:8200", tt.extra)
			if strings.Join(got, " ") != strings.Join(tt.want, " ") {
				t.Fatalf("audiences = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestErrorClasses(t *testing.T) {
	tests := []struct {
		name    string
		err     error
		refusal bool
		message string // a part of safeMessage
	}{
		{"400", &vaultapi.ResponseError{HTTPMethod: "PUT", URL: "https://v:8200/v1/pki/sign/web?x=1", StatusCode: 400, Errors: []string{"common name a.b not allowed by this role"}}, true, "Vault answered 400 to PUT /v1/pki/sign/web: common name a.b not allowed"},
		{"403", &vaultapi.ResponseError{StatusCode: 403, Errors: []string{"permission denied"}}, true, "permission denied"},
		{"500", &vaultapi.ResponseError{StatusCode: 500, Errors: []string{"internal error"}}, false, "500"},
		{"503 sealed", &vaultapi.ResponseError{StatusCode: 503, Errors: []string{"Vault is sealed"}}, false, "Vault is sealed"},
		{"raw body withheld", &vaultapi.ResponseError{StatusCode: 418, RawError: true, Errors: []string{"<html>something chosen by whoever answers</html>"}}, true, "response body has been omitted"},
		{"network", errors.New("dial tcp 127.0.0.1:1: connect: connection refused"), false, "connection refused"},
		{"no answer", &url.Error{Op: "Get", URL: "https://v:8200/v1/sys/health?sealedcode=299", Err: errors.New("connection refused")}, false, "Get /v1/sys/health: connection refused"},
		{"wrapped", errors.Join(errors.New("context"), &vaultapi.ResponseError{StatusCode: 404, Errors: []string{"no handler"}}), true, "no handler"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := isRefusal(tt.err); got != tt.refusal {
				t.Fatalf("isRefusal = %v, want %v", got, tt.refusal)
			}
			msg := safeMessage(tt.err)
			if !strings.Contains(msg, tt.message) {
				t.Fatalf("safeMessage = %q, want it to contain %q", msg, tt.message)
			}
			if strings.Contains(msg, "<html>") || strings.Contains(msg, "\n") {
				t.Fatalf("safeMessage leaks the body or spans lines: %q", msg)
			}
		})
	}
	long := &vaultapi.ResponseError{StatusCode: 400, Errors: []string{strings.Repeat("é", 2000)}}
	if msg := safeMessage(long); len(msg) > maxMessageLength+3 {
		t.Fatalf("safeMessage is %d bytes long, want at most %d", len(msg), maxMessageLength+3)
	}
}

func TestAPIPath(t *testing.T) {
	for in, want := range map[string]string{
		"pki/sign/web":         "pki/sign/web",
		"/v1/pki/sign/web":     "pki/sign/web",
		"/v1/auth/kubernetes/": "auth/kubernetes",
		"v1/auth/k8s":          "auth/k8s",
	} {
		if got := apiPath(in); got != want {
			t.Errorf("apiPath(%q) = %q, want %q", in, got, want)
		}
	}
}

// testCA is a throwaway CA for chain tests.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

func newTestCA(t testing.TB, name string, parent *testCA) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	signerCert, signerKey := tmpl, key
	if parent != nil {
		signerCert, signerKey = parent.cert, parent.key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, signerCert, &key.PublicKey, signerKey)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return &testCA{cert: cert, key: key}
}

func (ca *testCA) leaf(t testing.TB) *x509.Certificate {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: "leaf"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), DNSNames: []string{"a.example.test"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return cert
}

func pemOf(certs ...*x509.Certificate) string { return string(pki.EncodeCertificates(certs...)) }

func signAnswer(t testing.TB, certificate, issuingCA string, chain ...string) []byte {
	t.Helper()
	body, err := json.Marshal(map[string]any{"data": map[string]any{"certificate": certificate, "issuing_ca": issuingCA, "ca_chain": chain}})
	if err != nil {
		t.Fatal(err)
	}
	return body
}

func TestDecodeSignResponse(t *testing.T) {
	root := newTestCA(t, "root", nil)
	inter := newTestCA(t, "intermediate", root)
	fromRoot := root.leaf(t)
	fromInter := inter.leaf(t)
	tests := []struct {
		name            string
		body            []byte
		wantTLS, wantCA string
		wantErr         string
	}{
		{
			name:    "root signs, ca_chain is the root",
			body:    signAnswer(t, pemOf(fromRoot), pemOf(root.cert), pemOf(root.cert)),
			wantTLS: pemOf(fromRoot), wantCA: pemOf(root.cert),
		},
		{
			name:    "intermediate signs, ca_chain carries the root",
			body:    signAnswer(t, pemOf(fromInter), pemOf(inter.cert), pemOf(inter.cert), pemOf(root.cert)),
			wantTLS: pemOf(fromInter, inter.cert), wantCA: pemOf(root.cert),
		},
		{
			name:    "intermediate signs, no root anywhere: the top is the intermediate",
			body:    signAnswer(t, pemOf(fromInter), pemOf(inter.cert)),
			wantTLS: pemOf(fromInter, inter.cert), wantCA: pemOf(inter.cert),
		},
		{
			name:    "chain in one ca_chain entry, out of order",
			body:    signAnswer(t, pemOf(fromInter), "", pemOf(root.cert, inter.cert)),
			wantTLS: pemOf(fromInter, inter.cert), wantCA: pemOf(root.cert),
		},
		{name: "not JSON", body: []byte("<html>"), wantErr: "failed to decode response"},
		{name: "no data", body: []byte(`{"errors":[]}`), wantErr: "no certificate"},
		{name: "not PEM", body: signAnswer(t, "hello", ""), wantErr: "failed to decode the certificate"},
		{name: "unrelated CA", body: signAnswer(t, pemOf(fromInter), pemOf(newTestCA(t, "other", nil).cert)), wantErr: "certificate chain"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tlsCrt, caCrt, err := decodeSignResponse(tt.body)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(tlsCrt) != tt.wantTLS {
				t.Errorf("tls.crt:\n%s\nwant:\n%s", tlsCrt, tt.wantTLS)
			}
			if string(caCrt) != tt.wantCA {
				t.Errorf("ca.crt:\n%s\nwant:\n%s", caCrt, tt.wantCA)
			}
		})
	}
}

func FuzzDecodeSignResponse(f *testing.F) {
	root := newTestCA(f, "root", nil)
	inter := newTestCA(f, "intermediate", root)
	f.Add(signAnswer(f, pemOf(inter.leaf(f)), pemOf(inter.cert), pemOf(inter.cert), pemOf(root.cert)))
	f.Add(signAnswer(f, pemOf(root.leaf(f)), "", ""))
	f.Add([]byte(`{"data":{"certificate":"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----"}}`))
	f.Add([]byte(`{"data":null}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		tlsCrt, _, err := decodeSignResponse(body)
		if err == nil && len(tlsCrt) == 0 {
			t.Fatal("no error and no certificate")
		}
	})
}

func FuzzDecodeLoginResponse(f *testing.F) {
	f.Add([]byte(`{"auth":{"client_token":"hvs.x"}}`))
	f.Add([]byte(`{"auth":null}`))
	f.Add([]byte(`{"auth":{"client_token":""}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		token, err := decodeLoginResponse(body)
		if err == nil && token == "" {
			t.Fatal("no error and no token")
		}
	})
}

func TestSignParameters(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	u, _ := url.Parse("spiffe://example.test/web")
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject:  pkix.Name{CommonName: "web.example.test"},
		DNSNames: []string{"web.example.test", "www.example.test"}, IPAddresses: []net.IP{net.ParseIP("10.0.0.1")}, URIs: []*url.URL{u},
	}, key)
	if err != nil {
		t.Fatal(err)
	}
	cr := &cmapi.CertificateRequest{Spec: cmapi.CertificateRequestSpec{Request: pki.EncodeCSR(der), Duration: &metav1.Duration{Duration: 30 * time.Minute}}}
	got, err := signParameters(cr)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"common_name": "web.example.test", "alt_names": "web.example.test,www.example.test",
		"ip_sans": "10.0.0.1", "uri_sans": "spiffe://example.test/web", "ttl": "30m0s", "exclude_cn_from_sans": "true",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	cr.Spec.Duration = nil
	if got, _ := signParameters(cr); got["ttl"] != cmapi.DefaultCertificateDuration.String() {
		t.Errorf("default ttl = %q, want %q", got["ttl"], cmapi.DefaultCertificateDuration.String())
	}
}

// secrets is a SecretGetter over a fixed set of Secrets.
func secrets(objs ...*corev1.Secret) issuance.SecretGetter {
	return func(_ context.Context, namespace, name string) (*corev1.Secret, error) {
		for _, s := range objs {
			if s.Namespace == namespace && s.Name == name {
				return s, nil
			}
		}
		return nil, apierrors.NewNotFound(schema.GroupResource{Resource: "secrets"}, name)
	}
}

// TestCredentialProblemsNeedAPerson: missing Secrets, keys and
// ServiceAccounts are NotReadyErrors (fixed by a person, retried on the
// short backoff), found before any connection to Vault is made.
func TestCredentialProblemsNeedAPerson(t *testing.T) {
	server := "https://127.0.0.1:1" // never reached
	spec := func(auth cmapi.VaultAuth) cmapi.VaultIssuer {
		return cmapi.VaultIssuer{Server: server, Path: "pki/sign/web", Auth: auth}
	}
	ref := func(name, key string) cmmeta.SecretKeySelector {
		return cmmeta.SecretKeySelector{LocalObjectReference: cmmeta.LocalObjectReference{Name: name}, Key: key}
	}
	tokenRef := ref("vault-token", "")
	noSA := func(context.Context, string, string, []string, int64) (string, error) {
		return "", apierrors.NewNotFound(schema.GroupResource{Resource: "serviceaccounts"}, "sa")
	}
	tests := []struct {
		name   string
		cfg    Config
		reason string
	}{
		{"token Secret missing", Config{Spec: spec(cmapi.VaultAuth{TokenSecretRef: &tokenRef})}, ReasonSecretMissing},
		{"token key missing", Config{Spec: spec(cmapi.VaultAuth{TokenSecretRef: &tokenRef}), GetSecret: secrets(&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "vault-token"}})}, ReasonVaultInitError},
		{"AppRole Secret missing", Config{Spec: spec(cmapi.VaultAuth{AppRole: &cmapi.VaultAppRole{RoleId: "r", SecretRef: ref("approle", "secretId")}})}, ReasonSecretMissing},
		{"CA bundle Secret missing", Config{Spec: cmapi.VaultIssuer{Server: server, Path: "p", CABundleSecretRef: &tokenRef, Auth: cmapi.VaultAuth{TokenSecretRef: &tokenRef}}}, ReasonSecretMissing},
		{"CA bundle not PEM", Config{Spec: cmapi.VaultIssuer{Server: server, Path: "p", CABundle: []byte("nope"), Auth: cmapi.VaultAuth{TokenSecretRef: &tokenRef}}}, ReasonVaultInitError},
		{"ServiceAccount missing", Config{Spec: spec(cmapi.VaultAuth{Kubernetes: &cmapi.VaultKubernetesAuth{Role: "r", ServiceAccountRef: &cmapi.ServiceAccountRef{Name: "sa"}}}), RequestToken: noSA}, ReasonVaultInitError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.ResourceNamespace = "ns"
			if tt.cfg.GetSecret == nil {
				tt.cfg.GetSecret = secrets()
			}
			v := New(tt.cfg)
			v.mu.Lock()
			_, err := v.loggedIn(context.Background())
			v.mu.Unlock()
			nr, ok := errors.AsType[*issuance.NotReadyError](err)
			if !ok {
				t.Fatalf("error = %v, want a NotReadyError", err)
			}
			if nr.Reason != tt.reason {
				t.Fatalf("reason = %s (%s), want %s", nr.Reason, nr.Message, tt.reason)
			}
		})
	}
}

// TestNewIsLazy: making the issuer reads nothing and mints nothing.
func TestNewIsLazy(t *testing.T) {
	calls := 0
	New(Config{
		Spec: cmapi.VaultIssuer{Server: "https://127.0.0.1:1", Path: "p", Auth: cmapi.VaultAuth{Kubernetes: &cmapi.VaultKubernetesAuth{Role: "r", ServiceAccountRef: &cmapi.ServiceAccountRef{Name: "sa"}}}},
		GetSecret: func(context.Context, string, string) (*corev1.Secret, error) {
			calls++
			return nil, nil
		},
		RequestToken: func(context.Context, string, string, []string, int64) (string, error) {
			calls++
			return "", nil
		},
	})
	if calls != 0 {
		t.Fatalf("New made %d calls", calls)
	}
}
