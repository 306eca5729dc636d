package kube

// Whether drainit's pod is still an endpoint that kube-proxy sends new
// connections to, from the EndpointSlices of its namespace: asked only
// during a drain's delay, with one list and then a watch from the list's
// resourceVersion, closed as soon as the answer is in.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"
)

// ServiceNameLabel is the label the EndpointSlice controller puts on each
// slice: the Service it lists endpoints for.
const ServiceNameLabel = "kubernetes.io/service-name"

// MaxEndpoints is the API server's limit on the endpoints of one
// EndpointSlice (discovery/v1 validation).
const MaxEndpoints = 1000

// MaxWatchRequests bounds what one drain asks of the API server for its
// EndpointSlices: a list and a watch, again after a watch a proxy or the
// API server closed, a list again only when the watch's version is too old.
const MaxWatchRequests = 8

// Out is what the EndpointSlices showed, once no Service routes new
// connections to the pod.
type Out struct {
	Requests int      // requests made: the list, the watch, and any again after a reset
	Services []string // the Services whose slices had the pod when the list was read, in use or not; none when it was in no Service
	Listed   []string // of them, those that still sent it new connections then
}

// StatusError is the API server's answer when it is not a success.
type StatusError struct {
	Code int    // the HTTP status
	Text string // "403 Forbidden: endpointslices.discovery.k8s.io is forbidden: …"
}

func (e *StatusError) Error() string { return e.Text }

// Forbidden reports whether err is the API server's 403: RBAC does not
// allow the request.
func Forbidden(err error) bool {
	var se *StatusError
	return errors.As(err, &se) && se.Code == http.StatusForbidden
}

// endpoint is what drainit reads of one endpoint of a slice.
type endpoint struct {
	Conditions struct {
		Ready       *bool `json:"ready"`
		Serving     *bool `json:"serving"`
		Terminating *bool `json:"terminating"`
	} `json:"conditions"`
	TargetRef *struct {
		Kind      string `json:"kind"`
		Namespace string `json:"namespace"`
		Name      string `json:"name"`
		UID       string `json:"uid"`
	} `json:"targetRef"`
}

// slice is what drainit reads of an EndpointSlice.
type slice struct {
	Kind     string `json:"kind"`
	Metadata struct {
		Name            string            `json:"name"`
		ResourceVersion string            `json:"resourceVersion"`
		Labels          map[string]string `json:"labels"`
	} `json:"metadata"`
	Endpoints []endpoint `json:"endpoints"`
}

// The conditions as the API defines their absence: ready and serving nil
// are true, terminating nil is false.
func (e endpoint) ready() bool   { return e.Conditions.Ready == nil || *e.Conditions.Ready }
func (e endpoint) serving() bool { return e.Conditions.Serving == nil || *e.Conditions.Serving }
func (e endpoint) terminating() bool {
	return e.Conditions.Terminating != nil && *e.Conditions.Terminating
}

// isPod reports whether e is the endpoint of pod name in namespace ns
// (uid, when known, tells it from an earlier pod of the same name, as a
// StatefulSet's are).
func (e endpoint) isPod(ns, name, uid string) bool {
	r := e.TargetRef
	return r != nil && r.Kind == "Pod" && r.Name == name && (r.Namespace == "" || r.Namespace == ns) && (uid == "" || r.UID == "" || r.UID == uid)
}

// slices is the namespace's EndpointSlices as last read, by name.
type sliceSet map[string]slice

// servicesUsing names the Services whose kube-proxy rules may still send
// new connections to the pod, by kube-proxy's own rule
// (pkg/proxy/topology.go, CategorizeEndpoints): a Service uses its ready
// endpoints, and only when none is ready, its serving terminating ones.
// A slice without the service-name label stands alone.
func (s sliceSet) servicesUsing(ns, name, uid string) []string {
	type use struct{ mineReady, mineServingTerminating, otherReady bool }
	services := map[string]*use{}
	for sliceName, sl := range s {
		svc := sl.Metadata.Labels[ServiceNameLabel]
		if svc == "" {
			svc = "(slice " + sliceName + ")"
		}
		u := services[svc]
		if u == nil {
			u = &use{}
			services[svc] = u
		}
		for _, e := range sl.Endpoints {
			switch {
			case !e.isPod(ns, name, uid):
				u.otherReady = u.otherReady || e.ready()
			case e.ready():
				u.mineReady = true
			case e.serving() && e.terminating():
				u.mineServingTerminating = true
			}
		}
	}
	var using []string
	for svc, u := range services {
		if u.mineReady || u.mineServingTerminating && !u.otherReady {
			using = append(using, svc)
		}
	}
	slices.Sort(using)
	return using
}

