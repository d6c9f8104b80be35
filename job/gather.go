package job

import (
	"context"
	"fmt"
	"hash/fnv"
	"maps"
	"slices"

	cmacme "github.com/cert-manager/cert-manager/pkg/apis/acme/v1"
	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	"github.com/certsweep/certsweep/issuance/pki"
	"github.com/certsweep/certsweep/renew"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
)

// objectKey names a namespaced object.
type objectKey struct{ Namespace, Name string }

func (k objectKey) String() string { return k.Namespace + "/" + k.Name }

// requestRef is what pruning needs to know of an old CertificateRequest.
type requestRef struct {
	Name     string
	Revision int
}

// workItem is everything gathered for one Certificate before deciding.
type workItem struct {
	cert *cmapi.Certificate
	// secret is the target Secret, nil when it was not found.
	secret *corev1.Secret
	// secretRead is true when secret (or its absence) was confirmed by a
	// direct read rather than inferred from the labelled LIST, which cannot
	// see a pre-existing Secret that lacks cert-manager's label.
	secretRead bool
	// current is what deciding needs of the current revision's request.
	current *requestSummary
	next    *cmapi.CertificateRequest
	// duplicates names requests that claim the current or next revision
	// when another one already does; renew/ refuses to go on then.
	duplicates []string
	nextKeys   []*corev1.Secret
	owned      []requestRef
	// peers are copies of the other Certificates naming the same Secret,
	// taken once before the item is handed on, so deciding never reads an
	// item another worker may be changing.
	peers []renew.Peer
	// peerOnly marks a Certificate of another shard: it is never worked on,
	// but it still counts when deciding who owns a shared secretName.
	peerOnly bool
	// visited is set once scan has handed the item on, so a LIST restarted
	// after an expired continue token never hands it on twice.
	visited bool
	// discardLateKeys is set when the decision removed this Certificate's
	// next keys (up to date, its own Secret's owner), so that a next key
	// listed after the decision goes too.
	discardLateKeys bool
}

// release drops what was read for deciding, once the item is done with, so
// a long sweep's memory stays bounded by the Certificates it holds.
func (it *workItem) release() {
	it.secret, it.current, it.next, it.nextKeys, it.owned = nil, nil, nil, nil, nil
}

// nextRevision is the revision a new issuance of crt will carry.
func nextRevision(crt *cmapi.Certificate) int {
	if crt.Status.Revision == nil {
		return 1
	}
	return *crt.Status.Revision + 1
}

// inShard reports whether this instance handles the Certificate.
func (o *Options) inShard(namespace, name string) bool {
	if o.Shards <= 1 {
		return true
	}
	return ShardOf(namespace, name, o.Shards) == o.Shard
}

// ShardOf maps a Certificate to one of n shards by a stable hash of its
// namespace and name, so that every instance of an Indexed Job agrees.
func ShardOf(namespace, name string, n int) int {
	h := fnv.New32a()
	h.Write([]byte(namespace))
	h.Write([]byte{'/'})
	h.Write([]byte(name))
	return int(h.Sum32() % uint32(n))
}

// scan reads everything a sweep decides on and hands each in-scope
// Certificate to visit once, as early as it can be decided. Certificates are
// listed first and kept, because every later object is joined to them;
// CertificateRequests follow, reduced to what deciding needs. Secrets come
// last and are streamed: visit runs for a Certificate as soon as its
// Secret's page arrives, so the sweep holds one page of Secrets rather than
// all of them. Certificates whose Secret was not listed are visited at the
// end.
//
// Next private key Secrets arrive in the same stream, in no particular order
// relative to the Certificate's own Secret. One that arrives after its
// Certificate was visited goes to lateKey instead, since deciding never
// needs it and a worker may already be acting on the item.
func (s *Sweeper) scan(ctx context.Context, visit func(*workItem), lateKey func(*workItem, *corev1.Secret)) error {
	return s.scanWith(ctx, visit, lateKey, nil)
}

