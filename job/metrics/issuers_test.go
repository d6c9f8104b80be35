package metrics

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	cmacme "github.com/cert-manager/cert-manager/pkg/apis/acme/v1"
	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	cmfake "github.com/cert-manager/cert-manager/pkg/client/clientset/versioned/fake"
	"github.com/prometheus/client_golang/prometheus/testutil"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	k8stesting "k8s.io/client-go/testing"
)

// TestResourceSeries reads as cert-manager's issuer, clusterissuer and ACME
// collectors: three ready_status series per Issuer and per ClusterIssuer
// with 1 on the Ready condition's status (Unknown when there is none), and
// eight challenge_status series per Challenge with 1 on its state
// (status="", cert-manager's Unknown, when it has none yet).
func TestResourceSeries(t *testing.T) {
	r := Resources{
		Issuers: []Issuer{
			{Namespace: "web", Name: "ready", Ready: cmmeta.ConditionTrue},
			{Namespace: "web", Name: "broken", Ready: cmmeta.ConditionFalse},
			{Namespace: "api", Name: "new"},
		},
		ClusterIssuers: []Issuer{
			{Name: "letsencrypt", Ready: cmmeta.ConditionUnknown},
		},
		Challenges: []Challenge{
			{Namespace: "web", Name: "site-1-2-3", DNSName: "www.example.com", Type: "DNS-01",
				State: cmacme.Pending, Reason: "Waiting for DNS-01 challenge propagation", Processing: true},
			{Namespace: "web", Name: "site-1-2-4", DNSName: "example.com", Type: "HTTP-01"},
		},
	}
	want := `
# HELP certmanager_issuer_ready_status The ready status of the Issuer.
# TYPE certmanager_issuer_ready_status gauge
certmanager_issuer_ready_status{condition="False",name="broken",namespace="web"} 1
certmanager_issuer_ready_status{condition="False",name="new",namespace="api"} 0
certmanager_issuer_ready_status{condition="False",name="ready",namespace="web"} 0
certmanager_issuer_ready_status{condition="True",name="broken",namespace="web"} 0
certmanager_issuer_ready_status{condition="True",name="new",namespace="api"} 0
certmanager_issuer_ready_status{condition="True",name="ready",namespace="web"} 1
certmanager_issuer_ready_status{condition="Unknown",name="broken",namespace="web"} 0
certmanager_issuer_ready_status{condition="Unknown",name="new",namespace="api"} 1
certmanager_issuer_ready_status{condition="Unknown",name="ready",namespace="web"} 0
# HELP certmanager_clusterissuer_ready_status The ready status of the ClusterIssuer.
# TYPE certmanager_clusterissuer_ready_status gauge
certmanager_clusterissuer_ready_status{condition="False",name="letsencrypt"} 0
certmanager_clusterissuer_ready_status{condition="True",name="letsencrypt"} 0
certmanager_clusterissuer_ready_status{condition="Unknown",name="letsencrypt"} 1
# HELP certmanager_certificate_challenge_status The status of certificate challenges
# TYPE certmanager_certificate_challenge_status gauge
`
	// cert-manager's Unknown state is "": a Challenge with no state yet
	// has 1 there.
	for _, s := range []string{"", "errored", "expired", "invalid", "pending", "processing", "ready", "valid"} {
		v, noState := "0", "0"
		if s == "pending" {
			v = "1"
		}
		if s == "" {
			noState = "1"
		}
		want += `certmanager_certificate_challenge_status{domain="example.com",name="site-1-2-4",namespace="web",processing="false",reason="",status="` + s + `",type="HTTP-01"} ` + noState + "\n"
		want += `certmanager_certificate_challenge_status{domain="www.example.com",name="site-1-2-3",namespace="web",processing="true",reason="Waiting for DNS-01 challenge propagation",status="` + s + `",type="DNS-01"} ` + v + "\n"
	}
	if err := testutil.CollectAndCompare(ResourceCollector(r), strings.NewReader(want)); err != nil {
		t.Error(err)
	}
	if n := testutil.CollectAndCount(ResourceCollector(Resources{})); n != 0 {
		t.Errorf("no objects gave %d series, want none", n)
	}
}

