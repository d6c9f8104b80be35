package e2e

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"maps"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	cmclient "github.com/cert-manager/cert-manager/pkg/client/clientset/versioned"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	"github.com/certsweep/certsweep/renew"
)

// The invariants below are the promises certsweep makes about the state it
// leaves in the API server, whatever happened during the runs that led
// there (faults, restarts, overlapping sweeps). They are checked against the
// real API server, never against what a run reported.
//
//   - exactly once per revision: at most one CertificateRequest per
//     revision, each owned by its Certificate;
//   - never a mismatched pair: an issued Certificate's Secret exists, its
//     tls.key matches its tls.crt, and its leaf is the one signed for the
//     request of the current revision;
//   - Ready=True means issued;
//   - every failure is visible and bounded: retry annotations come with a
//     next attempt and a False condition that says why;
//   - no private key material in Events, conditions or annotations.

// checkInvariants checks the invariants for the named Certificates of e.ns
// (every Certificate when names is empty) and the namespace-wide key-material
// rule, reports each broken promise with t.Errorf, and returns how many
// there were.
func (e *env) checkInvariants(t *testing.T, names ...string) int {
	t.Helper()
	return e.checkInvariantsWith(t, nil, names...)
}

// checkInvariantsWith is checkInvariants with extra known key material (for
// example keys seen in write requests whose Secrets are gone by now).
func (e *env) checkInvariantsWith(t *testing.T, known *keyMaterial, names ...string) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	violations, err := invariantViolations(ctx, e.kube, e.cm, e.ns, known, names...)
	if err != nil {
		t.Fatalf("checking invariants: %v", err)
	}
	for _, v := range violations {
		t.Errorf("invariant violated: %s", v)
	}
	return len(violations)
}

