package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"text/tabwriter"
	"time"

	"k8s.io/client-go/kubernetes"

	"github.com/certsweep/certsweep/test/harness"
)

// machine describes where the numbers were taken.
type machine struct {
	CPU       string
	Cores     int
	MemoryGiB float64
	Kernel    string
	Go        string
	APIServer string
	Etcd      string
}

func (m machine) summary() string {
	return fmt.Sprintf("%d cores (%s), kube-apiserver %s", m.Cores, m.CPU, m.APIServer)
}

func readMachine(ctx context.Context, kube kubernetes.Interface) machine {
	m := machine{Cores: runtime.NumCPU(), Go: runtime.Version(), CPU: "unknown", Kernel: "unknown", APIServer: "unknown"}
	if raw, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(raw), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
	}
	if raw, err := os.ReadFile("/proc/meminfo"); err == nil {
		var kib float64
		if _, err := fmt.Sscanf(string(raw), "MemTotal: %f kB", &kib); err == nil {
			m.MemoryGiB = kib / (1 << 20)
		}
	}
	if raw, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(raw))
	}
	// The binaries are built from pinned modules without version stamps, so
	// the versions are read from the cached binaries' names.
	if etcd, apiserver, err := harness.EnsureBinaries(ctx); err == nil {
		m.APIServer = strings.TrimPrefix(filepath.Base(apiserver), "kube-apiserver-")
		m.Etcd = strings.TrimPrefix(filepath.Base(etcd), "etcd-")
	}
	_ = kube
	return m
}

func secs(d time.Duration) string {
	return fmt.Sprintf("%.2f s", d.Seconds())
}
func perCert(d time.Duration, n int) float64 {
	return float64(d) / float64(time.Millisecond) / float64(n)
}

func printTable(w io.Writer, res results) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "N\tissue\tms/cert\twrites/cert\tissue RSS\tno-op\tfloor\tratio\tno-op writes\tno-op RSS\tmixed\tmixed writes\t")
	for _, s := range res.Sizes {
		fmt.Fprintf(tw, "%d\t%s\t%.2f\t%.2f\t%.0f MiB\t%s\t%s\t%.2f\t%d\t%.0f MiB\t%s\t%d\t\n",
			s.N, secs(s.Issue.Wall), perCert(s.Issue.Wall, s.N), float64(s.Issue.Requests.writes())/float64(s.N), mib(s.Issue.PeakRSS),
			secs(s.Noop.Wall), secs(s.Floor), ratio(s.Noop.Wall, s.Floor), s.NoopWrites, mib(s.Noop.PeakRSS),
			secs(s.Mixed.Wall), s.Mixed.Requests.writes())
	}
	_ = tw.Flush()
}

