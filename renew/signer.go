package renew

import (
	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
)

// SignsInProcess is the one rule for who signs a Certificate's requests: a
// cert-manager.io issuer (SelfSigned, CA) is signed by the sweep itself, in
// process; an issuerRef of any other group belongs to that issuer's own
// controller, and the sweep only creates the request and reads its answer.
func SignsInProcess(ref cmmeta.IssuerReference) bool {
	return ref.Group == "" || ref.Group == cmapi.SchemeGroupVersion.Group
}
