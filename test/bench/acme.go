package main

// The ACME scenario: N Certificates of an ACME Issuer over Pebble, each
// solving one DNS-01 challenge through RFC 2136 updates to BIND 9, swept
// by the certsweep binary run after run until all are Ready, then until a
// run writes nothing. Requests to the API server are counted by the API
// server (as for the other scenarios), requests to the CA and their
// answers by test/harness's ACMEProxy in front of Pebble, cross-checked
// against the requests Pebble's own log records; orders are counted three
// ways: newOrder answers at the proxy, Pebble's log, the Order objects.

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	cmacme "github.com/cert-manager/cert-manager/pkg/apis/acme/v1"
	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	cmclient "github.com/cert-manager/cert-manager/pkg/client/clientset/versioned"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/certsweep/certsweep/test/harness"
)

// acmeZone is the zone BIND serves and the Certificates' names are in.
const acmeZone = "example.test."

// acmeRun is one measured certsweep process of the ACME scenario.
type acmeRun struct {
	run
	CA       caCounts // requests to the CA, "METHOD resource", as the proxy saw them
	Problems caCounts // error answers from the CA by ACME problem type (or "HTTP <status>")
	// APIErrors are the API requests answered with other than 2xx, by
	// "VERB resource code".
	APIErrors requestCounts
	// PebbleLog is the number of ACME requests Pebble's log records
	// during the run, to cross-check CA.
	PebbleLog int
	NewOrders int // newOrder requests the CA answered 201 Created
	Ready     int // Certificates Ready after the run
	Orders    int // Order objects after the run
}

// acmeResult is everything measured in the ACME scenario.
type acmeResult struct {
	Started time.Time
	Machine machine
	N       int
	Env     []string // CERTSWEEP_* settings of the measured runs
	Pebble  string   // Pebble's version
	Bind    string   // named -v
	MaxRuns int
	Only    bool   // measured by -acme-only, which rewrites only this section
	Load    string // /proc/loadavg's 1, 5 and 15 minute averages as the first run started
	Seed    time.Duration
	ToReady []acmeRun // the runs until every Certificate was Ready
	After   []acmeRun // the runs after, until one wrote nothing
	// At the end:
	Orders       int // Order objects
	OrdersValid  int // of them in state valid
	OrdersPerCR  int // the most Orders owned by one CertificateRequest
	Requests     int // CertificateRequests
	CANewOrders  int // newOrder requests answered 201 at the proxy, all runs
	PebbleOrders int // "Added order" lines in Pebble's log, all runs
	Challenges   int // Challenge objects left
	TXTLeft      int // _acme-challenge TXT records left in BIND
	MinLifetime  time.Duration
	MaxLifetime  time.Duration
	Issued       int // Secrets holding a certificate
}

// ready reports whether every Certificate got Ready within the runs.
func (a *acmeResult) ready() bool {
	return len(a.ToReady) > 0 && a.ToReady[len(a.ToReady)-1].Ready == a.N
}

// settled reports whether the last run after Ready wrote nothing.
func (a *acmeResult) settled() bool {
	return len(a.After) > 0 && a.After[len(a.After)-1].Requests.writes() == 0
}

// sumRuns adds up the runs' wall time, API and CA requests.
func sumRuns(runs []acmeRun) (wall time.Duration, api requestCounts, ca, problems caCounts) {
	wall, api, ca, problems, _ = sumRunsErr(runs)
	return wall, api, ca, problems
}

// sumRunsErr is sumRuns with the API's error answers.
func sumRunsErr(runs []acmeRun) (wall time.Duration, api requestCounts, ca, problems caCounts, apiErrors requestCounts) {
	apiErrors = requestCounts{}
	for _, r := range runs {
		for k, v := range r.APIErrors {
			apiErrors[k] += v
		}
	}
	api, ca, problems = requestCounts{}, caCounts{}, caCounts{}
	for _, r := range runs {
		wall += r.Wall
		for k, v := range r.Requests {
			api[k] += v
		}
		ca = ca.add(r.CA)
		problems = problems.add(r.Problems)
	}
	return wall, api, ca, problems, apiErrors
}

// caCounts are CA requests by key.
type caCounts map[string]int

func (c caCounts) total() int {
	n := 0
	for _, v := range c {
		n += v
	}
	return n
}

func (c caCounts) add(o caCounts) caCounts {
	out := caCounts{}
	for k, v := range c {
		out[k] += v
	}
	for k, v := range o {
		out[k] += v
	}
	return out
}

