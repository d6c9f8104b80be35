package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmclient "github.com/cert-manager/cert-manager/pkg/client/clientset/versioned"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/certsweep/certsweep/test/harness"
)

// run is one measured certsweep process.
type run struct {
	Wall    time.Duration
	CPU     time.Duration // user + system of the certsweep process
	PeakRSS uint64        // bytes
	HeapSys uint64        // bytes: the Go heap's high-water mark, as the process reported it
	// ServerCPU is what etcd and kube-apiserver spent during the run.
	ServerCPU time.Duration
	Requests  requestCounts
	Summary   string
}

// requestCounts are API requests by "VERB resource[/subresource]", as the
// API server counted them.
type requestCounts map[string]int

func (r requestCounts) total() int {
	n := 0
	for _, v := range r {
		n += v
	}
	return n
}

// writes counts every request that changes something.
func (r requestCounts) writes() int {
	n := 0
	for k, v := range r {
		verb, _, _ := strings.Cut(k, " ")
		switch verb {
		case "GET", "LIST", "WATCH":
		default:
			n += v
		}
	}
	return n
}

func (r requestCounts) verb(verb string) int {
	n := 0
	for k, v := range r {
		if strings.HasPrefix(k, verb+" ") {
			n += v
		}
	}
	return n
}

// of counts one verb on one resource.
func (r requestCounts) of(verb, resource string) int { return r[verb+" "+resource] }

func (r requestCounts) String() string {
	keys := make([]string, 0, len(r))
	for k := range r {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s=%d", k, r[k]))
	}
	return strings.Join(parts, " ")
}

// watchedResources are the resources certsweep touches; the API server's
// own background requests (leases, flow control) are left out of the counts.
var watchedResources = map[string]bool{
	"certificates": true, "certificaterequests": true, "secrets": true,
	"events": true, "issuers": true, "clusterissuers": true,
	"orders": true, "challenges": true,
	"certificatesigningrequests": true, "subjectaccessreviews": true,
}

// scrapeRequests reads apiserver_request_total from the API server's
// metrics, so requests are counted where they arrive, not by our client.
func scrapeRequests(ctx context.Context, kube kubernetes.Interface) (requestCounts, error) {
	return scrapeRequestsBy(ctx, kube, func(labels map[string]string) string {
		key := labels["verb"] + " " + labels["resource"]
		if sub := labels["subresource"]; sub != "" {
			key += "/" + sub
		}
		return key
	})
}

// scrapeErrorAnswers is scrapeRequests for the requests the API server
// answered with something other than 2xx, by "VERB resource[/sub] code".
func scrapeErrorAnswers(ctx context.Context, kube kubernetes.Interface) (requestCounts, error) {
	return scrapeRequestsBy(ctx, kube, func(labels map[string]string) string {
		if strings.HasPrefix(labels["code"], "2") {
			return ""
		}
		key := labels["verb"] + " " + labels["resource"]
		if sub := labels["subresource"]; sub != "" {
			key += "/" + sub
		}
		return key + " " + labels["code"]
	})
}

// scrapeRequestsBy adds up apiserver_request_total of certsweep's
// resources by key(labels); an empty key leaves the series out.
func scrapeRequestsBy(ctx context.Context, kube kubernetes.Interface, key func(map[string]string) string) (requestCounts, error) {
	raw, err := kube.CoreV1().RESTClient().Get().AbsPath("/metrics").DoRaw(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading API server metrics: %w", err)
	}
	counts := requestCounts{}
	sc := bufio.NewScanner(bytes.NewReader(raw))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "apiserver_request_total{") {
			continue
		}
		end := strings.LastIndexByte(line, '}')
		if end < 0 {
			continue
		}
		value, err := strconv.ParseFloat(strings.TrimSpace(line[end+1:]), 64)
		if err != nil {
			continue
		}
		labels := parseLabels(line[len("apiserver_request_total{"):end])
		if !watchedResources[labels["resource"]] {
			continue
		}
		if k := key(labels); k != "" {
			counts[k] += int(value)
		}
	}
	return counts, sc.Err()
}

