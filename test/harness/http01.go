package harness

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/retry"
	"k8s.io/client-go/util/workqueue"
)

const (
	// solveHTTP01 is the first container arg of an HTTP-01 solver Pod: the
	// certsweep subcommand that serves the challenge answer.
	solveHTTP01 = "solve-http01"
	// listenPortFlag is the solver arg the Kubelet rewrites: every solver
	// Pod asks for the same port, and here they all share one loopback.
	listenPortFlag = "--listen-port="
	// solverHostIP is the podIP and hostIP the Kubelet reports: the solvers
	// listen on loopback.
	solverHostIP = "127.0.0.1"
	// solverStartTimeout bounds the wait for one solver's /healthz; a start
	// takes milliseconds, the margin is for a loaded 2-core machine.
	solverStartTimeout = 30 * time.Second
	kubeletWorkers     = 4
	maxSyncRetries     = 5
)

// Kubelet is a stand-in for a kubelet that runs only HTTP-01 solver Pods:
// Pods with a container whose args start with "solve-http01". Each such
// container becomes a local process listening on its own loopback port, and
// the Pod's status is set to Running and Ready as a kubelet would, so code
// that waits for the solver Pod sees what it would see in a cluster. Other
// containers and Pods are ignored.
//
// Two Kubelets watching the same namespace would both run its solver Pods;
// tests that run in parallel pass their namespaces to StartKubelet.
type Kubelet struct {
	t       testing.TB
	client  kubernetes.Interface
	binary  string
	logDir  string
	ctx     context.Context // cancelled at cleanup; bounds every wait
	queue   workqueue.TypedRateLimitingInterface[types.NamespacedName]
	stores  map[string]cache.Store // by namespace; "" when watching all
	workers sync.WaitGroup         // workers and exit watchers

	mu       sync.Mutex // guards the fields below
	pods     map[types.NamespacedName]*solverPod
	started  int
	logPaths []string
}

// solverPod is the Kubelet's record of one Pod it has run.
type solverPod struct {
	uid       types.UID
	startedAt metav1.Time
	procs     []*process
	// addrs maps the port the solver was told to listen on in the Pod
	// (its --listen-port, normally the containerPort) to the loopback
	// address it actually listens on.
	addrs map[int32]string
	// failure says why the solver could not start or stopped on its own;
	// empty while it runs.
	failure string
	// reported is the phase last written to the Pod's status.
	reported corev1.PodPhase
}