// invariantViolations reads namespace ns and returns one line per broken
// promise, each naming the object and the promise. err is only for failing
// to read.
func invariantViolations(ctx context.Context, kube kubernetes.Interface, cm cmclient.Interface, ns string, known *keyMaterial, names ...string) ([]string, error) {
	certs, err := cm.CertmanagerV1().Certificates(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list certificates: %w", err)
	}
	crs, err := cm.CertmanagerV1().CertificateRequests(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list certificaterequests: %w", err)
	}
	secrets, err := kube.CoreV1().Secrets(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list secrets: %w", err)
	}
	events, err := kube.CoreV1().Events(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list events: %w", err)
	}
	issuers, err := cm.CertmanagerV1().Issuers(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list issuers: %w", err)
	}

	var out []string
	bad := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }

	secretByName := map[string]*corev1.Secret{}
	for i := range secrets.Items {
		secretByName[secrets.Items[i].Name] = &secrets.Items[i]
	}
	certByName := map[string]*cmapi.Certificate{}
	for i := range certs.Items {
		certByName[certs.Items[i].Name] = &certs.Items[i]
	}
	if len(names) == 0 {
		names = slices.Sorted(maps.Keys(certByName))
	}

	for _, name := range names {
		c := certByName[name]
		if c == nil {
			bad("Certificate %s/%s: does not exist", ns, name)
			continue
		}
		who := "Certificate " + ns + "/" + name

		// Exactly once per revision, all owned by the Certificate.
		byRev := map[string][]*cmapi.CertificateRequest{}
		for i := range crs.Items {
			cr := &crs.Items[i]
			owned := ownedBy(cr.OwnerReferences, c.UID)
			named := cr.Annotations[cmapi.CertificateNameKey] == name
			if named && !owned {
				bad("%s: CertificateRequest %s names it but is not owned by it (owners %v)", who, cr.Name, ownerNames(cr.OwnerReferences))
			}
			if !owned {
				continue
			}
			rev, ok := cr.Annotations[cmapi.CertificateRequestRevisionAnnotationKey]
			if !ok {
				bad("%s: CertificateRequest %s has no %s annotation", who, cr.Name, cmapi.CertificateRequestRevisionAnnotationKey)
				continue
			}
			byRev[rev] = append(byRev[rev], cr)
		}
		for _, rev := range slices.Sorted(maps.Keys(byRev)) {
			if list := byRev[rev]; len(list) > 1 {
				var crNames []string
				for _, cr := range list {
					crNames = append(crNames, cr.Name)
				}
				bad("%s: exactly once per revision broken: %d CertificateRequests for revision %s: %v", who, len(list), rev, crNames)
			}
		}

		// Ready=True means issued.
		ready := condition(c, cmapi.CertificateConditionReady)
		if ready != nil && ready.Status == cmmeta.ConditionTrue && c.Status.Revision == nil {
			bad("%s: Ready=True without status.revision", who)
		}

		// Never a mismatched pair; the Secret holds the current revision's
		// certificate.
		if c.Status.Revision != nil {
			rev := *c.Status.Revision
			sec := secretByName[c.Spec.SecretName]
			if sec == nil {
				bad("%s: status.revision=%d but its Secret %s does not exist", who, rev, c.Spec.SecretName)
			} else if leaf, err := decodePair(sec); err != nil {
				bad("%s: Secret %s does not hold a valid pair: %v", who, sec.Name, err)
			} else {
				current := byRev[strconv.Itoa(rev)]
				switch {
				case len(current) == 0:
					bad("%s: the CertificateRequest of the current revision %d does not exist", who, rev)
				case len(current) == 1:
					signed := firstCertDER(current[0].Status.Certificate)
					if signed == nil {
						bad("%s: CertificateRequest %s of the current revision %d holds no certificate", who, current[0].Name, rev)
					} else if !bytes.Equal(signed, leaf.Raw) {
						bad("%s: Secret %s's leaf (serial %s) is not the certificate of CertificateRequest %s (revision %d)", who, sec.Name, leaf.SerialNumber, current[0].Name, rev)
					}
				}
			}
		}

		// Every failure visible and bounded.
		if attempts, ok := c.Annotations[renew.AnnotationFailedAttempts]; ok {
			next, ok := c.Annotations[renew.AnnotationNextAttempt]
			if !ok {
				bad("%s: %s=%s without %s", who, renew.AnnotationFailedAttempts, attempts, renew.AnnotationNextAttempt)
			} else if _, err := time.Parse(time.RFC3339, next); err != nil {
				bad("%s: %s=%q is not an RFC 3339 time", who, renew.AnnotationNextAttempt, next)
			}
			issuing := condition(c, cmapi.CertificateConditionIssuing)
			visible := issuing != nil && issuing.Status == cmmeta.ConditionFalse && issuing.Reason != "" ||
				ready != nil && ready.Status == cmmeta.ConditionFalse && ready.Reason != ""
			if !visible {
				bad("%s: %s=%s but neither Issuing=False nor Ready=False with a reason says why (conditions %s)", who, renew.AnnotationFailedAttempts, attempts, conditionSummary(c.Status.Conditions))
			}
		}
	}

	// No private key material anywhere a person or a log collector sees.
	keys := newKeyMaterial()
	keys.merge(known)
	for _, s := range secrets.Items {
		for k, v := range s.Data {
			keys.addPEM("Secret "+s.Name+" "+k, v)
		}
	}
	scan := func(where, text string) {
		if leak := keys.leak(text); leak != "" {
			bad("%s: private key material visible: %s", where, leak)
		}
	}
	scanAnnotations := func(kind, name string, ann map[string]string) {
		for _, k := range slices.Sorted(maps.Keys(ann)) {
			scan(fmt.Sprintf("%s %s/%s annotation %s", kind, ns, name, k), ann[k])
		}
	}
	for _, ev := range events.Items {
		scan(fmt.Sprintf("Event %s/%s (%s on %s)", ns, ev.Name, ev.Reason, ev.InvolvedObject.Name), ev.Message)
		scanAnnotations("Event", ev.Name, ev.Annotations)
	}
	for _, c := range certs.Items {
		for _, cond := range c.Status.Conditions {
			scan(fmt.Sprintf("Certificate %s/%s condition %s", ns, c.Name, cond.Type), cond.Message)
		}
		scanAnnotations("Certificate", c.Name, c.Annotations)
	}
	for _, cr := range crs.Items {
		for _, cond := range cr.Status.Conditions {
			scan(fmt.Sprintf("CertificateRequest %s/%s condition %s", ns, cr.Name, cond.Type), cond.Message)
		}
		scanAnnotations("CertificateRequest", cr.Name, cr.Annotations)
	}
	for _, s := range secrets.Items {
		scanAnnotations("Secret", s.Name, s.Annotations)
	}
	for _, is := range issuers.Items {
		for _, cond := range is.Status.Conditions {
			scan(fmt.Sprintf("Issuer %s/%s condition %s", ns, is.Name, cond.Type), cond.Message)
		}
		scanAnnotations("Issuer", is.Name, is.Annotations)
	}
	return out, nil
}

