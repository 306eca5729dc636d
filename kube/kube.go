// Package kube reads drainit's own pod from the Kubernetes API: the grace
// period the kubelet gives it and, once the pod is being deleted, that
// deletion's grace and deadline, which the downward API cannot expose; and
// it keeps the pod's busy annotations. It configures itself the way
// client-go's InClusterConfig does and speaks net/http with keep-alives
// off, so that an idle drainit holds no connection and never wakes up.
package kube

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/drainit/drainit/internal/fserr"
)

// Where the kubelet mounts a pod's service-account credentials.
const (
	ServiceAccountDir = "/var/run/secrets/kubernetes.io/serviceaccount"
	TokenFile         = ServiceAccountDir + "/token"
	CAFile            = ServiceAccountDir + "/ca.crt"
	NamespaceFile     = ServiceAccountDir + "/namespace"
)

// Timeout bounds one request. The API server's own objective is 1 s at the
// 99th percentile for reading one object, so a shorter bound would fail
// reads of a healthy cluster; callers retry within their own deadline.
const Timeout = 5 * time.Second

// MaxBody is the largest answer read: a pod is a few KiB, and even one
// with large managed fields is well under this.
const MaxBody = 8 << 20

// MinimumGrace is the least time the kubelet ever gives a container between
// its SIGTERM and its SIGKILL: minimumGracePeriodInSeconds in its
// killContainer, applied after a preStop hook took its share.
const MinimumGrace = 2 * time.Second

// InClusterAPI is the API server's address from the variables the kubelet
// sets in every container, or "" outside a cluster.
func InClusterAPI(getenv func(string) string) string {
	host, port := getenv("KUBERNETES_SERVICE_HOST"), getenv("KUBERNETES_SERVICE_PORT")
	if host == "" || port == "" {
		return ""
	}
	return "https://" + net.JoinHostPort(host, port)
}

// Config says how to reach the API server and which pod is drainit's.
type Config struct {
	API       string // https://HOST:PORT
	TokenFile string // a bearer token, re-read for every request (bound tokens rotate)
	CAFile    string // PEM bundle the API server's certificate must chain to; "" for the system's
	Namespace string
	Pod       string
}

// Client reads one pod.
type Client struct {
	cfg  Config
	url  string // the pod's
	http *http.Client
}

