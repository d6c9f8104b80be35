package harness

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"k8s.io/client-go/rest"
	"sigs.k8s.io/yaml"
)

// ImpersonatingConfig returns a copy of the admin config that acts as user
// (with groups). The admin is system:masters, which may impersonate anyone,
// so this is how tests get an unprivileged or ServiceAccount identity without
// minting credentials. For "system:serviceaccount:<ns>:<name>" with no groups
// the apiserver adds the ServiceAccount groups itself.
func (cp *ControlPlane) ImpersonatingConfig(user string, groups ...string) *rest.Config {
	cfg := rest.CopyConfig(cp.Config)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: user, Groups: groups}
	return cfg
}

// ServiceAccountConfig is ImpersonatingConfig for the ServiceAccount
// namespace/name, i.e. the identity a Pod running as it would have.
func (cp *ControlPlane) ServiceAccountConfig(namespace, name string) *rest.Config {
	return cp.ImpersonatingConfig("system:serviceaccount:" + namespace + ":" + name)
}

// KubeconfigFor writes a kubeconfig equivalent to cfg (server, CA, token or
// client certificate, impersonation) into the control plane's directory and
// returns its path, so a subprocess can run as that identity via KUBECONFIG.
// Programmatic-only settings (WrapTransport, Dial, QPS) are not representable
// and are dropped.
func (cp *ControlPlane) KubeconfigFor(cfg *rest.Config) (string, error) {
	cp.kcMu.Lock()
	cp.kcSeq++
	name := "kubeconfig"
	if cp.kcSeq > 1 {
		name += "-" + strconv.Itoa(cp.kcSeq)
	}
	cp.kcMu.Unlock()
	path := filepath.Join(cp.Dir, name)
	if err := WriteKubeconfig(cfg, path); err != nil {
		return "", err
	}
	return path, nil
}

// WriteKubeconfig writes a kubeconfig equivalent to cfg to path, creating
// parent directories.
func WriteKubeconfig(cfg *rest.Config, path string) error {
	if cfg.ExecProvider != nil || cfg.AuthProvider != nil {
		return errors.New("write kubeconfig: exec/auth-provider credentials are not supported")
	}
	const name = "certsweep-test"
	kc := kubeconfig{
		APIVersion: "v1",
		Kind:       "Config",
		Clusters: []namedCluster{{Name: name, Cluster: kcCluster{
			Server:                   cfg.Host,
			CertificateAuthority:     cfg.CAFile,
			CertificateAuthorityData: cfg.CAData,
			InsecureSkipTLSVerify:    cfg.Insecure,
			TLSServerName:            cfg.ServerName,
		}}},
		Users: []namedUser{{Name: name, User: kcUser{
			Token:                 cfg.BearerToken,
			TokenFile:             cfg.BearerTokenFile,
			ClientCertificate:     cfg.CertFile,
			ClientCertificateData: cfg.CertData,
			ClientKey:             cfg.KeyFile,
			ClientKeyData:         cfg.KeyData,
			Username:              cfg.Username,
			Password:              cfg.Password,
			Impersonate:           cfg.Impersonate.UserName,
			ImpersonateUID:        cfg.Impersonate.UID,
			ImpersonateGroups:     cfg.Impersonate.Groups,
			ImpersonateUserExtra:  cfg.Impersonate.Extra,
		}}},
		Contexts:       []namedContext{{Name: name, Context: kcContext{Cluster: name, User: name, Namespace: "default"}}},
		CurrentContext: name,
	}
	data, err := yaml.Marshal(kc)
	if err != nil {
		return fmt.Errorf("marshal kubeconfig: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("write kubeconfig: %w", err)
	}
	// 0600: the file holds the admin token.
	if err := os.WriteFile(path, data, 0o600); err != nil {
		return fmt.Errorf("write kubeconfig: %w", err)
	}
	return nil
}

// The kubeconfig v1 schema, written by hand because importing
// k8s.io/client-go/tools/clientcmd would pull github.com/spf13/pflag into the
// main module's go.mod. []byte fields marshal as base64, as kubeconfig wants.
type kubeconfig struct {
	APIVersion     string         `json:"apiVersion"`
	Kind           string         `json:"kind"`
	Clusters       []namedCluster `json:"clusters"`
	Users          []namedUser    `json:"users"`
	Contexts       []namedContext `json:"contexts"`
	CurrentContext string         `json:"current-context"`
}

type namedCluster struct {
	Name    string    `json:"name"`
	Cluster kcCluster `json:"cluster"`
}

type kcCluster struct {
	Server                   string `json:"server"`
	CertificateAuthority     string `json:"certificate-authority,omitempty"`
	CertificateAuthorityData []byte `json:"certificate-authority-data,omitempty"`
	InsecureSkipTLSVerify    bool   `json:"insecure-skip-tls-verify,omitempty"`
	TLSServerName            string `json:"tls-server-name,omitempty"`
}

type namedUser struct {
	Name string `json:"name"`
	User kcUser `json:"user"`
}

type kcUser struct {
	Token                 string              `json:"token,omitempty"`
	TokenFile             string              `json:"tokenFile,omitempty"`
	ClientCertificate     string              `json:"client-certificate,omitempty"`
	ClientCertificateData []byte              `json:"client-certificate-data,omitempty"`
	ClientKey             string              `json:"client-key,omitempty"`
	ClientKeyData         []byte              `json:"client-key-data,omitempty"`
	Username              string              `json:"username,omitempty"`
	Password              string              `json:"password,omitempty"`
	Impersonate           string              `json:"as,omitempty"`
	ImpersonateUID        string              `json:"as-uid,omitempty"`
	ImpersonateGroups     []string            `json:"as-groups,omitempty"`
	ImpersonateUserExtra  map[string][]string `json:"as-user-extra,omitempty"`
}

type namedContext struct {
	Name    string    `json:"name"`
	Context kcContext `json:"context"`
}

type kcContext struct {
	Cluster   string `json:"cluster"`
	User      string `json:"user"`
	Namespace string `json:"namespace,omitempty"`
}