// scanWith is scan that also hands each CertificateRequest no Certificate
// owns, of this shard and with work to do, to unowned (requests.go); nil
// skips them. The requests are listed even when there is no Certificate,
// since cmctl's requests need none.
func (s *Sweeper) scanWith(ctx context.Context, visit func(*workItem), lateKey func(*workItem, *corev1.Secret), unowned func(*cmapi.CertificateRequest)) error {
	ns := s.opts.Namespace
	byUID := map[types.UID]*workItem{}
	var items []*workItem

	certOpts := metav1.ListOptions{Limit: s.opts.PageSize, LabelSelector: s.opts.Selector}
	err := listPages(ctx, "certificates", certOpts, func(ctx context.Context, o metav1.ListOptions) (string, error) {
		list, err := s.cm.CertmanagerV1().Certificates(ns).List(ctx, o)
		if err != nil {
			return "", err
		}
		for i := range list.Items {
			crt := detachCertificate(&list.Items[i])
			if old, ok := byUID[crt.UID]; ok { // a restarted LIST repeats items
				old.cert = crt
				continue
			}
			it := &workItem{cert: crt, peerOnly: !s.opts.inShard(crt.Namespace, crt.Name)}
			byUID[crt.UID] = it
			items = append(items, it)
		}
		return list.Continue, nil
	})
	if err != nil || (len(items) == 0 && unowned == nil) {
		return err
	}

	// Certificates by the Secret they name, so each Secret finds its own.
	groups := map[objectKey][]*workItem{}
	for _, it := range items {
		k := objectKey{it.cert.Namespace, it.cert.Spec.SecretName}
		groups[k] = append(groups[k], it)
	}

	crOpts := metav1.ListOptions{Limit: s.opts.PageSize}
	seenCR := map[types.UID]bool{}
	err = listPages(ctx, "certificaterequests", crOpts, func(ctx context.Context, o metav1.ListOptions) (string, error) {
		list, err := s.cm.CertmanagerV1().CertificateRequests(ns).List(ctx, o)
		if err != nil {
			return "", err
		}
		for i := range list.Items {
			cr := &list.Items[i]
			if seenCR[cr.UID] {
				continue
			}
			seenCR[cr.UID] = true
			if !renew.OwnedByCertificate(cr) {
				if unowned != nil {
					s.collectUnowned(cr, unowned)
				}
				continue
			}
			ref := metav1.GetControllerOf(cr)
			if it, ok := byUID[ref.UID]; ok && !it.peerOnly {
				it.addRequest(cr)
			}
		}
		return list.Continue, nil
	})
	if err != nil || len(items) == 0 {
		return err
	}

	// cert-manager labels every Secret it writes, next keys included, so
	// the LIST skips the cluster's other Secrets.
	secretOpts := metav1.ListOptions{
		Limit:         s.opts.PageSize,
		LabelSelector: labels.Set{cmapi.PartOfCertManagerControllerLabelKey: "true"}.String(),
	}
	// A group's members are all handed on by the first visitGroup call for
	// it; a LIST restarted after an expired continue token calls it again
	// and finds nothing left to hand on, so no item is touched after a
	// worker has it.
	visitGroup := func(group []*workItem) {
		for _, it := range group {
			if !it.peerOnly && !it.visited {
				it.peers = peersOf(it, group)
			}
		}
		for _, it := range group {
			if !it.peerOnly && !it.visited {
				it.visited = true
				visit(it)
			}
		}
	}
	err = listPages(ctx, "secrets", secretOpts, func(ctx context.Context, o metav1.ListOptions) (string, error) {
		list, err := s.kube.CoreV1().Secrets(ns).List(ctx, o)
		if err != nil {
			return "", err
		}
		for i := range list.Items {
			if list.Items[i].Labels[cmapi.IsNextPrivateKeySecretLabelKey] == "true" {
				s.fileNextKey(byUID, detachSecret(&list.Items[i]), lateKey)
				continue
			}
			group := groups[objectKey{list.Items[i].Namespace, list.Items[i].Name}]
			if len(group) == 0 {
				continue
			}
			sec := detachSecret(&list.Items[i])
			for _, it := range group {
				if !it.visited {
					it.secret = sec
				}
			}
			visitGroup(group)
		}
		return list.Continue, nil
	})
	if err != nil {
		return err
	}
	for _, it := range items {
		if !it.peerOnly && !it.visited {
			visitGroup(groups[objectKey{it.cert.Namespace, it.cert.Spec.SecretName}])
		}
	}
	return nil
}