// StartKubelet watches Pods in namespaces (all namespaces when none are
// given) and, for each solver Pod, runs binary with the solver container's
// args ("solve-http01", "--listen-port=8089", ...), the listen port replaced
// by a free loopback port. Once the process answers GET /healthz with 200
// the Pod's status becomes Running with podIP 127.0.0.1 and Ready True; if
// it does not, or it exits later, the Pod becomes Failed. Deleting the Pod
// kills its process. Each process's output goes to a file under
// t.TempDir(), printed if the test fails. Everything is killed when the test
// ends.
func StartKubelet(t testing.TB, cfg *rest.Config, binary string, namespaces ...string) *Kubelet {
	t.Helper()
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatalf("StartKubelet: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	k := &Kubelet{
		t:      t,
		client: client,
		binary: binary,
		logDir: t.TempDir(),
		ctx:    ctx,
		queue: workqueue.NewTypedRateLimitingQueue(
			workqueue.DefaultTypedControllerRateLimiter[types.NamespacedName]()),
		stores: map[string]cache.Store{},
		pods:   map[types.NamespacedName]*solverPod{},
	}

	if len(namespaces) == 0 {
		namespaces = []string{metav1.NamespaceAll}
	}
	var factories []informers.SharedInformerFactory
	for _, ns := range namespaces {
		if _, dup := k.stores[ns]; dup {
			continue
		}
		f := informers.NewSharedInformerFactoryWithOptions(client, 0, informers.WithNamespace(ns))
		informer := f.Core().V1().Pods().Informer()
		if _, err := informer.AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc:    k.enqueueSolver,
			UpdateFunc: func(_, obj any) { k.enqueueSolver(obj) },
			// A deleted Pod is enqueued whatever it was: the sync finds
			// out from its own records whether a process must stop.
			DeleteFunc: k.enqueue,
		}); err != nil {
			cancel()
			t.Fatalf("StartKubelet: watch pods: %v", err)
		}
		k.stores[ns] = informer.GetStore()
		factories = append(factories, f)
	}

	stopAll := func() {
		cancel()
		k.queue.ShutDown()
		for _, f := range factories {
			f.Shutdown()
		}
		k.workers.Wait()
		k.mu.Lock()
		pods := k.pods
		k.pods = map[types.NamespacedName]*solverPod{}
		k.mu.Unlock()
		for _, sp := range pods {
			sp.stop()
		}
	}
	for _, f := range factories {
		f.Start(ctx.Done())
	}
	syncCtx, syncCancel := context.WithTimeout(ctx, time.Minute)
	defer syncCancel()
	for _, f := range factories {
		for typ, ok := range f.WaitForCacheSync(syncCtx.Done()) {
			if !ok {
				stopAll()
				t.Fatalf("StartKubelet: %v cache did not sync: %v", typ, syncCtx.Err())
			}
		}
	}
	for range kubeletWorkers {
		k.workers.Go(k.work)
	}
	t.Cleanup(func() {
		stopAll()
		if t.Failed() {
			k.logSolverOutput()
		}
	})
	return k
}

// Endpoint returns the loopback address ("127.0.0.1:<port>") where the
// solver of the Pod namespace/pod listens for what the Pod calls port (its
// --listen-port, i.e. the containerPort), while the solver is running.
func (k *Kubelet) Endpoint(namespace, pod string, port int32) (string, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	sp := k.pods[types.NamespacedName{Namespace: namespace, Name: pod}]
	if sp == nil || sp.failure != "" {
		return "", false
	}
	addr, ok := sp.addrs[port]
	return addr, ok
}

// Started returns how many Pods the Kubelet has run: Pods whose solvers all
// answered /healthz, including those since deleted.
func (k *Kubelet) Started() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.started
}

// Running returns how many Pods have solvers running now.
func (k *Kubelet) Running() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	n := 0
	for _, sp := range k.pods {
		if sp.failure == "" {
			n++
		}
	}
	return n
}

func (k *Kubelet) enqueueSolver(obj any) {
	if pod, ok := obj.(*corev1.Pod); ok && isSolverPod(pod) {
		k.enqueue(obj)
	}
}

func (k *Kubelet) enqueue(obj any) {
	key, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj)
	if err != nil {
		return
	}
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return
	}
	k.queue.Add(types.NamespacedName{Namespace: ns, Name: name})
}

// work syncs queued Pods until the queue shuts down. The queue hands a key
// to one worker at a time, so a Pod deleted while its solver is still
// starting is synced again, and its process killed, right after.
func (k *Kubelet) work() {
	for {
		key, shutdown := k.queue.Get()
		if shutdown {
			return
		}
		err := k.sync(key)
		switch {
		case err == nil || k.ctx.Err() != nil:
			k.queue.Forget(key)
		case k.queue.NumRequeues(key) < maxSyncRetries:
			k.queue.AddRateLimited(key)
		default:
			k.t.Logf("kubelet: pod %s: giving up: %v", key, err)
			k.queue.Forget(key)
		}
		k.queue.Done(key)
	}
}