func ownedBy(refs []metav1.OwnerReference, uid types.UID) bool {
	for _, r := range refs {
		if r.UID == uid {
			return true
		}
	}
	return false
}

func ownerNames(refs []metav1.OwnerReference) []string {
	var out []string
	for _, r := range refs {
		out = append(out, r.Kind+"/"+r.Name)
	}
	return out
}

func conditionSummary(conds []cmapi.CertificateCondition) string {
	var parts []string
	for _, c := range conds {
		parts = append(parts, fmt.Sprintf("%s=%s/%s", c.Type, c.Status, c.Reason))
	}
	return "[" + strings.Join(parts, " ") + "]"
}

// decodePair is parseSecret without t.Fatal: it returns the leaf when
// tls.key parses and matches the first certificate of tls.crt. Errors never
// carry key bytes.
func decodePair(s *corev1.Secret) (*x509.Certificate, error) {
	block, _ := pem.Decode(s.Data[corev1.TLSPrivateKeyKey])
	if block == nil {
		return nil, fmt.Errorf("tls.key is not PEM")
	}
	key, err := parsePrivateKey(block)
	if err != nil {
		return nil, fmt.Errorf("tls.key (%s) does not parse", block.Type)
	}
	der := firstCertDER(s.Data[corev1.TLSCertKey])
	if der == nil {
		return nil, fmt.Errorf("tls.crt holds no certificate")
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("tls.crt's first certificate does not parse: %v", err)
	}
	pub := key.(crypto.Signer).Public()
	if !publicKeysEqual(pub, leaf.PublicKey) {
		return nil, fmt.Errorf("mismatched pair: tls.key does not match the leaf certificate (serial %s)", leaf.SerialNumber)
	}
	return leaf, nil
}

func parsePrivateKey(block *pem.Block) (any, error) {
	switch block.Type {
	case "RSA PRIVATE KEY":
		return x509.ParsePKCS1PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		return x509.ParseECPrivateKey(block.Bytes)
	case "PRIVATE KEY":
		return x509.ParsePKCS8PrivateKey(block.Bytes)
	}
	return nil, fmt.Errorf("unexpected PEM type %q", block.Type)
}

// firstCertDER returns the DER of the first CERTIFICATE block in PEM data.
func firstCertDER(data []byte) []byte {
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			return nil
		}
		if block.Type == "CERTIFICATE" {
			return block.Bytes
		}
	}
}

// leakWindow is the length of the slices of a key's base64 text looked for:
// long enough that a match is never chance, short enough to catch a
// truncated quote.
const leakWindow = 24

// keyMaterial holds every leakWindow-long slice of the base64 text of known
// private keys (the PEM body, and the base64 of the whole PEM as a Secret's
// data shows it), mapped to where the key was seen. Only slices that carry
// private bytes are kept: an EC or RSA private key also holds its public
// key, which legitimately appears in certificates and CSRs.
type keyMaterial struct {
	mu      sync.Mutex
	windows map[string]string
	keys    map[string]bool // base64 bodies already added
}

func newKeyMaterial() *keyMaterial {
	return &keyMaterial{windows: map[string]string{}, keys: map[string]bool{}}
}

// Len is the number of distinct keys known.
func (k *keyMaterial) Len() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return len(k.keys)
}