// listOrders lists, once each and in pages, the ACME Orders controlled by
// requests and the Challenges those Orders control, for plan to show where
// each order stands. Only those are kept: a cluster holds an Order, with
// its certificate, for every ACME request not yet pruned, and plan needs
// the ones in flight. Challenges are listed only when an Order was found,
// and both lists stay in one namespace when everything in flight is there.
// A LIST restarted after an expired continue token repeats items, so both
// are kept by UID.
func (s *Sweeper) listOrders(ctx context.Context, requests []*cmapi.CertificateRequest) ([]*cmacme.Order, []*cmacme.Challenge, error) {
	if len(requests) == 0 {
		return nil, nil, nil
	}
	owners := map[types.UID]bool{}
	var namespaces []string
	for _, cr := range requests {
		owners[cr.UID] = true
		namespaces = append(namespaces, cr.Namespace)
	}
	orders := map[types.UID]*cmacme.Order{}
	opts := metav1.ListOptions{Limit: s.opts.PageSize}
	err := listPages(ctx, "orders", opts, func(ctx context.Context, o metav1.ListOptions) (string, error) {
		list, err := s.cm.AcmeV1().Orders(s.narrowestNamespace(namespaces)).List(ctx, o)
		if err != nil {
			return "", err
		}
		for i := range list.Items {
			if ref := metav1.GetControllerOf(&list.Items[i]); ref != nil && owners[ref.UID] {
				order := list.Items[i]
				order.ManagedFields = nil
				orders[order.UID] = &order
			}
		}
		return list.Continue, nil
	})
	if err != nil || len(orders) == 0 {
		return nil, nil, err
	}

	namespaces = namespaces[:0]
	for _, o := range orders {
		namespaces = append(namespaces, o.Namespace)
	}
	challenges := map[types.UID]*cmacme.Challenge{}
	err = listPages(ctx, "challenges", opts, func(ctx context.Context, o metav1.ListOptions) (string, error) {
		list, err := s.cm.AcmeV1().Challenges(s.narrowestNamespace(namespaces)).List(ctx, o)
		if err != nil {
			return "", err
		}
		for i := range list.Items {
			if ref := metav1.GetControllerOf(&list.Items[i]); ref != nil && orders[ref.UID] != nil {
				ch := list.Items[i]
				ch.ManagedFields = nil
				challenges[ch.UID] = &ch
			}
		}
		return list.Continue, nil
	})
	if err != nil {
		return nil, nil, err
	}
	return slices.Collect(maps.Values(orders)), slices.Collect(maps.Values(challenges)), nil
}

// narrowestNamespace is the namespace to list in so that objects in the
// given namespaces are seen: theirs when they share one, else the sweep's.
func (s *Sweeper) narrowestNamespace(namespaces []string) string {
	if len(namespaces) == 0 {
		return s.opts.Namespace
	}
	for _, ns := range namespaces[1:] {
		if ns != namespaces[0] {
			return s.opts.Namespace
		}
	}
	return namespaces[0]
}

// fileNextKey attaches a next private key Secret to the Certificate that
// controls it, or hands it to lateKey when that Certificate was visited.
func (s *Sweeper) fileNextKey(byUID map[types.UID]*workItem, sec *corev1.Secret, lateKey func(*workItem, *corev1.Secret)) {
	ref := metav1.GetControllerOf(sec)
	if ref == nil {
		return
	}
	it, ok := byUID[ref.UID]
	if !ok || it.peerOnly {
		return
	}
	switch {
	case it.visited:
		lateKey(it, sec)
	case !containsSecret(it.nextKeys, sec):
		it.nextKeys = append(it.nextKeys, sec)
	}
}

// requestSummary keeps of the current revision's request only what
// deciding compares with the spec: its CSR and the spec fields the CSR does
// not carry. Every Certificate holds one for the whole sweep, so its status
// (including the certificate already in the Secret) and its metadata are
// dropped; a full CertificateRequest value is several times larger.
type requestSummary struct {
	name      string
	csr       []byte
	isCA      bool
	usages    []cmapi.KeyUsage
	duration  *metav1.Duration
	issuerRef cmmeta.IssuerReference
}

func summarize(cr *cmapi.CertificateRequest) *requestSummary {
	return &requestSummary{
		name: cr.Name, csr: cr.Spec.Request, isCA: cr.Spec.IsCA,
		usages: cr.Spec.Usages, duration: cr.Spec.Duration, issuerRef: cr.Spec.IssuerRef,
	}
}

// request rebuilds the part of the CertificateRequest that deciding reads,
// for the one decision that needs it; nil stays nil.
func (r *requestSummary) request() *cmapi.CertificateRequest {
	if r == nil {
		return nil
	}
	return &cmapi.CertificateRequest{
		ObjectMeta: metav1.ObjectMeta{Name: r.name},
		Spec: cmapi.CertificateRequestSpec{
			Request: r.csr, IsCA: r.isCA, Usages: r.usages, Duration: r.duration, IssuerRef: r.issuerRef,
		},
	}
}