// New checks cfg and prepares a client; every error names the value at
// fault.
func New(cfg Config) (*Client, error) {
	u, err := url.Parse(cfg.API)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Hostname() == "" || u.Port() == "" || (u.Path != "" && u.Path != "/") {
		return nil, fmt.Errorf("--kube-api %q: want https://HOST:PORT", cfg.API)
	}
	if cfg.Namespace == "" || cfg.Pod == "" {
		return nil, fmt.Errorf("pod %q in namespace %q: both are needed (--pod-name, --pod-namespace)", cfg.Pod, cfg.Namespace)
	}
	path := "/api/v1/namespaces/" + url.PathEscape(cfg.Namespace) + "/pods/" + url.PathEscape(cfg.Pod)
	tr := &http.Transport{
		// One connection per exchange, closed after it: nothing is kept
		// open, and no goroutine of the transport outlives a request.
		DisableKeepAlives:     true,
		DialContext:           (&net.Dialer{Timeout: Timeout}).DialContext,
		TLSHandshakeTimeout:   Timeout,
		ResponseHeaderTimeout: Timeout,
		Proxy:                 nil, // the API server is reached directly, as client-go does in a pod
	}
	if u.Scheme == "https" {
		tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
		if cfg.CAFile != "" {
			pem, err := os.ReadFile(cfg.CAFile)
			if err != nil {
				return nil, fmt.Errorf("--kube-ca-file %s: %w", cfg.CAFile, fserr.Cause(err))
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("--kube-ca-file %s: no PEM certificate in it", cfg.CAFile)
			}
			tr.TLSClientConfig.RootCAs = pool
		}
	}
	c := &Client{cfg: cfg, url: u.Scheme + "://" + u.Host + path,
		http: &http.Client{Transport: tr, Timeout: Timeout,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	return c, nil
}

// URL is the pod's address in the API, for messages.
func (c *Client) URL() string { return c.url }

// Pod is what drainit needs to know of its pod.
type Pod struct {
	Grace             time.Duration // spec.terminationGracePeriodSeconds; valid if HasGrace
	HasGrace          bool
	Deleting          bool          // metadata.deletionTimestamp is set
	DeletionGrace     time.Duration // metadata.deletionGracePeriodSeconds, else the spec's grace; valid if HasDeletionGrace
	HasDeletionGrace  bool
	DeletionTimestamp time.Time // when the pod is considered dead
	Ignored           []string  // values out of range, each "field value: why", left out above
}

// SpecBudget is the time the kubelet gives between its SIGTERM and its
// SIGKILL by the pod spec alone: its grace, never under MinimumGrace.
func (p Pod) SpecBudget() time.Duration { return max(p.Grace, MinimumGrace) }

// DeletionBudget is the time from trigger, drainit's SIGTERM, to the
// kubelet's SIGKILL for a pod being deleted: the deletion's grace, or less
// where deletionTimestamp says part of it went before the SIGTERM (a
// preStop hook, an earlier delete), never under MinimumGrace.
func (p Pod) DeletionBudget(trigger time.Time) time.Duration {
	budget := time.Duration(math.MaxInt64)
	if p.HasDeletionGrace {
		budget = p.DeletionGrace
	}
	if !p.DeletionTimestamp.IsZero() {
		budget = min(budget, p.DeletionTimestamp.Sub(trigger))
	}
	return max(budget, MinimumGrace)
}

// Pod reads the pod. The error names the pod, the URL and what went wrong.
func (c *Client) Pod(ctx context.Context) (Pod, error) {
	body, err := c.get(ctx)
	if err == nil {
		var p Pod
		if p, err = decodePod(body); err == nil {
			return p, nil
		}
	}
	return Pod{}, fmt.Errorf("pod %s/%s: GET %s: %w", c.cfg.Namespace, c.cfg.Pod, c.url, err)
}

// decodePod takes what drainit needs from a pod object in JSON.
func decodePod(body []byte) (Pod, error) {
	var p Pod
	var obj struct {
		Kind     string `json:"kind"`
		Metadata struct {
			DeletionTimestamp          *time.Time `json:"deletionTimestamp"`
			DeletionGracePeriodSeconds *int64     `json:"deletionGracePeriodSeconds"`
		} `json:"metadata"`
		Spec struct {
			TerminationGracePeriodSeconds *int64 `json:"terminationGracePeriodSeconds"`
		} `json:"spec"`
	}
	if err := json.Unmarshal(body, &obj); err != nil {
		return p, fmt.Errorf("bad JSON: %w", err)
	}
	if obj.Kind != "Pod" {
		return p, fmt.Errorf("bad JSON: kind %q, want Pod", obj.Kind)
	}
	if g, ok := seconds("spec.terminationGracePeriodSeconds", obj.Spec.TerminationGracePeriodSeconds, &p.Ignored); ok {
		p.Grace, p.HasGrace = g, true
	}
	if ts := obj.Metadata.DeletionTimestamp; ts != nil {
		p.Deleting, p.DeletionTimestamp = true, *ts
		p.DeletionGrace, p.HasDeletionGrace = p.Grace, p.HasGrace
		if g, ok := seconds("metadata.deletionGracePeriodSeconds", obj.Metadata.DeletionGracePeriodSeconds, &p.Ignored); ok {
			p.DeletionGrace, p.HasDeletionGrace = g, true
		}
	}
	return p, nil
}

// seconds range-checks a count of seconds from the API: a value from the
// API is data, not a promise. Out of range, it is left out and said why.
func seconds(field string, v *int64, ignored *[]string) (time.Duration, bool) {
	switch {
	case v == nil:
		return 0, false
	case *v < 0:
		*ignored = append(*ignored, fmt.Sprintf("%s %d: negative", field, *v))
		return 0, false
	case *v > int64(math.MaxInt64/time.Second):
		*ignored = append(*ignored, fmt.Sprintf("%s %d: longer than drainit can wait (%d s at most)", field, *v, int64(math.MaxInt64/time.Second)))
		return 0, false
	}
	return time.Duration(*v) * time.Second, true
}

// Annotation is one annotation drainit keeps on its pod: Busy while the
// workload works on a task, Idle otherwise; an empty Idle removes it.
type Annotation struct{ Key, Busy, Idle string }

// DeletionCost is the annotation the ReplicaSet controller ranks pods by
// when it scales down (after readiness): the lower, the sooner deleted.
const DeletionCost = "controller.kubernetes.io/pod-deletion-cost"

// Annotate sets each annotation to its busy or idle value with one JSON
// merge patch of the annotations alone.
func (c *Client) Annotate(ctx context.Context, anns []Annotation, busy bool) error {
	values := map[string]any{}
	for _, a := range anns {
		v := a.Idle
		if busy {
			v = a.Busy
		}
		if v == "" {
			values[a.Key] = nil // null removes the key
		} else {
			values[a.Key] = v
		}
	}
	body, err := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": values}})
	if err == nil {
		_, err = c.do(ctx, "PATCH", "application/merge-patch+json", body)
	}
	if err != nil {
		return fmt.Errorf("pod %s/%s: PATCH %s: %w", c.cfg.Namespace, c.cfg.Pod, c.url, err)
	}
	return nil
}

func (c *Client) get(ctx context.Context) ([]byte, error) { return c.do(ctx, "GET", "", nil) }

func (c *Client) do(ctx context.Context, method, contentType string, body []byte) ([]byte, error) {
	token, err := os.ReadFile(c.cfg.TokenFile)
	if err != nil {
		return nil, fmt.Errorf("token %s: %w", c.cfg.TokenFile, fserr.Cause(err))
	}
	req, err := http.NewRequestWithContext(ctx, method, c.url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(token)))
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "drainit")
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL is in the caller's message already
		}
		return nil, err
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, MaxBody+1))
	switch {
	case err != nil:
		return nil, fmt.Errorf("%s: reading the answer: %w", resp.Status, err)
	case len(answer) > MaxBody:
		return nil, fmt.Errorf("%s: answer larger than %d MiB", resp.Status, MaxBody>>20)
	case resp.StatusCode != http.StatusOK:
		return nil, fmt.Errorf("%s%s", resp.Status, statusMessage(answer))
	}
	return answer, nil
}

