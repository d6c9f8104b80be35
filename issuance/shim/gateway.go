package shim

import (
	"strings"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
	gwapi "sigs.k8s.io/gateway-api/apis/v1"
)

var gatewayGVK = schema.GroupVersionKind{Group: gwapi.GroupVersion.Group, Version: gwapi.GroupVersion.Version, Kind: "Gateway"}

// Gateway returns what a Gateway asks for: one Certificate per Secret its
// TLS listeners name, for the hostnames of the listeners naming it. ok is
// false when it asks for nothing: no issuer or cluster-issuer annotation
// (kubernetes.io/tls-acme is for Ingresses only), or it is being deleted.
//
// A listener counts when its protocol is HTTPS or TLS, its TLS mode is not
// Passthrough and cert-manager.io/ignore-tls-listeners does not name it.
// Such a listener without a hostname, without certificateRefs, with a
// reference to anything but a core Secret or to another namespace's
// Secret, or with a mode other than Terminate is skipped with a problem.
func Gateway(gw *gwapi.Gateway, d Defaults) (b Built, ok bool) {
	if !asksForCertificates(gw.Annotations, false) || beingDeleted(gw) {
		return Built{}, false
	}
	b = newBuilt(gw, gatewayGVK)
	for _, l := range gw.Spec.Listeners {
		if l.TLS == nil {
			continue
		}
		for _, ref := range l.TLS.CertificateRefs {
			b.SecretNames[string(ref.Name)] = true
		}
	}
	issuer, err := issuerFor(gw.Annotations, d.withDefaults())
	if err != nil {
		b.Problems, b.Stop = []string{issuerProblem(err)}, true
		return b, true
	}
	hosts := map[string][]string{}
	var order []string
	for i, l := range gw.Spec.Listeners {
		if l.Protocol != gwapi.HTTPSProtocolType && l.Protocol != gwapi.TLSProtocolType {
			continue
		}
		if l.TLS != nil && l.TLS.Mode != nil && *l.TLS.Mode == gwapi.TLSModePassthrough {
			continue
		}
		if listenerIgnored(gw.Annotations, string(l.Name)) {
			continue
		}
		if errs := checkListener(field.NewPath("spec", "listeners").Index(i), l, gw.Namespace); len(errs) > 0 {
			b.Problems = append(b.Problems, "Skipped a listener block: "+errs.ToAggregate().Error())
			continue
		}
		for _, ref := range l.TLS.CertificateRefs {
			name := string(ref.Name)
			if _, seen := hosts[name]; !seen {
				order = append(order, name)
			}
			hosts[name] = append(hosts[name], string(*l.Hostname))
		}
	}
	entries := make([]tlsEntry, 0, len(order))
	for _, name := range order {
		entries = append(entries, tlsEntry{secretName: name, hosts: hosts[name]})
	}
	build(gw, gatewayGVK, entries, issuer, &b)
	return b, true
}

// listenerIgnored reports a listener named in ignore-tls-listeners, a
// comma-separated list of exact listener names.
func listenerIgnored(ann map[string]string, name string) bool {
	list, ok := ann[cmapi.CertificateIgnoreTLSListeners]
	if !ok {
		return false
	}
	for ignored := range strings.SplitSeq(list, ",") {
		if strings.TrimSpace(ignored) == name {
			return true
		}
	}
	return false
}

// checkListener is cert-manager's validateGatewayListenerBlock. The API
// server defaults a reference's group to "" and kind to Secret; a missing
// one is read as that default.
func checkListener(path *field.Path, l gwapi.Listener, namespace string) field.ErrorList {
	var errs field.ErrorList
	if l.Hostname == nil || *l.Hostname == "" {
		errs = append(errs, field.Required(path.Child("hostname"), "the hostname cannot be empty"))
	}
	if l.TLS == nil {
		return append(errs, field.Required(path.Child("tls"), "the TLS block cannot be empty"))
	}
	refs := path.Child("tls").Child("certificateRef")
	if len(l.TLS.CertificateRefs) == 0 {
		errs = append(errs, field.Required(refs, "listener has no certificateRefs"))
	}
	for i, ref := range l.TLS.CertificateRefs {
		if ref.Group != nil && *ref.Group != "core" && *ref.Group != "" {
			errs = append(errs, field.NotSupported(refs.Index(i).Child("group"), *ref.Group, []string{"core", ""}))
		}
		if ref.Kind != nil && *ref.Kind != "Secret" && *ref.Kind != "" {
			errs = append(errs, field.NotSupported(refs.Index(i).Child("kind"), *ref.Kind, []string{"Secret", ""}))
		}
		if ref.Namespace != nil && string(*ref.Namespace) != namespace {
			errs = append(errs, field.Invalid(refs.Index(i).Child("namespace"), *ref.Namespace, "cross-namespace secret references are not allowed in listeners"))
		}
	}
	switch {
	case l.TLS.Mode == nil:
		errs = append(errs, field.Required(path.Child("tls").Child("mode"), "the mode field is required"))
	case *l.TLS.Mode != gwapi.TLSModeTerminate:
		errs = append(errs, field.NotSupported(path.Child("tls").Child("mode"), *l.TLS.Mode, []string{string(gwapi.TLSModeTerminate)}))
	}
	return errs
}
