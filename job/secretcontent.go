package job

// The target Secret's data: what issuance/ builds from the key, the chain
// and the CA, with the keystore passwords read from the API.

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/certsweep/certsweep/issuance"
	"github.com/certsweep/certsweep/issuance/pki"
)

// readPasswordSecret reads the Secret a keystore's passwordSecretRef names,
// in the Certificate's namespace; nil, nil when it does not exist. Its
// error never carries the Secret's data.
func (s *Sweeper) readPasswordSecret(ctx context.Context, namespace, name string) (*corev1.Secret, error) {
	sec, err := s.getSecret(ctx, namespace, name)
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading keystore password Secret %s/%s: %w", namespace, name, err)
	}
	return sec, nil
}

// secretData is the whole data of crt's target Secret: tls.key, tls.crt,
// ca.crt, the additional output formats and the keystores. previous is the
// Secret's data when it is rewritten from its own key (keystores still
// up to date are kept as they are), nil when a new key is stored.
//
// A keystore password Secret that does not exist gets cert-manager's
// Warning event (KeystorePasswordSecretNotFound), and the write fails, to
// be retried: the Secret is never written without a keystore asked for.
func (s *Sweeper) secretData(ctx context.Context, crt *cmapi.Certificate, keyPEM, certPEM, caPEM []byte, previous map[string][]byte) (map[string][]byte, error) {
	read := map[string]*corev1.Secret{} // a Secret both stores name is read once
	get := func(name string) (*corev1.Secret, error) {
		if sec, ok := read[name]; ok {
			return sec, nil
		}
		sec, err := s.readPasswordSecret(ctx, crt.Namespace, name)
		if err == nil {
			read[name] = sec
		}
		return sec, err
	}
	passwords, err := issuance.KeystorePasswordsFor(crt, get)
	if err != nil {
		var perr *issuance.KeystorePasswordError
		err = fmt.Errorf("failed to add keystores to Secret %s/%s: %w", crt.Namespace, crt.Spec.SecretName, err)
		if errors.As(err, &perr) && perr.NotFound {
			s.event(ctx, crt, certificateGVK, corev1.EventTypeWarning, issuance.ReasonKeystorePasswordSecretNotFound, perr.Error())
			// That event is this failure's one Warning.
			return nil, &announcedError{reason: issuance.ReasonKeystorePasswordSecretNotFound, err: err}
		}
		return nil, err
	}
	data, err := issuance.BuildSecretData(issuance.SecretContent{
		Certificate: crt,
		KeyPEM:      keyPEM, CertPEM: certPEM, CAPEM: caPEM,
		Passwords: passwords,
		Previous:  previous,
		Now:       s.opts.Now(),
	})
	if err != nil {
		return nil, fmt.Errorf("building secret %s/%s: %w", crt.Namespace, crt.Spec.SecretName, err)
	}
	return data, nil
}

// outputsMatch reports whether each output format in data is made of
// data's tls.key and tls.crt.
func outputsMatch(data map[string][]byte) bool {
	key, crt := data[corev1.TLSPrivateKeyKey], data[corev1.TLSCertKey]
	if v, ok := data[cmapi.CertificateOutputFormatDERKey]; ok && !bytes.Equal(v, pki.OutputFormatDER(key)) {
		return false
	}
	if v, ok := data[cmapi.CertificateOutputFormatCombinedPEMKey]; ok && !bytes.Equal(v, pki.OutputFormatCombinedPEM(key, crt)) {
		return false
	}
	return true
}

// announcedError is a failure whose Warning event was already recorded,
// with cert-manager's reason, where it was found; recording the failed
// attempt uses that reason and records no second event.
type announcedError struct {
	reason string
	err    error
}

func (e *announcedError) Error() string { return e.err.Error() }
func (e *announcedError) Unwrap() error { return e.err }
