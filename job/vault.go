package job

import (
	"context"
	"fmt"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"

	"github.com/certsweep/certsweep/issuance"
	vaultissuer "github.com/certsweep/certsweep/issuance/vault"
)

// loadVault makes the signer of a Vault issuer and checks it as
// cert-manager's Vault issuer setup does (Vault's health, then a login),
// for its Ready condition (VaultVerified or VaultError). It runs only when
// a Certificate of the issuer is due (resolve is lazy), so a run with
// nothing due never logs in, and a Kubernetes-auth login's TokenRequest is
// made at most once per issuer and run. The login is kept for signing.
func (c *issuerCache) loadVault(ctx context.Context, e *issuerEntry, obj cmapi.GenericIssuer, resourceNamespace string) {
	kind := cmapi.IssuerKind
	if _, cluster := obj.(*cmapi.ClusterIssuer); cluster {
		kind = cmapi.ClusterIssuerKind
	}
	signer := vaultissuer.New(vaultissuer.Config{
		Spec:              *obj.GetSpec().Vault,
		IssuerName:        obj.GetName(),
		IssuerNamespace:   obj.GetNamespace(),
		ResourceNamespace: resourceNamespace,
		GetSecret:         issuance.SecretGetter(c.s.getSecret),
		RequestToken:      c.s.createServiceAccountToken,
	})
	st, err := signer.Check(ctx)
	status := cmmeta.ConditionFalse
	if st.Ready {
		status = cmmeta.ConditionTrue
	}
	e.ready = &cmapi.IssuerCondition{Type: cmapi.IssuerConditionReady, Status: status, Reason: st.Reason, Message: st.Message}
	e.issuer = signer
	switch {
	case err != nil:
		// Vault (or the API server minting a token) did not answer: a
		// temporary failure with the short backoff.
		e.err = fmt.Errorf("checking Vault of %s %q: %w", kind, obj.GetName(), err)
	case !st.Ready:
		e.err = &issuance.NotReadyError{Reason: "IssuerNotReady", Message: fmt.Sprintf("%s %q is not ready: %s", kind, obj.GetName(), st.Message)}
	}
}
