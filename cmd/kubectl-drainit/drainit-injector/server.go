package main

import (
	"bytes"
	"context"
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

	"golang.org/x/sync/semaphore"
)

// maxReview bounds an AdmissionReview's body. The API server takes a
// request of at most 3 MiB ("limit is 3145728"), JSON as kubectl sends
// it, and sends the pod back in the review as JSON with its defaults and
// the review's envelope, a few KiB more: a pod of 2.7 MiB of JSON was
// created on Kubernetes 1.36 (etcd keeps 1.5 MiB of its protobuf, which
// for the densest fields is a third of the JSON). A larger review (a pod
// a controller wrote as protobuf, whose JSON is more than 3 MiB) is
// admitted as it came, with a Warning: decoded, it alone would hold some
// 150 MiB.
const maxReview = 3<<20 + 64<<10

// Reviews are processed at once up to reviewBudget of their bodies in
// all: a review holds its pod decoded and a copy of it, which for the
// densest pods is some fifty times its JSON (one of 1.5 MiB of tiny
// environment variables raised the injector's resident memory by 80 MiB;
// one of 4 MiB, by 185 MiB): some 100 MiB for the reviews under way, and
// 150 MiB for one larger than the budget, which runs alone, within the
// install's GOMEMLIMIT of 192 MiB and limit of 256 MiB. A review counts
// at least minReviewWeight, so that at most 128 small ones run at once.
// A review that cannot start before its answer is due is admitted as it
// came, with a Warning.
const (
	reviewBudget    = 2 << 20
	minReviewWeight = 16 << 10
)

// reviewHead is how much of a review is read for its uid when the review
// is not processed: the API server writes request.uid near the start.
const reviewHead = 4 << 10

// defaultTimeout is the API server's own for a webhook, when the request
// does not say its timeout.
const defaultTimeout = 10 * time.Second

type server struct {
	reviewer *reviewer
	certs    *certFiles
	log      *slog.Logger
	draining atomic.Bool
	reviews  *semaphore.Weighted // reviewBudget
}

func newServer(rv *reviewer, certs *certFiles, log *slog.Logger) *server {
	return &server{reviewer: rv, certs: certs, log: log, reviews: semaphore.NewWeighted(reviewBudget)}
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
	if r.ContentLength > maxReview {
		s.admitUnread(w, r, fmt.Sprintf("the pod's review is %d bytes, more than drainit-injector reads (%d KiB)", r.ContentLength, maxReview>>10))
		return
	}
	weight := r.ContentLength
	if weight < 0 {
		weight = maxReview
	}
	weight = min(max(weight, minReviewWeight), reviewBudget)
	by, cancel := context.WithDeadline(r.Context(), s.reviewer.answerBy(start, timeout))
	err := s.reviews.Acquire(by, weight)
	cancel()
	if err != nil {
		s.admitUnread(w, r, "drainit-injector had more reviews at once than it takes")
		return
	}
	defer s.reviews.Release(weight)
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

// admitUnread answers a review it does not process: the pod is admitted
// as it came, with a Warning that says why. Only the start of the review
// is read, for its uid; without one the answer is 503, and failurePolicy
// Ignore admits the pod as it came all the same.
func (s *server) admitUnread(w http.ResponseWriter, r *http.Request, why string) {
	head, _ := io.ReadAll(io.LimitReader(r.Body, reviewHead))
	uid := reviewUID(head)
	s.log.Warn("admitted as it came, unread", "why", why, "uid", uid, "from", r.RemoteAddr)
	if uid == "" {
		http.Error(w, why, http.StatusServiceUnavailable)
		return
	}
	answer, _ := json.Marshal(admissionReview{APIVersion: admissionVersion, Kind: "AdmissionReview", Response: &admissionResponse{UID: uid, Allowed: true,
		Warnings: []string{clean("drainit-injector: "+why+": the pod was admitted as it came, not under drainit", maxWarning)}}})
	w.Header().Set("Content-Type", "application/json")
	w.Write(answer)
}

// reviewUID is request.uid of the start of an AdmissionReview, read token
// by token; "" when head does not hold it.
func reviewUID(head []byte) string {
	dec := json.NewDecoder(bytes.NewReader(head))
	object := func() bool { t, err := dec.Token(); return err == nil && t == json.Delim('{') }
	if !object() {
		return ""
	}
	for dec.More() {
		key, err := dec.Token()
		if err != nil {
			return ""
		}
		if key != "request" {
			if skipValue(dec) != nil {
				return ""
			}
			continue
		}
		if !object() {
			return ""
		}
		for dec.More() {
			key, err := dec.Token()
			if err != nil {
				return ""
			}
			if key == "uid" {
				t, _ := dec.Token()
				uid, _ := t.(string)
				return uid
			}
			if skipValue(dec) != nil {
				return ""
			}
		}
		return ""
	}
	return ""
}

// skipValue reads past one value.
func skipValue(dec *json.Decoder) error {
	depth := 0
	for {
		t, err := dec.Token()
		if err != nil {
			return err
		}
		switch t {
		case json.Delim('{'), json.Delim('['):
			depth++
		case json.Delim('}'), json.Delim(']'):
			depth--
		}
		if depth == 0 {
			return nil
		}
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