// servicesWith names the Services whose slices have the pod as an
// endpoint, whatever its conditions.
func (s sliceSet) servicesWith(ns, name, uid string) []string {
	var with []string
	for sliceName, sl := range s {
		svc := sl.Metadata.Labels[ServiceNameLabel]
		if svc == "" {
			svc = "(slice " + sliceName + ")"
		}
		if !slices.Contains(with, svc) && slices.ContainsFunc(sl.Endpoints, func(e endpoint) bool { return e.isPod(ns, name, uid) }) {
			with = append(with, svc)
		}
	}
	slices.Sort(with)
	return with
}

// check range-checks a slice from the API: a value from the API is data,
// not a promise.
func (sl slice) check() error {
	switch {
	case sl.Metadata.Name == "" || len(sl.Metadata.Name) > 253:
		return fmt.Errorf("an EndpointSlice named %q", sl.Metadata.Name)
	case len(sl.Endpoints) > MaxEndpoints:
		return fmt.Errorf("EndpointSlice %s with %d endpoints, more than the API's %d", sl.Metadata.Name, len(sl.Endpoints), MaxEndpoints)
	}
	return nil
}

// goodVersion range-checks a resourceVersion: opaque, but a short token
// that goes into a URL.
func goodVersion(rv string) bool {
	if rv == "" || len(rv) > 128 {
		return false
	}
	for _, r := range rv {
		if r <= ' ' || r > '~' {
			return false
		}
	}
	return true
}

// OutOfService returns once no EndpointSlice in the pod's namespace lists
// the pod as an endpoint kube-proxy sends new connections to (the
// EndpointSlice controller has seen the deletion, or the pod is in no
// Service at all), or with ctx's error when it ends first, or with the API
// server's error when it will not say (a 403 without RBAC for
// endpointslices). uid, when known, is the pod's. It lists the slices
// once and then watches them from the list's resourceVersion; a watch that
// ends early is opened again from where it was, after a pause that doubles
// from 0.1 s to 1 s, and the list is read again only when the API server
// says that version is gone: at most MaxWatchRequests requests in all.
func (c *Client) OutOfService(ctx context.Context, uid string) (Out, error) {
	var out Out
	set, rv := sliceSet{}, ""
	relist, backoff := true, 100*time.Millisecond
	pause := func() error {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, time.Second)
		return nil
	}
	for {
		if out.Requests >= MaxWatchRequests {
			return out, fmt.Errorf("EndpointSlices in %s: no answer after %d requests", c.cfg.Namespace, out.Requests)
		}
		if relist {
			out.Requests++
			var err error
			set, rv, err = c.listSlices(ctx)
			var se *StatusError
			switch {
			case err != nil && ctx.Err() != nil:
				return out, ctx.Err()
			case errors.As(err, &se) && se.Code != http.StatusTooManyRequests && se.Code < 500:
				return out, err // not allowed, or not there: asking again will not change it
			case err != nil:
				if pause() != nil {
					return out, err
				}
				continue
			}
			relist = false
			using := set.servicesUsing(c.cfg.Namespace, c.cfg.Pod, uid)
			if out.Requests == 1 {
				out.Listed, out.Services = using, set.servicesWith(c.cfg.Namespace, c.cfg.Pod, uid)
			}
			if len(using) == 0 {
				return out, nil
			}
		}
		out.Requests++
		started := time.Now()
		done, gone, err := c.watchSlices(ctx, set, &rv, uid)
		switch {
		case done:
			return out, nil
		case ctx.Err() != nil:
			return out, ctx.Err()
		case gone:
			relist = true
		}
		var se *StatusError
		if errors.As(err, &se) && se.Code == http.StatusForbidden {
			return out, err
		}
		if time.Since(started) < time.Second {
			// A watch that ended at once, reset by a proxy or refused:
			// not again at once.
			if pause() != nil {
				return out, ctx.Err()
			}
		}
	}
}

func (c *Client) slicesURL() string {
	return c.base + "/apis/discovery.k8s.io/v1/namespaces/" + url.PathEscape(c.cfg.Namespace) + "/endpointslices"
}

