// Command bench is `make bench`: it measures the certsweep binary against a
// real kube-apiserver and etcd (test/harness) at several sizes, prints a
// table, and writes docs/performance.md and the growth plot
// docs/performance.png.
//
// Every size gets a fresh control plane. The scenarios, in order:
//   - issue: N new ECDSA P-256 Certificates of a CA Issuer, swept until Ready;
//   - no-op: sweeps over the N Ready Certificates, each next to the raw
//     paginated LIST of the same objects (the floor);
//   - mixed: 2% of the Certificates get a spec change, and one sweep
//     reissues exactly those.
//
// Then, on one more fresh control plane with BIND 9 and Pebble (acme.go):
//   - acme: -acme-size Certificates of an ACME Issuer, DNS-01 through
//     RFC 2136, swept until Ready and then until a run writes nothing,
//     counting the requests to the API server and to the CA. -acme-only
//     runs just this and rewrites only its section of the report.
//
// It is a benchmark, not a test: it asserts nothing about time, and records
// what it measured together with how.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	cmclient "github.com/cert-manager/cert-manager/pkg/client/clientset/versioned"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/certsweep/certsweep/test/bench/plot"
	"github.com/certsweep/certsweep/test/harness"
)

type config struct {
	binary   string
	sizes    []int
	repeats  int
	dueEvery int
	micro    string
	out      string
	plot     string
	env      []string
	floorMax int

	acmeSize    int           // Certificates in the ACME scenario; 0: skip it
	acmeOnly    bool          // run only the ACME scenario
	acmeWait    time.Duration // CERTSWEEP_ACME_WAIT of its runs
	acmeMaxRuns int           // runs allowed to get every ACME Certificate Ready
}

