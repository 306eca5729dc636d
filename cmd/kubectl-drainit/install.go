package main

// kubectl drainit install: drainit-injector's manifests (install/), as
// kubectl apply -f takes them unchanged, applied with kubectl or written
// out, with the images and the variants a cluster needs.

import (
	"bytes"
	"embed"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
)

//go:embed install/drainit-injector.yaml install/notice.yaml
var installFiles embed.FS

// The names the manifests give, which install's options change.
const (
	injectorImage     = "ghcr.io/drainit/drainit-injector:latest"
	injectorNamespace = "drainit-system"
	injectorName      = "drainit-injector"
	pullSecretsRole   = "drainit-injector-pull-secrets"
	namespacesRole    = "drainit-injector-namespaces" // read before the pull Secrets
	servingSecret     = "drainit-injector-tls"        // cert-manager's, in the variant
)

type installArgs struct {
	image, injectorImage, imageConfig string
	certManager, noNotice, print      bool
}

const installUsage = `kubectl drainit install [options] [-- KUBECTL APPLY OPTIONS]

Installs drainit-injector in the namespace drainit-system with kubectl apply:
every pod created from then on in a namespace labelled
drainit.dev/inject: enabled runs its containers under drainit, as
kubectl drainit inject would write them. --print writes the manifests instead.

Options:
`

func install(args []string, stdout, stderr io.Writer) int {
	var a installArgs
	fs := flag.NewFlagSet("kubectl drainit install", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, installUsage); fs.PrintDefaults() }
	image := os.Getenv("DRAINIT_IMAGE")
	if image == "" {
		image = defaultImage
	}
	fs.StringVar(&a.image, "image", image, "drainit's `IMAGE`, which the injector gives the pods it wraps ($DRAINIT_IMAGE)")
	fs.StringVar(&a.injectorImage, "injector-image", injectorImage, "drainit-injector's `IMAGE`")
	fs.StringVar(&a.imageConfig, "image-config", "pull-secrets", "how the injector reads images' configs: pull-secrets (with the pods' image pull Secrets: it may get any Secret a pod names), anonymous or off (no Secret is read, and its RBAC has none)")
	fs.BoolVar(&a.certManager, "cert-manager", false, "cert-manager makes the serving certificate and its CA injector writes the caBundle (the injector then touches no Secret or webhook configuration)")
	fs.BoolVar(&a.noNotice, "no-notice", false, "leave out the MutatingAdmissionPolicy that marks the pods the injector did not answer for (it needs Kubernetes 1.36)")
	fs.BoolVar(&a.print, "print", false, "write the manifests to stdout instead of applying them")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return exitUsage
	}
	switch {
	case strings.TrimSpace(a.image) == "" || strings.TrimSpace(a.injectorImage) == "":
		fmt.Fprintln(stderr, "kubectl-drainit: install: --image and --injector-image must name an image")
		return exitUsage
	case !slices.Contains([]string{"pull-secrets", "anonymous", "off"}, a.imageConfig):
		fmt.Fprintf(stderr, "kubectl-drainit: install: --image-config %q: want pull-secrets, anonymous or off\n", a.imageConfig)
		return exitUsage
	case a.print && fs.NArg() > 0:
		fmt.Fprintf(stderr, "kubectl-drainit: install: --print and kubectl apply's options %q: one or the other\n", fs.Args())
		return exitUsage
	}
	var out bytes.Buffer
	if err := writeInstall(&out, a); err != nil {
		fmt.Fprintln(stderr, "kubectl-drainit: install:", err)
		return exitFailed
	}
	if a.print {
		stdout.Write(out.Bytes())
		return 0
	}
	cmd := exec.Command("kubectl", append([]string{"apply", "-f", "-"}, fs.Args()...)...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = &out, stdout, stderr
	if err := cmd.Run(); err != nil {
		fmt.Fprintln(stderr, "kubectl-drainit: install: kubectl apply:", err)
		return exitFailed
	}
	return 0
}

// writeInstall writes the manifests, changed as a says.
func writeInstall(w io.Writer, a installArgs) error {
	files := []string{"install/drainit-injector.yaml"}
	if !a.noNotice {
		files = append(files, "install/notice.yaml")
	}
	var docs []document
	for _, f := range files {
		b, err := installFiles.ReadFile(f)
		if err != nil {
			return err
		}
		d, _, err := readDocuments(bytes.NewReader(b))
		if err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
		docs = append(docs, d...)
	}
	var objs []map[string]any
	for _, d := range docs {
		if d.obj != nil {
			objs = append(objs, d.obj)
		}
	}
	objs, err := adapt(objs, a)
	if err != nil {
		return err
	}
	docs = docs[:0]
	for _, o := range objs {
		docs = append(docs, document{obj: o})
	}
	return writeDocuments(w, docs, false)
}