func (c caCounts) String() string { return requestCounts(c).String() }

// caAnswers is what the CA answered between two of the proxy's counts:
// requests by "METHOD resource" ("POST newOrder"), error answers by ACME
// problem type (or "HTTP <status>" without a problem document), and the
// newOrder requests answered 201 Created, the orders placed.
func caAnswers(before, after map[harness.ACMEResponse]int) (requests, problems caCounts, newOrders int) {
	requests, problems = caCounts{}, caCounts{}
	for r, n := range after {
		d := n - before[r]
		if d <= 0 {
			continue
		}
		requests[r.Method+" "+r.Resource()] += d
		switch {
		case r.Problem != "":
			problems[r.Problem] += d
		case r.Status >= 400:
			problems[fmt.Sprintf("HTTP %d", r.Status)] += d
		}
		if r.Method == "POST" && r.Resource() == "newOrder" && r.Status == 201 {
			newOrders += d
		}
	}
	return requests, problems, newOrders
}

// benchACME runs the ACME scenario on a fresh control plane, BIND and
// Pebble.
func benchACME(ctx context.Context, cfg config) (res acmeResult, err error) {
	res = acmeResult{Started: time.Now(), N: cfg.acmeSize, MaxRuns: cfg.acmeMaxRuns, Only: cfg.acmeOnly}
	fmt.Printf("==> ACME: %d DNS-01 Certificates against Pebble: starting a control plane, BIND and Pebble\n", cfg.acmeSize)
	cp, err := harness.Start(ctx, harness.Options{})
	if err != nil {
		return res, err
	}
	defer cp.Stop()
	admin := rest.CopyConfig(cp.Config)
	admin.QPS = -1
	kube, err := kubernetes.NewForConfig(admin)
	if err != nil {
		return res, err
	}
	cm, err := cmclient.NewForConfig(admin)
	if err != nil {
		return res, err
	}
	res.Machine = readMachine(ctx, kube)

	tb := newBenchTB("acme")
	defer tb.cleanup()
	var dns *harness.DNS
	var pebble *harness.Pebble
	if err := tb.do(func() {
		dns = harness.StartDNS(tb, acmeZone)
		pebble = harness.StartPebble(tb, harness.PebbleOptions{DNSServer: dns.Addr()})
	}); err != nil {
		return res, err
	}
	var proxy *harness.ACMEProxy
	if err := tb.do(func() { proxy = harness.StartACMEProxy(tb, pebble) }); err != nil {
		return res, err
	}
	res.Pebble, res.Bind = pebbleVersion(), bindVersion()
	fmt.Printf("    BIND at %s (%s), Pebble %s behind the counting proxy %s\n", dns.Addr(), res.Bind, res.Pebble, proxy.DirectoryURL())

	if err := setupACME(ctx, kube, cm, dns, proxy); err != nil {
		return res, err
	}
	start := time.Now()
	if err := seedCertificatesOf(ctx, cm, cfg.acmeSize, "acme", strings.TrimSuffix(acmeZone, ".")); err != nil {
		return res, err
	}
	res.Seed = time.Since(start)

	res.Env = append([]string{
		"CERTSWEEP_DNS01_RECURSIVE_NAMESERVERS=" + dns.Addr(),
		"CERTSWEEP_DNS01_RECURSIVE_NAMESERVERS_ONLY=true",
		"CERTSWEEP_ACME_WAIT=" + cfg.acmeWait.String(),
	}, cfg.env...)

	measure := func(label string) (acmeRun, error) {
		answers0 := proxy.Responses()
		log0 := readPebbleLog(pebble.LogPath())
		errs0, err := scrapeErrorAnswers(ctx, kube)
		if err != nil {
			return acmeRun{}, err
		}
		got, err := sweep(ctx, cp, kube, cfg.binary, res.Env)
		if err != nil {
			return acmeRun{}, err
		}
		errs1, err := scrapeErrorAnswers(ctx, kube)
		if err != nil {
			return acmeRun{}, err
		}
		ca, problems, newOrders := caAnswers(answers0, proxy.Responses())
		log1 := readPebbleLog(pebble.LogPath())
		r := acmeRun{run: got, CA: ca, Problems: problems,
			PebbleLog: log1.requests - log0.requests, NewOrders: newOrders, APIErrors: errs1.minus(errs0)}
		res.PebbleOrders += log1.orders - log0.orders
		res.CANewOrders += r.NewOrders
		if r.Ready, err = countReady(ctx, cm); err != nil {
			return r, err
		}
		orders, err := cm.AcmeV1().Orders(benchNamespace).List(ctx, metav1.ListOptions{})
		if err != nil {
			return r, err
		}
		r.Orders = len(orders.Items)
		fmt.Printf("    %s: %d/%d Ready; wall %s, CPU %s; API %d requests (%d writes%s); CA %d requests (Pebble's log: %d), %d new orders%s; %d Orders; %s\n",
			label, r.Ready, res.N, r.Wall.Round(time.Millisecond), r.CPU.Round(time.Millisecond),
			r.Requests.total(), r.Requests.writes(), apiErrorNote(r.APIErrors), r.CA.total(), r.PebbleLog, r.NewOrders, problemNote(r.Problems), r.Orders, r.Summary)
		return r, nil
	}

	// txtLeft counts the DNS-01 records still published.
	txtLeft := func() (int, error) {
		left := 0
		err := tb.do(func() {
			for i := range res.N {
				if txt := dns.LookupTXT(tb, "_acme-challenge."+certName(i)+"."+acmeZone); len(txt) > 0 {
					left++
				}
			}
		})
		return left, err
	}

	res.Load = loadAverage()
	for len(res.ToReady) < cfg.acmeMaxRuns && (len(res.ToReady) == 0 || res.ToReady[len(res.ToReady)-1].Ready < res.N) {
		r, err := measure(fmt.Sprintf("run %d", len(res.ToReady)+1))
		if err != nil {
			return res, err
		}
		res.ToReady = append(res.ToReady, r)
	}
	if !res.ready() {
		_ = res.inspect(ctx, kube, cm, txtLeft)
		return res, fmt.Errorf("only %d of %d ACME Certificates Ready after %d runs", res.ToReady[len(res.ToReady)-1].Ready, res.N, len(res.ToReady))
	}
	// After Ready: with ARI on (the default) the next run fetches each new
	// certificate's suggested renewal window into status.acme.ari; the run
	// after that must write nothing.
	for len(res.After) < 2 && !res.settled() {
		r, err := measure(fmt.Sprintf("run %d (after Ready)", len(res.ToReady)+len(res.After)+1))
		if err != nil {
			return res, err
		}
		res.After = append(res.After, r)
	}
	if err := res.inspect(ctx, kube, cm, txtLeft); err != nil {
		return res, err
	}
	fmt.Printf("    orders: %d newOrder answered 201 at the proxy, %d added in Pebble's log, %d Order objects (%d valid, at most %d per request); %d CertificateRequests; %d Challenges and %d TXT records left; leaf lifetimes %s to %s\n",
		res.CANewOrders, res.PebbleOrders, res.Orders, res.OrdersValid, res.OrdersPerCR, res.Requests, res.Challenges, res.TXTLeft, res.MinLifetime, res.MaxLifetime)
	if !res.settled() {
		last := res.After[len(res.After)-1]
		return res, fmt.Errorf("the runs after Ready keep writing: the last wrote %s", last.Requests)
	}
	return res, nil
}