// sync brings the processes for one Pod, and its status, in line with the
// Pod as last seen by the watch.
func (k *Kubelet) sync(key types.NamespacedName) error {
	pod := k.cachedPod(key)

	k.mu.Lock()
	sp := k.pods[key]
	// Pods without spec.nodeName (all of them here: nothing schedules) are
	// removed by the apiserver at once on delete, so there is no graceful
	// termination to finish; a set deletionTimestamp only means "stop".
	gone := pod == nil || pod.DeletionTimestamp != nil
	// A Pod re-created under the same name is a new Pod: its predecessor's
	// solver stops and a new one starts.
	stale := sp != nil && (gone || sp.uid != pod.UID)
	if stale {
		delete(k.pods, key)
	}
	k.mu.Unlock()
	if stale {
		sp.stop()
		sp = nil
	}
	if gone || !isSolverPod(pod) {
		return nil
	}
	if sp == nil {
		// Not ours to start: another kubelet finished it, or we did and
		// were restarted.
		if pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
			return nil
		}
		sp = k.run(key, pod)
		k.mu.Lock()
		k.pods[key] = sp
		if sp.failure == "" {
			k.started++
		}
		k.mu.Unlock()
		for _, proc := range sp.procs {
			k.watchExit(key, sp, proc)
		}
	}

	k.mu.Lock()
	failure, reported := sp.failure, sp.reported
	k.mu.Unlock()
	phase := corev1.PodRunning
	if failure != "" {
		phase = corev1.PodFailed
		// One container failing fails the Pod (restartPolicy aside: a
		// stand-in that restarts would hide a crashing solver).
		sp.stop()
	}
	if phase == reported {
		return nil
	}
	if err := k.writeStatus(pod, sp, phase, failure); err != nil {
		return err
	}
	k.mu.Lock()
	sp.reported = phase
	k.mu.Unlock()
	return nil
}

func (k *Kubelet) cachedPod(key types.NamespacedName) *corev1.Pod {
	store, ok := k.stores[key.Namespace]
	if !ok {
		store = k.stores[metav1.NamespaceAll]
	}
	obj, exists, err := store.GetByKey(key.String())
	if err != nil || !exists {
		return nil
	}
	return obj.(*corev1.Pod)
}

// run starts a process for each solver container of pod and waits for all
// of them to answer /healthz. On failure the processes started so far are
// killed and the returned record says why.
func (k *Kubelet) run(key types.NamespacedName, pod *corev1.Pod) *solverPod {
	sp := &solverPod{uid: pod.UID, startedAt: metav1.Now(), addrs: map[int32]string{}}
	for _, c := range pod.Spec.Containers {
		if !isSolverContainer(c) {
			continue
		}
		proc, port, addr, err := k.startSolver(key, c)
		if err != nil {
			sp.stop()
			sp.failure = fmt.Sprintf("container %s: %v", c.Name, err)
			if k.ctx.Err() == nil {
				k.t.Logf("kubelet: pod %s: %s", key, sp.failure)
			}
			return sp
		}
		sp.procs = append(sp.procs, proc)
		sp.addrs[port] = addr
	}
	return sp
}

// startSolver runs one solver container on a free loopback port, retrying
// with a fresh port if another process took the one picked.
func (k *Kubelet) startSolver(key types.NamespacedName, c corev1.Container) (_ *process, podPort int32, addr string, _ error) {
	at := slices.IndexFunc(c.Args, func(arg string) bool { return strings.HasPrefix(arg, listenPortFlag) })
	if at < 0 {
		return nil, 0, "", fmt.Errorf("args %q have no %sN to relocate to a free port", c.Args, listenPortFlag)
	}
	p, err := strconv.ParseInt(strings.TrimPrefix(c.Args[at], listenPortFlag), 10, 32)
	if err != nil {
		return nil, 0, "", fmt.Errorf("bad %q: %w", c.Args[at], err)
	}
	podPort = int32(p)
	for attempt := 1; ; attempt++ {
		ports, err := freePorts(1)
		if err != nil {
			return nil, 0, "", err
		}
		addr = net.JoinHostPort(solverHostIP, strconv.Itoa(ports[0]))
		args := slices.Clone(c.Args)
		args[at] = listenPortFlag + strconv.Itoa(ports[0])
		name := fmt.Sprintf("solver %s/%s", key, c.Name)
		proc, err := startProcess(name, k.binary, k.newLogPath(key, c.Name), args...)
		if err != nil {
			return nil, 0, "", err
		}
		ctx, cancel := context.WithTimeout(k.ctx, solverStartTimeout)
		err = waitReady(ctx, proc, "http://"+addr+"/healthz", "", nil)
		cancel()
		if err == nil {
			return proc, podPort, addr, nil
		}
		proc.kill()
		if !errors.Is(err, errPortInUse) || attempt == maxPortAttempts {
			return nil, 0, "", err
		}
	}
}

