package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"
	"time"
)

// acmeHeading starts the ACME section of docs/performance.md; the section
// runs to the next "## " heading.
const acmeHeading = "## ACME issuance"

// printACME prints the ACME runs as a table.
func printACME(w io.Writer, a acmeResult) {
	fmt.Fprintf(w, "ACME, %d Certificates:\n", a.N)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "run\twall\tReady\tAPI requests\tAPI writes\tCA requests\tnew orders\t")
	for i, r := range a.runs() {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%d\t\n", a.runLabel(i), secs(r.Wall), r.Ready, r.Requests.total(), r.Requests.writes(), r.CA.total(), r.NewOrders)
	}
	_ = tw.Flush()
}

func (a acmeResult) runs() []acmeRun { return append(append([]acmeRun(nil), a.ToReady...), a.After...) }

func (a acmeResult) runLabel(i int) string {
	if i < len(a.ToReady) {
		return fmt.Sprint(i + 1)
	}
	return fmt.Sprintf("%d (after Ready)", i+1)
}

// acmeSection renders the ACME section of the report; runErr, when the
// scenario stopped short, is shown in it.
func acmeSection(a acmeResult, runErr error) string {
	var b bytes.Buffer
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	m := a.Machine
	p("%s\n\n", acmeHeading)
	if a.Only {
		p("Measured by `go run ./test/bench -acme-only -acme-size %d` (`make bench BENCH_FLAGS=-acme-only`), which reruns only this part of `make bench` and rewrites only this section,", a.N)
	} else {
		p("Measured by the same `make bench` (`-acme-size %d`; `-acme-only` reruns only this part and rewrites only this section),", a.N)
	}
	p(" on %s: %d cores, %s, %.0f GiB memory, Linux %s; %s; kube-apiserver %s and etcd %s.\n\n",
		a.Started.UTC().Format("2006-01-02"), m.Cores, m.CPU, m.MemoryGiB, m.Kernel, m.Go, m.APIServer, m.Etcd)
	p("- A fresh control plane, BIND 9 (`%s`) authoritative for `%s`, and Pebble %s (`test/tools/pebble`), all started by `test/harness` on loopback as the end-to-end tests start them, sharing the machine with the sweep. Pebble keeps its defaults: 5%% of good nonces are refused with `badNonce` (the client retries), authorizations are not reused across these distinct names.\n", a.Bind, acmeZone, a.Pebble)
	p("- Load average (1, 5, 15 minutes) as the first run started: %s; above the number of cores, more work wanted the CPU than there were cores, and wall times include the wait.\n", a.Load)
	p("- An ACME Issuer with profile `shortlived`, solving DNS-01 with `rfc2136` (TSIG, hmac-sha256, from a Secret), and %d Certificates (ECDSA P-256, one name each, `c-NNNNN.%s`).\n", a.N, strings.TrimSuffix(acmeZone, "."))
	p("- The certsweep binary runs as in the other scenarios, with `%s`, until every Certificate is Ready (at most %d runs), then until a run writes nothing (at most 2 more).\n", strings.Join(displayEnv(a.Env), " "), a.MaxRuns)
	p("- API requests are counted by the API server (`apiserver_request_total`, certsweep's resources including `orders` and `challenges`). CA requests and their answers (status, ACME problem type) are counted by `test/harness`'s `ACMEProxy`, the HTTPS proxy in front of Pebble the end-to-end tests inject CA faults with, here injecting none: the Issuer's `server` and `caBundle` point at it, and Pebble builds every URL it hands out from the request's Host, so every request of the ACME flow passes through it. Pebble's log, which records each request it handles, is the cross-check. Orders are counted three ways: `newOrder` requests answered `201 Created` at the proxy, `Added order` lines in Pebble's log, and the Order objects.\n\n")
	if runErr != nil {
		p("**The scenario stopped short:** %s\n\n", oneLine(runErr.Error()))
	}
	if len(a.ToReady) == 0 {
		return b.String()
	}

	all := a.runs()
	_, allAPI, allCA, _ := sumRuns(all)
	_ = allAPI
	allLog := 0
	for _, r := range all {
		allLog += r.PebbleLog
	}
	lastReady := a.ToReady[len(a.ToReady)-1].Ready
	p("| target | measured | met |\n|---|---|---|\n")
	p("| runs until all %d Ready (at most %d) | %d (%d Ready) | %s |\n", a.N, a.MaxRuns, len(a.ToReady), lastReady, yes(a.ready()))
	oneOrder := a.CANewOrders == a.N && a.PebbleOrders == a.N && a.Orders == a.N && a.OrdersValid == a.N && a.OrdersPerCR == 1
	p("| exactly one order per Certificate | %d `newOrder` answered 201, %d added in Pebble's log, %d Order objects (%d valid, at most %d per request) | %s |\n",
		a.CANewOrders, a.PebbleOrders, a.Orders, a.OrdersValid, a.OrdersPerCR, yes(oneOrder))
	p("| one CertificateRequest per Certificate | %d | %s |\n", a.Requests, yes(a.Requests == a.N))
	p("| certificates of the `shortlived` profile (6 days) | %d Secrets, leaves of %s to %s | %s |\n", a.Issued, days(a.MinLifetime), days(a.MaxLifetime),
		yes(a.Issued == a.N && a.MaxLifetime > 0 && a.MaxLifetime <= 7*24*time.Hour))
	p("| no Challenge and no DNS-01 TXT record left | %d Challenges, %d TXT records | %s |\n", a.Challenges, a.TXTLeft, yes(a.Challenges == 0 && a.TXTLeft == 0))
	if len(a.After) > 0 {
		last := a.After[len(a.After)-1]
		p("| the last run writes nothing | %d writes, %d CA requests | %s |\n", last.Requests.writes(), last.CA.total(), yes(a.settled()))
	}
	p("| CA requests: proxy against Pebble's log, all runs | %d and %d | %s |\n\n", allCA.total(), allLog, yes(allCA.total() == allLog))

	p("| run | wall | CPU | peak RSS | Ready after | API requests | API writes | API error answers | CA requests | new orders | CA error answers | server CPU | summary |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	for i, r := range all {
		p("| %s | %s | %s | %.0f MiB | %d | %d | %d | %s | %d | %d | %s | %s | `%s` |\n", a.runLabel(i), secs(r.Wall), secs(r.CPU), mib(r.PeakRSS), r.Ready,
			r.Requests.total(), r.Requests.writes(), orNone(r.APIErrors.String()), r.CA.total(), r.NewOrders, orNone(r.Problems.String()), secs(r.ServerCPU), r.Summary)
	}
	p("\n")

	wall, api, ca, problems := sumRuns(a.ToReady)
	n := float64(a.N)
	p("Per Certificate:\n\n| per Certificate | runs to Ready (%d) | runs after Ready (%d) |\n|---|---|---|\n", len(a.ToReady), len(a.After))
	aWall, aAPI, aCA, _ := sumRuns(a.After)
	p("| wall | %.1f ms (%s in all) | %.1f ms (%s in all) |\n", perCert(wall, a.N), secs(wall), perCert(aWall, a.N), secs(aWall))
	p("| API requests | %.2f (%s) | %.2f (%s) |\n", float64(api.total())/n, byVerb(api, n), float64(aAPI.total())/n, byVerb(aAPI, n))
	p("| API writes | %.2f | %.2f |\n", float64(api.writes())/n, float64(aAPI.writes())/n)
	p("| CA requests | %.2f (%s) | %.2f (%s) |\n", float64(ca.total())/n, perEndpoint(ca, n), float64(aCA.total())/n, perEndpoint(aCA, n))
	_, _, _, aProblems := sumRuns(a.After)
	p("| CA requests less `badNonce` retries | %.2f | %.2f |\n", float64(ca.total()-problems["badNonce"])/n, float64(aCA.total()-aProblems["badNonce"])/n)
	newOrders := 0
	for _, r := range a.ToReady {
		newOrders += r.NewOrders
	}
	aNewOrders := a.CANewOrders - newOrders
	p("| new orders | %.2f | %.2f |\n\n", float64(newOrders)/n, float64(aNewOrders)/n)

	p("API requests of the runs to Ready, as the API server counted them: `%s`", api)
	if _, _, _, _, apiErrors := sumRunsErr(a.ToReady); len(apiErrors) > 0 {
		p("; of them answered with an error: `%s`", apiErrors)
	}
	p(".\n\n")
	p("CA requests of the runs to Ready, as the proxy counted them: `%s`", ca)
	if len(problems) > 0 {
		p("; of them error answers: `%s`", problems)
	}
	p(".\n\n")
	if len(a.After) > 0 {
		p("Runs after Ready: API `%s`; CA `%s`", orNone(aAPI.String()), orNone(aCA.String()))
		if _, _, _, _, apiErrors := sumRunsErr(a.After); len(apiErrors) > 0 {
			p("; API error answers: `%s`", apiErrors)
		}
		p(".\n\n")
	}
	p("%s", acmeNotes)
	return b.String()
}

