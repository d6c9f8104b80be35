package issuance

// The target Secret's extra data (docs/semantics.md §4.6): the additional
// output formats and the PKCS#12 and JKS keystores spec asks for, built
// from the same key, chain and CA as tls.key, tls.crt and ca.crt.

import (
	"errors"
	"fmt"
	"maps"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/certsweep/certsweep/issuance/pki"
)

// ReasonKeystorePasswordSecretNotFound is the reason of the Warning event
// cert-manager records when a keystore's passwordSecretRef names a Secret
// that does not exist.
const ReasonKeystorePasswordSecretNotFound = "KeystorePasswordSecretNotFound"

// KeystorePasswords are the passwords of the keystores a Certificate
// creates; nil for a keystore it does not create.
type KeystorePasswords struct {
	PKCS12, JKS []byte
}

// KeystorePasswordError says why a keystore's password could not be had.
// Its message is cert-manager's and never carries the password.
type KeystorePasswordError struct {
	// Store is "PKCS12" or "JKS".
	Store string
	// Secret is the passwordSecretRef's Secret; NotFound is set when it
	// does not exist.
	Secret   string
	NotFound bool
	msg      string
	err      error
}

func (e *KeystorePasswordError) Error() string {
	if e.err != nil {
		return e.msg + ": " + e.err.Error()
	}
	return e.msg
}

func (e *KeystorePasswordError) Unwrap() error { return e.err }

// KeystorePasswordsFor gives the password of each keystore crt creates, by
// cert-manager's rule: the key of the Secret passwordSecretRef names (in
// crt's namespace; get returns nil, nil when it does not exist), else the
// literal password. An error is a *KeystorePasswordError.
func KeystorePasswordsFor(crt *cmapi.Certificate, get func(name string) (*corev1.Secret, error)) (KeystorePasswords, error) {
	var pw KeystorePasswords
	ks := crt.Spec.Keystores
	if ks == nil {
		return pw, nil
	}
	var err error
	if ks.PKCS12 != nil && ks.PKCS12.Create {
		if pw.PKCS12, err = keystorePassword("PKCS12", "PKCS#12", ks.PKCS12.Password, ks.PKCS12.PasswordSecretRef, get); err != nil {
			return KeystorePasswords{}, err
		}
	}
	if ks.JKS != nil && ks.JKS.Create {
		if pw.JKS, err = keystorePassword("JKS", "JKS", ks.JKS.Password, ks.JKS.PasswordSecretRef, get); err != nil {
			return KeystorePasswords{}, err
		}
	}
	return pw, nil
}

func keystorePassword(store, storeLong string, literal *string, ref cmmeta.SecretKeySelector, get func(string) (*corev1.Secret, error)) ([]byte, error) {
	if ref.Name == "" {
		if password, ok := pki.LiteralKeystorePassword(literal, ref); ok {
			if len(password) == 0 {
				return nil, &KeystorePasswordError{Store: store, msg: store + " literal password cannot be empty"}
			}
			return password, nil
		}
		return nil, &KeystorePasswordError{Store: store, msg: "either passwordSecretRef or password must be set for " + storeLong + " keystore"}
	}
	sec, err := get(ref.Name)
	if err != nil {
		return nil, &KeystorePasswordError{Store: store, Secret: ref.Name, msg: fmt.Sprintf("fetching %s keystore password from Secret", store), err: err}
	}
	if sec == nil {
		return nil, &KeystorePasswordError{Store: store, Secret: ref.Name, NotFound: true, msg: fmt.Sprintf("%s keystore password Secret %q not found", store, ref.Name)}
	}
	password := sec.Data[ref.Key]
	if len(password) == 0 {
		return nil, &KeystorePasswordError{Store: store, Secret: ref.Name, msg: fmt.Sprintf("%s keystore password Secret contains no data for key %q", store, ref.Key)}
	}
	return password, nil
}

// SecretContent is what the target Secret's data is made from.
type SecretContent struct {
	Certificate *cmapi.Certificate
	// KeyPEM, CertPEM and CAPEM become tls.key, tls.crt and ca.crt (none
	// when empty) as they are.
	KeyPEM, CertPEM, CAPEM []byte
	// Passwords are the keystores' passwords (KeystorePasswordsFor).
	Passwords KeystorePasswords
	// Previous is the data the Secret holds now; nil when a new key is
	// stored. A keystore in it that still holds this key, chain and CA with
	// the spec's password, profile and alias is kept byte for byte, so
	// that rewriting the Secret for another reason does not change files
	// that programs watch.
	Previous map[string][]byte
	// Now is the creation date of new JKS entries.
	Now time.Time
}