// adapt changes the manifests' objects as the options say.
func adapt(objs []map[string]any, a installArgs) ([]map[string]any, error) {
	var injector map[string]any
	for _, o := range objs {
		if stringAt(o, "kind") == "Deployment" && stringAt(o, "metadata", "name") == injectorName {
			injector = o
		}
	}
	containers, _ := mapValueAt(injector, "spec", "template", "spec", "containers").([]any)
	if len(containers) != 1 {
		return nil, errors.New("the manifests have no Deployment drainit-injector of one container")
	}
	c := containers[0].(map[string]any)
	c["image"] = a.injectorImage
	setArg(c, "--image", a.image)
	setArg(c, "--image-config", a.imageConfig)
	drop := map[string]bool{} // kind/name
	if a.imageConfig != "pull-secrets" {
		for _, name := range []string{pullSecretsRole, namespacesRole} {
			drop["ClusterRole/"+name], drop["ClusterRoleBinding/"+name] = true, true
		}
	}
	if a.certManager {
		// The CA's Secret and the caBundle are cert-manager's now.
		for _, k := range []string{"Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding"} {
			drop[k+"/"+injectorName] = true
		}
		setArg(c, "--cert-secret", "")
		setArg(c, "--webhook-config", "")
		volumes, _ := mapValueAt(injector, "spec", "template", "spec", "volumes").([]any)
		for i, v := range volumes {
			if stringAt(v, "name") == "tls" {
				volumes[i] = map[string]any{"name": "tls", "secret": map[string]any{"secretName": servingSecret}}
			}
		}
	}
	var out []map[string]any
	for _, o := range objs {
		if drop[stringAt(o, "kind")+"/"+stringAt(o, "metadata", "name")] {
			continue
		}
		if a.certManager && stringAt(o, "kind") == "MutatingWebhookConfiguration" {
			meta := o["metadata"].(map[string]any)
			meta["annotations"] = map[string]any{"cert-manager.io/inject-ca-from": injectorNamespace + "/" + servingSecret}
		}
		out = append(out, o)
		if a.certManager && stringAt(o, "kind") == "Namespace" {
			out = append(out, certManagerObjects()...)
		}
	}
	return out, nil
}

// certManagerObjects are cert-manager's Issuers and Certificates for the
// injector: a CA of its own (self-signed, long-lived, so that the caBundle
// its CA injector writes does not change when the serving certificate is
// renewed) and the serving certificate it signs for the Service's names,
// in the TLS Secret mounted at --cert-dir.
func certManagerObjects() []map[string]any {
	meta := func(name string) map[string]any { return map[string]any{"name": name, "namespace": injectorNamespace} }
	issuer := func(name string, spec map[string]any) map[string]any {
		return map[string]any{"apiVersion": "cert-manager.io/v1", "kind": "Issuer", "metadata": meta(name), "spec": spec}
	}
	svc := injectorName + "." + injectorNamespace
	return []map[string]any{
		issuer("drainit-injector-selfsigned", map[string]any{"selfSigned": map[string]any{}}),
		{"apiVersion": "cert-manager.io/v1", "kind": "Certificate", "metadata": meta("drainit-injector-ca"),
			"spec": map[string]any{"isCA": true, "commonName": "drainit-injector CA", "secretName": "drainit-injector-cert-manager-ca", "duration": "87600h",
				"privateKey": map[string]any{"algorithm": "ECDSA", "size": 256},
				"issuerRef":  map[string]any{"name": "drainit-injector-selfsigned", "kind": "Issuer"}}},
		issuer("drainit-injector-ca", map[string]any{"ca": map[string]any{"secretName": "drainit-injector-cert-manager-ca"}}),
		{"apiVersion": "cert-manager.io/v1", "kind": "Certificate", "metadata": meta(servingSecret),
			"spec": map[string]any{"secretName": servingSecret, "dnsNames": []any{svc + ".svc", svc, injectorName, svc + ".svc.cluster.local"},
				"privateKey": map[string]any{"algorithm": "ECDSA", "size": 256, "rotationPolicy": "Always"},
				"issuerRef":  map[string]any{"name": "drainit-injector-ca", "kind": "Issuer"}}},
	}
}

// setArg sets --name=value among a container's args, or with value ""
// removes it.
func setArg(c map[string]any, name, value string) {
	args, _ := c["args"].([]any)
	out := args[:0:0]
	set := false
	for _, a := range args {
		if s, _ := a.(string); s == name || strings.HasPrefix(s, name+"=") {
			if value != "" && !set {
				out = append(out, name+"="+value)
				set = true
			}
			continue
		}
		out = append(out, a)
	}
	if value != "" && !set {
		out = append(out, name+"="+value)
	}
	c["args"] = out
}

func mapValueAt(v any, path ...string) any {
	for _, k := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

func stringAt(v any, path ...string) string {
	s, _ := mapValueAt(v, path...).(string)
	return s
}