// acmeNotes says what the ACME numbers consist of. It changes with the
// code, not with a bench run.
const acmeNotes = `What a Certificate costs at the CA: one ` + "`newOrder`" + `, one authorization read before its Challenge is made, one challenge ` + "`accept`" + ` once the TXT record is seen through ` + "`CERTSWEEP_DNS01_RECURSIVE_NAMESERVERS`" + `, challenge and order reads each second (` + "`acmePollInterval`" + `) while Pebble validates, one ` + "`finalize`" + `, one order read and one ` + "`certificate`" + ` download; each run adds the directory, a nonce and the account lookup (` + "`newAccount`" + ` with the stored key) once per Issuer. Every write of an order's progress goes to its Order or Challenge object first, so a run that stops anywhere leaves the next one to continue the same order. Before a final order's certificate is stored, the namespace's Challenges are listed (one ` + "`LIST challenges`" + ` per Certificate, of every Challenge in the namespace, kept to the Order's own by owner) and any of its own left, with its TXT record, removed. With ARI on (the default), the run after issuance fetches each new certificate's suggested renewal window (one ` + "`renewalInfo`" + ` GET) into ` + "`status.acme.ari`" + ` and then moves ` + "`renewalTime`" + ` into it, each a status write; the run after that has nothing to do.
`

