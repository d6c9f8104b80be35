package vault

// Logging in: token, AppRole and Kubernetes auth, in cert-manager's order
// of precedence (only one may be set; validateSpec refuses more).

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"strings"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	vaultapi "github.com/hashicorp/vault/api"
	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/certsweep/certsweep/issuance"
)

// login returns a Vault token for the issuer's auth method. A refused
// login (a 4xx answer) is a NotReadyError a person must fix; Vault or the
// API server failing to answer is a temporary error.
func (v *Issuer) login(ctx context.Context, client *vaultapi.Client) (string, error) {
	a := v.cfg.Spec.Auth
	switch {
	case a.TokenSecretRef != nil:
		token, err := v.secretValue(ctx, *a.TokenSecretRef, cmapi.DefaultVaultTokenAuthSecretKey, "token")
		if err != nil {
			return "", err
		}
		// Only the token is read; Vault judges it at the first request. No
		// lookup-self: a token without the default policy may not make it
		// and still sign.
		if t := strings.TrimSpace(string(token)); t != "" {
			return t, nil
		}
		return "", &issuance.NotReadyError{Reason: ReasonVaultInitError, Message: fmt.Sprintf("%s: the token in Secret %s/%s is empty", messageClientInitFailed, v.cfg.ResourceNamespace, a.TokenSecretRef.Name)}
	case a.AppRole != nil:
		secretID, err := v.secretValue(ctx, a.AppRole.SecretRef, "", "AppRole secret ID")
		if err != nil {
			return "", err
		}
		mount := a.AppRole.Path
		if mount == "" {
			mount = "approle"
		}
		return loginAt(ctx, client, path.Join("auth", mount, "login"), map[string]string{
			"role_id":   strings.TrimSpace(a.AppRole.RoleId),
			"secret_id": strings.TrimSpace(string(secretID)),
		})
	case a.Kubernetes != nil:
		jwt, err := v.kubernetesJWT(ctx, a.Kubernetes)
		if err != nil {
			return "", err
		}
		mount := a.Kubernetes.Path
		if mount == "" {
			mount = cmapi.DefaultVaultKubernetesAuthMountPath
		}
		return loginAt(ctx, client, path.Join(apiPath(mount), "login"), map[string]string{
			"role": a.Kubernetes.Role,
			"jwt":  jwt,
		})
	}
	return "", &issuance.NotReadyError{Reason: ReasonVaultError, Message: validateSpec(&v.cfg.Spec)}
}

// kubernetesJWT is the ServiceAccount token Kubernetes auth presents: the
// one stored in secretRef, or one minted for serviceAccountRef.
func (v *Issuer) kubernetesJWT(ctx context.Context, k *cmapi.VaultKubernetesAuth) (string, error) {
	if k.ServiceAccountRef == nil {
		jwt, err := v.secretValue(ctx, k.SecretRef, cmapi.DefaultVaultTokenAuthSecretKey, "ServiceAccount token")
		if err != nil {
			return "", err
		}
		return strings.TrimSpace(string(jwt)), nil
	}
	if v.cfg.RequestToken == nil {
		return "", &issuance.NotReadyError{Reason: ReasonVaultInitError, Message: messageClientInitFailed + ": this sweep cannot request ServiceAccount tokens"}
	}
	ns, sa := v.cfg.ResourceNamespace, k.ServiceAccountRef.Name
	jwt, err := v.cfg.RequestToken(ctx, ns, sa, TokenAudiences(v.cfg.IssuerNamespace, v.cfg.IssuerName, v.cfg.Spec.Server, k.ServiceAccountRef.TokenAudiences), tokenExpirationSeconds)
	switch {
	case apierrors.IsNotFound(err), apierrors.IsForbidden(err), apierrors.IsInvalid(err), apierrors.IsBadRequest(err):
		// A missing ServiceAccount or a missing RBAC grant: retrying will
		// not help until a person acts.
		return "", &issuance.NotReadyError{Reason: ReasonVaultInitError, Message: fmt.Sprintf("%s: while requesting a token for the service account %s/%s: %v", messageClientInitFailed, ns, sa, err)}
	case err != nil:
		return "", fmt.Errorf("requesting a token for the service account %s/%s: %w", ns, sa, err)
	}
	return jwt, nil
}

// TokenAudiences are the audiences of a token minted for Kubernetes auth,
// as cert-manager sets them: the issuer's extra audiences, then
// vault://<namespace>/<issuer> (vault://<issuer> for a ClusterIssuer), then
// the server URL. A Vault role's `audience` must be one of them.
func TokenAudiences(issuerNamespace, issuerName, server string, extra []string) []string {
	own := "vault://"
	if issuerNamespace != "" {
		own += issuerNamespace + "/"
	}
	own += issuerName
	return append(append([]string(nil), extra...), own, server)
}

// loginAt posts credentials to a login endpoint (a path after /v1/) and
// returns the client token of the answer.
func loginAt(ctx context.Context, client *vaultapi.Client, apiPath string, credentials map[string]string) (string, error) {
	body, err := writeRaw(ctx, client, apiPath, credentials)
	if err != nil {
		if isRefusal(err) {
			return "", &issuance.NotReadyError{Reason: ReasonVaultInitError, Message: fmt.Sprintf("%s: Vault refused the login at %s: %s", messageClientInitFailed, apiPath, safeMessage(err))}
		}
		return "", fmt.Errorf("logging in to Vault at %s: %s", apiPath, safeMessage(err))
	}
	token, err := decodeLoginResponse(body)
	if err != nil {
		return "", &issuance.NotReadyError{Reason: ReasonVaultInitError, Message: fmt.Sprintf("%s: login at %s: %v", messageClientInitFailed, apiPath, err)}
	}
	return token, nil
}

// decodeLoginResponse reads the client token out of a login answer.
func decodeLoginResponse(body []byte) (string, error) {
	var answer struct {
		Auth *struct {
			ClientToken string `json:"client_token"`
		} `json:"auth"`
	}
	if err := json.Unmarshal(body, &answer); err != nil {
		return "", fmt.Errorf("unable to decode the login answer: %w", err)
	}
	if answer.Auth == nil || answer.Auth.ClientToken == "" {
		return "", errors.New("no token returned")
	}
	return answer.Auth.ClientToken, nil
}
