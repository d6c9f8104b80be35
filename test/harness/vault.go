package harness

// A real HashiCorp Vault dev server, built from the version pinned in
// test/tools/vault, with helpers that configure it the way a person would:
// the PKI engine, its roles, policies, tokens, AppRole and Kubernetes auth.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	vaultapi "github.com/hashicorp/vault/api"
)

// vaultModule is the module whose version test/tools/vault/go.mod pins.
const vaultModule = "github.com/hashicorp/vault"

// vaultBuildTimeout bounds the first build: copying the source, fetching
// its dependencies and compiling about 365 MB of binary takes 10 to 15
// minutes on two cores with a cold build cache.
const vaultBuildTimeout = 30 * time.Minute

// sourceEdit is one exact text replacement in a file of Vault's source.
type sourceEdit struct {
	file string // relative to the module root
	old  string // must occur exactly once
	new  string
}

// vaultSourceEdits adapt Vault v1.21.4 to the sdk v0.21.0 its go.mod
// requires. The release was built against an untagged sdk from its release
// branch (through `replace ... => ./sdk`, which the module zip does not
// carry), and two APIs differ: sdk v0.21.0's framework.Backend.ActivationFunc
// takes the flag's name as a third argument, and its
// keysutil.LockManager.RestorePolicy returns only an error, not the
// restored key's name. Each edit must match exactly once, so a bumped pin
// that no longer needs one fails loudly instead of building something else.
var vaultSourceEdits = []sourceEdit{
	{
		file: "vault/identity_store_util.go",
		old:  "activateDeduplication(ctx context.Context, req *logical.Request) error",
		new:  "activateDeduplication(ctx context.Context, req *logical.Request, _ string) error",
	},
	{
		file: "vault/logical_system_activation_flags.go",
		old:  "b.idStoreBackend.ActivationFunc(ctx, nil)",
		new:  `b.idStoreBackend.ActivationFunc(ctx, nil, "")`,
	},
	{
		// The name is only reported to observations; the one asked for is
		// the one restored whenever a name is given.
		file: "builtin/logical/transit/path_restore.go",
		old:  "restoredKeyName, err := b.lm.RestorePolicy(ctx, req.Storage, keyName, backupB64, force)",
		new:  "restoredKeyName := keyName\n\terr := b.lm.RestorePolicy(ctx, req.Storage, keyName, backupB64, force)",
	},
}

// EnsureVault returns the path of the vault binary of the pinned version,
// building it on first use (see test/tools/vault/go.mod for why the build
// is a copy of the source with edits) and caching it in CacheDir.
func EnsureVault(ctx context.Context) (string, error) {
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	cache, err := CacheDir()
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(cache, 0o755); err != nil {
		return "", fmt.Errorf("create cache directory: %w", err)
	}
	modDir := filepath.Join(root, "test", "tools", "vault")
	gomod, err := os.ReadFile(filepath.Join(modDir, "go.mod"))
	if err != nil {
		return "", fmt.Errorf("read vault pin: %w", err)
	}
	version, err := requiredVersion(gomod, vaultModule)
	if err != nil {
		return "", fmt.Errorf("read vault pin from %s/go.mod: %w", modDir, err)
	}
	bin := filepath.Join(cache, "vault-"+version)
	if isExecutable(bin) {
		return bin, nil
	}
	unlock, err := lockFile(ctx, bin+".lock")
	if err != nil {
		return "", fmt.Errorf("lock vault build: %w", err)
	}
	defer unlock()
	if isExecutable(bin) {
		return bin, nil
	}
	if err := buildVault(ctx, modDir, version, bin); err != nil {
		return "", err
	}
	return bin, nil
}