// displayEnv hides the loopback ports, which change from run to run.
func displayEnv(env []string) []string {
	out := make([]string, len(env))
	for i, e := range env {
		if k, _, ok := strings.Cut(e, "="); ok && k == "CERTSWEEP_DNS01_RECURSIVE_NAMESERVERS" {
			e = k + "=<BIND's address>"
		}
		out[i] = e
	}
	return out
}

// byVerb renders requests per Certificate by verb.
func byVerb(r requestCounts, n float64) string {
	verbs := map[string]int{}
	for k, v := range r {
		verb, _, _ := strings.Cut(k, " ")
		verbs[verb] += v
	}
	return perKey(verbs, n)
}

// perEndpoint renders CA requests per Certificate by "METHOD endpoint".
func perEndpoint(c caCounts, n float64) string { return perKey(c, n) }

func perKey(m map[string]int, n float64) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %.2f", k, float64(m[k])/n))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func days(d time.Duration) string {
	return fmt.Sprintf("%s (%.2f days)", d, d.Hours()/24)
}

// mergeACMEReport replaces the ACME section of the report at path with a
// fresh one, or adds it before the Go benchmarks (or at the end); the rest
// of the report is kept as it is.
func mergeACMEReport(path string, a acmeResult, runErr error) error {
	section := acmeSection(a, runErr)
	old, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		old = nil
	} else if err != nil {
		return fmt.Errorf("reading %s: %w", path, err)
	}
	out := replaceSection(string(old), acmeHeading, section, "## Hot paths")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, []byte(out), 0o644)
}

// replaceSection replaces the section of doc starting with the line heading
// and running to the next "## " heading with section, or inserts section
// before the line before (or at the end) when doc has no such section.
func replaceSection(doc, heading, section, before string) string {
	section = strings.TrimRight(section, "\n") + "\n\n"
	if start := lineIndex(doc, heading); start >= 0 {
		end := len(doc)
		if next := strings.Index(doc[start+len(heading):], "\n## "); next >= 0 {
			end = start + len(heading) + next + 1
		}
		rest := doc[end:]
		if rest == "" {
			section = strings.TrimRight(section, "\n") + "\n"
		}
		return doc[:start] + section + rest
	}
	if at := lineIndex(doc, before); at >= 0 {
		head := strings.TrimRight(doc[:at], "\n") + "\n\n"
		return head + section + doc[at:]
	}
	if doc == "" {
		return strings.TrimRight(section, "\n") + "\n"
	}
	return strings.TrimRight(doc, "\n") + "\n\n" + strings.TrimRight(section, "\n") + "\n"
}

// lineIndex finds s at the start of a line of doc.
func lineIndex(doc, s string) int {
	for i := 0; i <= len(doc)-len(s); {
		j := strings.Index(doc[i:], s)
		if j < 0 {
			return -1
		}
		at := i + j
		if at == 0 || doc[at-1] == '\n' {
			return at
		}
		i = at + 1
	}
	return -1
}
