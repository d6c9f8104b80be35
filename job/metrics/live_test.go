package metrics

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/certsweep/certsweep/job"
)

// fakeReads is a Read that counts its calls and answers what it is told.
type fakeReads struct {
	mu    sync.Mutex
	calls int
	certs []Certificate
	err   error
}

func (f *fakeReads) read(context.Context) ([]Certificate, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	return f.certs, f.err
}

func (f *fakeReads) set(certs []Certificate, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.certs, f.err = certs, err
}

func (f *fakeReads) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

func cert(ns, name string, ready cmmeta.ConditionStatus) Certificate {
	return Certificate{Namespace: ns, Name: name, CertificateSnapshot: job.CertificateSnapshot{IssuerRef: cmmeta.IssuerReference{Name: "ca"}, Ready: ready}}
}

// TestLiveReadsAtMostEveryInterval: scrapes within the interval reuse the
// last read; a failed read keeps the last Certificates and also waits an
// interval; a sweep's Certificates replace a read.
func TestLiveReadsAtMostEveryInterval(t *testing.T) {
	now := time.Unix(1_750_000_000, 0)
	reads := &fakeReads{certs: []Certificate{cert("a", "one", cmmeta.ConditionTrue)}}
	live := &Live{Read: reads.read, Interval: time.Minute, Now: func() time.Time { return now }, Logger: slog.New(slog.DiscardHandler)}
	series := func() int { return testutil.CollectAndCount(live, "certmanager_certificate_ready_status") }

	if n := series(); n != 0 {
		t.Fatalf("series before the first read = %d", n)
	}
	live.Refresh(context.Background())
	if reads.count() != 1 || series() != 3 {
		t.Fatalf("first scrape: reads %d, series %d", reads.count(), series())
	}
	reads.set([]Certificate{cert("a", "one", cmmeta.ConditionTrue), cert("a", "two", cmmeta.ConditionFalse)}, nil)
	now = now.Add(59 * time.Second)
	live.Refresh(context.Background())
	if reads.count() != 1 || series() != 3 {
		t.Fatalf("within the interval: reads %d, series %d; want the last read reused", reads.count(), series())
	}
	now = now.Add(time.Second)
	live.Refresh(context.Background())
	if reads.count() != 2 || series() != 6 {
		t.Fatalf("after the interval: reads %d, series %d", reads.count(), series())
	}

	// A failed read keeps what was read, and the next try is an interval on.
	reads.set(nil, errors.New("API server unavailable"))
	now = now.Add(time.Minute)
	live.Refresh(context.Background())
	live.Refresh(context.Background())
	if reads.count() != 3 || series() != 6 {
		t.Fatalf("failed read: reads %d, series %d", reads.count(), series())
	}

	// A full sweep's Certificates are as good as a read.
	now = now.Add(time.Minute)
	live.Set([]Certificate{cert("a", "two", cmmeta.ConditionFalse)}, now)
	live.Refresh(context.Background())
	if reads.count() != 3 || series() != 3 {
		t.Fatalf("after a sweep: reads %d, series %d", reads.count(), series())
	}
	// A sweep that ended before the last read does not replace it.
	reads.set([]Certificate{cert("b", "three", cmmeta.ConditionTrue)}, nil)
	now = now.Add(time.Minute)
	live.Refresh(context.Background())
	live.Set(nil, now.Add(-time.Second))
	if reads.count() != 4 || series() != 3 {
		t.Fatalf("older sweep: reads %d, series %d", reads.count(), series())
	}
}

// TestHandlerRefreshesThenGathers: /metrics reads (at most every
// interval) and serves everything registered.
func TestHandlerRefreshesThenGathers(t *testing.T) {
	reads := &fakeReads{certs: []Certificate{cert("a", "one", cmmeta.ConditionTrue)}}
	now := time.Unix(1_750_000_000, 0)
	live := &Live{Read: reads.read, Interval: time.Hour, Now: func() time.Time { return now }}
	reg := prometheus.NewRegistry()
	reg.MustRegister(live)
	reg.MustRegister(ClockCollectors(func() time.Time { return now })...)
	srv := httptest.NewServer(Handler(live, reg))
	defer srv.Close()
	for range 3 {
		resp, err := http.Get(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		for _, want := range []string{
			`certmanager_certificate_ready_status{condition="True",issuer_group="",issuer_kind="",issuer_name="ca",name="one",namespace="a"} 1`,
			`certmanager_clock_time_seconds_gauge 1.75e+09`,
		} {
			if !strings.Contains(string(body), want) {
				t.Fatalf("/metrics lacks %s:\n%s", want, body)
			}
		}
	}
	if reads.count() != 1 {
		t.Fatalf("three scrapes within the interval read %d times, want 1", reads.count())
	}
}