// buildVault copies Vault's source at version out of the module cache,
// makes it buildable with its pinned sdk, and builds it into bin.
func buildVault(ctx context.Context, modDir, version, bin string) error {
	goBin, err := exec.LookPath("go")
	if err != nil {
		return fmt.Errorf("build vault: go toolchain not in PATH: %w", err)
	}
	// The tools module is separate; a go.work above it or -mod=vendor from
	// the caller must not change how it resolves. -mod=mod lets the copy's
	// go.sum gain the sums of the sdk and api it now takes from the proxy.
	env := append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod -buildvcs=false")

	dl := exec.CommandContext(ctx, goBin, "mod", "download", "-json", vaultModule+"@"+version)
	dl.Dir = modDir
	dl.Env = env
	out, err := dl.Output()
	var info struct{ Dir, Error string }
	if jerr := json.Unmarshal(out, &info); jerr != nil || err != nil || info.Error != "" || info.Dir == "" {
		return fmt.Errorf("download vault %s: %v %s (%s)", version, err, info.Error, tail(string(out), 10))
	}

	work, err := os.MkdirTemp(filepath.Dir(bin), "vault-src-*")
	if err != nil {
		return fmt.Errorf("build vault: %w", err)
	}
	defer os.RemoveAll(work)
	src := filepath.Join(work, "vault")
	// The module cache is read-only and Go refuses overlays of it, so the
	// edits are made in a copy (CopyFS creates writable files).
	if err := os.CopyFS(src, os.DirFS(info.Dir)); err != nil {
		return fmt.Errorf("copy vault source: %w", err)
	}
	if err := prepareVaultSource(src); err != nil {
		return fmt.Errorf("prepare vault %s source: %w", version, err)
	}

	tmp, err := os.CreateTemp(filepath.Dir(bin), filepath.Base(bin)+".tmp-*")
	if err != nil {
		return fmt.Errorf("build vault: %w", err)
	}
	tmpName := tmp.Name()
	_ = tmp.Close()
	defer os.Remove(tmpName) // no-op after a successful rename

	fmt.Fprintf(os.Stderr, "harness: building vault %s into %s (first use; this takes 10-15 minutes)\n", version, bin)
	start := time.Now()
	cmd := exec.CommandContext(ctx, goBin, "build", "-trimpath", "-o", tmpName, ".")
	cmd.Dir = src
	cmd.Env = env
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("build vault %s: %w\n%s", version, err, tail(string(out), 40))
	}
	if err := os.Chmod(tmpName, 0o755); err != nil {
		return fmt.Errorf("build vault: %w", err)
	}
	if err := os.Rename(tmpName, bin); err != nil {
		return fmt.Errorf("install vault: %w", err)
	}
	fmt.Fprintf(os.Stderr, "harness: built vault in %s\n", time.Since(start).Round(time.Second))
	return nil
}