// TestListResources: every page is read, the Ready condition is found
// among others, ClusterIssuers only when asked, and a list that fails is
// left out of Read (with its partial pages) while the others are kept.
func TestListResources(t *testing.T) {
	objs := []runtime.Object{
		&cmapi.Issuer{ObjectMeta: metav1.ObjectMeta{Namespace: "web", Name: "a"}, Status: cmapi.IssuerStatus{Conditions: []cmapi.IssuerCondition{
			{Type: "Other", Status: cmmeta.ConditionFalse}, {Type: cmapi.IssuerConditionReady, Status: cmmeta.ConditionTrue}}}},
		&cmapi.Issuer{ObjectMeta: metav1.ObjectMeta{Namespace: "api", Name: "b"}},
		&cmapi.ClusterIssuer{ObjectMeta: metav1.ObjectMeta{Name: "c"}, Status: cmapi.IssuerStatus{Conditions: []cmapi.IssuerCondition{
			{Type: cmapi.IssuerConditionReady, Status: cmmeta.ConditionFalse}}}},
		&cmacme.Challenge{ObjectMeta: metav1.ObjectMeta{Namespace: "web", Name: "ch"},
			Spec:   cmacme.ChallengeSpec{DNSName: "example.com", Type: cmacme.ACMEChallengeTypeHTTP01},
			Status: cmacme.ChallengeStatus{State: cmacme.Valid, Processing: false, Reason: "Successfully authorized domain"}},
	}
	cm := cmfake.NewClientset(objs...)
	res, err := ListResources(cm, "", true, 1)(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if res.Read != KindIssuers|KindClusterIssuers|KindChallenges || len(res.Issuers) != 2 || len(res.ClusterIssuers) != 1 || len(res.Challenges) != 1 {
		t.Fatalf("read %+v", res)
	}
	for _, is := range res.Issuers {
		if want := map[string]cmmeta.ConditionStatus{"a": cmmeta.ConditionTrue, "b": ""}[is.Name]; is.Ready != want {
			t.Errorf("Issuer %s Ready = %q, want %q", is.Name, is.Ready, want)
		}
	}
	if c := res.ClusterIssuers[0]; c.Name != "c" || c.Namespace != "" || c.Ready != cmmeta.ConditionFalse {
		t.Errorf("ClusterIssuer %+v", c)
	}
	if c := res.Challenges[0]; c != (Challenge{Namespace: "web", Name: "ch", DNSName: "example.com", Type: "HTTP-01", State: cmacme.Valid, Reason: "Successfully authorized domain"}) {
		t.Errorf("Challenge %+v", c)
	}

	res, err = ListResources(cm, "web", false, 0)(context.Background())
	if err != nil || res.Read != KindIssuers|KindChallenges || len(res.Issuers) != 1 || res.ClusterIssuers != nil {
		t.Fatalf("namespaced read %+v, %v: want web's Issuer and no ClusterIssuers", res, err)
	}

	cm.PrependReactor("list", "issuers", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, errors.New("forbidden")
	})
	res, err = ListResources(cm, "", true, 0)(context.Background())
	if err == nil || !strings.Contains(err.Error(), "listing Issuers: forbidden") {
		t.Errorf("error %v, want the Issuers' LIST named", err)
	}
	if res.Read != KindClusterIssuers|KindChallenges || res.Issuers != nil || len(res.ClusterIssuers) != 1 {
		t.Errorf("with Issuers forbidden read %+v, want the others", res)
	}
}

// fakeResourceReads is a ReadResources that counts its calls.
type fakeResourceReads struct {
	mu    sync.Mutex
	calls int
	res   Resources
	err   error
}

func (f *fakeResourceReads) read(context.Context) (Resources, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	return f.res, f.err
}