// BuildSecretData is the target Secret's whole data: tls.key, tls.crt,
// ca.crt when there is a CA, the additional output formats, and the
// keystores (with their trust stores when there is a CA) the spec creates.
// A key left out that cert-manager's field manager owns is removed by the
// write (server-side apply).
func BuildSecretData(c SecretContent) (map[string][]byte, error) {
	data := SecretData(c.KeyPEM, c.CertPEM, c.CAPEM)
	crt := c.Certificate
	maps.Copy(data, pki.AdditionalOutputs(crt.Spec.AdditionalOutputFormats, c.KeyPEM, c.CertPEM))
	ks := crt.Spec.Keystores
	wantPKCS12 := ks != nil && ks.PKCS12 != nil && ks.PKCS12.Create
	wantJKS := ks != nil && ks.JKS != nil && ks.JKS.Create
	if !wantPKCS12 && !wantJKS {
		return data, nil
	}
	contents, err := keystoreContents(c.KeyPEM, c.CertPEM, c.CAPEM)
	if err != nil {
		return nil, err
	}
	b := storeBuilder{data: data, previous: c.Previous}
	if wantPKCS12 {
		profile, pw := ks.PKCS12.Profile, c.Passwords.PKCS12
		if len(pw) == 0 {
			return nil, errors.New("no password for the PKCS12 keystore")
		}
		if err := b.put(cmapi.PKCS12SecretKey, "PKCS12 keystore",
			func(old []byte) error { return pki.CheckPKCS12Keystore(old, profile, pw, contents) },
			func() ([]byte, error) { return pki.EncodePKCS12Keystore(profile, pw, contents) }); err != nil {
			return nil, err
		}
		if len(contents.CAs) > 0 {
			if err := b.put(cmapi.PKCS12TruststoreKey, "PKCS12 trust store",
				func(old []byte) error { return pki.CheckPKCS12Truststore(old, profile, pw, contents.CAs) },
				func() ([]byte, error) { return pki.EncodePKCS12Truststore(profile, pw, contents.CAs) }); err != nil {
				return nil, err
			}
		}
	}
	if wantJKS {
		alias, pw := pki.JKSAlias(ks.JKS), c.Passwords.JKS
		if len(pw) == 0 {
			return nil, errors.New("no password for the JKS keystore")
		}
		if err := b.put(cmapi.JKSSecretKey, "JKS keystore",
			func(old []byte) error { return pki.CheckJKSKeystore(old, pw, alias, contents) },
			func() ([]byte, error) { return pki.EncodeJKSKeystore(pw, alias, contents, c.Now) }); err != nil {
			return nil, err
		}
		if len(contents.CAs) > 0 {
			if err := b.put(cmapi.JKSTruststoreKey, "JKS trust store",
				func(old []byte) error { return pki.CheckJKSTruststore(old, pw, contents.CAs) },
				func() ([]byte, error) { return pki.EncodeJKSTruststore(pw, contents.CAs, c.Now) }); err != nil {
				return nil, err
			}
		}
	}
	return data, nil
}

// keystoreContents decodes what keystores are made of.
func keystoreContents(keyPEM, certPEM, caPEM []byte) (pki.KeystoreContents, error) {
	var c pki.KeystoreContents
	var err error
	if c.Key, err = pki.DecodePrivateKey(keyPEM); err != nil {
		return c, fmt.Errorf("building keystores: tls.key: %w", err)
	}
	if c.Chain, err = pki.DecodeCertificates(certPEM); err != nil {
		return c, fmt.Errorf("building keystores: tls.crt: %w", err)
	}
	if len(caPEM) > 0 {
		if c.CAs, err = pki.DecodeCertificates(caPEM); err != nil {
			return c, fmt.Errorf("building keystores: ca.crt: %w", err)
		}
	}
	return c, nil
}

// storeBuilder puts keystore files in data, keeping the previous file
// when it still holds what a new one would.
type storeBuilder struct {
	data, previous map[string][]byte
}

func (b storeBuilder) put(key, what string, current func([]byte) error, encode func() ([]byte, error)) error {
	if old := b.previous[key]; len(old) > 0 && current(old) == nil {
		b.data[key] = old
		return nil
	}
	out, err := encode()
	if err != nil {
		return fmt.Errorf("building %s: %w", what, err)
	}
	b.data[key] = out
	return nil
}
