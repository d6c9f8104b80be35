// Command demo is `make demo`: it starts a local control plane, applies the
// example manifests, runs one sweep with the real certsweep binary, exactly as
// a pod would (same environment, KUBECONFIG instead of a service account),
// and shows what the sweep produced.
package main

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmclient "github.com/cert-manager/cert-manager/pkg/client/clientset/versioned"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/certsweep/certsweep/test/harness"
)

func main() {
	binary := flag.String("certsweep", "bin/certsweep", "path of the certsweep binary to run")
	examples := flag.String("examples", "manifests/examples", "directory of example manifests")
	keep := flag.Bool("keep", false, "keep the control plane running until Ctrl-C")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *binary, *examples, *keep); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, binary, examples string, keep bool) error {
	fmt.Println("==> starting a local etcd and kube-apiserver (first run builds them; later runs reuse the cache)")
	cp, err := harness.Start(ctx, harness.Options{})
	if err != nil {
		return err
	}
	defer cp.Stop()

	fmt.Printf("==> applying %s\n", examples)
	if _, err := harness.Apply(ctx, cp.Config, harness.ApplyOptions{}, examples); err != nil {
		return err
	}

	fmt.Println("==> certsweep run")
	cmd := exec.CommandContext(ctx, binary, "run")
	cmd.Env = append(os.Environ(), "KUBECONFIG="+cp.Kubeconfig, "CERTSWEEP_LOG_FORMAT=text")
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("certsweep run: %w", err)
	}

	if err := show(ctx, cp); err != nil {
		return err
	}
	if !keep {
		fmt.Println("\n(make demo KEEP=1 keeps the control plane up to try `certsweep plan` and `certsweep renew`)")
		return nil
	}
	fmt.Printf("\nThe control plane stays up until Ctrl-C. In another shell:\n  export KUBECONFIG=%s\n  %s run\n", cp.Kubeconfig, binary)
	<-ctx.Done()
	return nil
}

// show prints the Certificates as kubectl would and each Secret's subject
// and expiry as read back with crypto/x509.
func show(ctx context.Context, cp *harness.ControlPlane) error {
	cm, err := cmclient.NewForConfig(cp.Config)
	if err != nil {
		return err
	}
	kube, err := kubernetes.NewForConfig(cp.Config)
	if err != nil {
		return err
	}
	certs, err := cm.CertmanagerV1().Certificates("").List(ctx, metav1.ListOptions{})
	if err != nil {
		return fmt.Errorf("listing certificates: %w", err)
	}
	w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "\nNAMESPACE\tCERTIFICATE\tREADY\tREASON\tREVISION\tRENEWAL TIME\tSECRET SUBJECT\tSANS\tKEY\tNOT AFTER")
	for _, c := range certs.Items {
		ready, reason := "Unknown", ""
		for _, cond := range c.Status.Conditions {
			if cond.Type == cmapi.CertificateConditionReady {
				ready, reason = string(cond.Status), cond.Reason
			}
		}
		rev, renewal := "-", "-"
		if c.Status.Revision != nil {
			rev = fmt.Sprint(*c.Status.Revision)
		}
		if c.Status.RenewalTime != nil {
			renewal = c.Status.RenewalTime.UTC().Format(time.RFC3339)
		}
		subject, sans, key, notAfter := "-", "-", "-", "-"
		if sec, err := kube.CoreV1().Secrets(c.Namespace).Get(ctx, c.Spec.SecretName, metav1.GetOptions{}); err == nil {
			if block, _ := pem.Decode(sec.Data["tls.crt"]); block != nil {
				if leaf, err := x509.ParseCertificate(block.Bytes); err == nil {
					subject = leaf.Subject.String()
					names := append([]string{}, leaf.DNSNames...)
					for _, u := range leaf.URIs {
						names = append(names, u.String())
					}
					if len(names) > 0 {
						sans = strings.Join(names, ",")
					}
					key = leaf.PublicKeyAlgorithm.String()
					notAfter = leaf.NotAfter.UTC().Format(time.RFC3339)
				}
			}
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", c.Namespace, c.Name, ready, reason, rev, renewal, subject, sans, key, notAfter)
	}
	return w.Flush()
}
