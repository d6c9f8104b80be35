package pki

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	jks "github.com/pavlo-v-chernykh/keystore-go/v4"
	"software.sslmate.com/src/go-pkcs12"
)

// spec.keystores (docs/semantics.md §4.6): the Secret's key and certificates
// again, as a PKCS#12 or a Java KeyStore file, and the CA alone as a trust
// store. Encoding is left to the libraries cert-manager uses
// (software.sslmate.com/src/go-pkcs12, github.com/pavlo-v-chernykh/keystore-go),
// so files are laid out as cert-manager lays them out. The Check functions
// answer renew/'s question "does this file still hold what we would write?":
// the bytes cannot be compared, since every encoding draws fresh salts.
//
// No error of this file carries a password or key material.

// DefaultJKSAlias is the alias of the key entry when spec.keystores.jks.alias
// is not set.
const DefaultJKSAlias = "certificate"

// JKSAlias is spec.keystores.jks.alias, DefaultJKSAlias when unset.
func JKSAlias(spec *cmapi.JKSKeystore) string {
	if spec.Alias != nil {
		return *spec.Alias
	}
	return DefaultJKSAlias
}

// JKS trust entries are named as cert-manager names them: "ca" for the
// first certificate of ca.crt, then "ca-1", "ca-2", ...
func jksCAAlias(i int) string {
	if i == 0 {
		return "ca"
	}
	return fmt.Sprintf("ca-%d", i)
}

// KeystoreContents is what a keystore is made of: the Secret's private key,
// its chain (tls.crt, leaf first) and its CA certificates (ca.crt; may be
// empty).
type KeystoreContents struct {
	Key   crypto.Signer
	Chain []*x509.Certificate
	CAs   []*x509.Certificate
}

// LiteralKeystorePassword applies cert-manager's rule for a keystore's
// password: passwordSecretRef when it names a Secret, else the literal
// password. It returns the literal password when that is the one in use;
// ok is false when the password is in a Secret (or nowhere).
func LiteralKeystorePassword(literal *string, ref cmmeta.SecretKeySelector) (password []byte, ok bool) {
	if ref.Name != "" || literal == nil {
		return nil, false
	}
	return []byte(*literal), true
}

// PKCS12Profile is spec.keystores.pkcs12.profile with cert-manager's
// default, LegacyRC2, for an empty one.
func PKCS12Profile(p cmapi.PKCS12Profile) cmapi.PKCS12Profile {
	if p == "" {
		return cmapi.LegacyRC2PKCS12Profile
	}
	return p
}

// pkcs12Encoder is the go-pkcs12 encoder of a profile.
func pkcs12Encoder(p cmapi.PKCS12Profile) (*pkcs12.Encoder, error) {
	switch PKCS12Profile(p) {
	case cmapi.LegacyRC2PKCS12Profile:
		return pkcs12.LegacyRC2, nil
	case cmapi.LegacyDESPKCS12Profile:
		return pkcs12.LegacyDES, nil
	case cmapi.Modern2023PKCS12Profile:
		return pkcs12.Modern2023, nil
	case cmapi.Modern2026PKCS12Profile:
		return pkcs12.Modern2026, nil
	default:
		return nil, fmt.Errorf("unknown PKCS#12 profile %q", Truncate(string(p), 64))
	}
}

// pkcs12CAs is what a PKCS#12 keystore holds besides its leaf: the rest of
// the chain, then ca.crt, as cert-manager orders them.
func pkcs12CAs(c KeystoreContents) []*x509.Certificate {
	out := make([]*x509.Certificate, 0, len(c.Chain)+len(c.CAs))
	out = append(out, c.Chain[1:]...)
	return append(out, c.CAs...)
}

// EncodePKCS12Keystore writes keystore.p12: the key, the leaf, and the rest
// of the chain and ca.crt as further certificates.
func EncodePKCS12Keystore(profile cmapi.PKCS12Profile, password []byte, c KeystoreContents) ([]byte, error) {
	enc, err := pkcs12Encoder(profile)
	if err != nil {
		return nil, err
	}
	if c.Key == nil || len(c.Chain) == 0 {
		return nil, errors.New("encoding PKCS#12 keystore: a key and a certificate are needed")
	}
	out, err := enc.Encode(c.Key, c.Chain[0], pkcs12CAs(c), string(password))
	if err != nil {
		return nil, fmt.Errorf("encoding PKCS#12 keystore: %w", err)
	}
	return out, nil
}

// EncodePKCS12Truststore writes truststore.p12: the CA certificates, each
// marked as a Java trust anchor.
func EncodePKCS12Truststore(profile cmapi.PKCS12Profile, password []byte, cas []*x509.Certificate) ([]byte, error) {
	enc, err := pkcs12Encoder(profile)
	if err != nil {
		return nil, err
	}
	out, err := enc.EncodeTrustStore(cas, string(password))
	if err != nil {
		return nil, fmt.Errorf("encoding PKCS#12 trust store: %w", err)
	}
	return out, nil
}

