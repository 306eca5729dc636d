package main

// Image configs for the pods the injector wraps: read from the registry
// with the pod's image pull Secrets (the API server's ServiceAccount
// admission has already added its service account's by then), shared by
// the admissions that want the same image at once, and kept a while, so
// that a Deployment scaled to a hundred pods reads its image once.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/docker/cli/cli/config"
	"github.com/google/go-containerregistry/pkg/authn"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/drainit/drainit/cmd/kubectl-drainit/inject"
)

// Modes of --image-config: what the injector may read for an image's
// ENTRYPOINT, CMD, ENV and STOPSIGNAL.
const (
	readWithSecrets = "pull-secrets" // with the pod's image pull Secrets (RBAC: get secrets)
	readAnonymously = "anonymous"    // without credentials: reads no Secret
	readNothing     = "off"          // no registry at all: only containers whose command is in the spec are wrapped
)

// The secret types the kubelet takes image pull credentials from.
const (
	dockerConfigJSON = "kubernetes.io/dockerconfigjson"
	dockerCfg        = "kubernetes.io/dockercfg"
)

var errNotRead = errors.New("drainit-injector reads no image config (--image-config off)")

// readTimeout bounds one image's read, which goes on for the admissions
// that come after one that could not wait for it.
const readTimeout = 30 * time.Second

// maxReads is how many images are read at once: a read holds up to a
// config and an answer of 4 MiB each (inject.MaxImageConfig), and pods
// may name as many registries as they like. One that waits for its turn
// is under way all the same.
const maxReads = 4

type imageReader struct {
	mode      string
	platform  v1.Platform
	transport http.RoundTripper // to the registries
	ttl       time.Duration     // how long a config read is used
	failedTTL time.Duration     // and a failure, so that a burst of pods does not each wait for a registry that is down
	secret    func(ctx context.Context, namespace, name string) (secret, error)
	now       func() time.Time

	slots     chan struct{} // maxReads
	mu        sync.Mutex
	reads     map[readKey]*read
	keychains map[string]*keychainRead // by credentials
}

// readKey is one image read with one set of credentials.
type readKey struct{ image, credentials string }

type read struct {
	done chan struct{}
	at   time.Time
	cfg  inject.ImageConfig
	err  error
}

// keychainRead is the keychain of one namespace's set of pull Secrets, and
// what could not be read of them.
type keychainRead struct {
	done      chan struct{} // closed once read
	at        time.Time
	keychain  authn.Keychain
	problems  []string
	transient bool // a Secret could not be asked for, rather than was answered
}

func newImageReader(mode string, platform v1.Platform, ttl time.Duration, secretFn func(context.Context, string, string) (secret, error), rt http.RoundTripper) *imageReader {
	return &imageReader{mode: mode, platform: platform, transport: rt, ttl: ttl, failedTTL: 5 * time.Second, secret: secretFn, now: time.Now, slots: make(chan struct{}, maxReads),
		reads: map[readKey]*read{}, keychains: map[string]*keychainRead{}}
}

// configs reads the images' configs, at once, each waited for until ctx
// ends: an image whose read is not done by then has the error of ctx,
// while the read goes on for the next pod.
func (r *imageReader) configs(ctx context.Context, namespace string, pullSecrets []string, images []string) map[string]result {
	out := map[string]result{}
	if len(images) == 0 {
		return out
	}
	if r.mode == readNothing {
		for _, image := range images {
			out[image] = result{err: errNotRead}
		}
		return out
	}
	credentials := ""
	if r.mode == readWithSecrets && len(pullSecrets) > 0 {
		credentials = namespace + "/" + strings.Join(pullSecrets, ",")
	}
	var kc *keychainRead
	keychain := func() *keychainRead {
		if kc == nil {
			kc = r.keychain(ctx, namespace, pullSecrets, credentials)
		}
		return kc
	}
	var wait []*read
	for _, image := range images {
		rd, fresh := r.cached(readKey{image, credentials})
		if !fresh {
			k := keychain()
			rd = r.start(readKey{image, credentials}, k)
		}
		wait = append(wait, rd)
	}
	for i, image := range images {
		// A read that is done is used whatever the time left: select
		// picks at random between two ready cases.
		select {
		case <-wait[i].done:
		default:
			select {
			case <-wait[i].done:
			case <-ctx.Done():
				out[image] = result{err: fmt.Errorf("not read within the admission's time (the read goes on for the next pod): %w", ctx.Err())}
				continue
			}
		}
		out[image] = result{cfg: wait[i].cfg, err: wait[i].err}
	}
	return out
}

type result struct {
	cfg inject.ImageConfig
	err error
}

// cached is the read of key under way or done, if it may still be used.
func (r *imageReader) cached(key readKey) (*read, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	rd, ok := r.reads[key]
	if !ok {
		return nil, false
	}
	select {
	case <-rd.done:
		ttl := r.ttl
		if rd.err != nil {
			ttl = r.failedTTL
		}
		if r.now().Sub(rd.at) >= ttl {
			return nil, false
		}
	default: // under way
	}
	return rd, true
}

