package triggers

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"

	"github.com/certsweep/certsweep/job"
)

// Retry-After values. An unreachable API server usually comes back within
// seconds to a minute; a spent issuance budget refills with the next request,
// but retrying at once would only spend it again on the same backlog.
const (
	retryAfterUnavailable = 30 * time.Second
	retryAfterBudget      = 60 * time.Second
)

// Handler serves CloudEvents over HTTP, in binary or structured mode, the
// way a Knative Service receives them from an ApiServerSource, a
// PingSource or a Broker's Trigger. It replies only once the work is done,
// so the status code tells the sender whether to redeliver:
//
//	200 done (a Certificate that failed has the failure on its status)
//	400 not a CloudEvent, or one we act on that names no object
//	405 not a POST
//	413 larger than MaxEventBytes
//	429 the issuance budget ran out; Retry-After says when to come back
//	503 the API server could not be reached; Retry-After as well
type Handler struct {
	// Target does the work; Handle is called with it for every event.
	Target Target
	// Logger receives one line per event: its type, subject and result.
	// Never the payload.
	Logger *slog.Logger
	// Work is the context the work runs on. It is not the request's: a
	// sender that hangs up must not cut an issuance in half. Cancelling it
	// is for a forced shutdown only.
	Work context.Context
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/healthz" {
		w.WriteHeader(http.StatusOK)
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "certsweep accepts CloudEvents by POST", http.StatusMethodNotAllowed)
		return
	}
	// Read the whole body first, bounded, so an oversized request gets a
	// clear 413 rather than whatever the event decoder makes of a cut body.
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxEventBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			http.Error(w, fmt.Sprintf("event larger than %d bytes", MaxEventBytes), http.StatusRequestEntityTooLarge)
			return
		}
		http.Error(w, "reading request body failed", http.StatusBadRequest)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	ev, err := cehttp.NewEventFromHTTPRequest(r)
	if err != nil {
		// The decoder's error may quote the body (its JSON parser shows
		// context bytes), so neither the log nor the reply carries it.
		h.logger().Info("rejected a request that is not a CloudEvent", "content-type", r.Header.Get("Content-Type"), "bytes", len(body))
		http.Error(w, "not a CloudEvent in binary or structured mode", http.StatusBadRequest)
		return
	}
	req, err := Decode(*ev)
	if err != nil {
		h.logger().Info("rejected event", "type", ev.Type(), "id", ev.ID(), "error", err)
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	log := h.logger().With("type", req.Type, "id", ev.ID())
	if req.Subject != nil {
		log = log.With("subject", req.Subject.String())
	}
	if req.Ignored() {
		log.Info("ignored event of a type certsweep does not act on")
		w.WriteHeader(http.StatusOK)
		return
	}
	out, err := Handle(h.work(), h.Target, req)
	switch {
	case errors.Is(err, job.ErrRunImpossible):
		log.Error("event not handled: the API server could not be used", "error", err)
		retryAfter(w, retryAfterUnavailable)
		http.Error(w, "the Kubernetes API could not be used; retry later", http.StatusServiceUnavailable)
	case err != nil:
		log.Error("event not handled", "error", err)
		http.Error(w, "handling the event failed", http.StatusInternalServerError)
	case out.Report == nil:
		log.Info("nothing to do", "certificates", len(out.Refs))
		w.WriteHeader(http.StatusOK)
	case out.Report.Deferred > 0:
		log.Warn("issuance budget spent; asking for redelivery", "summary", out.Report.Summary())
		retryAfter(w, retryAfterBudget)
		http.Error(w, out.Report.Summary(), http.StatusTooManyRequests)
	default:
		log.Info("event handled", "summary", out.Report.Summary())
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusOK)
		fmt.Fprintln(w, out.Report.Summary())
	}
}

func retryAfter(w http.ResponseWriter, d time.Duration) {
	w.Header().Set("Retry-After", strconv.Itoa(int(d.Seconds())))
}

func (h *Handler) logger() *slog.Logger {
	if h.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return h.Logger
}

func (h *Handler) work() context.Context {
	if h.Work == nil {
		return context.Background()
	}
	return h.Work
}