func main() {
	var cfg config
	var sizes, env string
	flag.StringVar(&cfg.binary, "certsweep", "bin/certsweep", "the certsweep binary to measure")
	flag.StringVar(&sizes, "sizes", "1000,5000,10000,20000", "numbers of Certificates, comma-separated")
	flag.IntVar(&cfg.repeats, "repeats", 3, "no-op sweeps (and floor LISTs) per size; the median is reported")
	flag.IntVar(&cfg.dueEvery, "due-every", 50, "in the mixed scenario, every n-th Certificate is due (50: 2%)")
	flag.StringVar(&cfg.micro, "micro", "", "file with `go test -bench` output to include in the report")
	flag.StringVar(&cfg.out, "out", "docs/performance.md", "report to write (empty: none)")
	flag.StringVar(&cfg.plot, "plot", "docs/performance.png", "growth plot to write (empty: none)")
	flag.IntVar(&cfg.floorMax, "write-floor-max", 5000, "measure the issuance write floor at sizes up to this")
	flag.StringVar(&env, "env", "", "extra CERTSWEEP_* settings for the measured runs, comma-separated K=V")
	flag.IntVar(&cfg.acmeSize, "acme-size", 100, "Certificates issued through ACME (Pebble, DNS-01 via BIND 9); 0: skip the ACME scenario")
	flag.BoolVar(&cfg.acmeOnly, "acme-only", false, "run only the ACME scenario and replace only its section of the report")
	flag.DurationVar(&cfg.acmeWait, "acme-wait", 60*time.Second, "CERTSWEEP_ACME_WAIT of the ACME runs")
	flag.IntVar(&cfg.acmeMaxRuns, "acme-max-runs", 10, "runs allowed to get every ACME Certificate Ready")
	flag.StringVar(&logDir, "logs", "", "keep the log of every certsweep run in this directory (run-NNN.log)")
	flag.Parse()
	if logDir != "" {
		if err := os.MkdirAll(logDir, 0o755); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(2)
		}
	}
	if cfg.acmeOnly {
		sizes = ""
		if cfg.acmeSize <= 0 {
			fmt.Fprintln(os.Stderr, "bench: -acme-only needs -acme-size > 0")
			os.Exit(2)
		}
	}
	for _, s := range strings.Split(sizes, ",") {
		if strings.TrimSpace(s) == "" && cfg.acmeOnly {
			continue
		}
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n <= 0 {
			fmt.Fprintf(os.Stderr, "bench: bad size %q\n", s)
			os.Exit(2)
		}
		cfg.sizes = append(cfg.sizes, n)
	}
	if env != "" {
		cfg.env = strings.Split(env, ",")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := bench(ctx, cfg); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// sizeResult is everything measured at one size.
type sizeResult struct {
	N            int
	Seed         time.Duration
	Issue        run
	IssueSweeps  int
	Ready        int
	Noop         run // the median no-op sweep by wall time
	NoopWrites   int // the most any no-op sweep wrote
	Floor        time.Duration
	FloorObjects int
	Mixed        run
	Due          int
	Changed      int  // Certificates whose object or Secret the mixed sweep wrote
	Exact        bool // Changed is exactly the due set
	// WriteFloor is the raw client's time for the same seven writes per
	// Certificate (zero when not measured at this size), and
	// WriteFloorServer the control plane's CPU for them.
	WriteFloor       time.Duration
	WriteFloorServer time.Duration
}

type results struct {
	Started     time.Time
	Machine     machine
	BinaryBytes int64
	ColdStart   time.Duration
	ColdWorst   time.Duration
	Sizes       []sizeResult
	Micro       string
	Env         []string
	Repeats     int
	ACME        *acmeResult // nil: not measured
	ACMEErr     error       // why the ACME scenario stopped short
}

func bench(ctx context.Context, cfg config) error {
	if cfg.acmeOnly {
		return benchACMEOnly(ctx, cfg)
	}
	res := results{Started: time.Now(), Env: cfg.env, Repeats: cfg.repeats}
	info, err := os.Stat(cfg.binary)
	if err != nil {
		return fmt.Errorf("the certsweep binary (make build): %w", err)
	}
	res.BinaryBytes = info.Size()
	if cfg.micro != "" {
		raw, err := os.ReadFile(cfg.micro)
		if err != nil {
			return fmt.Errorf("reading micro-benchmarks: %w", err)
		}
		res.Micro = string(raw)
	}
	fmt.Println("==> cold start")
	if res.ColdStart, res.ColdWorst, err = coldStart(ctx, cfg.binary, 21); err != nil {
		return fmt.Errorf("measuring cold start: %w", err)
	}
	fmt.Printf("    process start to first API connection: median %s, worst %s; binary %.1f MiB\n",
		res.ColdStart.Round(time.Microsecond*100), res.ColdWorst.Round(time.Microsecond*100), float64(res.BinaryBytes)/(1<<20))

	for _, n := range cfg.sizes {
		r, m, err := benchSize(ctx, cfg, n)
		if err != nil {
			return fmt.Errorf("at N=%d: %w", n, err)
		}
		res.Machine = m
		res.Sizes = append(res.Sizes, r)
	}
	if cfg.acmeSize > 0 {
		a, err := benchACME(ctx, cfg)
		res.ACME, res.ACMEErr = &a, err
	}
	printTable(os.Stdout, res)
	if res.ACME != nil {
		printACME(os.Stdout, *res.ACME)
	}
	if cfg.plot != "" {
		if err := plot.WritePNG(cfg.plot, "certsweep growth: "+res.Machine.summary(), growthSeries(res)); err != nil {
			return err
		}
		fmt.Println("wrote", cfg.plot)
	}
	if cfg.out != "" {
		if err := writeReport(cfg.out, cfg.plot, res); err != nil {
			return err
		}
		fmt.Println("wrote", cfg.out)
	}
	if res.ACMEErr != nil {
		return fmt.Errorf("ACME scenario: %w", res.ACMEErr)
	}
	return nil
}

// benchACMEOnly runs only the ACME scenario and replaces the ACME section
// of an existing report (or writes a report of that section alone).
func benchACMEOnly(ctx context.Context, cfg config) error {
	a, err := benchACME(ctx, cfg)
	printACME(os.Stdout, a)
	if cfg.out != "" && (err == nil || len(a.ToReady) > 0) {
		if werr := mergeACMEReport(cfg.out, a, err); werr != nil {
			return werr
		}
		fmt.Println("wrote the ACME section of", cfg.out)
	}
	if err != nil {
		return fmt.Errorf("ACME scenario: %w", err)
	}
	return nil
}

func benchSize(ctx context.Context, cfg config, n int) (sizeResult, machine, error) {
	r := sizeResult{N: n}
	fmt.Printf("==> N=%d: starting a fresh control plane\n", n)
	cp, err := harness.Start(ctx, harness.Options{})
	if err != nil {
		return r, machine{}, err
	}
	defer cp.Stop()
	admin := rest.CopyConfig(cp.Config)
	admin.QPS = -1 // seeding and checks are not what is measured
	kube, err := kubernetes.NewForConfig(admin)
	if err != nil {
		return r, machine{}, err
	}
	cm, err := cmclient.NewForConfig(admin)
	if err != nil {
		return r, machine{}, err
	}
	m := readMachine(ctx, kube)

	if err := setupCA(ctx, kube, cm); err != nil {
		return r, m, err
	}
	start := time.Now()
	if err := seedCertificates(ctx, cm, n); err != nil {
		return r, m, err
	}
	r.Seed = time.Since(start)
	fmt.Printf("    seeded %d Certificates in %s\n", n, r.Seed.Round(time.Millisecond))

	// Issue: sweep until every Certificate is Ready (one sweep, by design);
	// the first sweep is the one measured.
	for r.IssueSweeps < 3 && r.Ready < n {
		got, err := sweep(ctx, cp, kube, cfg.binary, cfg.env)
		if err != nil {
			return r, m, err
		}
		if r.IssueSweeps == 0 {
			r.Issue = got
		}
		r.IssueSweeps++
		if r.Ready, err = countReady(ctx, cm); err != nil {
			return r, m, err
		}
		fmt.Printf("    issue sweep %d: %d/%d Ready; wall %s, CPU %s, server CPU %s, %d writes, peak RSS %.0f MiB\n",
			r.IssueSweeps, r.Ready, n, got.Wall.Round(time.Millisecond), got.CPU.Round(time.Millisecond), got.ServerCPU.Round(time.Millisecond), got.Requests.writes(), mib(got.PeakRSS))
	}
	if r.Ready < n {
		return r, m, fmt.Errorf("only %d of %d Certificates Ready after %d sweeps", r.Ready, n, r.IssueSweeps)
	}

	// No-op: alternate the floor and the sweep so both see the same server.
	var floors []time.Duration
	var noops []run
	for i := range cfg.repeats {
		floor, objects, err := rawList(ctx, cp.Config)
		if err != nil {
			return r, m, fmt.Errorf("raw LIST: %w", err)
		}
		floors = append(floors, floor)
		r.FloorObjects = objects
		got, err := sweep(ctx, cp, kube, cfg.binary, cfg.env)
		if err != nil {
			return r, m, err
		}
		noops = append(noops, got)
		r.NoopWrites = max(r.NoopWrites, got.Requests.writes())
		fmt.Printf("    no-op %d: floor %s (%d objects), sweep %s, CPU %s, server CPU %s, %d writes, peak RSS %.0f MiB, heap %.0f MiB\n",
			i+1, floor.Round(time.Millisecond), objects, got.Wall.Round(time.Millisecond), got.CPU.Round(time.Millisecond), got.ServerCPU.Round(time.Millisecond), got.Requests.writes(), mib(got.PeakRSS), mib(got.HeapSys))
	}
	r.Floor = median(floors)
	r.Noop = medianRun(noops)

	// Mixed: a few Certificates due, the rest untouched.
	due, err := makeDue(ctx, cm, n, cfg.dueEvery)
	if err != nil {
		return r, m, err
	}
	r.Due = len(due)
	before, err := readVersions(ctx, kube, cm)
	if err != nil {
		return r, m, err
	}
	if r.Mixed, err = sweep(ctx, cp, kube, cfg.binary, cfg.env); err != nil {
		return r, m, err
	}
	after, err := readVersions(ctx, kube, cm)
	if err != nil {
		return r, m, err
	}
	changed := after.changedSince(before)
	r.Changed = len(changed)
	r.Exact = len(changed) == len(due)
	for name := range changed {
		if !due[name] {
			r.Exact = false
		}
	}
	fmt.Printf("    mixed: %d due, %d written to (exactly those: %v); %s; wall %s, %d writes\n",
		r.Due, r.Changed, r.Exact, r.Mixed.Summary, r.Mixed.Wall.Round(time.Millisecond), r.Mixed.Requests.writes())
	if !r.Exact {
		return r, m, errors.New("the mixed sweep wrote to Certificates that were not due, or missed some that were")
	}
	if n <= cfg.floorMax {
		if r.WriteFloor, r.WriteFloorServer, err = writeFloor(ctx, cp, n); err != nil {
			return r, m, err
		}
		fmt.Printf("    write floor: %d x 7 writes by a raw client in %s (%.2f ms/cert), server CPU %s; certsweep's issuance is %.2fx that\n",
			n, r.WriteFloor.Round(time.Millisecond), perCert(r.WriteFloor, n), r.WriteFloorServer.Round(time.Millisecond), ratio(r.Issue.Wall, r.WriteFloor))
	}
	return r, m, nil
}

// medianRun picks the run with the median wall time.
func medianRun(runs []run) run {
	walls := make([]time.Duration, len(runs))
	for i, r := range runs {
		walls[i] = r.Wall
	}
	mid := median(walls)
	for _, r := range runs {
		if r.Wall == mid {
			return r
		}
	}
	return runs[0]
}

func mib(b uint64) float64 { return float64(b) / (1 << 20) }

func growthSeries(res results) []plot.Series {
	var issue, noop, floor, mixed plot.Series
	issue.Name, noop.Name, floor.Name, mixed.Name = "issue (all new)", "no-op sweep", "raw LIST floor", "mixed (2% due)"
	for _, s := range res.Sizes {
		issue.Samples = append(issue.Samples, sample(s.N, s.Issue))
		noop.Samples = append(noop.Samples, sample(s.N, s.Noop))
		floor.Samples = append(floor.Samples, plot.Sample{N: s.N, Wall: s.Floor})
		mixed.Samples = append(mixed.Samples, sample(s.N, s.Mixed))
	}
	return []plot.Series{issue, noop, mixed, floor}
}

func sample(n int, r run) plot.Sample {
	return plot.Sample{N: n, Wall: r.Wall, CPU: r.CPU, PeakRSSBytes: r.PeakRSS, Requests: r.Requests.total()}
}
