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
	"github.com/drainit/drainit/internal/cut"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/drainit/drainit/internal/fserr"
	"github.com/drainit/drainit/internal/nosigpipe"
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
	Container string // drainit's container in the pod; "" when the pod has only one or it is unknown
}

// Client reads one pod.
type Client struct {
	cfg       Config
	base      string // the API server's scheme://host:port
	url       string // the pod's
	eventsURL string // the namespace's Events
	http      *http.Client
	stream    *http.Client // for a watch: no bound on the whole exchange, only on its headers (and the caller's context)
}

// ParseAPI reads an API server's address as --kube-api takes it; the
// error names the value.
func ParseAPI(api string) (*url.URL, error) {
	u, err := url.Parse(api)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Hostname() == "" || u.Port() == "" || (u.Path != "" && u.Path != "/") {
		return nil, fmt.Errorf("--kube-api %q: want https://HOST:PORT (or http://HOST:PORT)", api)
	}
	return u, nil
}

// New checks cfg and prepares a client; every error names the value at
// fault.
func New(cfg Config) (*Client, error) {
	u, err := ParseAPI(cfg.API)
	if err != nil {
		return nil, err
	}
	if cfg.Namespace == "" || cfg.Pod == "" {
		return nil, fmt.Errorf("pod %q in namespace %q: both are needed (--pod-name, --pod-namespace)", cfg.Pod, cfg.Namespace)
	}
	path := "/api/v1/namespaces/" + url.PathEscape(cfg.Namespace) + "/pods/" + url.PathEscape(cfg.Pod)
	tr := &http.Transport{
		// One connection per exchange, closed after it: nothing is kept
		// open, and no goroutine of the transport outlives a request.
		DisableKeepAlives:     true,
		DialContext:           nosigpipe.Dialer((&net.Dialer{Timeout: Timeout}).DialContext), // a reset's SIGPIPE is drainit's
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
	noRedirects := func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	base := u.Scheme + "://" + u.Host
	c := &Client{cfg: cfg, base: base, url: base + path,
		eventsURL: base + "/apis/events.k8s.io/v1/namespaces/" + url.PathEscape(cfg.Namespace) + "/events",
		http:      &http.Client{Transport: tr, Timeout: Timeout, CheckRedirect: noRedirects},
		stream:    &http.Client{Transport: tr, CheckRedirect: noRedirects}}
	return c, nil
}

// URL is the pod's address in the API, for messages.
func (c *Client) URL() string { return c.url }

// Container is drainit's container as configured or found, "" if unknown.
func (c *Client) Container() string { return c.cfg.Container }

// Pod is what drainit needs to know of its pod.
type Pod struct {
	UID               string
	Grace             time.Duration // spec.terminationGracePeriodSeconds; valid if HasGrace
	HasGrace          bool
	Deleting          bool          // metadata.deletionTimestamp is set
	DeletionGrace     time.Duration // metadata.deletionGracePeriodSeconds, else the spec's grace; valid if HasDeletionGrace
	HasDeletionGrace  bool
	DeletionTimestamp time.Time // when the pod is considered dead
	Container         Container // drainit's own container, or what all of them have in common when it is not known
	Controller        string    // the owner that controls the pod ("ReplicaSet web-7d4b9"), or ""
	Ignored           []string  // values out of range, each "field value: why", left out above
}

// Container is what the kubelet's kill path looks at in drainit's own
// container.
type Container struct {
	Name          string        // "" when drainit's container is not known: then PreStop and ProbeGrace cover every container
	PreStop       bool          // a preStop hook runs before the SIGTERM, on the grace's time
	ProbeGrace    time.Duration // the shortest terminationGracePeriodSeconds of its liveness and startup probes; valid if HasProbeGrace
	HasProbeGrace bool
}

// Where a budget came from, as the log, the summary and the Events say.
const (
	SourceDeletion = "deletion"    // metadata.deletionGracePeriodSeconds (and deletionTimestamp, after a preStop hook)
	SourcePodSpec  = "pod spec"    // spec.terminationGracePeriodSeconds
	SourceProbe    = "probe grace" // a liveness or startup probe's terminationGracePeriodSeconds
)

// Budget is the time from the kubelet's SIGTERM, drainit's trigger, to
// the kubelet's SIGKILL, computed as the kubelet's killContainer does:
// the deletion's grace if the pod is being deleted, else the spec's, or a
// probe's own when its failure is the reason (a stop that is not a
// deletion may be one, so the shortest of them); a preStop hook's time, in
// whole seconds, comes off it; never less than MinimumGrace. The kubelet
// starts its timer when it begins the kill, not at deletionTimestamp (that
// is the deletion's time plus its grace, cut to whole seconds), so without
// a hook the grace counts from the SIGTERM. With a hook, the hook began no
// earlier than deletionTimestamp minus the grace: taking that as its start
// counts its time in full or one second more, never less, so the budget
// is the kubelet's or one second short of it. The note says what drainit
// could not know, or ""; source is "" when the pod says no grace drainit
// can use (one out of range), and the budget is then unknown.
func (p Pod) Budget(trigger time.Time) (budget time.Duration, source, note string) {
	c := p.Container
	switch {
	case p.Deleting && p.HasDeletionGrace:
		budget, source = p.DeletionGrace, SourceDeletion
		if c.PreStop && !p.DeletionTimestamp.IsZero() {
			hook := trigger.Sub(p.DeletionTimestamp.Add(-p.DeletionGrace)).Truncate(time.Second)
			budget -= max(hook, 0)
		}
		return max(budget, MinimumGrace), source, ""
	case !p.HasGrace:
		return 0, "", "no grace period in the pod that drainit can use"
	}
	budget, source = p.Grace, SourcePodSpec
	if c.HasProbeGrace && c.ProbeGrace < budget {
		budget, source = c.ProbeGrace, SourceProbe
	}
	if c.PreStop {
		// Not a deletion: nothing tells when the hook began, so only the
		// kubelet's floor is sure.
		return MinimumGrace, source, "a preStop hook ran for a time the API does not tell: the budget is the kubelet's least"
	}
	return max(budget, MinimumGrace), source, ""
}

// Pod reads the pod. The error names the pod, the URL and what went wrong.
func (c *Client) Pod(ctx context.Context) (Pod, error) {
	body, err := c.get(ctx)
	if err == nil {
		var p Pod
		if p, err = decodePod(body, c.cfg.Container); err == nil {
			return p, nil
		}
	}
	return Pod{}, fmt.Errorf("pod %s/%s: GET %s: %w", c.cfg.Namespace, c.cfg.Pod, c.url, err)
}

// owner is one of a pod's ownerReferences.
type owner struct {
	Kind       string `json:"kind"`
	Name       string `json:"name"`
	Controller *bool  `json:"controller"`
}

// controllerOf names the owner that controls the pod, "" for none.
func controllerOf(owners []owner) string {
	for _, o := range owners {
		if o.Controller != nil && *o.Controller {
			return o.Kind + " " + o.Name
		}
	}
	return ""
}

type probe struct {
	TerminationGracePeriodSeconds *int64 `json:"terminationGracePeriodSeconds"`
}

// containerSpec is what decodePod reads of each container.
type containerSpec struct {
	Name      string `json:"name"`
	Lifecycle *struct {
		PreStop json.RawMessage `json:"preStop"`
	} `json:"lifecycle"`
	LivenessProbe *probe `json:"livenessProbe"`
	StartupProbe  *probe `json:"startupProbe"`
}

// decodePod takes what drainit needs from a pod object in JSON; container
// is drainit's, or "" to take the pod's only one.
func decodePod(body []byte, container string) (Pod, error) {
	var p Pod
	var obj struct {
		Kind     string `json:"kind"`
		Metadata struct {
			UID                        string     `json:"uid"`
			DeletionTimestamp          *time.Time `json:"deletionTimestamp"`
			DeletionGracePeriodSeconds *int64     `json:"deletionGracePeriodSeconds"`
			OwnerReferences            []owner    `json:"ownerReferences"`
		} `json:"metadata"`
		Spec struct {
			TerminationGracePeriodSeconds *int64          `json:"terminationGracePeriodSeconds"`
			Containers                    []containerSpec `json:"containers"`
		} `json:"spec"`
	}
	if err := json.Unmarshal(body, &obj); err != nil {
		return p, fmt.Errorf("bad JSON: %w", err)
	}
	if obj.Kind != "Pod" {
		return p, fmt.Errorf("bad JSON: kind %q, want Pod", obj.Kind)
	}
	p.UID = obj.Metadata.UID
	p.Controller = controllerOf(obj.Metadata.OwnerReferences)
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
	mine := func(name string) bool { return name == container }
	if !slices.ContainsFunc(obj.Spec.Containers, func(c containerSpec) bool { return mine(c.Name) }) {
		if container != "" {
			p.Ignored = append(p.Ignored, fmt.Sprintf("container %q: not in the pod; every container's hooks and probes count", container))
		}
		// A container drainit cannot tell from the others makes the pod's
		// budget the shortest any of them could get.
		mine = func(string) bool { return true }
		if len(obj.Spec.Containers) == 1 {
			p.Container.Name = obj.Spec.Containers[0].Name
		}
	} else {
		p.Container.Name = container
	}
	for _, c := range obj.Spec.Containers {
		if !mine(c.Name) {
			continue
		}
		p.Container.PreStop = p.Container.PreStop || c.Lifecycle != nil && len(c.Lifecycle.PreStop) > 0 && string(c.Lifecycle.PreStop) != "null"
		for _, pr := range []struct {
			kind  string
			probe *probe
		}{{"livenessProbe", c.LivenessProbe}, {"startupProbe", c.StartupProbe}} {
			if pr.probe == nil {
				continue
			}
			field := fmt.Sprintf("spec.containers[%s].%s.terminationGracePeriodSeconds", c.Name, pr.kind)
			if g, ok := seconds(field, pr.probe.TerminationGracePeriodSeconds, &p.Ignored); ok && (!p.Container.HasProbeGrace || g < p.Container.ProbeGrace) {
				p.Container.ProbeGrace, p.Container.HasProbeGrace = g, true
			}
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

// Annotation is one annotation drainit keeps on its pod, or with Label one
// label: Busy while the workload works on a task, Idle otherwise; an empty
// value removes it.
type Annotation struct {
	Key, Busy, Idle string
	Label           bool // a label (--busy-label): a Service may select on it
}

// DeletionCost is the annotation the ReplicaSet controller ranks pods by
// when it scales down (after readiness): the lower, the sooner deleted.
const DeletionCost = "controller.kubernetes.io/pod-deletion-cost"

// Annotate sets each annotation and label to its busy or idle value with
// one JSON merge patch of the annotations and labels alone, and says which
// owner controls the pod as patched: a controller whose selector has a
// label drainit changed lets the pod go ("").
func (c *Client) Annotate(ctx context.Context, anns []Annotation, busy bool) (controller string, err error) {
	meta := map[string]any{}
	for _, a := range anns {
		field := "annotations"
		if a.Label {
			field = "labels"
		}
		values, _ := meta[field].(map[string]any)
		if values == nil {
			values = map[string]any{}
			meta[field] = values
		}
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
	body, err := json.Marshal(map[string]any{"metadata": meta})
	var answer []byte
	if err == nil {
		answer, err = c.do(ctx, "PATCH", c.url, "application/merge-patch+json", body)
	}
	if err != nil {
		return "", fmt.Errorf("pod %s/%s: PATCH %s: %w", c.cfg.Namespace, c.cfg.Pod, c.url, err)
	}
	var patched struct {
		Metadata struct {
			OwnerReferences []owner `json:"ownerReferences"`
		} `json:"metadata"`
	}
	json.Unmarshal(answer, &patched)
	return controllerOf(patched.Metadata.OwnerReferences), nil
}

func (c *Client) get(ctx context.Context) ([]byte, error) { return c.do(ctx, "GET", c.url, "", nil) }

// request is a request to the API server with drainit's token, read again
// for every request (bound tokens rotate).
func (c *Client) request(ctx context.Context, method, target, contentType string, body []byte) (*http.Request, error) {
	token, err := os.ReadFile(c.cfg.TokenFile)
	if err != nil {
		return nil, fmt.Errorf("token %s: %w", c.cfg.TokenFile, fserr.Cause(err))
	}
	req, err := http.NewRequestWithContext(ctx, method, target, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(token)))
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "drainit")
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	return req, nil
}

func (c *Client) do(ctx context.Context, method, target, contentType string, body []byte) ([]byte, error) {
	req, err := c.request(ctx, method, target, contentType, body)
	if err != nil {
		return nil, err
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
	case resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusCreated:
		return nil, &StatusError{Code: resp.StatusCode, Text: resp.Status + statusMessage(answer)}
	}
	return answer, nil
}

// Lasting reports whether err is an answer that asking again will not
// change: the token refused (401), RBAC's no (403), no such pod (404,
// a pod name that is not the hostname). A fleet of pods retrying those
// for a minute each would cost the API server for nothing.
func Lasting(err error) bool {
	var se *StatusError
	return errors.As(err, &se) && (se.Code == http.StatusUnauthorized || se.Code == http.StatusForbidden || se.Code == http.StatusNotFound)
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
	seen := map[Annotation]bool{}
	size := 0
	for _, a := range anns {
		what := "annotation"
		if a.Label {
			what = "label"
		}
		if err := qualifiedName(a.Key); err != nil {
			return fmt.Errorf("%s key %q: %w", what, a.Key, err)
		}
		k := Annotation{Key: a.Key, Label: a.Label}
		if seen[k] {
			return fmt.Errorf("%s key %q: given twice", what, a.Key)
		}
		seen[k] = true
		if a.Label {
			for _, v := range []string{a.Busy, a.Idle} {
				if err := labelValue(v); err != nil {
					return fmt.Errorf("label %s value %q: %w", a.Key, v, err)
				}
			}
			continue
		}
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

// labelValue is the API's rule for label values: at most 63 characters
// of letters, digits, '-', '_' and '.', beginning and ending alphanumeric
// (empty is a value too; drainit takes it to remove the label).
func labelValue(v string) error {
	switch {
	case v == "":
		return nil
	case len(v) > 63:
		return errors.New("at most 63 characters")
	case !validLabel(v, func(r rune) bool { return alnum(r) || r == '-' || r == '_' || r == '.' }):
		return errors.New("want letters, digits, '-', '_' and '.', beginning and ending alphanumeric")
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

// ContainerFromMounts finds drainit's container name in its mount table
// (/proc/self/mountinfo): the kubelet bind-mounts the termination log from
// …/pods/UID/containers/NAME/ID, so the mount at that path names the
// container. "" when no such mount is there.
func ContainerFromMounts(mountinfo []byte, terminationLog string) string {
	for _, line := range strings.Split(string(mountinfo), "\n") {
		f := strings.Fields(line)
		if len(f) < 5 || unescapeMount(f[4]) != terminationLog {
			continue
		}
		root := unescapeMount(f[3])
		if i := strings.LastIndex(root, "/containers/"); i >= 0 {
			if name, _, ok := strings.Cut(root[i+len("/containers/"):], "/"); ok && name != "" {
				return name
			}
		}
	}
	return ""
}

// unescapeMount undoes mountinfo's octal escapes of space, tab, newline
// and backslash.
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// Event is one Event drainit posts on its pod (events.k8s.io/v1), so that
// the story of the drain outlives the pod object beside the kubelet's own.
type Event struct {
	Warning bool
	Reason  string // Draining, Drained, Killed
	Action  string // what drainit did: Drain, Kill
	Note    string // at most NoteLimit bytes; longer loses its middle (cut.Middle)
	Time    time.Time
}

// eventName is named as client-go names Events: the object, a dot, the
// time in hexadecimal nanoseconds (generateName would end in a dot, which
// the API refuses).
func eventName(pod string, at time.Time) string {
	suffix := fmt.Sprintf(".%x", at.UnixNano())
	if len(pod)+len(suffix) > 253 {
		pod = pod[:253-len(suffix)]
	}
	return pod + suffix
}

// NoteLimit is the API server's limit on an Event's note.
const NoteLimit = 1024

// Post creates e on the pod, regarding uid ("" when no read has told it).
// The error names the Event and what the API server said.
func (c *Client) Post(ctx context.Context, e Event, uid string) error {
	note := cut.Middle(e.Note, NoteLimit)
	typ := "Normal"
	if e.Warning {
		typ = "Warning"
	}
	regarding := map[string]any{"apiVersion": "v1", "kind": "Pod", "namespace": c.cfg.Namespace, "name": c.cfg.Pod}
	if uid != "" {
		regarding["uid"] = uid
	}
	instance := c.cfg.Pod
	if len(instance) > 128 {
		instance = instance[:128]
	}
	body, err := json.Marshal(map[string]any{
		"apiVersion": "events.k8s.io/v1", "kind": "Event",
		"metadata":            map[string]any{"name": eventName(c.cfg.Pod, e.Time), "namespace": c.cfg.Namespace},
		"eventTime":           e.Time.UTC().Format("2006-01-02T15:04:05.000000Z07:00"),
		"reportingController": "drainit", "reportingInstance": instance,
		"action": e.Action, "reason": e.Reason, "type": typ, "note": note, "regarding": regarding,
	})
	if err == nil {
		_, err = c.do(ctx, "POST", c.eventsURL, "application/json", body)
	}
	if err != nil {
		return fmt.Errorf("event %s on pod %s/%s: POST %s: %w", e.Reason, c.cfg.Namespace, c.cfg.Pod, c.eventsURL, err)
	}
	return nil
}