// start reads key's image with kc's credentials, unless another admission
// started the same read meanwhile.
func (r *imageReader) start(key readKey, kc *keychainRead) *read {
	r.mu.Lock()
	if rd, ok := r.reads[key]; ok {
		select {
		case <-rd.done:
		default:
			r.mu.Unlock()
			return rd
		}
	}
	rd := &read{done: make(chan struct{})}
	r.reads[key] = rd
	r.expire()
	r.mu.Unlock()
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), readTimeout)
		defer cancel()
		var cfg inject.ImageConfig
		var err error
		select {
		case r.slots <- struct{}{}:
			cfg, err = inject.ReadImageConfig(ctx, key.image, kc.keychain, r.platform, r.transport)
			<-r.slots
			if err != nil {
				err = registryError(err)
			}
		case <-ctx.Done():
			err = fmt.Errorf("not read: %d other images were read meanwhile", maxReads)
		}
		if err != nil && len(kc.problems) > 0 {
			err = fmt.Errorf("%w (%s)", err, strings.Join(kc.problems, "; "))
		}
		r.mu.Lock()
		rd.cfg, rd.err, rd.at = cfg, err, r.now()
		r.mu.Unlock()
		close(rd.done)
	}()
	return rd
}

// expire forgets the reads and keychains past their time; r.mu is held.
func (r *imageReader) expire() {
	now := r.now()
	for k, rd := range r.reads {
		select {
		case <-rd.done:
			if now.Sub(rd.at) >= max(r.ttl, r.failedTTL) {
				delete(r.reads, k)
			}
		default:
		}
	}
	for k, kc := range r.keychains {
		select {
		case <-kc.done:
			if now.Sub(kc.at) >= r.ttl {
				delete(r.keychains, k)
			}
		default:
		}
	}
}

// keychain is the credentials of the pod's pull Secrets, the first that
// has any for a registry, as the kubelet tries them in order; anonymous
// for a registry none has. It is read from the API once per set of
// Secrets and --image-cache, by the first admission that needs it while
// the others wait for it; the read goes on when an admission stops
// waiting. A Secret the API says is not there (404) or not the
// injector's to read (403), or that holds no credentials, is such an
// answer too, kept as long: a fleet of pods that name a Secret that is
// missing asks for it once a minute, not once a pod. A failure to ask (a
// timeout, the API server's error) is asked again after failedTTL.
func (r *imageReader) keychain(ctx context.Context, namespace string, pullSecrets []string, credentials string) *keychainRead {
	if credentials == "" {
		return &keychainRead{keychain: authn.NewMultiKeychain()}
	}
	r.mu.Lock()
	kc, ok := r.keychains[credentials]
	if ok {
		select {
		case <-kc.done:
			ttl := r.ttl
			if kc.transient {
				ttl = r.failedTTL
			}
			ok = r.now().Sub(kc.at) < ttl
		default:
		}
	}
	if !ok {
		kc = &keychainRead{done: make(chan struct{})}
		r.keychains[credentials] = kc
		go r.readKeychain(kc, namespace, pullSecrets)
	}
	r.mu.Unlock()
	select {
	case <-kc.done:
		return kc
	default:
	}
	select {
	case <-kc.done:
		return kc
	case <-ctx.Done():
		return &keychainRead{keychain: authn.NewMultiKeychain(), problems: []string{"the pull secrets were not read in time"}}
	}
}

// readKeychain reads kc's Secrets from the API and closes kc.done.
func (r *imageReader) readKeychain(kc *keychainRead, namespace string, pullSecrets []string) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*requestTimeout)
	defer cancel()
	var chains []authn.Keychain
	for _, name := range pullSecrets {
		s, err := r.secret(ctx, namespace, name)
		if err != nil {
			kc.problems = append(kc.problems, fmt.Sprintf("pull secret %s: %v", name, err))
			kc.transient = kc.transient || !isStatus(err, http.StatusNotFound) && !isStatus(err, http.StatusForbidden)
			continue
		}
		k, err := secretKeychain(s)
		if err != nil {
			kc.problems = append(kc.problems, fmt.Sprintf("pull secret %s: %v", name, err))
			continue
		}
		chains = append(chains, k)
	}
	kc.keychain = authn.NewMultiKeychain(chains...)
	r.mu.Lock()
	kc.at = r.now()
	r.mu.Unlock()
	close(kc.done)
}

// secretKeychain reads an image pull Secret as the kubelet does: a
// .dockerconfigjson ({"auths": {REGISTRY: …}}) or the older .dockercfg
// (the same without "auths").
func secretKeychain(s secret) (authn.Keychain, error) {
	var body []byte
	switch s.Type {
	case dockerConfigJSON:
		body = s.Data[".dockerconfigjson"]
	case dockerCfg:
		body = append(append([]byte(`{"auths":`), s.Data[".dockercfg"]...), '}')
	default:
		return nil, fmt.Errorf("type %q is not %s or %s, which the kubelet takes credentials from", s.Type, dockerConfigJSON, dockerCfg)
	}
	if len(body) == 0 {
		return nil, fmt.Errorf("no credentials in it")
	}
	cf, err := config.LoadFromReader(bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	return inject.DockerConfigKeychain(cf), nil
}

// pullSecretNames are the names of a pod's imagePullSecrets, in order.
func pullSecretNames(spec map[string]any) []string {
	list, _ := spec["imagePullSecrets"].([]any)
	var names []string
	for _, s := range list {
		if m, ok := s.(map[string]any); ok {
			if n, _ := m["name"].(string); n != "" && !slices.Contains(names, n) {
				names = append(names, n)
			}
		}
	}
	return names
}