// newLogPath names a fresh log file; the sequence number keeps a Pod that
// is deleted and re-created under the same name from overwriting the first
// one's log.
func (k *Kubelet) newLogPath(key types.NamespacedName, container string) string {
	k.mu.Lock()
	defer k.mu.Unlock()
	path := filepath.Join(k.logDir, fmt.Sprintf("%03d-%s-%s-%s.log", len(k.logPaths)+1, key.Namespace, key.Name, container))
	k.logPaths = append(k.logPaths, path)
	return path
}

// watchExit notices a solver that exits while its Pod still wants it, and
// queues the Pod so its status turns Failed. Exits caused by stop are
// ignored: stop removes the record from k.pods before killing.
func (k *Kubelet) watchExit(key types.NamespacedName, sp *solverPod, proc *process) {
	k.workers.Go(func() {
		select {
		case <-proc.exited:
		case <-k.ctx.Done():
			return
		}
		k.mu.Lock()
		unexpected := k.pods[key] == sp && sp.failure == ""
		if unexpected {
			sp.failure = fmt.Sprintf("solver exited: %v", proc.err)
		}
		k.mu.Unlock()
		if !unexpected {
			return
		}
		data, _ := os.ReadFile(proc.logPath)
		k.t.Logf("kubelet: pod %s: solver exited unexpectedly (%v); last lines of %s:\n%s",
			key, proc.err, filepath.Base(proc.logPath), tail(string(data), 20))
		k.queue.Add(key)
	})
}

// writeStatus sets the Pod's status the way a kubelet reports a started or
// failed Pod. It reads the Pod afresh so a conflict only costs a retry.
func (k *Kubelet) writeStatus(cached *corev1.Pod, sp *solverPod, phase corev1.PodPhase, failure string) error {
	pods := k.client.CoreV1().Pods(cached.Namespace)
	return retry.RetryOnConflict(retry.DefaultBackoff, func() error {
		pod, err := pods.Get(k.ctx, cached.Name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return err
		}
		if pod.UID != sp.uid {
			return nil // replaced; the new Pod has its own sync queued
		}
		pod.Status = solverPodStatus(pod, sp, phase, failure)
		_, err = pods.UpdateStatus(k.ctx, pod, metav1.UpdateOptions{})
		return err
	})
}

func solverPodStatus(pod *corev1.Pod, sp *solverPod, phase corev1.PodPhase, failure string) corev1.PodStatus {
	now := metav1.Now()
	ready := corev1.ConditionTrue
	if phase != corev1.PodRunning {
		ready = corev1.ConditionFalse
	}
	condition := func(typ corev1.PodConditionType, status corev1.ConditionStatus) corev1.PodCondition {
		return corev1.PodCondition{Type: typ, Status: status, LastTransitionTime: now}
	}
	status := corev1.PodStatus{
		Phase:     phase,
		HostIP:    solverHostIP,
		HostIPs:   []corev1.HostIP{{IP: solverHostIP}},
		PodIP:     solverHostIP,
		PodIPs:    []corev1.PodIP{{IP: solverHostIP}},
		StartTime: &sp.startedAt,
		Conditions: []corev1.PodCondition{
			condition(corev1.PodReadyToStartContainers, corev1.ConditionTrue),
			condition(corev1.PodInitialized, corev1.ConditionTrue),
			condition(corev1.ContainersReady, ready),
			condition(corev1.PodReady, ready),
		},
	}
	if phase == corev1.PodFailed {
		// The first line names the container and the cause; the rest (a
		// log tail) is in the test log.
		status.Message, _, _ = strings.Cut(failure, "\n")
		status.Reason = "Error"
	}
	for _, c := range pod.Spec.Containers {
		if !isSolverContainer(c) {
			continue
		}
		cs := corev1.ContainerStatus{Name: c.Name, Image: c.Image, Ready: phase == corev1.PodRunning}
		if phase == corev1.PodRunning {
			cs.Started = new(true)
			cs.State.Running = &corev1.ContainerStateRunning{StartedAt: sp.startedAt}
		} else {
			cs.Started = new(false)
			cs.State.Terminated = &corev1.ContainerStateTerminated{ExitCode: 1, Reason: "Error", Message: status.Message, StartedAt: sp.startedAt, FinishedAt: now}
		}
		status.ContainerStatuses = append(status.ContainerStatuses, cs)
	}
	return status
}

