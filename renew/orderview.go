package renew

import (
	"sort"

	cmacme "github.com/cert-manager/cert-manager/pkg/apis/acme/v1"
	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// OrderView is where one ACME order stands, read from cert-manager's Order
// and Challenge objects alone, with the step a sweep takes next: what
// `plan` shows for a Certificate whose request is at the CA. The next steps
// are NextOrderStep's and NextChallengeStep's, so what is shown is what a
// sweep does. The JSON field names are a stable interface; add fields,
// never rename them.
type OrderView struct {
	Name string `json:"name"`
	// State is the Order's status.state; an Order the CA has not answered
	// for yet is pending, as the CA's order starts out.
	State cmacme.State `json:"state"`
	// URL is the order's URL at the CA; empty until the order is placed.
	URL string `json:"url,omitempty"`
	// Reason is why the CA failed the order, when it did.
	Reason     string          `json:"reason,omitempty"`
	NextStep   OrderStep       `json:"nextStep"`
	Challenges []ChallengeView `json:"challenges,omitempty"`
}

// ChallengeView is where one Challenge of an order stands.
type ChallengeView struct {
	Name     string                   `json:"name"`
	DNSName  string                   `json:"dnsName"`
	Wildcard bool                     `json:"wildcard,omitempty"`
	Type     cmacme.ACMEChallengeType `json:"type"`
	// State is the Challenge's status.state, empty until the CA's view of
	// it is first recorded.
	State      cmacme.State  `json:"state,omitempty"`
	Presented  bool          `json:"presented"`
	Processing bool          `json:"processing"`
	Reason     string        `json:"reason,omitempty"`
	NextStep   ChallengeStep `json:"nextStep"`
}

// ViewOrder shows the Order that works for cr, found among orders, with
// its Challenges, found among challenges; ok is false when cr has no Order
// yet. Both lists may hold other requests' objects: an Order counts only
// when OrderIsFor says it is cr's own (a stale Order, left by a request
// replaced under the same name, is not shown, since the sweep deletes it),
// and a Challenge only when that Order controls it. When several Orders
// are cr's own (the issuer's profile changed while the request was in
// flight, and the Order's name with it), the newest is shown: it is the
// one made for the issuer as it is now.
func ViewOrder(cr *cmapi.CertificateRequest, orders []*cmacme.Order, challenges []*cmacme.Challenge) (view OrderView, ok bool) {
	var order *cmacme.Order
	for _, o := range orders {
		if OrderIsFor(o, cr) && (order == nil || newer(o, order)) {
			order = o
		}
	}
	if order == nil {
		return OrderView{}, false
	}
	view = OrderView{
		Name:     order.Name,
		State:    order.Status.State,
		URL:      order.Status.URL,
		Reason:   order.Status.Reason,
		NextStep: NextOrderStep(order),
	}
	if view.State == "" {
		view.State = cmacme.Pending
	}
	for _, ch := range challenges {
		if ref := metav1.GetControllerOf(ch); ref == nil || ref.UID != order.UID {
			continue
		}
		view.Challenges = append(view.Challenges, ChallengeView{
			Name:       ch.Name,
			DNSName:    ch.Spec.DNSName,
			Wildcard:   ch.Spec.Wildcard,
			Type:       ch.Spec.Type,
			State:      ch.Status.State,
			Presented:  ch.Status.Presented,
			Processing: ch.Status.Processing,
			Reason:     ch.Status.Reason,
			NextStep:   NextChallengeStep(ch),
		})
	}
	// Listings come in the API server's order; show a stable one.
	sort.Slice(view.Challenges, func(i, j int) bool {
		a, b := view.Challenges[i], view.Challenges[j]
		if a.DNSName != b.DNSName {
			return a.DNSName < b.DNSName
		}
		if a.Wildcard != b.Wildcard {
			return !a.Wildcard
		}
		return a.Name < b.Name
	})
	return view, true
}

// newer reports whether a was created after b, by name when they were
// created in the same second.
func newer(a, b *cmacme.Order) bool {
	if !a.CreationTimestamp.Equal(&b.CreationTimestamp) {
		return b.CreationTimestamp.Before(&a.CreationTimestamp)
	}
	return a.Name > b.Name
}