func ratio(a, b time.Duration) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// writeReport renders docs/performance.md from the measurements.
func writeReport(path, plotPath string, res results) error {
	var b bytes.Buffer
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	m := res.Machine
	p("# Performance\n\n")
	p("Written by `make bench` (`go run ./test/bench`) on %s. Every number below comes from that run; rerun it to refresh this page.\n\n", res.Started.UTC().Format("2006-01-02"))
	p("## Machine and method\n\n")
	p("- %d cores, %s, %.0f GiB memory, Linux %s; %s.\n", m.Cores, m.CPU, m.MemoryGiB, m.Kernel, m.Go)
	p("- kube-apiserver %s and etcd %s, built from the modules pinned in `test/tools` and started by `test/harness` on loopback: the same control plane the tests use, sharing the machine with the sweep.\n", m.APIServer, m.Etcd)
	p("- Each size gets a fresh control plane, a CA Issuer, and N Certificates (ECDSA P-256, one DNS name) created with %d concurrent client creates.\n", seedWorkers)
	p("- The certsweep binary runs as the CronJob's pod would (`certsweep run`, configured by environment, KUBECONFIG instead of a ServiceAccount token).")
	if len(res.Env) > 0 {
		p(" Extra settings: `%s`.", strings.Join(res.Env, " "))
	} else {
		p(" Default settings.")
	}
	p("\n- Wall time is measured around the process. CPU time and peak RSS come from the kernel's accounting of the process (rusage); the Go heap is the `heapSysBytes` certsweep logs at exit, the heap's high-water mark. Requests are counted by the API server (`apiserver_request_total`, certsweep's resources only). Server CPU is what etcd and kube-apiserver spent during the run, from /proc.\n")
	p("- The floor is the raw paginated LIST of the same objects certsweep lists (Certificates, CertificateRequests, Secrets carrying cert-manager's label, CertificateSigningRequests), by a fresh client with the same encodings (protobuf for Secrets, JSON for the CRDs), decoded into the same types, and nothing else. Floor and no-op sweeps alternate, %d of each; medians are reported.\n", res.Repeats)
	p("- Mixed: every 50th Certificate gets a new DNS name (2%%), then one sweep; the resourceVersions of every Certificate and Secret before and after show which ones it wrote to.\n\n")

	p("## Targets\n\n")
	p("| target | measured | met |\n|---|---|---|\n")
	for _, s := range res.Sizes {
		if s.N > 5000 {
			continue
		}
		w := float64(s.Issue.Requests.writes()) / float64(s.N)
		pc := perCert(s.Issue.Wall, s.N)
		p("| issue %d new: sweeps to all Ready | %d | %s |\n", s.N, s.IssueSweeps, yes(s.IssueSweeps == 1))
		p("| issue %d new: ≤ 8 ms wall per certificate | %.2f ms | %s |\n", s.N, pc, yes(pc <= 8))
		if s.WriteFloor > 0 {
			p("| issue %d new: wall against the API server's own time for the same writes (write floor) | %.2f ms vs %.2f ms per certificate = %.2f× | — |\n",
				s.N, pc, perCert(s.WriteFloor, s.N), ratio(s.Issue.Wall, s.WriteFloor))
		}
		p("| issue %d new: ≤ 8 writes per certificate, events included | %.2f | %s |\n", s.N, w, yes(w <= 8))
		p("| issue %d new: GETs | %d | %s |\n", s.N, s.Issue.Requests.verb("GET"), yes(s.Issue.Requests.verb("GET") <= 4))
		lists, okLists := listsPerKind(s.Issue.Requests, s.N, 0, 0)
		p("| issue %d new: LISTs ≤ 1 per 500 objects per kind | %s | %s |\n", s.N, lists, yes(okLists))
	}
	for _, s := range res.Sizes {
		if s.N != 10000 {
			continue
		}
		r := ratio(s.Noop.Wall, s.Floor)
		p("| no-op over %d Ready: wall ≤ 1.5× raw LIST | %s vs %s = %.2f× | %s |\n", s.N, secs(s.Noop.Wall), secs(s.Floor), r, yes(r <= 1.5))
		p("| no-op over %d Ready: 0 writes | %d | %s |\n", s.N, s.NoopWrites, yes(s.NoopWrites == 0))
		lists, okLists := listsPerKind(s.Noop.Requests, s.N, s.N, s.N)
		p("| no-op over %d Ready: LISTs ≤ 1 per 500 objects per kind, no GETs | %s; GET %d | %s |\n", s.N, lists, s.Noop.Requests.verb("GET"), yes(okLists && s.Noop.Requests.verb("GET") == 0))
		p("| no-op over %d Ready: peak RSS ≤ 100 MiB | %.0f MiB RSS, %.0f MiB Go heap | %s |\n", s.N, mib(s.Noop.PeakRSS), mib(s.Noop.HeapSys), yes(mib(s.Noop.PeakRSS) <= 100))
		p("| mixed %d, %d due: only those written | %d written, exactly the due ones: %v; %s | %s |\n", s.N, s.Due, s.Changed, s.Exact, secs(s.Mixed.Wall), yes(s.Exact))
	}
	p("| cold start: process start to first API request ≤ 50 ms | median %s, worst of 21 %s | %s |\n", ms1(res.ColdStart), ms1(res.ColdWorst), yes(res.ColdStart <= 50*time.Millisecond))
	p("| binary size | %.1f MiB (`make build`: `CGO_ENABLED=0 go build -trimpath -ldflags=\"-s -w\"`) | — |\n\n", float64(res.BinaryBytes)/(1<<20))

	p("## Growth\n\n")
	if plotPath != "" {
		rel, err := filepath.Rel(filepath.Dir(path), plotPath)
		if err != nil {
			rel = plotPath
		}
		p("![wall time, CPU, peak RSS and requests against N](%s)\n\n", filepath.ToSlash(rel))
	}
	p("| N | scenario | wall | per cert | CPU | peak RSS | Go heap | requests | writes | LIST | GET | server CPU |\n|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, s := range res.Sizes {
		row := func(name string, r run) {
			p("| %d | %s | %s | %.2f ms | %s | %.0f MiB | %.0f MiB | %d | %d | %d | %d | %s |\n", s.N, name, secs(r.Wall), perCert(r.Wall, s.N),
				secs(r.CPU), mib(r.PeakRSS), mib(r.HeapSys), r.Requests.total(), r.Requests.writes(), r.Requests.verb("LIST"), r.Requests.verb("GET"), secs(r.ServerCPU))
		}
		row("issue (all new)", s.Issue)
		row("no-op", s.Noop)
		p("| %d | raw LIST floor | %s | %.2f ms | | | | | | | | |\n", s.N, secs(s.Floor), perCert(s.Floor, s.N))
		row(fmt.Sprintf("mixed (%d due)", s.Due), s.Mixed)
		if s.WriteFloor > 0 {
			p("| %d | write floor (raw client, the same 7 writes per certificate) | %s | %.2f ms | | | | %d | %d | | | %s |\n",
				s.N, secs(s.WriteFloor), perCert(s.WriteFloor, s.N), 7*s.N, 7*s.N, secs(s.WriteFloorServer))
		}
	}
	p("\nRequests of the largest issue run, as the API server counted them: `%s`.\n\n", res.Sizes[len(res.Sizes)-1].Issue.Requests)
	p("Requests of the largest no-op run: `%s`.\n\n", res.Sizes[len(res.Sizes)-1].Noop.Requests)

	writeFit(p, res)
	p("%s\n", designNotes)

	if res.ACME != nil {
		p("%s\n", strings.TrimRight(acmeSection(*res.ACME, res.ACMEErr), "\n"))
	}
	if res.Micro != "" {
		p("## Hot paths (Go benchmarks)\n\n")
		p("`go test -run '^$' -bench . -benchtime 200ms ./renew/ ./issuance/`, from the same `make bench`:\n\n```\n%s\n```\n", strings.TrimSpace(res.Micro))
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

func ms1(d time.Duration) string {
	return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond))
}

