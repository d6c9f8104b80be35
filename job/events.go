package job

import (
	"context"
	"fmt"
	"sync/atomic"

	"github.com/certsweep/certsweep/issuance/pki"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// eventSeq keeps event names unique when two events share a timestamp.
var eventSeq atomic.Uint32

// eventSource is the component name kubectl describe shows for our events.
const eventSource = "certsweep"

// event records a Kubernetes Event on obj (see createEvent). Failing to
// record an event never fails the work it describes.
func (s *Sweeper) event(ctx context.Context, obj metav1.Object, gvk schema.GroupVersionKind, eventType, reason, message string) {
	now := metav1.NewTime(s.opts.Now())
	// A cluster-scoped object's events go to "default", as client-go's
	// recorder puts them.
	namespace := obj.GetNamespace()
	if namespace == "" {
		namespace = metav1.NamespaceDefault
	}
	ev := &corev1.Event{
		ObjectMeta: metav1.ObjectMeta{
			Name:      fmt.Sprintf("%.200s.%x%04x", obj.GetName(), now.UnixNano(), eventSeq.Add(1)&0xffff),
			Namespace: namespace,
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
		Message:             pki.Truncate(message, 1024),
		Type:                eventType,
		Source:              corev1.EventSource{Component: eventSource},
		FirstTimestamp:      now,
		LastTimestamp:       now,
		Count:               1,
		ReportingController: "certsweep.io/certsweep",
		ReportingInstance:   s.opts.Identity,
	}
	if err := s.createEvent(ctx, ev); err != nil {
		s.opts.Logger.Warn("could not record event", "object", obj.GetNamespace()+"/"+obj.GetName(), "reason", reason, "error", err)
	}
}