// prepareVaultSource drops the go.mod replaces that point into directories
// the module zip lacks, and applies vaultSourceEdits.
func prepareVaultSource(src string) error {
	gomodPath := filepath.Join(src, "go.mod")
	gomod, err := os.ReadFile(gomodPath)
	if err != nil {
		return err
	}
	gomod, dropped := dropLocalReplaces(gomod)
	if dropped == 0 {
		return errors.New("go.mod has no local replace directives; the build recipe no longer fits this version")
	}
	if err := os.WriteFile(gomodPath, gomod, 0o644); err != nil {
		return err
	}
	for _, e := range vaultSourceEdits {
		path := filepath.Join(src, e.file)
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if n := bytes.Count(data, []byte(e.old)); n != 1 {
			return fmt.Errorf("%s: expected the text %q once, found it %d times", e.file, e.old, n)
		}
		data = bytes.Replace(data, []byte(e.old), []byte(e.new), 1)
		if err := os.WriteFile(path, data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// dropLocalReplaces removes single-line `replace X => ./dir` directives and
// reports how many it removed; replaces to other modules stay.
func dropLocalReplaces(gomod []byte) ([]byte, int) {
	var out bytes.Buffer
	dropped := 0
	sc := bufio.NewScanner(bytes.NewReader(gomod))
	for sc.Scan() {
		line := sc.Text()
		f := strings.Fields(line)
		if len(f) >= 4 && f[0] == "replace" && f[len(f)-2] == "=>" && strings.HasPrefix(f[len(f)-1], "./") {
			dropped++
			continue
		}
		out.WriteString(line)
		out.WriteByte('\n')
	}
	return out.Bytes(), dropped
}

// Vault is a running Vault dev server (`vault server -dev -dev-tls`): in
// memory, unsealed, HTTPS on a loopback port with a certificate from a CA
// it made at start (CABundle). Everything configured in it is lost when it
// stops.
type Vault struct {
	addr      string
	caPEM     []byte
	rootToken string
	dir       string
	auditLog  string
	proc      *process
	client    *vaultapi.Client
}

// StartVault builds vault on first use (up to half an hour, not counted
// against the test), starts a dev server with TLS on a free loopback port
// (and the next one, which the dev server takes for its cluster listener),
// a random root token, and a file audit device (Requests), and waits until
// it is unsealed and active. It is killed when the test ends; its log is
// printed if the test failed.
func StartVault(t testing.TB) *Vault {
	t.Helper()
	buildCtx, cancelBuild := context.WithTimeout(context.Background(), vaultBuildTimeout)
	bin, err := EnsureVault(buildCtx)
	cancelBuild()
	if err != nil {
		t.Fatalf("StartVault: %v", err)
	}
	token, err := randomHex(16)
	if err != nil {
		t.Fatalf("StartVault: %v", err)
	}
	v := &Vault{dir: t.TempDir(), rootToken: "root-" + token}
	for attempt := 1; ; attempt++ {
		err := v.start(bin)
		if err == nil {
			break
		}
		if !errors.Is(err, errPortInUse) || attempt == maxPortAttempts {
			t.Fatalf("StartVault: %v", err)
		}
	}
	t.Cleanup(func() {
		v.Stop()
		if t.Failed() {
			data, _ := os.ReadFile(v.proc.logPath)
			t.Logf("vault log (%s):\n%s", v.proc.logPath, tail(string(data), 60))
		}
	})
	v.auditLog = filepath.Join(v.dir, "audit.log")
	v.write(t, "sys/audit/file", map[string]any{"type": "file", "options": map[string]any{"file_path": v.auditLog}})
	return v
}

func (v *Vault) start(bin string) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	port, err := freePortPair()
	if err != nil {
		return err
	}
	certDir := filepath.Join(v.dir, "tls")
	if err := os.MkdirAll(certDir, 0o700); err != nil {
		return err
	}
	listen := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	proc, err := startProcessEnv("vault", bin, filepath.Join(v.dir, "vault.log"),
		// No VAULT_* of the caller's may reach the server, and the dev
		// server must not write ~/.vault-token.
		[]string{"VAULT_ADDR=", "VAULT_TOKEN=", "VAULT_DEV_ROOT_TOKEN_ID=", "HOME=" + v.dir},
		"server", "-dev", "-dev-tls",
		"-dev-listen-address="+listen,
		"-dev-root-token-id="+v.rootToken,
		"-dev-tls-cert-dir="+certDir,
		"-dev-no-store-token",
	)
	if err != nil {
		return err
	}
	v.proc = proc
	v.addr = "https://" + listen
	// The CA file appears only once the server runs, so readiness is probed
	// without verification; the client below verifies.
	if err := waitReady(ctx, proc, v.addr+"/v1/sys/health", "", &tls.Config{InsecureSkipVerify: true}); err != nil { //nolint:gosec // readiness probe only
		proc.kill()
		return err
	}
	caPEM, err := os.ReadFile(filepath.Join(certDir, "vault-ca.pem"))
	if err != nil {
		proc.kill()
		return proc.failure(fmt.Errorf("read dev TLS CA: %w", err))
	}
	v.caPEM = caPEM
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		proc.kill()
		return proc.failure(errors.New("dev TLS CA file holds no certificate"))
	}
	cfg := vaultapi.DefaultConfig()
	cfg.Address = v.addr
	cfg.MaxRetries = 0
	cfg.HttpClient.Transport.(*http.Transport).TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	client, err := vaultapi.NewClient(cfg)
	if err != nil {
		proc.kill()
		return fmt.Errorf("vault client: %w", err)
	}
	client.SetToken(v.rootToken)
	v.client = client
	return nil
}

// freePortPair returns a free loopback port whose successor is free too.
func freePortPair() (int, error) {
	for range 20 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, fmt.Errorf("find free port: %w", err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		l2, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port+1)))
		_ = l.Close()
		if err == nil {
			_ = l2.Close()
			return port, nil
		}
	}
	return 0, errors.New("find free port pair: none found in 20 tries")
}

// Addr returns the server's URL, https://127.0.0.1:<port> (an Issuer's
// spec.vault.server).
func (v *Vault) Addr() string { return v.addr }

// CABundle returns the PEM of the CA that signed the server's certificate
// (valid for 127.0.0.1 and localhost), for spec.vault.caBundle.
func (v *Vault) CABundle() []byte { return bytes.Clone(v.caPEM) }