// inspect reads the Orders, requests, Challenges, DNS-01 records and
// issued Secrets left.
func (a *acmeResult) inspect(ctx context.Context, kube kubernetes.Interface, cm cmclient.Interface, txtLeft func() (int, error)) error {
	orders, err := cm.AcmeV1().Orders(benchNamespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	a.Orders = len(orders.Items)
	perCR := map[string]int{}
	for _, o := range orders.Items {
		if o.Status.State == cmacme.Valid {
			a.OrdersValid++
		}
		owner := "none"
		if ref := metav1.GetControllerOf(&o); ref != nil {
			owner = string(ref.UID)
		}
		perCR[owner]++
		a.OrdersPerCR = max(a.OrdersPerCR, perCR[owner])
	}
	crs, err := cm.CertmanagerV1().CertificateRequests(benchNamespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	a.Requests = len(crs.Items)
	chs, err := cm.AcmeV1().Challenges(benchNamespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	a.Challenges = len(chs.Items)
	if a.TXTLeft, err = txtLeft(); err != nil {
		return err
	}
	secrets, err := kube.CoreV1().Secrets(benchNamespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	a.Issued, a.MinLifetime, a.MaxLifetime = 0, 0, 0
	for _, s := range secrets.Items {
		block, _ := pem.Decode(s.Data[corev1.TLSCertKey])
		if block == nil || s.Annotations[cmapi.CertificateNameKey] == "" {
			continue
		}
		leaf, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			continue
		}
		life := leaf.NotAfter.Sub(leaf.NotBefore).Round(time.Second)
		if a.Issued == 0 || life < a.MinLifetime {
			a.MinLifetime = life
		}
		a.MaxLifetime = max(a.MaxLifetime, life)
		a.Issued++
	}
	return nil
}

// setupACME creates the namespace, the TSIG Secret and the ACME Issuer:
// Pebble (through the counting proxy) with the shortlived profile, DNS-01
// through RFC 2136 updates to BIND.
func setupACME(ctx context.Context, kube kubernetes.Interface, cm cmclient.Interface, dns *harness.DNS, proxy *harness.ACMEProxy) error {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: benchNamespace}}
	if _, err := kube.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("creating namespace %s: %w", benchNamespace, err)
	}
	tsig := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "tsig", Namespace: benchNamespace},
		Data:       map[string][]byte{"secret": []byte(dns.TSIGSecret())},
	}
	if _, err := kube.CoreV1().Secrets(benchNamespace).Create(ctx, tsig, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("creating the TSIG secret: %w", err)
	}
	issuer := &cmapi.Issuer{
		ObjectMeta: metav1.ObjectMeta{Name: "acme", Namespace: benchNamespace},
		Spec: cmapi.IssuerSpec{IssuerConfig: cmapi.IssuerConfig{ACME: &cmacme.ACMEIssuer{
			Server:     proxy.DirectoryURL(),
			CABundle:   proxy.CABundle(),
			Email:      "ops@example.test",
			PrivateKey: cmmeta.SecretKeySelector{LocalObjectReference: cmmeta.LocalObjectReference{Name: "acme-account"}},
			Profile:    harness.PebbleShortLivedProfile,
			Solvers: []cmacme.ACMEChallengeSolver{{DNS01: &cmacme.ACMEChallengeSolverDNS01{RFC2136: &cmacme.ACMEIssuerDNS01ProviderRFC2136{
				Nameserver:    dns.Addr(),
				TSIGKeyName:   dns.TSIGKeyName(),
				TSIGAlgorithm: dns.TSIGAlgorithm(),
				TSIGSecret:    cmmeta.SecretKeySelector{LocalObjectReference: cmmeta.LocalObjectReference{Name: "tsig"}, Key: "secret"},
			}}}},
		}}},
	}
	if _, err := cm.CertmanagerV1().Issuers(benchNamespace).Create(ctx, issuer, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("creating the ACME issuer: %w", err)
	}
	return nil
}