// EncodeJKSKeystore writes keystore.jks: a private key entry under alias
// holding the key (PKCS#8) and the whole chain, and a trusted certificate
// entry per CA certificate. created is the entries' creation date.
func EncodeJKSKeystore(password []byte, alias string, c KeystoreContents, created time.Time) ([]byte, error) {
	if c.Key == nil || len(c.Chain) == 0 {
		return nil, errors.New("encoding JKS keystore: a key and a certificate are needed")
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(c.Key)
	if err != nil {
		return nil, fmt.Errorf("encoding JKS keystore: %w", err)
	}
	chain := make([]jks.Certificate, len(c.Chain))
	for i, cert := range c.Chain {
		chain[i] = jks.Certificate{Type: "X509", Content: cert.Raw}
	}
	ks := jks.New()
	if err := ks.SetPrivateKeyEntry(alias, jks.PrivateKeyEntry{CreationTime: created, PrivateKey: keyDER, CertificateChain: chain}, password); err != nil {
		return nil, fmt.Errorf("encoding JKS keystore: %w", err)
	}
	return storeJKS(ks, password, c.CAs, created)
}

// EncodeJKSTruststore writes truststore.jks: a trusted certificate entry
// per CA certificate.
func EncodeJKSTruststore(password []byte, cas []*x509.Certificate, created time.Time) ([]byte, error) {
	return storeJKS(jks.New(), password, cas, created)
}

func storeJKS(ks jks.KeyStore, password []byte, cas []*x509.Certificate, created time.Time) ([]byte, error) {
	for i, ca := range cas {
		entry := jks.TrustedCertificateEntry{CreationTime: created, Certificate: jks.Certificate{Type: "X509", Content: ca.Raw}}
		if err := ks.SetTrustedCertificateEntry(jksCAAlias(i), entry); err != nil {
			return nil, fmt.Errorf("encoding JKS store: %w", err)
		}
	}
	var buf bytes.Buffer
	if err := ks.Store(&buf, password); err != nil {
		return nil, fmt.Errorf("encoding JKS store: %w", err)
	}
	return buf.Bytes(), nil
}

// CheckPKCS12Profile says whether data is a PKCS#12 file protected the way
// profile protects it. It needs no password: the algorithms are named in
// the clear. Nil means it is.
func CheckPKCS12Profile(data []byte, profile cmapi.PKCS12Profile) error {
	have, err := readPKCS12Shape(data)
	if err != nil {
		return err
	}
	want := PKCS12Profile(profile)
	if got, ok := pkcs12ProfileOf(have); !ok {
		return errors.New("is protected with algorithms of no PKCS#12 profile")
	} else if got != want {
		return fmt.Errorf("was written with profile %s, not %s", got, want)
	}
	return nil
}

// CheckPKCS12Keystore says whether data is a keystore.p12 EncodePKCS12Keystore
// could have written for c with this profile and password: it opens with
// the password and holds c's key, c's leaf, and the rest of c's chain and
// c's CAs (in any order). Nil means it is.
//
// The profile is checked before anything is decrypted, so a file with
// outlandish iteration counts costs nothing.
func CheckPKCS12Keystore(data []byte, profile cmapi.PKCS12Profile, password []byte, c KeystoreContents) (err error) {
	if err := CheckPKCS12Profile(data, profile); err != nil {
		return err
	}
	defer recoverDecode(&err)
	key, leaf, cas, err := pkcs12.DecodeChain(data, string(password))
	if err != nil {
		return pkcs12OpenError(err)
	}
	if len(c.Chain) == 0 || !privateKeysEqual(key, c.Key) {
		return errors.New("does not hold the Secret's private key")
	}
	if !bytes.Equal(leaf.Raw, c.Chain[0].Raw) {
		return errors.New("does not hold the Secret's certificate")
	}
	if !sameCertificates(cas, pkcs12CAs(c)) {
		return errors.New("does not hold the Secret's chain and CA certificates")
	}
	return nil
}

// CheckPKCS12Truststore says whether data is a truststore.p12 that opens
// with password, was written with profile, and holds exactly cas.
func CheckPKCS12Truststore(data []byte, profile cmapi.PKCS12Profile, password []byte, cas []*x509.Certificate) (err error) {
	if err := CheckPKCS12Profile(data, profile); err != nil {
		return err
	}
	defer recoverDecode(&err)
	got, err := pkcs12.DecodeTrustStore(data, string(password))
	if err != nil {
		return pkcs12OpenError(err)
	}
	if !sameCertificates(got, cas) {
		return errors.New("does not hold the Secret's CA certificates")
	}
	return nil
}

func pkcs12OpenError(err error) error {
	if errors.Is(err, pkcs12.ErrIncorrectPassword) {
		return errors.New("does not open with the configured password")
	}
	return fmt.Errorf("cannot be read: %w", err)
}

// CheckJKSKeystore says whether data is a keystore.jks EncodeJKSKeystore
// could have written for c with this alias and password: it opens with the
// password, its one private key entry is under alias and holds c's key and
// c's chain in order, and its trusted entries are c's CAs. Nil means it is.
func CheckJKSKeystore(data, password []byte, alias string, c KeystoreContents) (err error) {
	ks, err := loadJKS(data, password)
	if err != nil {
		return err
	}
	defer recoverDecode(&err)
	if !ks.IsPrivateKeyEntry(alias) {
		return fmt.Errorf("has no private key entry under alias %q", Truncate(alias, 64))
	}
	entry, err := ks.GetPrivateKeyEntry(alias, password)
	if err != nil {
		return errors.New("its private key does not open with the configured password")
	}
	key, err := x509.ParsePKCS8PrivateKey(entry.PrivateKey)
	if err != nil || !privateKeysEqual(key, c.Key) {
		return errors.New("does not hold the Secret's private key")
	}
	if len(entry.CertificateChain) != len(c.Chain) {
		return errors.New("does not hold the Secret's certificate chain")
	}
	for i, cert := range entry.CertificateChain {
		if !bytes.Equal(cert.Content, c.Chain[i].Raw) {
			return errors.New("does not hold the Secret's certificate chain")
		}
	}
	keys, trusted := jksEntries(ks)
	if keys != 1 {
		return errors.New("holds private key entries under other aliases")
	}
	if !sameDER(trusted, c.CAs) {
		return errors.New("does not hold the Secret's CA certificates")
	}
	return nil
}

// CheckJKSTruststore says whether data is a truststore.jks that opens with
// password and holds exactly cas, as trusted certificate entries.
func CheckJKSTruststore(data, password []byte, cas []*x509.Certificate) (err error) {
	ks, err := loadJKS(data, password)
	if err != nil {
		return err
	}
	keys, trusted := jksEntries(ks)
	if keys != 0 || !sameDER(trusted, cas) {
		return errors.New("does not hold exactly the Secret's CA certificates")
	}
	return nil
}

// loadJKS decodes a JKS file and checks its integrity with password. The
// layout is walked first, so that a length field pointing past the end of
// the file (which the library would allocate before reading) is refused.
func loadJKS(data, password []byte) (ks jks.KeyStore, err error) {
	if err := checkJKSLayout(data); err != nil {
		return ks, err
	}
	defer recoverDecode(&err)
	ks = jks.New()
	if err := ks.Load(bytes.NewReader(data), password); err != nil {
		// The library reports a wrong password as a bad digest.
		return ks, errors.New("does not open with the configured password, or is corrupt")
	}
	return ks, nil
}

// jksEntries counts the private key entries and collects the trusted
// certificates of ks.
func jksEntries(ks jks.KeyStore) (keys int, trusted [][]byte) {
	for _, alias := range ks.Aliases() {
		switch {
		case ks.IsPrivateKeyEntry(alias):
			keys++
		case ks.IsTrustedCertificateEntry(alias):
			if e, err := ks.GetTrustedCertificateEntry(alias); err == nil {
				trusted = append(trusted, e.Certificate.Content)
			}
		}
	}
	return keys, trusted
}

// recoverDecode turns a panic of a decoding library, met on a malformed
// file, into "cannot be read".
func recoverDecode(err *error) {
	if p := recover(); p != nil {
		*err = errors.New("cannot be read: malformed")
	}
}

func privateKeysEqual(a crypto.PrivateKey, b crypto.Signer) bool {
	k, ok := a.(interface{ Equal(crypto.PrivateKey) bool })
	return ok && b != nil && k.Equal(b)
}

// sameCertificates reports whether a and b hold the same certificates,
// ignoring order and repeats.
func sameCertificates(a, b []*x509.Certificate) bool {
	der := make([][]byte, len(a))
	for i, c := range a {
		der[i] = c.Raw
	}
	return sameDER(der, b)
}

func sameDER(a [][]byte, b []*x509.Certificate) bool {
	set := func(ders [][]byte) map[string]bool {
		m := make(map[string]bool, len(ders))
		for _, d := range ders {
			m[string(d)] = true
		}
		return m
	}
	bDER := make([][]byte, len(b))
	for i, c := range b {
		bDER[i] = c.Raw
	}
	sa, sb := set(a), set(bDER)
	if len(sa) != len(sb) {
		return false
	}
	for k := range sa {
		if !sb[k] {
			return false
		}
	}
	return true
}