// RootToken returns the dev server's root token.
func (v *Vault) RootToken() string { return v.rootToken }

// Client returns an API client with the root token.
func (v *Vault) Client() *vaultapi.Client { return v.client }

// LogPath returns the path of the server's log.
func (v *Vault) LogPath() string { return v.proc.logPath }

// Stop kills the server (idempotent). A Vault issuer pointing at it then
// gets connection refused.
func (v *Vault) Stop() {
	if v.proc != nil {
		v.proc.kill()
	}
}

// Seal seals the server: it keeps answering, sys/health says sealed, and
// every other request gets 503 until it is unsealed (not offered: a test
// that needs Vault back starts another).
func (v *Vault) Seal(t testing.TB) {
	t.Helper()
	if err := v.client.Sys().SealWithContext(t.Context()); err != nil {
		t.Fatalf("vault seal: %v", err)
	}
}

func (v *Vault) write(t testing.TB, path string, data map[string]any) *vaultapi.Secret {
	t.Helper()
	s, err := v.client.Logical().WriteWithContext(t.Context(), path, data)
	if err != nil {
		t.Fatalf("vault write %s: %v", path, err)
	}
	return s
}

// EnablePKI mounts the PKI engine at mount with a ten-year maximum TTL and
// generates a root CA named commonName in it. It returns the root's PEM.
func (v *Vault) EnablePKI(t testing.TB, mount, commonName string) []byte {
	t.Helper()
	v.write(t, "sys/mounts/"+mount, map[string]any{"type": "pki", "config": map[string]any{"max_lease_ttl": "87600h"}})
	s := v.write(t, mount+"/root/generate/internal", map[string]any{"common_name": commonName, "ttl": "87600h", "key_type": "ec", "key_bits": 256})
	cert, _ := s.Data["certificate"].(string)
	if cert == "" {
		t.Fatalf("vault: %s/root/generate/internal returned no certificate", mount)
	}
	return []byte(cert + "\n")
}

// EnableIntermediatePKI mounts the PKI engine at mount with an
// intermediate CA named commonName, signed by the root of the PKI engine at
// rootMount, and imports it with the root so that its sign answers carry
// the whole chain in ca_chain. It returns the intermediate's PEM.
func (v *Vault) EnableIntermediatePKI(t testing.TB, mount, rootMount, commonName string) []byte {
	t.Helper()
	v.write(t, "sys/mounts/"+mount, map[string]any{"type": "pki", "config": map[string]any{"max_lease_ttl": "43800h"}})
	s := v.write(t, mount+"/intermediate/generate/internal", map[string]any{"common_name": commonName, "key_type": "ec", "key_bits": 256})
	csr, _ := s.Data["csr"].(string)
	s = v.write(t, rootMount+"/root/sign-intermediate", map[string]any{"csr": csr, "common_name": commonName, "ttl": "43800h", "format": "pem"})
	cert, _ := s.Data["certificate"].(string)
	root, _ := s.Data["issuing_ca"].(string)
	if csr == "" || cert == "" || root == "" {
		t.Fatalf("vault: intermediate %s: no CSR, certificate or issuing CA", mount)
	}
	v.write(t, mount+"/intermediate/set-signed", map[string]any{"certificate": cert + "\n" + root})
	return []byte(cert + "\n")
}

// WritePKIRole creates or replaces role in the PKI engine at mount, e.g.
// {"allowed_domains": "example.test", "allow_subdomains": true,
// "max_ttl": "720h"}. Its sign endpoint is <mount>/sign/<role>.
func (v *Vault) WritePKIRole(t testing.TB, mount, role string, params map[string]any) {
	t.Helper()
	v.write(t, mount+"/roles/"+role, params)
}

// WritePolicy creates or replaces an ACL policy, e.g.
// `path "pki/sign/web" { capabilities = ["create", "update"] }`.
func (v *Vault) WritePolicy(t testing.TB, name, rules string) {
	t.Helper()
	v.write(t, "sys/policies/acl/"+name, map[string]any{"policy": rules})
}

