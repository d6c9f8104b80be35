package renew

import (
	"reflect"
	"testing"
	"time"

	cmacme "github.com/cert-manager/cert-manager/pkg/apis/acme/v1"
	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// One row per thing `plan` must get right about an order: which Order is
// the request's, which Challenges are that Order's, and what the next step
// of each is.
func TestViewOrder(t *testing.T) {
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	cr := &cmapi.CertificateRequest{
		ObjectMeta: metav1.ObjectMeta{Name: "web-1", UID: "cr"},
		Spec:       cmapi.CertificateRequestSpec{Request: []byte("csr")},
	}
	controlled := func(uid types.UID) []metav1.OwnerReference {
		yes := true
		return []metav1.OwnerReference{{UID: uid, Controller: &yes}}
	}
	order := func(name string, owner types.UID, csr string, created time.Time, status cmacme.OrderStatus) *cmacme.Order {
		return &cmacme.Order{
			ObjectMeta: metav1.ObjectMeta{Name: name, UID: types.UID("uid-" + name), OwnerReferences: controlled(owner), CreationTimestamp: metav1.NewTime(created)},
			Spec:       cmacme.OrderSpec{Request: []byte(csr)},
			Status:     status,
		}
	}
	challenge := func(name, order, dnsName string, wildcard bool, status cmacme.ChallengeStatus) *cmacme.Challenge {
		return &cmacme.Challenge{
			ObjectMeta: metav1.ObjectMeta{Name: name, OwnerReferences: controlled(types.UID("uid-" + order))},
			Spec:       cmacme.ChallengeSpec{DNSName: dnsName, Wildcard: wildcard, Type: cmacme.ACMEChallengeTypeDNS01},
			Status:     status,
		}
	}
	presented := cmacme.ChallengeStatus{Presented: true, State: cmacme.Pending, Reason: "Waiting for DNS-01 challenge propagation"}

	tests := []struct {
		name       string
		orders     []*cmacme.Order
		challenges []*cmacme.Challenge
		want       OrderView
		wantOK     bool
	}{
		{name: "no Order yet", wantOK: false},
		{name: "another request's Order is not shown",
			orders: []*cmacme.Order{order("api-1-1", "other", "csr", t0, cmacme.OrderStatus{})}},
		{name: "a stale Order (same request name, another key) is not shown",
			orders: []*cmacme.Order{order("web-1-1", "cr", "old csr", t0, cmacme.OrderStatus{URL: "u", State: cmacme.Pending})}},
		{name: "created, not placed: pending, next step place",
			orders: []*cmacme.Order{order("web-1-1", "cr", "csr", t0, cmacme.OrderStatus{})},
			want:   OrderView{Name: "web-1-1", State: cmacme.Pending, NextStep: OrderPlace}, wantOK: true},
		{name: "presented, waiting on DNS: next step accept",
			orders: []*cmacme.Order{order("web-1-1", "cr", "csr", t0, cmacme.OrderStatus{URL: "u", State: cmacme.Pending})},
			challenges: []*cmacme.Challenge{
				challenge("web-1-1-2", "web-1-1", "web.example.test", false, presented),
				challenge("api-1-1-9", "api-1-1", "api.example.test", false, presented), // another Order's
			},
			want: OrderView{Name: "web-1-1", State: cmacme.Pending, URL: "u", NextStep: OrderAuthorize, Challenges: []ChallengeView{
				{Name: "web-1-1-2", DNSName: "web.example.test", Type: cmacme.ACMEChallengeTypeDNS01, State: cmacme.Pending,
					Presented: true, Reason: "Waiting for DNS-01 challenge propagation", NextStep: ChallengeAccept},
			}}, wantOK: true},
		{name: "challenges in a stable order, each with its own step",
			orders: []*cmacme.Order{order("web-1-1", "cr", "csr", t0, cmacme.OrderStatus{URL: "u", State: cmacme.Pending})},
			challenges: []*cmacme.Challenge{
				challenge("c3", "web-1-1", "b.example.test", false, cmacme.ChallengeStatus{Presented: true, Processing: true, State: cmacme.Pending}),
				challenge("c2", "web-1-1", "a.example.test", true, cmacme.ChallengeStatus{}),
				challenge("c1", "web-1-1", "a.example.test", false, cmacme.ChallengeStatus{Presented: true, State: cmacme.Valid}),
			},
			want: OrderView{Name: "web-1-1", State: cmacme.Pending, URL: "u", NextStep: OrderAuthorize, Challenges: []ChallengeView{
				{Name: "c1", DNSName: "a.example.test", Type: cmacme.ACMEChallengeTypeDNS01, State: cmacme.Valid, Presented: true, NextStep: ChallengeCleanUp},
				{Name: "c2", DNSName: "a.example.test", Wildcard: true, Type: cmacme.ACMEChallengeTypeDNS01, NextStep: ChallengePresent},
				{Name: "c3", DNSName: "b.example.test", Type: cmacme.ACMEChallengeTypeDNS01, State: cmacme.Pending, Presented: true, Processing: true, NextStep: ChallengePoll},
			}}, wantOK: true},
		{name: "failed by the CA: the reason is shown",
			orders: []*cmacme.Order{order("web-1-1", "cr", "csr", t0, cmacme.OrderStatus{URL: "u", State: cmacme.Invalid, Reason: "DNS problem"})},
			want:   OrderView{Name: "web-1-1", State: cmacme.Invalid, URL: "u", Reason: "DNS problem", NextStep: OrderFailed}, wantOK: true},
		{name: "two Orders of the request: the newest is the one worked on",
			orders: []*cmacme.Order{
				order("web-1-new", "cr", "csr", t0.Add(time.Minute), cmacme.OrderStatus{}),
				order("web-1-old", "cr", "csr", t0, cmacme.OrderStatus{URL: "u", State: cmacme.Ready}),
			},
			want: OrderView{Name: "web-1-new", State: cmacme.Pending, NextStep: OrderPlace}, wantOK: true},
		{name: "two Orders created in the same second: the later name, whichever is listed first",
			orders: []*cmacme.Order{
				order("web-1-b", "cr", "csr", t0, cmacme.OrderStatus{URL: "u", State: cmacme.Processing}),
				order("web-1-a", "cr", "csr", t0, cmacme.OrderStatus{}),
			},
			want: OrderView{Name: "web-1-b", State: cmacme.Processing, URL: "u", NextStep: OrderPoll}, wantOK: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := ViewOrder(cr, tt.orders, tt.challenges)
			if ok != tt.wantOK || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ViewOrder = %+v, %v\nwant        %+v, %v", got, ok, tt.want, tt.wantOK)
			}
		})
	}
}