// stop kills the Pod's processes. It is safe to call more than once.
func (sp *solverPod) stop() {
	for _, proc := range sp.procs {
		proc.kill()
	}
}

// logSolverOutput prints the end of every solver's log, for a failed test.
func (k *Kubelet) logSolverOutput() {
	k.mu.Lock()
	paths := slices.Clone(k.logPaths)
	k.mu.Unlock()
	for _, path := range paths {
		data, _ := os.ReadFile(path)
		k.t.Logf("kubelet: solver log %s:\n%s", path, tail(string(data), 30))
	}
}

func isSolverPod(pod *corev1.Pod) bool {
	return slices.ContainsFunc(pod.Spec.Containers, isSolverContainer)
}

func isSolverContainer(c corev1.Container) bool {
	return len(c.Args) > 0 && c.Args[0] == solveHTTP01
}

// RoutedRequest is one request the IngressRouter answered.
type RoutedRequest struct {
	// Host is the request's Host without the port, lower-cased.
	Host string
	Path string
	// Status is the status code sent to the client: the solver's, or the
	// router's own 404 (no Ingress rule), 503 (no running Pod behind the
	// rule), 502 (the solver did not answer) or 500 (API error).
	Status int
	// Pod is the "namespace/name" of the Pod the request went to; empty
	// when it was not proxied.
	Pod string
}

// IngressRouter is a stand-in for an ingress controller in front of the
// Kubelet's solver Pods: it routes by the Ingresses in the API server to the
// Pods the Kubelet runs.
type IngressRouter struct {
	client    kubernetes.Interface
	kubelet   *Kubelet
	addr      string
	transport *http.Transport

	mu       sync.Mutex
	requests []RoutedRequest
}

// StartIngressRouter serves HTTP on listenAddr ("127.0.0.1:0" picks a port;
// for Pebble, listen on its HTTP-01 port) as an ingress controller for every
// ingress class. Each request is matched against a fresh list of Ingresses
// in all namespaces: the rule whose host equals the request's Host (port
// stripped), and within it the path that matches the request (Exact and
// ImplementationSpecific: the same path; Prefix: by path element, as the
// Ingress API defines it), the longest path first. The backend Service's
// port (by number or name) gives the targetPort, the Service's selector the
// Pods, and the request is proxied, Host unchanged, to the first such Pod
// the Kubelet runs. No matching rule answers 404, no running Pod 503. The
// server stops when the test ends.
func StartIngressRouter(t testing.TB, cfg *rest.Config, k *Kubelet, listenAddr string) *IngressRouter {
	t.Helper()
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatalf("StartIngressRouter: %v", err)
	}
	l, err := net.Listen("tcp", listenAddr)
	if err != nil {
		t.Fatalf("StartIngressRouter: %v", err)
	}
	r := &IngressRouter{
		client:    client,
		kubelet:   k,
		addr:      l.Addr().String(),
		transport: &http.Transport{ResponseHeaderTimeout: 30 * time.Second},
	}
	srv := &http.Server{Handler: r, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = srv.Serve(l) // returns ErrServerClosed at cleanup
	}()
	t.Cleanup(func() {
		_ = srv.Close()
		<-served
		r.transport.CloseIdleConnections()
		if t.Failed() {
			for _, req := range r.Requests() {
				t.Logf("ingress router: %s%s -> %d %s", req.Host, req.Path, req.Status, req.Pod)
			}
		}
	})
	return r
}

