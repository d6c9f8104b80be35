package job

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sethvargo/go-retry"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// pageFunc fetches one page of a LIST and hands each item to the caller; it
// returns the continue token of the next page ("" when done).
type pageFunc func(ctx context.Context, opts metav1.ListOptions) (string, error)

// listPages walks a paginated LIST. Throttling and server errors retry the
// page with a short exponential backoff. A 410 Gone means the continue token
// expired (etcd compacted past it); the only correct answer is to restart the
// LIST from the beginning, so callers must tolerate seeing an item twice.
func listPages(ctx context.Context, what string, opts metav1.ListOptions, fetch pageFunc) error {
	restarts := 0
	for {
		err := walkPages(ctx, opts, fetch)
		if err == nil {
			return nil
		}
		if apierrors.IsResourceExpired(err) || apierrors.IsGone(err) {
			restarts++
			if restarts <= 3 {
				continue
			}
		}
		return fmt.Errorf("listing %s: %w", what, err)
	}
}

// ListPages is listPages for the packages that read the API beside a
// sweep (job/metrics): the same paging, retries and 410 restart. fetch
// sees opts.Continue == "" at the start of each pass, which is where a
// caller that gathers items drops what an expired pass gathered.
func ListPages(ctx context.Context, what string, opts metav1.ListOptions, fetch func(ctx context.Context, opts metav1.ListOptions) (string, error)) error {
	return listPages(ctx, what, opts, fetch)
}

func walkPages(ctx context.Context, opts metav1.ListOptions, fetch pageFunc) error {
	opts.Continue = ""
	for {
		var next string
		backoff := retry.WithMaxRetries(5, retry.WithCappedDuration(5*time.Second, retry.NewExponential(200*time.Millisecond)))
		err := retry.Do(ctx, backoff, func(ctx context.Context) error {
			var err error
			next, err = fetch(ctx, opts)
			if isRetryableAPIError(err) {
				return retry.RetryableError(err)
			}
			return err
		})
		if err != nil {
			return err
		}
		if next == "" {
			return nil
		}
		opts.Continue = next
	}
}

// isRetryableAPIError reports errors worth another try: throttling, server
// errors and timeouts. Conflicts, denials and bad requests are not.
func isRetryableAPIError(err error) bool {
	if err == nil {
		return false
	}
	if apierrors.IsTooManyRequests(err) || apierrors.IsServerTimeout(err) || apierrors.IsTimeout(err) ||
		apierrors.IsInternalError(err) || apierrors.IsServiceUnavailable(err) {
		return true
	}
	var status apierrors.APIStatus
	if errors.As(err, &status) && status.Status().Code >= 500 {
		return true
	}
	return false
}