// detachCertificate copies a Certificate out of its LIST page, so keeping it
// does not keep the whole page, and drops managedFields, which deciding
// never reads and which is often the larger part of the object.
func detachCertificate(in *cmapi.Certificate) *cmapi.Certificate {
	out := *in
	out.ManagedFields = nil
	return &out
}

// detachSecret copies a Secret out of its LIST page. Its managedFields stay:
// they say which labels and annotations cert-manager's field manager owns.
func detachSecret(in *corev1.Secret) *corev1.Secret {
	out := *in
	return &out
}

func containsSecret(list []*corev1.Secret, s *corev1.Secret) bool {
	for _, x := range list {
		if x.UID == s.UID {
			return true
		}
	}
	return false
}

// addRequest files an owned CertificateRequest under the current or next
// revision, or keeps just its name and revision for pruning.
func (it *workItem) addRequest(cr *cmapi.CertificateRequest) {
	rev := -1
	if n, ok := pki.RequestRevision(cr); ok {
		rev = n
	}
	it.owned = append(it.owned, requestRef{Name: cr.Name, Revision: rev})
	switch {
	case it.cert.Status.Revision != nil && rev == *it.cert.Status.Revision:
		if it.current != nil {
			it.duplicates = append(it.duplicates, cr.Name)
		}
		it.current = summarize(cr)
	case rev == nextRevision(it.cert):
		if it.next != nil {
			it.duplicates = append(it.duplicates, cr.Name)
		}
		next := *cr
		next.ManagedFields = nil
		it.next = &next
	}
}

// peersOf copies what the secretName ownership rule reads of the other
// members of it's group.
func peersOf(it *workItem, group []*workItem) []renew.Peer {
	var peers []renew.Peer
	for _, other := range group {
		if other != it {
			peers = append(peers, renew.Peer{Name: other.cert.Name, Created: other.cert.CreationTimestamp.Time})
		}
	}
	return peers
}

// reread fetches one Certificate and everything that belongs to it straight
// from the API. It is used after a write conflict and for event-driven
// reconciles of a single Certificate. found is false when the Certificate is
// gone.
func (s *Sweeper) reread(ctx context.Context, namespace, name string) (it *workItem, found bool, err error) {
	crt, err := s.cm.CertmanagerV1().Certificates(namespace).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("reading certificate %s/%s: %w", namespace, name, err)
	}
	it = &workItem{cert: crt, secretRead: true}
	sec, err := s.kube.CoreV1().Secrets(namespace).Get(ctx, crt.Spec.SecretName, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
	case err != nil:
		return nil, false, fmt.Errorf("reading secret %s/%s: %w", namespace, crt.Spec.SecretName, err)
	default:
		it.secret = sec
	}
	keys, err := s.kube.CoreV1().Secrets(namespace).List(ctx, metav1.ListOptions{
		LabelSelector: labels.Set{cmapi.IsNextPrivateKeySecretLabelKey: "true"}.String(),
	})
	if err != nil {
		return nil, false, fmt.Errorf("listing next private keys in %s: %w", namespace, err)
	}
	for i := range keys.Items {
		if ref := metav1.GetControllerOf(&keys.Items[i]); ref != nil && ref.UID == crt.UID {
			it.nextKeys = append(it.nextKeys, &keys.Items[i])
		}
	}
	crs, err := s.cm.CertmanagerV1().CertificateRequests(namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, false, fmt.Errorf("listing certificate requests in %s: %w", namespace, err)
	}
	for i := range crs.Items {
		if ref := metav1.GetControllerOf(&crs.Items[i]); ref != nil && ref.UID == crt.UID {
			it.addRequest(&crs.Items[i])
		}
	}
	// Ownership of a shared secretName needs the other Certificates naming it.
	peers, err := s.cm.CertmanagerV1().Certificates(namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, false, fmt.Errorf("listing certificates in %s: %w", namespace, err)
	}
	for i := range peers.Items {
		p := &peers.Items[i]
		if p.UID != crt.UID && p.Spec.SecretName == crt.Spec.SecretName {
			it.peers = append(it.peers, renew.Peer{Name: p.Name, Created: p.CreationTimestamp.Time})
		}
	}
	return it, true, nil
}
