package harness

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// DNS is a real authoritative DNS server (BIND 9's named) serving one zone on
// a loopback port over UDP and TCP, with recursion off and RFC 2136 dynamic
// updates allowed when signed with its TSIG key. It is what ACME DNS-01
// solvers write to (cert-manager's rfc2136 solver) and what Pebble's
// validation authority reads from (PebbleOptions.DNSServer).
type DNS struct {
	addr      string
	zone      string // lower case, with the trailing dot
	dir       string
	keyFile   string // nsupdate key file
	secret    string // base64
	nsupdate  string
	proc      *process
	updateMux sync.Mutex
}

const (
	// dnsTSIGKeyName is the TSIG key name named accepts updates under.
	dnsTSIGKeyName = "certsweep-harness-tsig"
	// dnsTTL is the TTL of the records the helpers add.
	dnsTTL = 60
	// dnsStartTimeout bounds named's start; it normally answers in well
	// under a second.
	dnsStartTimeout = time.Minute
)

// StartDNS starts named authoritative for zone (e.g. "example.test.") on
// 127.0.0.1 at a free port, UDP and TCP, and waits until it answers over
// both. The zone starts with its SOA and NS records (ns1.<zone> A 127.0.0.1)
// and accepts dynamic updates signed with TSIGKeyName/TSIGSecret (hmac-sha256).
// named and nsupdate come from Debian's bind9 and bind9-dnsutils packages,
// installed with apt-get on first use when missing; if that fails the test is
// skipped with the reason. named is killed when the test ends; its log
// (named.log in its temp dir) is printed if the test failed.
func StartDNS(t testing.TB, zone string) *DNS {
	t.Helper()
	zone = fqdn(zone)
	if zone == "." {
		t.Fatalf("StartDNS: empty zone")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	named, nsupdate, err := ensureBind(ctx)
	if err != nil {
		t.Skipf("harness: StartDNS needs BIND 9 (named, nsupdate), which is missing and could not be installed: %v", err)
	}

	secretBytes := make([]byte, 32)
	if _, err := rand.Read(secretBytes); err != nil {
		t.Fatalf("StartDNS: generate TSIG secret: %v", err)
	}
	d := &DNS{
		zone:     zone,
		dir:      t.TempDir(),
		secret:   base64.StdEncoding.EncodeToString(secretBytes),
		nsupdate: nsupdate,
	}
	d.keyFile = filepath.Join(d.dir, "tsig.key")
	if err := os.WriteFile(d.keyFile, []byte(d.keyClause()), 0o600); err != nil {
		t.Fatalf("StartDNS: %v", err)
	}
	zoneFile := filepath.Join(d.dir, "zone.db")
	if err := os.WriteFile(zoneFile, []byte(d.zoneText()), 0o644); err != nil {
		t.Fatalf("StartDNS: %v", err)
	}

	ctx, cancel = context.WithTimeout(context.Background(), dnsStartTimeout)
	defer cancel()
	for attempt := 1; ; attempt++ {
		err := d.start(ctx, named, zoneFile)
		if err == nil {
			break
		}
		if !errors.Is(err, errPortInUse) || attempt == maxPortAttempts {
			t.Fatalf("StartDNS: %v", err)
		}
	}
	t.Cleanup(func() {
		d.proc.kill()
		if t.Failed() {
			data, _ := os.ReadFile(d.proc.logPath)
			t.Logf("named log (%s):\n%s", d.proc.logPath, tail(string(data), 60))
		}
	})
	return d
}

func (d *DNS) start(ctx context.Context, named, zoneFile string) error {
	port, err := freeUDPAndTCPPort()
	if err != nil {
		return err
	}
	d.addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	conf := filepath.Join(d.dir, "named.conf")
	if err := os.WriteFile(conf, []byte(d.namedConf(port, zoneFile)), 0o644); err != nil {
		return err
	}
	// A journal left by a failed attempt would be replayed onto the zone.
	_ = os.Remove(zoneFile + ".jnl")
	// -g: foreground, log to stderr, run as the current user (root is fine
	// for a throwaway server on loopback). -4: no IPv6 sockets. -n 1: one
	// worker thread is plenty and keeps parallel test packages light.
	p, err := startProcess("named", named, filepath.Join(d.dir, "named.log"), "-g", "-4", "-n", "1", "-c", conf)
	if err != nil {
		return err
	}
	d.proc = p
	if err := d.waitReady(ctx); err != nil {
		p.kill()
		return err
	}
	return nil
}

// waitReady polls the zone's NS record over UDP and over TCP (Pebble's
// validation authority queries over TCP) until both answer.
func (d *DNS) waitReady(ctx context.Context) error {
	var lastErr error
	for {
		lastErr = nil
		for _, network := range []string{"udp", "tcp"} {
			qctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			ns, err := d.resolver(network).LookupNS(qctx, d.zone)
			cancel()
			if err == nil && (len(ns) != 1 || ns[0].Host != "ns1."+d.zone) {
				err = fmt.Errorf("unexpected NS answer %v", ns)
			}
			if err != nil {
				lastErr = fmt.Errorf("NS %s over %s: %w", d.zone, network, err)
				break
			}
		}
		if lastErr == nil {
			return nil
		}
		// named logs a failed bind and keeps running without the socket.
		if logContains(d.proc, "address in use") {
			return fmt.Errorf("%w: %w", errPortInUse, d.proc.failure(lastErr))
		}
		select {
		case <-d.proc.exited:
			return d.proc.failure(fmt.Errorf("process exited: %v", d.proc.err))
		case <-ctx.Done():
			return d.proc.failure(fmt.Errorf("%w (last probe: %v)", ctx.Err(), lastErr))
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (d *DNS) namedConf(port int, zoneFile string) string {
	return fmt.Sprintf(`// Written by certsweep's test harness.
options {
	directory %[1]q;
	pid-file none;
	session-keyfile none;
	managed-keys-directory %[1]q;
	listen-on port %[2]d { 127.0.0.1; };
	listen-on-v6 { none; };
	recursion no;
	allow-recursion { none; };
	allow-query { any; };
	allow-transfer { none; };
	notify no;
	dnssec-validation no;
};

controls { };

%[3]s

zone %[4]q {
	type primary;
	file %[5]q;
	allow-update { key %[6]q; };
};
`, d.dir, port, d.keyClause(), d.zone, zoneFile, dnsTSIGKeyName)
}

func (d *DNS) keyClause() string {
	return fmt.Sprintf("key %q {\n\talgorithm hmac-sha256;\n\tsecret %q;\n};\n", dnsTSIGKeyName, d.secret)
}

func (d *DNS) zoneText() string {
	return fmt.Sprintf(`$TTL %[2]d
@	IN	SOA	ns1.%[1]s hostmaster.%[1]s 1 3600 600 86400 %[2]d
@	IN	NS	ns1.%[1]s
ns1	IN	A	127.0.0.1
`, d.zone, dnsTTL)
}

// Addr returns "127.0.0.1:port", where named answers over UDP and TCP.
func (d *DNS) Addr() string { return d.addr }

// Zone returns the zone named is authoritative for, lower case with the
// trailing dot.
func (d *DNS) Zone() string { return d.zone }

// TSIGKeyName returns the name of the TSIG key that signs dynamic updates
// (an rfc2136 solver's tsigKeyName).
func (d *DNS) TSIGKeyName() string { return dnsTSIGKeyName }

// TSIGAlgorithm returns the TSIG algorithm, hmac-sha256, spelled as
// cert-manager's rfc2136 solver wants it in tsigAlgorithm ("HMACSHA256").
func (d *DNS) TSIGAlgorithm() string { return "HMACSHA256" }

// TSIGSecret returns the TSIG key's secret, base64-encoded (the value of the
// Secret key an rfc2136 solver's tsigSecretSecretRef points at).
func (d *DNS) TSIGSecret() string { return d.secret }

// LogPath returns the path of named's log.
func (d *DNS) LogPath() string { return d.proc.logPath }

// AddA adds an A record name -> ip (e.g. a test domain -> 127.0.0.1 so
// Pebble's HTTP-01 validation connects to a local server) with a signed
// dynamic update. name is absolute, with or without the trailing dot.
func (d *DNS) AddA(t testing.TB, name, ip string) {
	t.Helper()
	if parsed := net.ParseIP(ip); parsed == nil || parsed.To4() == nil {
		t.Fatalf("DNS.AddA: %q is not an IPv4 address", ip)
	}
	d.Update(t, fmt.Sprintf("update add %s %d IN A %s", fqdn(name), dnsTTL, ip))
}

// AddTXT adds a TXT record with one value to name with a signed dynamic
// update.
func (d *DNS) AddTXT(t testing.TB, name, value string) {
	t.Helper()
	d.Update(t, fmt.Sprintf("update add %s %d IN TXT %s", fqdn(name), dnsTTL, strconv.Quote(value)))
}

// Update sends one TSIG-signed RFC 2136 update made of nsupdate commands
// (e.g. "update delete foo.example.test. TXT") and fails the test unless
// named accepts it.
func (d *DNS) Update(t testing.TB, commands ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := d.update(ctx, true, commands...); err != nil {
		t.Fatalf("DNS.Update: %v", err)
	}
}

// update runs nsupdate over TCP against named; signed selects whether the
// update carries the TSIG key.
func (d *DNS) update(ctx context.Context, signed bool, commands ...string) error {
	host, port, _ := net.SplitHostPort(d.addr)
	var script strings.Builder
	fmt.Fprintf(&script, "server %s %s\nzone %s\n", host, port, d.zone)
	for _, c := range commands {
		if strings.ContainsAny(c, "\n") {
			return fmt.Errorf("command %q spans lines", c)
		}
		script.WriteString(c + "\n")
	}
	script.WriteString("send\n")
	args := []string{"-v", "-t", "10"}
	if signed {
		args = append(args, "-k", d.keyFile)
	}
	// Updates are serialised so a test reading named's log sees them in
	// order; named would cope either way.
	d.updateMux.Lock()
	defer d.updateMux.Unlock()
	cmd := exec.CommandContext(ctx, d.nsupdate, args...)
	cmd.Stdin = strings.NewReader(script.String())
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("nsupdate: %w\n--- script ---\n%s--- output ---\n%s", err, script.String(), out.String())
	}
	return nil
}

// LookupTXT asks named directly for name's TXT records and returns their
// values (each record's strings joined), or none if the name has no TXT
// records. Other failures fail the test.
func (d *DNS) LookupTXT(t testing.TB, name string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	txt, err := d.resolver("udp").LookupTXT(ctx, fqdn(name))
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) && dnsErr.IsNotFound {
		return nil
	}
	if err != nil {
		t.Fatalf("DNS.LookupTXT %s: %v", name, err)
	}
	return txt
}

// resolver returns a Go resolver that sends every query straight to named
// over network ("udp" or "tcp"; Go frames TCP queries itself when the
// connection is a stream).
func (d *DNS) resolver(network string) *net.Resolver {
	return &net.Resolver{
		PreferGo: true,
		Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var dialer net.Dialer
			return dialer.DialContext(ctx, network, d.addr)
		},
	}
}

// logContains reports whether p's log contains any of substrs.
func logContains(p *process, substrs ...string) bool {
	data, _ := os.ReadFile(p.logPath)
	for _, sub := range substrs {
		if bytes.Contains(data, []byte(sub)) {
			return true
		}
	}
	return false
}

// fqdn lower-cases name and adds the trailing dot.
func fqdn(name string) string {
	name = strings.ToLower(strings.TrimSpace(name))
	if !strings.HasSuffix(name, ".") {
		name += "."
	}
	return name
}

// freeUDPAndTCPPort returns a loopback port free for both UDP and TCP at the
// time of the call.
func freeUDPAndTCPPort() (int, error) {
	var lastErr error
	for range 20 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, fmt.Errorf("find free port: %w", err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		pc, err := net.ListenPacket("udp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		_ = l.Close()
		if err != nil {
			lastErr = err
			continue
		}
		_ = pc.Close()
		return port, nil
	}
	return 0, fmt.Errorf("find a port free for both UDP and TCP: %w", lastErr)
}

// BIND's tools, found or installed once per test binary.
var bind struct {
	once     sync.Once
	named    string
	nsupdate string
	err      error
}

// ensureBind returns the paths of named and nsupdate, installing Debian's
// bind9 and bind9-dnsutils with apt-get when either is missing. Parallel test
// binaries serialise the install on a lock file in CacheDir, and apt-get
// itself waits for dpkg's lock.
func ensureBind(ctx context.Context) (named, nsupdate string, err error) {
	bind.once.Do(func() {
		bind.named, bind.nsupdate, bind.err = ensureBindOnce(ctx)
	})
	return bind.named, bind.nsupdate, bind.err
}

func findBind() (named, nsupdate string, ok bool) {
	find := func(name string, dirs ...string) string {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
		// /usr/sbin may be missing from a non-login PATH.
		for _, dir := range dirs {
			if p := filepath.Join(dir, name); isExecutable(p) {
				return p
			}
		}
		return ""
	}
	named = find("named", "/usr/sbin", "/usr/local/sbin", "/sbin")
	nsupdate = find("nsupdate", "/usr/bin", "/usr/local/bin")
	return named, nsupdate, named != "" && nsupdate != ""
}

func ensureBindOnce(ctx context.Context) (string, string, error) {
	var named, nsupdate string
	_, err := ensureDebianTool(ctx, "bind9", []string{"bind9", "bind9-dnsutils"}, func() string {
		n, u, ok := findBind()
		if !ok {
			return ""
		}
		named, nsupdate = n, u
		return n
	})
	if err != nil {
		return "", "", err
	}
	return named, nsupdate, nil
}
