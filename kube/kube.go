// Package kube reads drainit's own pod from the Kubernetes API: the grace
// period the kubelet gives it and, once the pod is being deleted, that
// deletion's grace and deadline, which the downward API cannot expose. It
// configures itself the way client-go's InClusterConfig does, and speaks
// plain HTTP/1.0 over crypto/tls itself: client-go would multiply the
// binary, and net/http alone adds 1.2 MB for one GET at a drain.
package kube

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/textproto"
	"net/url"
	"os"
	"strconv"
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

// Timeout bounds every request: drainit asks at start and at the trigger,
// and an answer that takes longer is of no use to a drain.
const Timeout = time.Second

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
	url  string      // the pod's, for messages
	host string      // HOST:PORT
	path string      // the pod's path
	tls  *tls.Config // nil for http://
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
	c := &Client{cfg: cfg, host: u.Host,
		path: "/api/v1/namespaces/" + url.PathEscape(cfg.Namespace) + "/pods/" + url.PathEscape(cfg.Pod)}
	c.url = u.Scheme + "://" + u.Host + c.path
	if u.Scheme == "https" {
		c.tls = &tls.Config{MinVersion: tls.VersionTLS12}
		if cfg.CAFile != "" {
			pem, err := os.ReadFile(cfg.CAFile)
			if err != nil {
				return nil, fmt.Errorf("--kube-ca-file %s: %w", cfg.CAFile, fserr.Cause(err))
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("--kube-ca-file %s: no PEM certificate in it", cfg.CAFile)
			}
			c.tls.RootCAs = pool
		}
	}
	return c, nil
}

// URL is the pod's address in the API, for messages.
func (c *Client) URL() string { return c.url }

// Pod is what drainit needs to know of its pod.
type Pod struct {
	Grace             time.Duration // spec.terminationGracePeriodSeconds; valid if HasGrace
	HasGrace          bool
	Deleting          bool          // metadata.deletionTimestamp is set
	DeletionGrace     time.Duration // metadata.deletionGracePeriodSeconds
	DeletionTimestamp time.Time     // when the pod is considered dead: the kubelet's SIGKILL comes then
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
	if g := obj.Spec.TerminationGracePeriodSeconds; g != nil && *g >= 0 {
		p.Grace, p.HasGrace = time.Duration(*g)*time.Second, true
	}
	if ts := obj.Metadata.DeletionTimestamp; ts != nil {
		p.Deleting, p.DeletionTimestamp = true, *ts
		p.DeletionGrace = p.Grace
		if g := obj.Metadata.DeletionGracePeriodSeconds; g != nil && *g >= 0 {
			p.DeletionGrace = time.Duration(*g) * time.Second
		}
	}
	return p, nil
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
	ctx, cancel := context.WithTimeout(ctx, Timeout)
	defer cancel()
	var conn net.Conn
	if c.tls != nil {
		conn, err = (&tls.Dialer{Config: c.tls}).DialContext(ctx, "tcp", c.host)
	} else {
		conn, err = (&net.Dialer{}).DialContext(ctx, "tcp", c.host)
	}
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	deadline, _ := ctx.Deadline()
	conn.SetDeadline(deadline)
	// HTTP/1.0: the answer ends when the server closes the connection, so
	// there is no chunked encoding and no connection to keep.
	req := method + " " + c.path + " HTTP/1.0\r\nHost: " + c.host + "\r\nAuthorization: Bearer " + strings.TrimSpace(string(token)) +
		"\r\nAccept: application/json\r\nUser-Agent: drainit\r\n"
	if body != nil {
		req += "Content-Type: " + contentType + "\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n"
	}
	if _, err := io.WriteString(conn, req+"\r\n"+string(body)); err != nil {
		return nil, err
	}
	// A pod is a few KiB; a megabyte is an answer from something else.
	r := textproto.NewReader(bufio.NewReader(io.LimitReader(conn, 1<<20)))
	status, err := r.ReadLine()
	if err != nil {
		return nil, fmt.Errorf("no answer: %w", err)
	}
	proto, code, ok := strings.Cut(status, " ")
	if !ok || !strings.HasPrefix(proto, "HTTP/1.") {
		return nil, fmt.Errorf("not an HTTP answer: %q", status)
	}
	header, err := r.ReadMIMEHeader()
	if err != nil {
		return nil, fmt.Errorf("bad HTTP header: %w", err)
	}
	if te := header.Get("Transfer-Encoding"); te != "" {
		return nil, fmt.Errorf("unexpected Transfer-Encoding %q", te)
	}
	answer, err := io.ReadAll(r.R)
	if err != nil {
		return nil, err
	}
	if !strings.HasPrefix(code, "200 ") && code != "200" {
		return nil, fmt.Errorf("%s%s", code, statusMessage(answer))
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