func (k *keyMaterial) merge(other *keyMaterial) {
	if other == nil || other == k {
		return
	}
	other.mu.Lock()
	windows, keys := maps.Clone(other.windows), maps.Clone(other.keys)
	other.mu.Unlock()
	k.mu.Lock()
	defer k.mu.Unlock()
	for w, src := range windows {
		if _, ok := k.windows[w]; !ok {
			k.windows[w] = src
		}
	}
	maps.Copy(k.keys, keys)
}

// addPEM adds every private key PEM block found in data, and returns how
// many there were.
func (k *keyMaterial) addPEM(source string, data []byte) int {
	n := 0
	rest := data
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if !strings.Contains(block.Type, "PRIVATE KEY") {
			continue
		}
		n++
		k.addKey(source, block)
	}
	return n
}

func (k *keyMaterial) addKey(source string, block *pem.Block) {
	body := base64.StdEncoding.EncodeToString(block.Bytes)
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.keys[body] {
		return
	}
	k.keys[body] = true

	private := privateByteMask(block)
	// The PEM body: base64 character i carries bits 6i..6i+5 of the DER.
	bodyMask := make([]bool, len(body))
	for i := range body {
		first, last := 6*i/8, (6*i+5)/8
		for b := first; b <= last && b < len(private); b++ {
			bodyMask[i] = bodyMask[i] || private[b]
		}
	}
	k.addWindows(source, body, bodyMask)

	// The PEM text as pem.Encode writes it, and its base64 (how the key
	// shows in a Secret's JSON).
	text := pem.EncodeToMemory(&pem.Block{Type: block.Type, Bytes: block.Bytes})
	textMask := make([]bool, len(text))
	start := bytes.Index(text, []byte("\n")) + 1
	j := 0
	for i := start; i < len(text) && j < len(body); i++ {
		if text[i] == '\n' {
			continue
		}
		textMask[i] = bodyMask[j]
		j++
	}
	b64 := base64.StdEncoding.EncodeToString(text)
	b64Mask := make([]bool, len(b64))
	for i := range b64 {
		first, last := 6*i/8, (6*i+5)/8
		for b := first; b <= last && b < len(textMask); b++ {
			b64Mask[i] = b64Mask[i] || textMask[b]
		}
	}
	k.addWindows(source+" (base64 of its PEM)", b64, b64Mask)
}

// addWindows adds the windows of s that carry at least four private
// characters (three private bytes).
func (k *keyMaterial) addWindows(source, s string, mask []bool) {
	for i := 0; i+leakWindow <= len(s); i++ {
		n := 0
		for _, p := range mask[i : i+leakWindow] {
			if p {
				n++
			}
		}
		if n >= 4 {
			if _, ok := k.windows[s[i:i+leakWindow]]; !ok {
				k.windows[s[i:i+leakWindow]] = source
			}
		}
	}
}

// privateByteMask marks the bytes of a private key's DER that are secret
// (the scalar, the primes and exponents, the seed). If they cannot be found,
// every byte counts as secret.
func privateByteMask(block *pem.Block) []bool {
	der := block.Bytes
	mask := make([]bool, len(der))
	all := func() []bool {
		for i := range mask {
			mask[i] = true
		}
		return mask
	}
	key, err := parsePrivateKey(block)
	if err != nil {
		return all()
	}
	var secrets [][]byte
	switch k := key.(type) {
	case *ecdsa.PrivateKey:
		d, err := k.Bytes()
		if err != nil {
			return all()
		}
		secrets = append(secrets, d)
	case *rsa.PrivateKey:
		ints := []*big.Int{k.D, k.Precomputed.Dp, k.Precomputed.Dq, k.Precomputed.Qinv}
		ints = append(ints, k.Primes...)
		for _, n := range ints {
			if n != nil {
				secrets = append(secrets, n.Bytes())
			}
		}
	case ed25519.PrivateKey:
		secrets = append(secrets, k.Seed())
	default:
		return all()
	}
	found := false
	for _, s := range secrets {
		if len(s) == 0 {
			continue
		}
		for off := 0; ; {
			i := bytes.Index(der[off:], s)
			if i < 0 {
				break
			}
			found = true
			for b := off + i; b < off+i+len(s); b++ {
				mask[b] = true
			}
			off += i + len(s)
		}
	}
	if !found {
		return all()
	}
	return mask
}