// Addr returns the address the router listens on, "127.0.0.1:<port>".
func (r *IngressRouter) Addr() string { return r.addr }

// Requests returns the requests answered so far, oldest first.
func (r *IngressRouter) Requests() []RoutedRequest {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.requests)
}

func (r *IngressRouter) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	rec := RoutedRequest{Host: requestHost(req.Host), Path: req.URL.Path}
	defer func() {
		r.mu.Lock()
		r.requests = append(r.requests, rec)
		r.mu.Unlock()
	}()

	target, pod, status, reason := r.route(req.Context(), rec.Host, rec.Path)
	if target == "" {
		rec.Status = status
		http.Error(w, reason, status)
		return
	}
	rec.Pod = pod
	sw := &statusWriter{ResponseWriter: w}
	proxy := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(&url.URL{Scheme: "http", Host: target})
			// The solver checks the Host it is asked for, like
			// the Ingress rule did.
			pr.Out.Host = pr.In.Host
			pr.SetXForwarded()
		},
		Transport: r.transport,
		ErrorHandler: func(w http.ResponseWriter, _ *http.Request, err error) {
			http.Error(w, fmt.Sprintf("pod %s: %v", pod, err), http.StatusBadGateway)
		},
	}
	proxy.ServeHTTP(sw, req)
	rec.Status = sw.status
}

// route finds where a request for host and path goes: a loopback address
// and the Pod behind it, or else an error status and why.
func (r *IngressRouter) route(ctx context.Context, host, path string) (target, pod string, status int, reason string) {
	list, err := r.client.NetworkingV1().Ingresses(metav1.NamespaceAll).List(ctx, metav1.ListOptions{})
	if err != nil {
		return "", "", http.StatusInternalServerError, fmt.Sprintf("list ingresses: %v", err)
	}
	routes := matchRoutes(list.Items, host, path)
	if len(routes) == 0 {
		return "", "", http.StatusNotFound, fmt.Sprintf("no Ingress rule for host %q path %q", host, path)
	}
	var reasons []string
	for _, rt := range routes {
		target, pod, err := r.backend(ctx, rt)
		if err == nil {
			return target, pod, 0, ""
		}
		reasons = append(reasons, fmt.Sprintf("ingress %s/%s: %v", rt.namespace, rt.ingress, err))
	}
	return "", "", http.StatusServiceUnavailable, strings.Join(reasons, "\n")
}

// ingressRoute is one Ingress path that matches a request.
type ingressRoute struct {
	namespace, ingress string
	path               networkingv1.HTTPIngressPath
}

// matchRoutes returns the paths of rules for host that match path, the
// longest first and, at equal length, Exact before Prefix, which is the
// precedence the Ingress API asks of controllers.
func matchRoutes(ingresses []networkingv1.Ingress, host, path string) []ingressRoute {
	var routes []ingressRoute
	for _, ing := range ingresses {
		for _, rule := range ing.Spec.Rules {
			if rule.HTTP == nil || !strings.EqualFold(rule.Host, host) {
				continue
			}
			for _, p := range rule.HTTP.Paths {
				if pathMatches(p, path) {
					routes = append(routes, ingressRoute{namespace: ing.Namespace, ingress: ing.Name, path: p})
				}
			}
		}
	}
	slices.SortStableFunc(routes, func(a, b ingressRoute) int {
		if n := len(b.path.Path) - len(a.path.Path); n != 0 {
			return n
		}
		return boolRank(isPrefix(a.path)) - boolRank(isPrefix(b.path))
	})
	return routes
}