// TestLiveReadsResourcesAtMostEveryInterval: the issuer and challenge
// series are read on the same pace as the Certificates, a sweep's Set
// does not stand in for them, and a kind that could not be read keeps its
// last series.
func TestLiveReadsResourcesAtMostEveryInterval(t *testing.T) {
	now := time.Unix(1_750_000_000, 0)
	certs := &fakeReads{}
	res := &fakeResourceReads{res: Resources{
		Issuers:        []Issuer{{Namespace: "a", Name: "i", Ready: cmmeta.ConditionTrue}},
		ClusterIssuers: []Issuer{{Name: "c"}},
		Read:           KindIssuers | KindClusterIssuers | KindChallenges,
	}}
	live := &Live{Read: certs.read, ReadResources: res.read, Interval: time.Minute, Now: func() time.Time { return now }, Logger: slog.New(slog.DiscardHandler)}
	issuerSeries := func() int {
		return testutil.CollectAndCount(live, "certmanager_issuer_ready_status", "certmanager_clusterissuer_ready_status")
	}
	live.Refresh(context.Background())
	if res.calls != 1 || issuerSeries() != 6 {
		t.Fatalf("first scrape: reads %d, series %d", res.calls, issuerSeries())
	}
	now = now.Add(30 * time.Second)
	live.Set(nil, now)
	live.Refresh(context.Background())
	if res.calls != 1 {
		t.Fatalf("within the interval: %d reads", res.calls)
	}
	// A sweep's Set makes the Certificate read wait, not the issuers'.
	now = now.Add(30 * time.Second)
	live.Set(nil, now)
	res.res = Resources{Issuers: nil, Read: KindIssuers | KindChallenges}
	res.err = errors.New("listing ClusterIssuers: forbidden")
	live.Refresh(context.Background())
	if res.calls != 2 || certs.count() != 1 {
		t.Fatalf("after the interval: resource reads %d, certificate reads %d", res.calls, certs.count())
	}
	if n := testutil.CollectAndCount(live, "certmanager_issuer_ready_status"); n != 0 {
		t.Errorf("a deleted Issuer kept %d series", n)
	}
	if n := testutil.CollectAndCount(live, "certmanager_clusterissuer_ready_status"); n != 3 {
		t.Errorf("a ClusterIssuer list that failed left %d series, want the last read's 3", n)
	}
}

// TestListResourcesRestartsAnExpiredList: a LIST whose continue token
// expired (410, etcd compacted past it) starts over, as the sweep's own
// LISTs do, and what the expired pass gathered is dropped, so each Issuer
// is read once and none is left out.
func TestListResourcesRestartsAnExpiredList(t *testing.T) {
	cm := cmfake.NewClientset()
	calls := 0
	cm.PrependReactor("list", "issuers", func(k8stesting.Action) (bool, runtime.Object, error) {
		calls++
		switch calls {
		case 1: // the first page of the first pass
			return true, &cmapi.IssuerList{ListMeta: metav1.ListMeta{Continue: "next"}, Items: []cmapi.Issuer{{ObjectMeta: metav1.ObjectMeta{Namespace: "web", Name: "a"}}}}, nil
		case 2: // its continue token has expired
			return true, nil, apierrors.NewResourceExpired("continue token too old")
		default: // the restarted pass, in one page
			return true, &cmapi.IssuerList{Items: []cmapi.Issuer{
				{ObjectMeta: metav1.ObjectMeta{Namespace: "web", Name: "a"}},
				{ObjectMeta: metav1.ObjectMeta{Namespace: "web", Name: "b"}},
			}}, nil
		}
	})
	res, err := ListResources(cm, "", false, 1)(context.Background())
	if err != nil {
		t.Fatalf("an expired continue token failed the read: %v", err)
	}
	if len(res.Issuers) != 2 || res.Issuers[0].Name != "a" || res.Issuers[1].Name != "b" || res.Read&KindIssuers == 0 {
		t.Errorf("Issuers %+v, read %v; want a and b once each", res.Issuers, res.Read)
	}
}
