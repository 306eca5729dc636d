package main

// The namespaces whose pods are the injector's. The API server sends it
// the pods of namespaces labelled drainit.dev/inject: enabled; anyone
// else who reaches its Service may send it a review of their own making,
// for any namespace. Before it reads a Secret (or anything) for a pod, it
// asks the API whether the pod's namespace is one it serves.

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/drainit/drainit/cmd/kubectl-drainit/inject"
)

type namespaceCheck struct {
	labels    func(ctx context.Context, name string) (map[string]string, error)
	ttl       time.Duration // how long an answer is used
	failedTTL time.Duration // and a failure to ask
	now       func() time.Time

	mu   sync.Mutex
	seen map[string]*namespaceRead
}

type namespaceRead struct {
	done    chan struct{}
	at      time.Time
	enabled bool
	err     error
}

func newNamespaceCheck(labels func(context.Context, string) (map[string]string, error)) *namespaceCheck {
	return &namespaceCheck{labels: labels, ttl: time.Minute, failedTTL: 5 * time.Second, now: time.Now, seen: map[string]*namespaceRead{}}
}

// enabled says whether namespace is labelled drainit.dev/inject: enabled,
// as the API said it within a minute (a namespace that is not there is
// not); an error when that could not be asked by the end of ctx. One
// request per namespace a minute, shared by the admissions meanwhile.
func (n *namespaceCheck) enabled(ctx context.Context, namespace string) (bool, error) {
	n.mu.Lock()
	rd, ok := n.seen[namespace]
	if ok {
		select {
		case <-rd.done:
			// An answer, 403 included (the injector may not read
			// namespaces: an install without the rule), is kept; a
			// failure to ask is asked again soon.
			ttl := n.ttl
			if rd.err != nil && !isStatus(rd.err, http.StatusForbidden) {
				ttl = n.failedTTL
			}
			ok = n.now().Sub(rd.at) < ttl
		default:
		}
	}
	if !ok {
		for k, old := range n.seen {
			select {
			case <-old.done:
				if n.now().Sub(old.at) >= n.ttl {
					delete(n.seen, k)
				}
			default:
			}
		}
		rd = &namespaceRead{done: make(chan struct{})}
		n.seen[namespace] = rd
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
			defer cancel()
			labels, err := n.labels(ctx, namespace)
			if isStatus(err, http.StatusNotFound) {
				err = nil
			}
			n.mu.Lock()
			rd.enabled, rd.err, rd.at = err == nil && labels[inject.SwitchAnnotation] == inject.Enabled, err, n.now()
			n.mu.Unlock()
			close(rd.done)
		}()
	}
	n.mu.Unlock()
	select {
	case <-rd.done:
	default:
		select {
		case <-rd.done:
		case <-ctx.Done():
			return false, fmt.Errorf("not answered within the admission's time")
		}
	}
	return rd.enabled, rd.err
}
