package job

import (
	"context"
	"fmt"
	"sync/atomic"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// eventSeq keeps event names unique when two events share a timestamp.
var eventSeq atomic.Uint32

// eventSource is the component name kubectl describe shows for our events.
const eventSource = "certsweep"

// event records a Kubernetes Event on obj. Events are written directly, not
// through client-go's broadcaster, because a run is short: a buffered
// broadcaster would either lose events at exit or need a flush, and the
// direct write keeps the count of requests per run exact. Failing to record
// an event never fails the work it describes.
func (s *Sweeper) event(ctx context.Context, obj metav1.Object, gvk schema.GroupVersionKind, eventType, reason, message string) {
	now := metav1.NewTime(s.opts.Now())
	ev := &corev1.Event{
		ObjectMeta: metav1.ObjectMeta{
			Name:      fmt.Sprintf("%.200s.%x%04x", obj.GetName(), now.UnixNano(), eventSeq.Add(1)&0xffff),
			Namespace: obj.GetNamespace(),
		},
		InvolvedObject: corev1.ObjectReference{
			APIVersion:      gvk.GroupVersion().String(),
			Kind:            gvk.Kind,
			Name:            obj.GetName(),
			Namespace:       obj.GetNamespace(),
			UID:             obj.GetUID(),
			ResourceVersion: obj.GetResourceVersion(),
		},
		Reason:              reason,
		Message:             truncate(message, 1024),
		Type:                eventType,
		Source:              corev1.EventSource{Component: eventSource},
		FirstTimestamp:      now,
		LastTimestamp:       now,
		Count:               1,
		ReportingController: "certsweep.io/certsweep",
		ReportingInstance:   s.opts.Identity,
	}
	if _, err := s.kube.CoreV1().Events(ev.Namespace).Create(ctx, ev, metav1.CreateOptions{}); err != nil {
		s.opts.Logger.Warn("could not record event", "object", obj.GetNamespace()+"/"+obj.GetName(), "reason", reason, "error", err)
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-3] + "..."
}