func yes(ok bool) string {
	if ok {
		return "yes"
	}
	return "**no**"
}

// listsPerKind renders the LIST requests per resource next to what one
// request per 500 objects allows.
func listsPerKind(r requestCounts, certs, secrets, requests int) (string, bool) {
	allowed := func(objects int) int { return max(1, (objects+499)/500) }
	ok := true
	var parts []string
	for _, kind := range []struct {
		resource string
		objects  int
	}{{"certificates", certs}, {"secrets", secrets}, {"certificaterequests", requests}} {
		got := r.of("LIST", kind.resource)
		parts = append(parts, fmt.Sprintf("%s %d", kind.resource, got))
		if got > allowed(kind.objects) {
			ok = false
		}
	}
	return strings.Join(parts, ", "), ok
}

// writeFit extrapolates to 100,000 Certificates from the per-object costs
// measured between the smallest and largest size.
func writeFit(p func(string, ...any), res results) {
	if len(res.Sizes) < 2 {
		return
	}
	lo, hi := res.Sizes[0], res.Sizes[len(res.Sizes)-1]
	dn := float64(hi.N - lo.N)
	slope := func(a, b float64) float64 { return (b - a) / dn }
	at := func(a, b float64, n int) float64 { return a + slope(a, b)*float64(n-lo.N) }
	const big = 100000
	noopWall := at(lo.Noop.Wall.Seconds(), hi.Noop.Wall.Seconds(), big)
	floorWall := at(lo.Floor.Seconds(), hi.Floor.Seconds(), big)
	noopRSS := at(mib(lo.Noop.PeakRSS), mib(hi.Noop.PeakRSS), big)
	issueWall := at(lo.Issue.Wall.Seconds(), hi.Issue.Wall.Seconds(), big)
	issueRSS := at(mib(lo.Issue.PeakRSS), mib(hi.Issue.PeakRSS), big)
	p("## To 100,000 Certificates\n\n")
	p("Straight lines through the measured N=%d and N=%d points (the plot shows how straight they are):\n\n", lo.N, hi.N)
	p("| per Certificate | no-op sweep | raw LIST | issuance |\n|---|---|---|---|\n")
	p("| wall | %.3f ms | %.3f ms | %.2f ms |\n", 1000*slope(lo.Noop.Wall.Seconds(), hi.Noop.Wall.Seconds()), 1000*slope(lo.Floor.Seconds(), hi.Floor.Seconds()), 1000*slope(lo.Issue.Wall.Seconds(), hi.Issue.Wall.Seconds()))
	p("| peak RSS | %.1f KiB | | %.1f KiB |\n\n", 1024*slope(mib(lo.Noop.PeakRSS), mib(hi.Noop.PeakRSS)), 1024*slope(mib(lo.Issue.PeakRSS), mib(hi.Issue.PeakRSS)))
	p("At N = 100,000 that predicts a no-op sweep of about %.0f s (raw LIST %.0f s) in about %.0f MiB, and issuing 100,000 new Certificates in about %.0f s in about %.0f MiB, in one process.\n\n", noopWall, floorWall, noopRSS, issueWall, issueRSS)
	p("Beyond one process, an Indexed Job with `CERTSWEEP_SHARDS=k` splits the Certificates by a hash of namespace/name (see docs/triggers.md). Each shard still lists every Certificate and labelled Secret, so the no-op sweep time and the Certificate part of the memory do not shrink with k; the issuance work, and the Secrets and requests held for it, divide by k. Issuance at 100,000 with k = 4 is then about %.0f s of wall per shard if the API server keeps up; the measured server CPU per issued Certificate (%.2f ms at N=%d) says how much it must absorb.\n\n",
		issueWall/4, 1000*hi.Issue.ServerCPU.Seconds()/float64(hi.N), hi.N)
}