// leak describes the first private key material found in text, or "". It
// looks for "PRIVATE KEY" and for any known window, in text as it is and
// with whitespace and escaped line breaks removed (a PEM quoted in JSON).
func (k *keyMaterial) leak(text string) string {
	if text == "" {
		return ""
	}
	if strings.Contains(text, "PRIVATE KEY") {
		return `contains "PRIVATE KEY"`
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if len(k.windows) == 0 {
		return ""
	}
	squashed := strings.NewReplacer(`\r`, "", `\n`, "", "\n", "", "\r", "", " ", "", "\t", "").Replace(text)
	for _, s := range []string{text, squashed} {
		for i := 0; i+leakWindow <= len(s); i++ {
			if src, ok := k.windows[s[i:i+leakWindow]]; ok {
				return fmt.Sprintf("%d characters at offset %d are a slice of the key in %s", leakWindow, i, src)
			}
		}
	}
	return ""
}

// TestKeyMaterialFindsLeaks: the key scan finds a key quoted as PEM, as a
// JSON-escaped PEM, as a bare slice of its body and as the base64 a
// Secret's JSON shows, and does not mistake the key's own certificate
// (which carries the same public key) for a leak.
func TestKeyMaterialFindsLeaks(t *testing.T) {
	for _, alg := range []string{"ecdsa", "rsa", "ed25519"} {
		t.Run(alg, func(t *testing.T) {
			keyPEM, certPEM := keyAndCertPEM(t, alg)
			k := newKeyMaterial()
			if n := k.addPEM("Secret x tls.key", keyPEM); n != 1 {
				t.Fatalf("found %d keys in the PEM, want 1", n)
			}
			block, _ := pem.Decode(keyPEM)
			body := base64.StdEncoding.EncodeToString(block.Bytes)
			// Slices from the private part (the start and end of an EC or
			// RSA key are structure and public key).
			first := slices.Index(privateByteMask(block), true)
			at := (first + 2) / 3 * 4 // first base64 character of whole private bytes
			header := strings.Index(string(keyPEM), "\n") + 1
			textAt := header + at + at/64 // the same character in the PEM text
			b64At := (textAt + 2) / 3 * 4
			escaped, _ := json.Marshal(string(keyPEM))
			leaks := map[string]string{
				"PEM":           "key: " + string(keyPEM),
				"JSON-escaped":  strings.ReplaceAll(string(escaped), "PRIVATE KEY", "XXX"),
				"body slice":    "error near " + body[at:at+30] + " in input",
				"Secret base64": `{"tls.key":"` + base64.StdEncoding.EncodeToString(keyPEM)[b64At:b64At+40] + `"}`,
			}
			for name, text := range leaks {
				if k.leak(text) == "" {
					t.Errorf("%s leak not found", name)
				}
			}
			certBlock, _ := pem.Decode(certPEM)
			for name, text := range map[string]string{
				"certificate PEM":    string(certPEM),
				"certificate base64": base64.StdEncoding.EncodeToString(certPEM),
				"certificate DER":    base64.StdEncoding.EncodeToString(certBlock.Bytes),
				"unrelated":          "Issuance could not proceed and will be retried: connection reset by peer",
			} {
				if leak := k.leak(text); leak != "" {
					t.Errorf("%s mistaken for a leak: %s", name, leak)
				}
			}
		})
	}
}

func keyAndCertPEM(t *testing.T, alg string) (keyPEM, certPEM []byte) {
	t.Helper()
	var key crypto.Signer
	var err error
	switch alg {
	case "ecdsa":
		key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case "rsa":
		key, err = rsa.GenerateKey(rand.Reader, 2048)
	case "ed25519":
		_, key, err = ed25519.GenerateKey(rand.Reader)
	}
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "leak.example.test"}, NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	var kb *pem.Block
	switch k := key.(type) {
	case *ecdsa.PrivateKey:
		b, _ := x509.MarshalECPrivateKey(k)
		kb = &pem.Block{Type: "EC PRIVATE KEY", Bytes: b}
	case *rsa.PrivateKey:
		kb = &pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)}
	default:
		b, _ := x509.MarshalPKCS8PrivateKey(k)
		kb = &pem.Block{Type: "PRIVATE KEY", Bytes: b}
	}
	return pem.EncodeToMemory(kb), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