// statusMessage is the message of a Kubernetes Status object, if the body
// is one: "pods "x" is forbidden: User … cannot get …".
func statusMessage(body []byte) string {
	var st struct {
		Kind    string `json:"kind"`
		Message string `json:"message"`
	}
	if json.Unmarshal(body, &st) == nil && st.Kind == "Status" && st.Message != "" {
		return ": " + st.Message
	}
	return ""
}

// MaxAnnotations is the API server's limit on the size of all of a pod's
// annotations together, keys and values (TotalAnnotationSizeLimitB).
const MaxAnnotations = 256 << 10

// CheckAnnotations refuses what the API server would refuse: one bad key or
// value makes it reject the whole patch, so drainit would never get to
// write the deletion cost either. The error names the key at fault.
func CheckAnnotations(anns []Annotation) error {
	seen := map[string]bool{}
	size := 0
	for _, a := range anns {
		if err := qualifiedName(a.Key); err != nil {
			return fmt.Errorf("annotation key %q: %w", a.Key, err)
		}
		if seen[a.Key] {
			return fmt.Errorf("annotation key %q: given twice", a.Key)
		}
		seen[a.Key] = true
		size += len(a.Key) + max(len(a.Busy), len(a.Idle))
	}
	if size > MaxAnnotations {
		return fmt.Errorf("annotations of %d bytes: the API server takes at most %d bytes of them on a pod", size, MaxAnnotations)
	}
	return nil
}

// qualifiedName is the API's rule for annotation keys: an optional DNS
// subdomain prefix and a slash, then a name of at most 63 characters of
// letters, digits, '-', '_' and '.', beginning and ending alphanumeric.
func qualifiedName(key string) error {
	prefix, name, hasPrefix := strings.Cut(key, "/")
	if !hasPrefix {
		prefix, name = "", key
	}
	if hasPrefix {
		if prefix == "" || len(prefix) > 253 {
			return errors.New("the prefix before / must be a DNS subdomain of 1 to 253 characters")
		}
		for _, label := range strings.Split(prefix, ".") {
			if !validLabel(label, func(r rune) bool { return r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' }) || len(label) > 63 {
				return fmt.Errorf("prefix %q: want lower-case letters, digits, '-' and '.', each part beginning and ending alphanumeric", prefix)
			}
		}
		if strings.Contains(name, "/") {
			return errors.New("at most one /")
		}
	}
	if name == "" || len(name) > 63 {
		return errors.New("the name must have 1 to 63 characters")
	}
	if !validLabel(name, func(r rune) bool { return alnum(r) || r == '-' || r == '_' || r == '.' }) {
		return fmt.Errorf("name %q: want letters, digits, '-', '_' and '.', beginning and ending alphanumeric", name)
	}
	return nil
}

func alnum(r rune) bool { return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' }

func validLabel(s string, ok func(rune) bool) bool {
	if s == "" || !alnum(rune(s[0])) || !alnum(rune(s[len(s)-1])) {
		return false
	}
	for _, r := range s {
		if !ok(r) {
			return false
		}
	}
	return true
}
