package renew

import (
	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	corev1 "k8s.io/api/core/v1"
)

// secretOwner applies cert-manager's rule for Certificates that share a
// secretName (docs/semantics.md §9): the Certificate named in the Secret's
// certificate-name annotation owns it; otherwise the oldest one does, ties
// broken by name. It returns the owner's name when that is not self, and ""
// when self owns the Secret (always, without peers).
func secretOwner(self Peer, peers []Peer, secret *corev1.Secret) string {
	if len(peers) == 0 {
		return ""
	}
	if secret != nil {
		if named, ok := secret.Annotations[cmapi.CertificateNameKey]; ok {
			if named == self.Name {
				return ""
			}
			for _, p := range peers {
				if p.Name == named {
					return named
				}
			}
		}
	}
	oldest := self
	for _, p := range peers {
		if p.Created.Before(oldest.Created) || (p.Created.Equal(oldest.Created) && p.Name < oldest.Name) {
			oldest = p
		}
	}
	if oldest.Name == self.Name {
		return ""
	}
	return oldest.Name
}
