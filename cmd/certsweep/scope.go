package main

import (
	"flag"

	"k8s.io/client-go/tools/clientcmd"
)

// scope is the -n / -A / -l trio that plan and renew share with kubectl.
type scope struct {
	namespace     string
	allNamespaces bool
	selector      string
}

func (s *scope) register(fs *flag.FlagSet) {
	fs.StringVar(&s.namespace, "n", "", "namespace (default: CERTSWEEP_NAMESPACE, else the kubeconfig context's)")
	fs.BoolVar(&s.allNamespaces, "A", false, "all namespaces")
	fs.StringVar(&s.selector, "l", "", "label selector, e.g. team=web")
}

// resolve picks the namespace: -A beats -n beats the configured one; when
// none is given, fallbackToContext uses the kubeconfig context's namespace
// (as kubectl and cmctl do) and otherwise every namespace is in scope.
func (s *scope) resolve(cfg *config, fallbackToContext bool) {
	switch {
	case s.allNamespaces:
		cfg.Namespace = ""
	case s.namespace != "":
		cfg.Namespace = s.namespace
	case cfg.Namespace == "" && fallbackToContext:
		rules := clientcmd.NewDefaultClientConfigLoadingRules()
		ns, _, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{}).Namespace()
		if err != nil || ns == "" {
			ns = "default"
		}
		cfg.Namespace = ns
	}
	if s.selector != "" {
		cfg.Selector = s.selector
	}
}