// designNotes explains the numbers: what each run does per object, and
// where the time goes. It changes with the code, not with a bench run.
const designNotes = `## Why it grows linearly

- **One pass, no per-object reads.** A sweep makes paginated LISTs only: Certificates, then CertificateRequests, then the Secrets carrying cert-manager's label (` + "`controller.cert-manager.io/fao=true`" + `), then Kubernetes CertificateSigningRequests (unless ` + "`CERTSWEEP_CSR=false`" + `), ` + "`CERTSWEEP_PAGE_SIZE`" + ` (500) per request. Every decision is a pure function of what was listed (` + "`renew.Decide`" + `), so there are no namespace-wide scans per event and no GETs per Certificate; the only GETs are the issuer and its CA Secret, once per run.
- **Memory is the Certificates plus one page.** Certificates are kept for the run (everything else is joined to them), stripped of managedFields. CertificateRequests are reduced to the current revision's CSR and the next revision's request. Secrets are streamed: each Certificate is decided when its Secret's page arrives, and released once settled, so the sweep never holds the cluster's Secrets. Only the Certificates that must be issued keep their Secret until the issuing phase.
- **Protobuf for built-in types.** Secrets and Events travel as protobuf; the CRDs can only be JSON.
- **Seven writes per issuance, events included:** create the next-key Secret, create the CertificateRequest, write its approval and signature in one status update, apply the Secret, update the Certificate status, one ` + "`Issuing`" + ` event, delete the next-key Secret. Every step is idempotent and adopts what a crashed run left, so a retry never makes a second request for a revision.
- **A no-op sweep writes nothing**, and a mixed sweep writes only to what is due.
- **Concurrency.** Workers default to 8 × GOMAXPROCS (` + "`CERTSWEEP_CONCURRENCY`" + `): issuing is mostly waiting on API round trips, and RSA key generation, the CPU-bound part, is bounded by the cores whatever the count. Client QPS/burst default to 1000/2000 (` + "`CERTSWEEP_KUBE_QPS`, `CERTSWEEP_KUBE_BURST`" + `); on a shared cluster, API Priority and Fairness decides what a sweep gets, and its 429s are retried as client-go honours Retry-After. LIST pages are retried on 429, 5xx and timeouts with go-retry, and a LIST whose continue token expired (410 Gone) restarts from the beginning.

## Where the time goes

On this machine the sweep, kube-apiserver and etcd share two cores. The write floor row shows the API server's own time for exactly the writes an issuance makes, with no key generation, signing or deciding: issuance wall time is held to that floor, not to zero. The server CPU column shows the control plane's CPU during each run; when it is close to twice the wall time, both cores were busy serving the API, and a faster sweep could not have finished sooner.
`
