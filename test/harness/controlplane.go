package harness

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"k8s.io/client-go/rest"
)

// Options configures Start.
type Options struct {
	// ExtraCRDDirs lists directories (or single files) of CRD YAML to install
	// in addition to cert-manager's CRDs, e.g. Knative's. Only
	// CustomResourceDefinition documents are accepted.
	ExtraCRDDirs []string
	// LogDir, if set, receives etcd.log and kube-apiserver.log so they survive
	// Stop. By default logs live in the control plane's temp directory.
	LogDir string
	// StartTimeout bounds how long Start waits for etcd, the apiserver and the
	// CRDs to become ready (not counting building binaries). Default 2m.
	StartTimeout time.Duration
}

// ControlPlane is a running etcd + kube-apiserver pair with cert-manager's CRDs
// installed.
type ControlPlane struct {
	// Config is an admin (system:masters) config that verifies the
	// apiserver's self-signed serving certificate.
	Config *rest.Config
	// Kubeconfig is the path of a kubeconfig file equivalent to Config, for
	// subprocesses (KUBECONFIG=...).
	Kubeconfig string
	// URL is the apiserver's base URL, https://127.0.0.1:<port>.
	URL string
	// Dir is the control plane's temp directory (data, certs, logs).
	Dir string

	etcd      *process
	apiserver *process

	stopOnce sync.Once
	kcMu     sync.Mutex
	kcSeq    int
}

// process is a started child with its exit observed in the background, so
// readiness loops can notice a crash instead of polling until the timeout.
type process struct {
	name    string
	cmd     *exec.Cmd
	logPath string
	logFile *os.File
	exited  chan struct{}
	err     error // valid after exited is closed
}

const (
	adminUser = "harness-admin"
	// defaultStartTimeout covers a loaded 2-core machine running several test
	// packages at once; a normal start takes a few seconds.
	defaultStartTimeout = 2 * time.Minute
	maxPortAttempts     = 3
)

// errPortInUse marks a start failure caused by losing a race for a port we
// picked; Start retries with fresh ports.
var errPortInUse = errors.New("port already in use")