// listSlices reads the namespace's EndpointSlices from the API server's
// cache (resourceVersion 0: no read of etcd; the watch that follows
// brings whatever the cache had not yet).
func (c *Client) listSlices(ctx context.Context) (sliceSet, string, error) {
	u := c.slicesURL() + "?resourceVersion=0"
	body, err := c.do(ctx, "GET", u, "", nil)
	if err != nil {
		return nil, "", fmt.Errorf("EndpointSlices in %s: GET %s: %w", c.cfg.Namespace, u, err)
	}
	var list struct {
		Kind     string `json:"kind"`
		Metadata struct {
			ResourceVersion string `json:"resourceVersion"`
		} `json:"metadata"`
		Items []slice `json:"items"`
	}
	if err := json.Unmarshal(body, &list); err != nil {
		return nil, "", fmt.Errorf("EndpointSlices in %s: GET %s: bad JSON: %w", c.cfg.Namespace, u, err)
	}
	if list.Kind != "EndpointSliceList" || !goodVersion(list.Metadata.ResourceVersion) {
		return nil, "", fmt.Errorf("EndpointSlices in %s: GET %s: kind %q, resourceVersion %q: not an EndpointSliceList", c.cfg.Namespace, u, list.Kind, list.Metadata.ResourceVersion)
	}
	set := sliceSet{}
	for _, sl := range list.Items {
		if err := sl.check(); err != nil {
			return nil, "", fmt.Errorf("EndpointSlices in %s: GET %s: %w", c.cfg.Namespace, u, err)
		}
		set[sl.Metadata.Name] = sl
	}
	return set, list.Metadata.ResourceVersion, nil
}

// watchSlices follows the slices from *rv, keeping set and *rv up to
// date, until the pod is listed nowhere (done), the watch ends, or the API
// server says *rv is too old (gone: list again).
func (c *Client) watchSlices(ctx context.Context, set sliceSet, rv *string, uid string) (done, gone bool, err error) {
	q := url.Values{"watch": {"true"}, "resourceVersion": {*rv}, "allowWatchBookmarks": {"true"}}
	if d, ok := ctx.Deadline(); ok {
		// The API server ends the watch itself by then.
		q.Set("timeoutSeconds", strconv.Itoa(max(1, int(time.Until(d).Seconds()+0.999))))
	}
	u := c.slicesURL() + "?" + q.Encode()
	fail := func(err error) error {
		return fmt.Errorf("EndpointSlices in %s: watch %s: %w", c.cfg.Namespace, u, err)
	}
	resp, err := c.open(ctx, u)
	if err != nil {
		var se *StatusError
		return false, errors.As(err, &se) && se.Code == http.StatusGone, fail(err)
	}
	defer resp.Body.Close()
	body := &eventReader{r: resp.Body}
	dec := json.NewDecoder(body)
	for {
		var ev struct {
			Type   string          `json:"type"`
			Object json.RawMessage `json:"object"`
		}
		body.mark()
		if err := dec.Decode(&ev); err != nil {
			if errors.Is(err, io.EOF) {
				return false, false, nil // the watch's time is up, or the server closed it
			}
			return false, false, fail(err)
		}
		switch ev.Type {
		case "ERROR":
			var st struct {
				Code    int    `json:"code"`
				Message string `json:"message"`
			}
			json.Unmarshal(ev.Object, &st)
			return false, st.Code == http.StatusGone, fail(fmt.Errorf("%d %s", st.Code, st.Message))
		case "ADDED", "MODIFIED", "DELETED", "BOOKMARK":
		default:
			continue // a type this version does not know changes nothing it reads
		}
		var sl slice
		if err := json.Unmarshal(ev.Object, &sl); err != nil {
			return false, false, fail(fmt.Errorf("bad JSON: %w", err))
		}
		if !goodVersion(sl.Metadata.ResourceVersion) {
			return false, true, fail(fmt.Errorf("%s event with resourceVersion %q", ev.Type, sl.Metadata.ResourceVersion))
		}
		*rv = sl.Metadata.ResourceVersion
		if ev.Type == "BOOKMARK" {
			continue
		}
		if err := sl.check(); err != nil {
			return false, true, fail(err)
		}
		if ev.Type == "DELETED" {
			delete(set, sl.Metadata.Name)
		} else {
			set[sl.Metadata.Name] = sl
		}
		if len(set.servicesUsing(c.cfg.Namespace, c.cfg.Pod, uid)) == 0 {
			return true, false, nil
		}
	}
}

// open starts a streamed GET: the answer's headers within Timeout, its
// body for as long as ctx lasts.
func (c *Client) open(ctx context.Context, target string) (*http.Response, error) {
	req, err := c.request(ctx, "GET", target, "", nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.stream.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		defer resp.Body.Close()
		answer, _ := io.ReadAll(io.LimitReader(resp.Body, MaxBody))
		return nil, &StatusError{Code: resp.StatusCode, Text: resp.Status + statusMessage(answer)}
	}
	return resp, nil
}

// eventReader refuses an event larger than MaxBody: a watch's events are
// each one object, and the stream has no end of its own.
type eventReader struct {
	r    io.Reader
	n, m int64 // bytes read, and at the last mark
}

func (e *eventReader) mark() { e.m = e.n }

func (e *eventReader) Read(p []byte) (int, error) {
	if e.n-e.m > MaxBody {
		return 0, fmt.Errorf("an event larger than %d MiB", MaxBody>>20)
	}
	k, err := e.r.Read(p)
	e.n += int64(k)
	return k, err
}