// pathMatches applies an Ingress path to a request path. ImplementationSpecific
// is ours to define; exact matching is what an HTTP-01 solver's one path
// needs.
func pathMatches(p networkingv1.HTTPIngressPath, path string) bool {
	if !isPrefix(p) {
		return p.Path == path
	}
	// Prefix matches whole path elements: "/a/b" matches "/a/b" and
	// "/a/b/c" but not "/a/bc"; a trailing slash on either side is ignored.
	prefix := strings.TrimSuffix(p.Path, "/")
	return prefix == "" || path == prefix || strings.HasPrefix(path, prefix+"/")
}

func isPrefix(p networkingv1.HTTPIngressPath) bool {
	return p.PathType != nil && *p.PathType == networkingv1.PathTypePrefix
}

func boolRank(b bool) int {
	if b {
		return 1
	}
	return 0
}

// backend resolves an Ingress path's Service backend to a running Pod's
// loopback address.
func (r *IngressRouter) backend(ctx context.Context, rt ingressRoute) (target, pod string, err error) {
	ref := rt.path.Backend.Service
	if ref == nil {
		return "", "", errors.New("backend is not a Service")
	}
	svc, err := r.client.CoreV1().Services(rt.namespace).Get(ctx, ref.Name, metav1.GetOptions{})
	if err != nil {
		return "", "", fmt.Errorf("get service: %w", err)
	}
	i := slices.IndexFunc(svc.Spec.Ports, func(sp corev1.ServicePort) bool {
		if ref.Port.Number != 0 {
			return sp.Port == ref.Port.Number
		}
		return sp.Name == ref.Port.Name
	})
	if i < 0 {
		return "", "", fmt.Errorf("service %s has no port %v", ref.Name, ref.Port)
	}
	servicePort := svc.Spec.Ports[i]
	if len(svc.Spec.Selector) == 0 {
		// A Service without a selector has hand-made endpoints; there is
		// no Pod to find.
		return "", "", fmt.Errorf("service %s has no selector", ref.Name)
	}
	pods, err := r.client.CoreV1().Pods(rt.namespace).List(ctx, metav1.ListOptions{
		LabelSelector: labels.SelectorFromSet(svc.Spec.Selector).String(),
	})
	if err != nil {
		return "", "", fmt.Errorf("list pods: %w", err)
	}
	slices.SortFunc(pods.Items, func(a, b corev1.Pod) int { return strings.Compare(a.Name, b.Name) })
	for _, p := range pods.Items {
		port, ok := containerPort(&p, servicePort)
		if !ok {
			continue
		}
		if addr, ok := r.kubelet.Endpoint(p.Namespace, p.Name, port); ok {
			return addr, p.Namespace + "/" + p.Name, nil
		}
	}
	return "", "", fmt.Errorf("no running pod among %d selected by service %s", len(pods.Items), ref.Name)
}

// containerPort resolves a Service port's targetPort to a port number of
// pod: a number is used as is, a name is looked up in the Pod's containers.
func containerPort(pod *corev1.Pod, sp corev1.ServicePort) (int32, bool) {
	switch {
	case sp.TargetPort.Type == intstr.String:
		for _, c := range pod.Spec.Containers {
			for _, cp := range c.Ports {
				if cp.Name == sp.TargetPort.StrVal {
					return cp.ContainerPort, true
				}
			}
		}
		return 0, false
	case sp.TargetPort.IntVal != 0:
		return sp.TargetPort.IntVal, true
	default:
		// The apiserver defaults targetPort to port; this is for a
		// Service that somehow has neither.
		return sp.Port, true
	}
}

// requestHost normalises a Host header for comparison with Ingress hosts.
func requestHost(hostport string) string {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	return strings.ToLower(strings.TrimSuffix(host, "."))
}

// statusWriter remembers the status code the proxy sent.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer, which the
// reverse proxy uses to flush.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