// Start builds (if needed) and starts etcd and kube-apiserver on free loopback
// ports, installs cert-manager's CRDs plus opts.ExtraCRDDirs, and creates the
// cert-manager namespace. Call Stop when done.
func Start(ctx context.Context, opts Options) (*ControlPlane, error) {
	etcdBin, apiserverBin, err := EnsureBinaries(ctx)
	if err != nil {
		return nil, fmt.Errorf("ensure control plane binaries: %w", err)
	}
	// Locating the CRDs runs `go list`; overlap it with the processes'
	// startup.
	type crdResult struct {
		paths []string
		err   error
	}
	crdCh := make(chan crdResult, 1)
	go func(ctx context.Context) {
		paths, err := crdFiles(ctx, opts.ExtraCRDDirs)
		crdCh <- crdResult{paths, err}
	}(ctx)
	timeout := opts.StartTimeout
	if timeout <= 0 {
		timeout = defaultStartTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	// Free ports are found by binding :0 and closing, so another process
	// (e.g. a parallel test package) can grab one before our child binds it.
	// That race is rare; retrying with fresh ports is simpler than avoiding it.
	for attempt := 1; ; attempt++ {
		cp, err := start(ctx, opts, etcdBin, apiserverBin)
		if err == nil {
			crds := <-crdCh
			if err := crds.err; err != nil {
				cp.Stop()
				return nil, err
			}
			if err := cp.setup(ctx, crds.paths); err != nil {
				cp.Stop()
				return nil, err
			}
			return cp, nil
		}
		if !errors.Is(err, errPortInUse) || attempt == maxPortAttempts {
			return nil, err
		}
	}
}

func start(ctx context.Context, opts Options, etcdBin, apiserverBin string) (_ *ControlPlane, err error) {
	dir, err := os.MkdirTemp("", "certsweep-controlplane-")
	if err != nil {
		return nil, fmt.Errorf("create control plane dir: %w", err)
	}
	cp := &ControlPlane{Dir: dir}
	defer func() {
		if err != nil {
			cp.Stop()
		}
	}()
	logDir := opts.LogDir
	if logDir == "" {
		logDir = dir
	} else if err := os.MkdirAll(logDir, 0o755); err != nil {
		return nil, fmt.Errorf("create log dir: %w", err)
	}

	ports, err := freePorts(3)
	if err != nil {
		return nil, err
	}
	etcdClient := "http://127.0.0.1:" + strconv.Itoa(ports[0])
	etcdPeer := "http://127.0.0.1:" + strconv.Itoa(ports[1])
	apiPort := ports[2]
	cp.URL = "https://127.0.0.1:" + strconv.Itoa(apiPort)

	cp.etcd, err = startProcess("etcd", etcdBin, filepath.Join(logDir, "etcd.log"),
		"--name=harness",
		"--data-dir="+filepath.Join(dir, "etcd"),
		"--listen-client-urls="+etcdClient,
		"--advertise-client-urls="+etcdClient,
		"--listen-peer-urls="+etcdPeer,
		"--initial-advertise-peer-urls="+etcdPeer,
		"--initial-cluster=harness="+etcdPeer,
		// Throwaway data: skipping fsync is the single biggest speed-up.
		"--unsafe-no-fsync",
		"--log-level=warn",
	)
	if err != nil {
		return nil, err
	}

	token, err := randomHex(16)
	if err != nil {
		return nil, err
	}
	tokenFile := filepath.Join(dir, "tokens.csv")
	if err := os.WriteFile(tokenFile, []byte(fmt.Sprintf("%s,%s,%s,\"system:masters\"\n", token, adminUser, adminUser)), 0o600); err != nil {
		return nil, fmt.Errorf("write token file: %w", err)
	}
	saKey := filepath.Join(dir, "sa.key")
	if err := writeECKey(saKey); err != nil {
		return nil, err
	}
	certDir := filepath.Join(dir, "certs")

	cp.apiserver, err = startProcess("kube-apiserver", apiserverBin, filepath.Join(logDir, "kube-apiserver.log"),
		"--etcd-servers="+etcdClient,
		"--bind-address=127.0.0.1",
		"--advertise-address=127.0.0.1",
		"--secure-port="+strconv.Itoa(apiPort),
		// With no cert files given the apiserver writes a self-signed
		// serving cert (and its CA) into cert-dir; we trust that below.
		"--cert-dir="+certDir,
		"--service-account-key-file="+saKey,
		"--service-account-signing-key-file="+saKey,
		"--service-account-issuer=https://kubernetes.default.svc",
		"--service-cluster-ip-range=10.0.0.0/24",
		"--authorization-mode=RBAC",
		"--token-auth-file="+tokenFile,
		// There is no controller-manager, so ServiceAccounts (incl.
		// "default") never appear; the ServiceAccount admission plugin would
		// then reject every Pod.
		"--disable-admission-plugins=ServiceAccount",
		// The endpoint reconciler would try to publish 127.0.0.1 as the
		// kubernetes Service endpoint, which validation rejects, spamming logs.
		"--endpoint-reconciler-type=none",
		// APF bootstrapping costs startup time and is irrelevant for tests.
		"--enable-priority-and-fairness=false",
		"--profiling=false",
	)
	if err != nil {
		return nil, err
	}
	// The apiserver was started without waiting for etcd (it retries the
	// connection) so their startups overlap; checking etcd first still turns
	// an etcd failure into a clear error with etcd's log.
	if err := waitReady(ctx, cp.etcd, etcdClient+"/health", "", nil); err != nil {
		return nil, err
	}
	insecure := &tls.Config{InsecureSkipVerify: true} //nolint:gosec // only until the serving CA is known
	if err := waitReady(ctx, cp.apiserver, cp.URL+"/readyz", token, insecure); err != nil {
		return nil, err
	}

	// The self-signed cert file holds the serving cert followed by its CA.
	caData, err := os.ReadFile(filepath.Join(certDir, "apiserver.crt"))
	if err != nil {
		return nil, fmt.Errorf("read apiserver serving certificate: %w", err)
	}
	cp.Config = &rest.Config{
		Host:            cp.URL,
		BearerToken:     token,
		TLSClientConfig: rest.TLSClientConfig{CAData: caData},
		// client-go's default of 5 QPS would make tests slow and their
		// timing depend on client-side throttling rather than the code.
		QPS:   1000,
		Burst: 2000,
	}
	cp.Kubeconfig, err = cp.KubeconfigFor(cp.Config)
	if err != nil {
		return nil, err
	}
	return cp, nil
}

// Stop kills etcd and kube-apiserver and removes the temp directory unless
// $CERTSWEEP_KEEP_CONTROLPLANE is set. Killing outright is fine: all state is
// throwaway, and a graceful apiserver shutdown takes seconds. Safe to call
// more than once.
func (cp *ControlPlane) Stop() {
	cp.stopOnce.Do(func() {
		// Apiserver first so it does not log etcd connection errors.
		cp.apiserver.kill()
		cp.etcd.kill()
		if cp.Dir == "" {
			return
		}
		if os.Getenv("CERTSWEEP_KEEP_CONTROLPLANE") != "" {
			fmt.Fprintf(os.Stderr, "harness: keeping control plane dir %s\n", cp.Dir)
			return
		}
		_ = os.RemoveAll(cp.Dir)
	})
}

func startProcess(name, bin, logPath string, args ...string) (*process, error) {
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open %s log: %w", name, err)
	}
	// Not CommandContext: the processes must outlive Start's context and are
	// ended explicitly by Stop.
	cmd := exec.Command(bin, args...)
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.SysProcAttr = childProcAttr()
	if err := cmd.Start(); err != nil {
		_ = logFile.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &process{name: name, cmd: cmd, logPath: logPath, logFile: logFile, exited: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.exited)
	}()
	return p, nil
}