// pebbleLog is what Pebble's log has recorded so far.
type pebbleLog struct {
	requests int // ACME requests ("<METHOD> <path> -> calling handler()")
	orders   int // "Added order"
}

var pebbleRequestLine = regexp.MustCompile(`(?m) -> calling handler\(\)$`)
var pebbleOrderLine = regexp.MustCompile(`(?m)Added order "`)

func readPebbleLog(path string) pebbleLog {
	data, err := os.ReadFile(path)
	if err != nil {
		return pebbleLog{}
	}
	return pebbleLog{
		requests: len(pebbleRequestLine.FindAllIndex(data, -1)),
		orders:   len(pebbleOrderLine.FindAllIndex(data, -1)),
	}
}

// pebbleVersion reads the pinned Pebble version from test/tools/pebble.
func pebbleVersion() string {
	root, err := harness.RepoRoot()
	if err != nil {
		return "unknown"
	}
	raw, err := os.ReadFile(filepath.Join(root, "test", "tools", "pebble", "go.mod"))
	if err != nil {
		return "unknown"
	}
	if m := regexp.MustCompile(`github.com/letsencrypt/pebble/v2 (v\S+)`).FindSubmatch(raw); m != nil {
		return string(m[1])
	}
	return "unknown"
}

// loadAverage reads the machine's 1, 5 and 15 minute load averages.
func loadAverage() string {
	raw, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(raw))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], ", ")
}

// bindVersion asks named for its version.
func bindVersion() string {
	named := "/usr/sbin/named"
	if p, err := exec.LookPath("named"); err == nil {
		named = p
	}
	out, err := exec.Command(named, "-v").Output()
	if err != nil {
		return "BIND 9"
	}
	return strings.TrimSpace(string(bytes.SplitN(out, []byte("\n"), 2)[0]))
}

func apiErrorNote(e requestCounts) string {
	if len(e) == 0 {
		return ""
	}
	return fmt.Sprintf("; error answers: %s", e)
}

func problemNote(p caCounts) string {
	if len(p) == 0 {
		return ""
	}
	return fmt.Sprintf(" (error answers: %s)", p)
}