// TestInvariantCheckerCatchesBrokenPromises breaks each promise by hand on
// issued Certificates and checks the checker names each one, and nothing
// on an untouched Certificate.
func TestInvariantCheckerCatchesBrokenPromises(t *testing.T) {
	e := newEnv(t)
	e.create(selfSignedIssuer("ss"))
	for _, n := range []string{"broken", "fine"} {
		e.create(certificate(n, issuerRef("ss"), ecdsaKey))
	}
	e.run()
	if n := e.checkInvariants(t); n != 0 {
		t.Fatalf("%d violations right after a clean issuance", n)
	}
	ctx := e.ctx()

	// A mismatched pair.
	sec := e.secret("broken-tls")
	otherKey, _ := selfSignedPEM(t, "other")
	sec.Data[corev1.TLSPrivateKeyKey] = otherKey
	if _, err := e.kube.CoreV1().Secrets(e.ns).Update(ctx, sec, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	// A second request for revision 1.
	crs := e.requests("broken")
	dup := crs[0].DeepCopy()
	dup.ObjectMeta = metav1.ObjectMeta{Name: "broken-1-dup", Annotations: dup.Annotations, Labels: dup.Labels, OwnerReferences: dup.OwnerReferences}
	dup.Status = cmapi.CertificateRequestStatus{}
	if _, err := e.cm.CertmanagerV1().CertificateRequests(e.ns).Create(ctx, dup, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// A failure without a window or a condition, and key material in an
	// annotation; the untouched Certificate gets its own certificate in
	// an annotation, which is no leak.
	block, _ := pem.Decode(otherKey)
	body := base64.StdEncoding.EncodeToString(block.Bytes)
	crt := e.certificate("broken")
	crt.Annotations = map[string]string{renew.AnnotationFailedAttempts: "1", "note": body[len(body)/2-15 : len(body)/2+15]}
	if _, err := e.cm.CertmanagerV1().Certificates(e.ns).Update(ctx, crt, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	fine := e.certificate("fine")
	fine.Annotations = map[string]string{"note": string(e.secret("fine-tls").Data[corev1.TLSCertKey])}
	if _, err := e.cm.CertmanagerV1().Certificates(e.ns).Update(ctx, fine, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	// An Event quoting a PEM header.
	if _, err := e.kube.CoreV1().Events(e.ns).Create(ctx, &corev1.Event{
		ObjectMeta:     metav1.ObjectMeta{Name: "leaky"},
		InvolvedObject: corev1.ObjectReference{Kind: "Certificate", Name: "broken", Namespace: e.ns},
		Reason:         "Test", Message: "bad input: -----BEGIN EC PRIVATE KEY-----", Type: corev1.EventTypeWarning,
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	got, err := invariantViolations(ctx, e.kube, e.cm, e.ns, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"broken: exactly once per revision broken: 2 CertificateRequests for revision 1",
		"broken: Secret broken-tls does not hold a valid pair: mismatched pair",
		"broken: certsweep.io/failed-attempts=1 without certsweep.io/next-attempt",
		"broken: certsweep.io/failed-attempts=1 but neither Issuing=False nor Ready=False",
		"Certificate " + e.ns + "/broken annotation note: private key material visible",
		"Event " + e.ns + "/leaky (Test on broken): private key material visible",
	}
	for _, w := range want {
		if !slices.ContainsFunc(got, func(v string) bool { return strings.Contains(v, w) }) {
			t.Errorf("the checker missed %q", w)
		}
	}
	for _, v := range got {
		if strings.Contains(v, "/fine") {
			t.Errorf("the checker flagged the untouched Certificate: %s", v)
		}
	}
	if len(got) != len(want) {
		t.Errorf("got %d violations, want %d:\n  %s", len(got), len(want), strings.Join(got, "\n  "))
	}
}