func (p *process) kill() {
	if p == nil {
		return
	}
	_ = p.cmd.Process.Kill()
	<-p.exited
	_ = p.logFile.Close()
}

// failure builds an error for a process that failed to become ready, with the
// tail of its log so the cause is visible without digging for files.
func (p *process) failure(cause error) error {
	data, _ := os.ReadFile(p.logPath)
	log := string(data)
	err := fmt.Errorf("%s did not become ready: %w\n--- last lines of %s ---\n%s", p.name, cause, filepath.Base(p.logPath), tail(log, 30))
	if strings.Contains(log, "address already in use") {
		return fmt.Errorf("%w: %w", errPortInUse, err)
	}
	return err
}

// waitReady polls url until it answers 200, the process exits, or ctx ends.
func waitReady(ctx context.Context, p *process, url, token string, tlsConfig *tls.Config) error {
	client := &http.Client{
		Timeout:   2 * time.Second,
		Transport: &http.Transport{TLSClientConfig: tlsConfig, DisableKeepAlives: true},
	}
	var lastErr error
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return fmt.Errorf("build readiness request: %w", err)
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := client.Do(req)
		if err == nil {
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("GET %s: %s: %s", url, resp.Status, body)
		}
		lastErr = err
		select {
		case <-p.exited:
			return p.failure(fmt.Errorf("process exited: %v", p.err))
		case <-ctx.Done():
			return p.failure(fmt.Errorf("%w (last probe: %v)", ctx.Err(), lastErr))
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// freePorts returns n distinct free loopback ports. All listeners are held
// until every port is chosen so the kernel cannot hand out one twice.
func freePorts(n int) ([]int, error) {
	ports := make([]int, 0, n)
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("find free port: %w", err)
		}
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// writeECKey writes a fresh ECDSA key used to sign and verify ServiceAccount
// tokens; the apiserver derives the public key from the private key file.
func writeECKey(path string) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return fmt.Errorf("generate service account key: %w", err)
	}
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return fmt.Errorf("marshal service account key: %w", err)
	}
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		return fmt.Errorf("write service account key: %w", err)
	}
	return nil
}

func randomHex(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("generate random token: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// PIDs returns the process IDs of etcd and kube-apiserver, so a benchmark
// can read how much CPU the control plane itself spent.
func (cp *ControlPlane) PIDs() (etcd, apiserver int) {
	return cp.etcd.cmd.Process.Pid, cp.apiserver.cmd.Process.Pid
}
