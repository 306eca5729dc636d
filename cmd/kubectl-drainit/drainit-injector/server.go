package main

import (
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"
)

// maxReview bounds an AdmissionReview's body: the API server takes
// requests of up to 3 MiB and etcd keeps objects of up to 1.5 MiB, so a
// pod's review is well within it; a larger body is refused with 413, and
// failurePolicy Ignore admits the pod unwrapped.
const maxReview = 16 << 20

// defaultTimeout is the API server's own for a webhook, when the request
// does not say its timeout.
const defaultTimeout = 10 * time.Second

type server struct {
	reviewer *reviewer
	certs    *certFiles
	log      *slog.Logger
	draining atomic.Bool
}

func (s *server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /mutate", s.mutate)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok\n") })
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		switch {
		case s.draining.Load():
			http.Error(w, "shutting down", http.StatusServiceUnavailable)
		case !s.certs.loaded():
			http.Error(w, "no serving certificate yet in "+s.certs.dir, http.StatusServiceUnavailable)
		default:
			io.WriteString(w, "ok\n")
		}
	})
	return mux
}

// mutate answers one AdmissionReview. The API server says in the URL how
// long it waits (?timeout=5s); the answer comes before that, with what
// could be read by then.
func (s *server) mutate(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	timeout := defaultTimeout
	if t, err := time.ParseDuration(r.URL.Query().Get("timeout")); err == nil && t > 0 {
		timeout = t
	}
	if s.draining.Load() {
		// The API server keeps its connections to a webhook open; one to
		// an injector on its way out must not be used again.
		w.Header().Set("Connection", "close")
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxReview))
	if err != nil {
		code := http.StatusBadRequest
		if _, ok := err.(*http.MaxBytesError); ok {
			code = http.StatusRequestEntityTooLarge
		}
		s.log.Warn("refused an admission review", "error", err)
		http.Error(w, err.Error(), code)
		return
	}
	var review admissionReview
	if err := json.Unmarshal(body, &review); err != nil || review.Request == nil || review.APIVersion != admissionVersion || review.Kind != "AdmissionReview" {
		why := fmt.Sprintf("want an %s AdmissionReview with a request, got apiVersion %q kind %q", admissionVersion, review.APIVersion, review.Kind)
		if err != nil {
			why = err.Error()
		}
		s.log.Warn("refused an admission review", "error", why)
		http.Error(w, why, http.StatusBadRequest)
		return
	}
	req := review.Request
	resp, out := s.reviewer.review(req, s.reviewer.answerBy(start, timeout))
	answer, _ := json.Marshal(admissionReview{APIVersion: admissionVersion, Kind: "AdmissionReview", Response: &resp})
	w.Header().Set("Content-Type", "application/json")
	w.Write(answer)
	took := time.Since(start).Round(time.Millisecond)
	switch {
	case out.foreign:
		s.log.Warn("a review the API server would not have sent: admitted as it came, nothing read", "namespace", req.Namespace, "name", req.Name, "uid", req.UID,
			"why", out.skipped, "from", r.RemoteAddr)
	case out.skipped != "" && len(resp.Patch) == 0:
		s.log.Debug("admitted as it came", "namespace", req.Namespace, "name", req.Name, "uid", req.UID, "why", out.skipped, "took", took)
	default:
		notWrapped := out.reasons
		if out.skipped != "" {
			notWrapped = append(notWrapped, out.skipped)
		}
		s.log.Info("admitted", "namespace", req.Namespace, "pod", podName(req), "dryRun", req.DryRun != nil && *req.DryRun,
			"wrapped", out.wrapped, "not wrapped", notWrapped, "warnings", len(resp.Warnings), "took", took)
	}
}

// podName is the pod's name, or for one a controller names, its prefix.
func podName(req *admissionRequest) string {
	if req.Name != "" {
		return req.Name
	}
	var meta struct {
		Metadata struct {
			GenerateName string `json:"generateName"`
		} `json:"metadata"`
	}
	json.Unmarshal(req.Object, &meta)
	return meta.Metadata.GenerateName + "*"
}

// certFiles serves tls.crt and tls.key from a directory, read again
// whenever either changes: a Secret mounted there (cert-manager's) is
// updated in place by the kubelet, and the injector's own certificate
// manager writes there.
type certFiles struct {
	dir   string
	log   *slog.Logger
	mu    sync.Mutex
	cert  *tls.Certificate
	stamp string
}

func (c *certFiles) get(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.reload()
	if c.cert == nil {
		return nil, fmt.Errorf("no serving certificate in %s yet", c.dir)
	}
	return c.cert, nil
}

func (c *certFiles) loaded() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.reload()
	return c.cert != nil
}

// reload reads the pair when the files changed; a pair that does not load
// (one file written, the other not yet) keeps the certificate served.
func (c *certFiles) reload() {
	crt, key := filepath.Join(c.dir, "tls.crt"), filepath.Join(c.dir, "tls.key")
	stamp := ""
	for _, f := range []string{crt, key} {
		fi, err := os.Stat(f)
		if err != nil {
			return
		}
		stamp += fmt.Sprintf("%d.%d;", fi.ModTime().UnixNano(), fi.Size())
	}
	if stamp == c.stamp {
		return
	}
	cert, err := tls.LoadX509KeyPair(crt, key)
	if err != nil {
		c.log.Warn("cannot load the serving certificate; keeping the one served", "dir", c.dir, "error", err)
		return
	}
	c.cert, c.stamp = &cert, stamp
	c.log.Info("serving certificate loaded", "dir", c.dir, "notAfter", cert.Leaf.NotAfter.UTC().Format(time.RFC3339))
}
