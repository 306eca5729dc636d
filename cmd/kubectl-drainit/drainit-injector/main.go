// Command drainit-injector is a mutating admission webhook that puts
// drainit in front of the containers of every pod created in a namespace
// labelled drainit.dev/inject: enabled, exactly as kubectl drainit inject
// wraps a manifest's pod templates (the inject package is both's), so
// that pods that controllers make from templates nobody applies (Jobs of
// CronJobs, operators' workers) drain too. It never keeps a pod from
// being created: it admits every pod, and one it cannot wrap is admitted
// as it came, with a Warning and an annotation that say why.
//
//	drainit-injector --cert-dir DIR [--cert-secret NAME --webhook-config NAME] [options]
//
// It serves POST /mutate (AdmissionReview v1, answered with a JSON Patch)
// over HTTPS, with the certificate in DIR (tls.crt, tls.key): cert-manager's,
// or with --cert-secret one it signs itself with a CA it keeps in that
// Secret and writes into the configuration's caBundle.
package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	_ "golang.org/x/crypto/x509roots/fallback" // registries' roots in an image FROM scratch

	"github.com/drainit/drainit/cmd/kubectl-drainit/inject"
)

// Exit codes, as drainit's own.
const (
	exitFailed = 1 // could not serve
	exitUsage  = 2 // bad option
)

var version = "dev"

func main() { os.Exit(run(os.Args[1:], os.Getenv, os.Stderr)) }

type options struct {
	listen, certDir, certSecret, webhookConfig, service, namespace string
	image, via, imageConfig, platform                              string
	imageCache, shutdownDelay                                      time.Duration
	allowLoopbackRegistries                                        bool
	kubeAPI, kubeTokenFile, kubeCAFile, logLevel                   string
}

func newFlags(stderr io.Writer, c *options, getenv func(string) string) *flag.FlagSet {
	fs := flag.NewFlagSet("drainit-injector", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.listen, "listen", ":8443", "serve HTTPS on `ADDR`")
	fs.StringVar(&c.certDir, "cert-dir", "", "`DIR` of the serving certificate, tls.crt and tls.key (a mounted TLS Secret's, or with --cert-secret the injector's own, written there)")
	fs.StringVar(&c.certSecret, "cert-secret", "", "keep a CA in the Secret `NAME` of the injector's namespace (made if missing) and sign the serving certificate with it; without it, --cert-dir's files are served as they are")
	fs.StringVar(&c.webhookConfig, "webhook-config", "", "with --cert-secret: write the CA into the caBundle of the MutatingWebhookConfiguration `NAME`")
	fs.StringVar(&c.service, "service", "drainit-injector", "the `SERVICE` the API server calls the injector through: the serving certificate's names")
	fs.StringVar(&c.namespace, "namespace", "", "the injector's `NAMESPACE`, where it wraps nothing (default: $POD_NAMESPACE, else the service account's)")
	image := getenv("DRAINIT_IMAGE")
	if image == "" {
		image = "ghcr.io/drainit/drainit:latest"
	}
	fs.StringVar(&c.image, "image", image, "drainit's `IMAGE`, for the installer or the image volume ($DRAINIT_IMAGE)")
	fs.StringVar(&c.via, "via", inject.ViaInitContainer, "how drainit reaches a pod: "+inject.ViaInitContainer+" or "+inject.ViaImageVolume)
	fs.StringVar(&c.imageConfig, "image-config", readWithSecrets, "read images' configs (ENTRYPOINT, CMD, ENV, STOPSIGNAL) with the pod's image pull Secrets ("+readWithSecrets+"), without credentials ("+readAnonymously+"), or not at all ("+readNothing+": only containers whose command is in the spec are wrapped); "+readAnonymously+" and "+readNothing+" read no Secret")
	fs.StringVar(&c.platform, "platform", runtime.GOOS+"/"+runtime.GOARCH, "`OS/ARCH` whose image config to read from a multi-platform image")
	fs.BoolVar(&c.allowLoopbackRegistries, "allow-loopback-registries", false, "read images' configs from registries on loopback addresses too (tests: whoever writes a pod names the registry, which must not be the injector's own host)")
	fs.DurationVar(&c.imageCache, "image-cache", time.Minute, "use an image's config, and a set of pull Secrets, this long after reading it")
	fs.DurationVar(&c.shutdownDelay, "shutdown-delay", 10*time.Second, "on SIGTERM, keep answering this long, not ready, closing each connection after its answer, while the API server learns the injector's endpoints without this one")
	fs.StringVar(&c.kubeAPI, "kube-api", "", "the API server (default: https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT)")
	fs.StringVar(&c.kubeTokenFile, "kube-token-file", serviceAccountDir+"/token", "bearer token `FILE`, read again for every request")
	fs.StringVar(&c.kubeCAFile, "kube-ca-file", serviceAccountDir+"/ca.crt", "CA `FILE` of the API server's certificate")
	fs.StringVar(&c.logLevel, "log-level", "info", "debug, info, warn or error")
	return fs
}

