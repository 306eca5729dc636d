// Command kubectl-drainit is the kubectl plugin that puts drainit in front
// of the containers of existing manifests, without rebuilding an image:
//
//	kubectl drainit inject -f deploy.yaml | kubectl apply -f -
//
// inject is a filter (manifests in, manifests out), so it also serves as
// Helm's --post-renderer and as a step of a GitOps pipeline. It lives in a
// module of its own, so that drainit's binary keeps its two dependencies.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/drainit/drainit/cmd/kubectl-drainit/inject"
)

// Exit codes, as drainit's own.
const (
	exitFailed = 1 // the manifests could not be read or wrapped
	exitUsage  = 2 // bad option; nothing was read
)

// defaultImage is the image `make image` builds and tags (README,
// "Without rebuilding an image"); $DRAINIT_IMAGE or --image name another.
const defaultImage = "ghcr.io/drainit/drainit:latest"

var version = "dev"

func main() { os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) }

const usage = `kubectl drainit inject [options] [-f FILE|-]

Writes the manifests (YAML or JSON, several documents, Lists) back with
every pod template's containers running under drainit:
/.drainit/drainit -- <their command and args>.

kubectl drainit install [options] [-- KUBECTL APPLY OPTIONS]
  installs drainit-injector, which does the same to every pod created in a
  namespace labelled drainit.dev/inject: enabled (install --help).

Options of inject:
`

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stderr, usage)
		newFlags(stderr, &injectArgs{}).PrintDefaults()
		if len(args) == 0 {
			return exitUsage
		}
		return 0
	}
	switch args[0] {
	case "version", "--version":
		fmt.Fprintln(stdout, "kubectl-drainit", version)
		return 0
	case "inject":
	case "install":
		return install(args[1:], stdout, stderr)
	default:
		fmt.Fprintf(stderr, "kubectl-drainit: unknown command %q: want inject, install or version\n", args[0])
		return exitUsage
	}
	var a injectArgs
	fs := newFlags(stderr, &a)
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "kubectl-drainit: inject: unexpected argument %q (the manifests come from -f or stdin)\n", fs.Arg(0))
		return exitUsage
	}
	if a.via != inject.ViaInitContainer && a.via != inject.ViaImageVolume {
		fmt.Fprintf(stderr, "kubectl-drainit: --via %q: want %s or %s\n", a.via, inject.ViaInitContainer, inject.ViaImageVolume)
		return exitUsage
	}
	if strings.TrimSpace(a.image) == "" {
		fmt.Fprintln(stderr, "kubectl-drainit: --image is empty: drainit's image must be named")
		return exitUsage
	}
	reg, err := newRegistry(a.dockerConfig, a.platform)
	if err != nil {
		fmt.Fprintln(stderr, "kubectl-drainit:", err)
		return exitUsage
	}
	in := stdin
	if a.file != "-" {
		f, err := os.Open(a.file)
		if err != nil {
			fmt.Fprintln(stderr, "kubectl-drainit: -f:", err)
			return exitFailed
		}
		defer f.Close()
		in = f
	}
	opt := inject.Options{Containers: a.containers, Via: a.via, Image: a.image, RBAC: a.rbac, Config: reg.config}
	notes, err := injectAll(in, stdout, opt)
	for _, n := range notes {
		fmt.Fprintln(stderr, "kubectl-drainit:", n)
	}
	if err != nil {
		fmt.Fprintln(stderr, "kubectl-drainit:", err)
		return exitFailed
	}
	return 0
}

type injectArgs struct {
	file, via, image, dockerConfig, platform string
	containers                               listFlag
	rbac                                     bool
}

func newFlags(stderr io.Writer, a *injectArgs) *flag.FlagSet {
	fs := flag.NewFlagSet("kubectl drainit inject", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&a.file, "f", "-", "the manifests' `FILE`; - reads stdin")
	fs.Var(&a.containers, "container", "wrap only the container `NAME` (repeatable; a sidecar only when named); default: every container but the init containers and sidecars")
	fs.StringVar(&a.via, "via", inject.ViaInitContainer, "how drainit reaches the pod: "+inject.ViaInitContainer+" (copied into an emptyDir) or "+inject.ViaImageVolume+" (an image volume; Kubernetes 1.35+, containerd 2.1+)")
	image := os.Getenv("DRAINIT_IMAGE")
	if image == "" {
		image = defaultImage
	}
	fs.StringVar(&a.image, "image", image, "drainit's `IMAGE` ($DRAINIT_IMAGE)")
	fs.BoolVar(&a.rbac, "rbac", false, "also write the ServiceAccount, Role and RoleBinding drainit needs in each namespace")
	fs.StringVar(&a.dockerConfig, "docker-config", "", "Docker config `FILE` with the credentials for reading images' configs (default: $DOCKER_CONFIG/config.json, ~/.docker/config.json)")
	fs.StringVar(&a.platform, "platform", "linux/amd64", "`OS/ARCH` whose image config to read from a multi-platform image")
	return fs
}

type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error {
	for _, name := range strings.Split(v, ",") {
		if name = strings.TrimSpace(name); name == "" {
			return fmt.Errorf("empty container name in %q", v)
		}
		*l = append(*l, name)
	}
	return nil
}

// injectAll reads every document, wraps what it holds, and writes them
// back, with --rbac's objects after them. Nothing is written when any
// document fails: a half-written stream would apply half a change.
func injectAll(r io.Reader, w io.Writer, opt inject.Options) ([]inject.Note, error) {
	docs, isJSON, err := readDocuments(r)
	if err != nil {
		return nil, err
	}
	in := inject.New(opt)
	for _, d := range docs {
		if d.obj != nil {
			if err := in.Object(d.obj); err != nil {
				return in.Notes(), err
			}
		}
	}
	if err := in.Check(); err != nil {
		return in.Notes(), err
	}
	for _, o := range in.RBACObjects() {
		docs = append(docs, document{obj: o})
	}
	return in.Notes(), writeDocuments(w, docs, isJSON)
}
