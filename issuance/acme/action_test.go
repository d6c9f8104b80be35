package acme_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"net/http"
	"slices"
	"sync"
	"testing"

	"github.com/certsweep/certsweep/issuance/acme"
)

// actionLog is a Config.WrapTransport that notes each request's action.
type actionLog struct {
	mu   sync.Mutex
	seen []string // "ACTION METHOD PATH"
}

func (l *actionLog) wrap(next http.RoundTripper) http.RoundTripper {
	return roundTripFunc(func(req *http.Request) (*http.Response, error) {
		l.mu.Lock()
		l.seen = append(l.seen, acme.Action(req)+" "+req.Method+" "+req.URL.Path)
		l.mu.Unlock()
		return next.RoundTrip(req)
	})
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// Every request to the CA goes through the wrapper, labelled with
// cert-manager's logical operation: the directory fetch as discover, the
// nonce fetch as the call it serves.
func TestWrapTransportSeesEveryRequestWithItsAction(t *testing.T) {
	f := newFakeCA(t)
	f.newOrder = func(w http.ResponseWriter, r *http.Request) {
		f.echoOrder(w, payload(t, r))
	}
	log := &actionLog{}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	c, err := acme.New(t.Context(), acme.Config{DirectoryURL: f.srv.URL + "/dir", CABundle: f.bundle(), WrapTransport: log.wrap}, key, "")
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	defer c.Close()
	if _, err := c.Register(t.Context(), "", nil); err != nil {
		t.Fatalf("Register: %v", err)
	}
	if _, err := c.NewOrder(t.Context(), []string{"a.example.com"}, "", ""); err != nil {
		t.Fatalf("NewOrder: %v", err)
	}
	want := []string{
		"discover GET /dir",
		"register_account HEAD /nonce",
		"register_account POST /account",
		"authorize_order POST /order",
	}
	if !slices.Equal(log.seen, want) {
		t.Errorf("requests seen by the wrapper:\n got %q\nwant %q", log.seen, want)
	}
}

func TestActionOutsideACallIsUnnamed(t *testing.T) {
	req, _ := http.NewRequest(http.MethodGet, "https://ca.example/x", nil)
	if got := acme.Action(req); got != "unnamed_action" {
		t.Errorf("Action = %q, want unnamed_action", got)
	}
}