// parseLabels splits a Prometheus label set: k="v",k2="v2". Label values
// here never contain quotes or commas.
func parseLabels(s string) map[string]string {
	out := map[string]string{}
	for _, part := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(part, "=")
		if ok {
			out[k] = strings.Trim(v, `"`)
		}
	}
	return out
}

func (r requestCounts) minus(before requestCounts) requestCounts {
	out := requestCounts{}
	for k, v := range r {
		if d := v - before[k]; d > 0 {
			out[k] = d
		}
	}
	return out
}

// processCPU reads a process's user+system CPU time from /proc.
func processCPU(pid int) (time.Duration, error) {
	raw, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return 0, fmt.Errorf("reading CPU time of pid %d: %w", pid, err)
	}
	// The command name may hold spaces; fields are counted after its ')'.
	fields := strings.Fields(string(raw[bytes.LastIndexByte(raw, ')')+1:]))
	if len(fields) < 13 {
		return 0, fmt.Errorf("short /proc/%d/stat", pid)
	}
	utime, _ := strconv.ParseInt(fields[11], 10, 64)
	stime, _ := strconv.ParseInt(fields[12], 10, 64)
	const ticksPerSecond = 100 // USER_HZ on Linux
	return time.Duration(utime+stime) * time.Second / ticksPerSecond, nil
}

func serverCPU(cp *harness.ControlPlane) (time.Duration, error) {
	etcd, apiserver := cp.PIDs()
	a, err := processCPU(etcd)
	if err != nil {
		return 0, err
	}
	b, err := processCPU(apiserver)
	return a + b, err
}

// logDir, when set (-logs), keeps the log of every certsweep run there,
// numbered by runCount.
var (
	logDir   string
	runCount int
)