func run(args []string, getenv func(string) string, stderr io.Writer) int {
	var c options
	fs := newFlags(stderr, &c, getenv)
	if len(args) == 1 && (args[0] == "--version" || args[0] == "version") {
		fmt.Fprintln(stderr, "drainit-injector", version)
		return 0
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return exitUsage
	}
	usage := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "drainit-injector: "+format+"\n", a...)
		return exitUsage
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.logLevel)); err != nil {
		return usage("--log-level %q: want debug, info, warn or error", c.logLevel)
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	switch {
	case fs.NArg() > 0:
		return usage("unexpected argument %q", fs.Arg(0))
	case c.certDir == "":
		return usage("--cert-dir is needed: the directory of tls.crt and tls.key")
	case c.via != inject.ViaInitContainer && c.via != inject.ViaImageVolume:
		return usage("--via %q: want %s or %s", c.via, inject.ViaInitContainer, inject.ViaImageVolume)
	case strings.TrimSpace(c.image) == "":
		return usage("--image is empty: drainit's image must be named")
	case c.imageConfig != readWithSecrets && c.imageConfig != readAnonymously && c.imageConfig != readNothing:
		return usage("--image-config %q: want %s, %s or %s", c.imageConfig, readWithSecrets, readAnonymously, readNothing)
	case c.webhookConfig != "" && c.certSecret == "":
		return usage("--webhook-config %s: only with --cert-secret (without it, whatever makes the certificate writes the caBundle)", c.webhookConfig)
	case c.imageCache < 0 || c.shutdownDelay < 0:
		return usage("--image-cache and --shutdown-delay: want 0 or more")
	}
	platform, err := inject.ParsePlatform(c.platform)
	if err != nil {
		return usage("--%v", err)
	}
	if c.namespace == "" {
		c.namespace = getenv("POD_NAMESPACE")
	}
	if c.namespace == "" {
		b, _ := os.ReadFile(filepath.Join(serviceAccountDir, "namespace"))
		c.namespace = strings.TrimSpace(string(b))
	}
	if c.namespace == "" {
		return usage("--namespace: not given, no $POD_NAMESPACE and no service account namespace file")
	}
	// The API server, for the CA's Secret, the caBundle and pull Secrets.
	var kube *kubeClient
	if c.certSecret != "" || c.imageConfig == readWithSecrets {
		api := c.kubeAPI
		if api == "" {
			host, port := getenv("KUBERNETES_SERVICE_HOST"), getenv("KUBERNETES_SERVICE_PORT")
			if host == "" || port == "" {
				return usage("--kube-api: not given, and not in a pod ($KUBERNETES_SERVICE_HOST): --cert-secret and --image-config %s read the API", readWithSecrets)
			}
			api = "https://" + net.JoinHostPort(host, port)
		}
		if kube, err = newKubeClient(api, c.kubeTokenFile, c.kubeCAFile); err != nil {
			return usage("%v", err)
		}
	}
	if err := os.MkdirAll(c.certDir, 0o700); err != nil && c.certSecret != "" {
		return usage("--cert-dir: %v", err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	certs := &certFiles{dir: c.certDir, log: log}
	if c.certSecret != "" {
		m := &certManager{kube: kube, namespace: c.namespace, secretName: c.certSecret, webhookConfig: c.webhookConfig,
			service: c.service, dir: c.certDir, log: log, now: time.Now}
		go m.run(ctx)
	}
	secretFn := func(ctx context.Context, ns, name string) (secret, error) { return kube.getSecret(ctx, ns, name) }
	rv := &reviewer{namespace: c.namespace, margin: time.Second,
		images:  newImageReader(c.imageConfig, platform, c.imageCache, secretFn, registryTransport(c.allowLoopbackRegistries)),
		options: inject.Options{Via: c.via, Image: c.image}}
	if c.imageConfig == readWithSecrets {
		rv.namespaces = newNamespaceCheck(kube.namespaceLabels)
	}
	s := newServer(rv, certs, log)
	l, err := net.Listen("tcp", c.listen)
	if err != nil {
		fmt.Fprintf(stderr, "drainit-injector: --listen %s: %v\n", c.listen, err)
		return exitFailed
	}
	srv := &http.Server{Handler: s.routes(), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second, IdleTimeout: 90 * time.Second,
		TLSConfig: &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: certs.get},
		ErrorLog:  slog.NewLogLogger(log.Handler(), slog.LevelDebug)}
	log.Info("drainit-injector serving", "version", version, "listen", l.Addr().String(), "namespace", c.namespace, "image", c.image,
		"via", c.via, "image-config", c.imageConfig, "cert-dir", c.certDir, "cert-secret", c.certSecret)
	done := make(chan error, 1)
	go func() { done <- srv.ServeTLS(l, "", "") }()
	select {
	case err := <-done:
		fmt.Fprintln(stderr, "drainit-injector:", err)
		return exitFailed
	case <-ctx.Done():
	}
	// Not ready from now on, but still answering, each connection closed
	// after its answer, until the API server has learned the endpoints
	// without this replica: a review sent on a connection closed under
	// it would fail, and failurePolicy Ignore admit its pod unwrapped.
	s.draining.Store(true)
	log.Info("stopping: answering, not ready", "for", c.shutdownDelay)
	time.Sleep(c.shutdownDelay)
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	srv.Shutdown(shutdown)
	log.Info("stopped")
	return 0
}