// CreateToken makes a token with the policies (no default policy), valid
// for an hour.
func (v *Vault) CreateToken(t testing.TB, policies ...string) string {
	t.Helper()
	s := v.write(t, "auth/token/create", map[string]any{"policies": policies, "no_default_policy": true, "ttl": "1h"})
	if s == nil || s.Auth == nil || s.Auth.ClientToken == "" {
		t.Fatalf("vault: auth/token/create returned no token")
	}
	return s.Auth.ClientToken
}

// RevokeToken revokes token.
func (v *Vault) RevokeToken(t testing.TB, token string) {
	t.Helper()
	v.write(t, "auth/token/revoke", map[string]any{"token": token})
}

// EnableAppRole enables AppRole auth at mount (e.g. "approle") with role
// carrying the policies, and returns its role ID and a new secret ID.
func (v *Vault) EnableAppRole(t testing.TB, mount, role string, policies ...string) (roleID, secretID string) {
	t.Helper()
	v.write(t, "sys/auth/"+mount, map[string]any{"type": "approle"})
	v.write(t, "auth/"+mount+"/role/"+role, map[string]any{"token_policies": policies, "token_ttl": "20m"})
	s, err := v.client.Logical().ReadWithContext(t.Context(), "auth/"+mount+"/role/"+role+"/role-id")
	if err != nil || s == nil {
		t.Fatalf("vault: read role-id of %s: %v", role, err)
	}
	roleID, _ = s.Data["role_id"].(string)
	s = v.write(t, "auth/"+mount+"/role/"+role+"/secret-id", nil)
	secretID, _ = s.Data["secret_id"].(string)
	if roleID == "" || secretID == "" {
		t.Fatalf("vault: AppRole %s has no role_id or secret_id", role)
	}
	return roleID, secretID
}

// KubernetesAuth says where Vault's Kubernetes auth method reviews tokens:
// the API server's URL, its serving CA, and the bearer token Vault sends
// with each TokenReview.
type KubernetesAuth struct {
	Host          string
	CACert        []byte
	ReviewerToken string
}

// EnableKubernetesAuth enables Kubernetes auth at mount (e.g. "kubernetes")
// pointed at the API server in cfg.
func (v *Vault) EnableKubernetesAuth(t testing.TB, mount string, cfg KubernetesAuth) {
	t.Helper()
	v.write(t, "sys/auth/"+mount, map[string]any{"type": "kubernetes"})
	v.write(t, "auth/"+mount+"/config", map[string]any{
		"kubernetes_host":    cfg.Host,
		"kubernetes_ca_cert": string(cfg.CACert),
		"token_reviewer_jwt": cfg.ReviewerToken,
	})
}

// WriteKubernetesRole creates a role of the Kubernetes auth at mount that
// logs in the named ServiceAccount of namespace when its token carries
// audience, with the policies.
func (v *Vault) WriteKubernetesRole(t testing.TB, mount, role, namespace, serviceAccount, audience string, policies ...string) {
	t.Helper()
	v.write(t, "auth/"+mount+"/role/"+role, map[string]any{
		"bound_service_account_names":      []string{serviceAccount},
		"bound_service_account_namespaces": []string{namespace},
		"audience":                         audience,
		"token_policies":                   policies,
		"token_ttl":                        "20m",
	})
}

// VaultRequest is one request Vault's audit device recorded.
type VaultRequest struct {
	Path      string // e.g. "auth/approle/login", "pki/sign/web"
	Operation string // "update", "read", ...
}

// Requests returns every request the audit device recorded so far, the
// harness's own configuration included; compare counts before and after a
// run to see what the run asked of Vault.
func (v *Vault) Requests(t testing.TB) []VaultRequest {
	t.Helper()
	data, err := os.ReadFile(v.auditLog)
	if err != nil {
		t.Fatalf("vault: read audit log: %v", err)
	}
	var out []VaultRequest
	for line := range bytes.SplitSeq(data, []byte("\n")) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var entry struct {
			Type    string `json:"type"`
			Request struct {
				Path      string `json:"path"`
				Operation string `json:"operation"`
			} `json:"request"`
		}
		if err := json.Unmarshal(line, &entry); err != nil {
			t.Fatalf("vault: audit log line: %v", err)
		}
		if entry.Type == "request" {
			out = append(out, VaultRequest{Path: entry.Request.Path, Operation: entry.Request.Operation})
		}
	}
	return out
}