// sweep runs the certsweep binary once, as the CronJob's pod would, and
// measures it from outside: wall time, CPU and peak RSS from the kernel's
// accounting, requests from the API server.
func sweep(ctx context.Context, cp *harness.ControlPlane, kube kubernetes.Interface, binary string, env []string) (run, error) {
	before, err := scrapeRequests(ctx, kube)
	if err != nil {
		return run{}, err
	}
	cpu0, err := serverCPU(cp)
	if err != nil {
		return run{}, err
	}
	var stdout, stderr bytes.Buffer
	runCount++
	cmd := exec.CommandContext(ctx, binary, "run")
	cmd.Env = append(append(os.Environ(), "KUBECONFIG="+cp.Kubeconfig, "CERTSWEEP_LOG_FORMAT=json", "CERTSWEEP_LOG_LEVEL=debug"), env...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err = cmd.Run()
	wall := time.Since(start)
	if logDir != "" {
		_ = os.WriteFile(filepath.Join(logDir, fmt.Sprintf("run-%03d.log", runCount)), stderr.Bytes(), 0o644)
	}
	if err != nil {
		return run{}, fmt.Errorf("certsweep run: %w: %s", err, lastLines(stderr.String(), 5))
	}
	cpu1, err := serverCPU(cp)
	if err != nil {
		return run{}, err
	}
	after, err := scrapeRequests(ctx, kube)
	if err != nil {
		return run{}, err
	}
	usage, _ := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	r := run{
		Wall:      wall,
		CPU:       cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime(),
		ServerCPU: cpu1 - cpu0,
		Requests:  after.minus(before),
		Summary:   strings.TrimSpace(stdout.String()),
		HeapSys:   heapFromLog(stderr.Bytes()),
	}
	if usage != nil {
		r.PeakRSS = uint64(usage.Maxrss) * 1024 // Linux reports KiB
	}
	return r, nil
}

// heapFromLog finds the "memory" debug line certsweep logs at exit.
func heapFromLog(log []byte) uint64 {
	sc := bufio.NewScanner(bytes.NewReader(log))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var line struct {
			Msg     string `json:"msg"`
			HeapSys uint64 `json:"heapSysBytes"`
		}
		if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "memory" {
			return line.HeapSys
		}
	}
	return 0
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// rawList is the floor a no-op sweep is held to: the same paginated LISTs
// certsweep makes (Certificates, CertificateRequests, Secrets carrying
// cert-manager's label, Kubernetes CertificateSigningRequests), decoded into the same typed objects over the same
// encodings (protobuf for Secrets, JSON for the CRDs), through a fresh
// client as a new process would have, and nothing else.
func rawList(ctx context.Context, cfg *rest.Config) (time.Duration, int, error) {
	start := time.Now()
	kcfg := rest.CopyConfig(cfg)
	kcfg.QPS = -1
	kcfg.ContentType = "application/vnd.kubernetes.protobuf"
	kcfg.AcceptContentTypes = "application/vnd.kubernetes.protobuf,application/json"
	kube, err := kubernetes.NewForConfig(kcfg)
	if err != nil {
		return 0, 0, err
	}
	ccfg := rest.CopyConfig(cfg)
	ccfg.QPS = -1
	cm, err := cmclient.NewForConfig(ccfg)
	if err != nil {
		return 0, 0, err
	}
	objects := 0
	err = eachPage(ctx, "", func(opts metav1.ListOptions) (string, error) {
		list, err := cm.CertmanagerV1().Certificates(benchNamespace).List(ctx, opts)
		if err != nil {
			return "", err
		}
		objects += len(list.Items)
		return list.Continue, nil
	})
	if err != nil {
		return 0, 0, err
	}
	err = eachPage(ctx, "", func(opts metav1.ListOptions) (string, error) {
		list, err := cm.CertmanagerV1().CertificateRequests(benchNamespace).List(ctx, opts)
		if err != nil {
			return "", err
		}
		objects += len(list.Items)
		return list.Continue, nil
	})
	if err != nil {
		return 0, 0, err
	}
	err = eachPage(ctx, cmapi.PartOfCertManagerControllerLabelKey+"=true", func(opts metav1.ListOptions) (string, error) {
		list, err := kube.CoreV1().Secrets(benchNamespace).List(ctx, opts)
		if err != nil {
			return "", err
		}
		objects += len(list.Items)
		return list.Continue, nil
	})
	if err != nil {
		return 0, 0, err
	}
	err = eachPage(ctx, "", func(opts metav1.ListOptions) (string, error) {
		list, err := kube.CertificatesV1().CertificateSigningRequests().List(ctx, opts)
		if err != nil {
			return "", err
		}
		objects += len(list.Items)
		return list.Continue, nil
	})
	return time.Since(start), objects, err
}

// eachPage walks a LIST in pages of 500, as certsweep does by default;
// page fetches one page and returns the continue token.
func eachPage(ctx context.Context, selector string, page func(metav1.ListOptions) (string, error)) error {
	opts := metav1.ListOptions{Limit: 500, LabelSelector: selector}
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		next, err := page(opts)
		if err != nil {
			return err
		}
		if next == "" {
			return nil
		}
		opts.Continue = next
	}
}

// coldStart measures from just before the process is started to the moment
// its first connection to the API server arrives, with a listener standing
// in for the API server. It returns the median of several tries.
func coldStart(ctx context.Context, binary string, tries int) (median, worst time.Duration, err error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, 0, err
	}
	defer ln.Close()
	dir, err := os.MkdirTemp("", "certsweep-coldstart-")
	if err != nil {
		return 0, 0, err
	}
	defer os.RemoveAll(dir)
	kubeconfig := filepath.Join(dir, "kubeconfig")
	cfg := &rest.Config{Host: "https://" + ln.Addr().String(), BearerToken: "cold-start", TLSClientConfig: rest.TLSClientConfig{Insecure: true}}
	if err := harness.WriteKubeconfig(cfg, kubeconfig); err != nil {
		return 0, 0, err
	}
	var samples []time.Duration
	for range tries {
		cmd := exec.CommandContext(ctx, binary, "run")
		cmd.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig, "CERTSWEEP_LOG_FORMAT=json")
		start := time.Now()
		if err := cmd.Start(); err != nil {
			return 0, 0, err
		}
		conn, err := ln.Accept()
		elapsed := time.Since(start)
		if err != nil {
			_ = cmd.Process.Kill()
			return 0, 0, err
		}
		_ = conn.Close()
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		samples = append(samples, elapsed)
	}
	sort.Slice(samples, func(i, j int) bool { return samples[i] < samples[j] })
	return samples[len(samples)/2], samples[len(samples)-1], nil
}

// median returns the middle value.
func median(ds []time.Duration) time.Duration {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}
