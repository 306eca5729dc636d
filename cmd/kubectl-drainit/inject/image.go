package inject

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/docker/cli/cli/config/configfile"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// ImageConfig is what inject takes from an image's config.
type ImageConfig struct {
	Entrypoint, Cmd []string
	Env             []string // NAME=VALUE, as the image sets them
	StopSignal      string   // as written: SIGQUIT, QUIT, 3; "" for the runtime's SIGTERM
}

// ParsePlatform reads OS/ARCH[/VARIANT], as linux/amd64.
func ParsePlatform(s string) (v1.Platform, error) {
	os_, arch, ok := strings.Cut(s, "/")
	if !ok || os_ == "" || arch == "" {
		return v1.Platform{}, fmt.Errorf("platform %q: want OS/ARCH, as linux/amd64", s)
	}
	arch, variant, _ := strings.Cut(arch, "/")
	return v1.Platform{OS: os_, Architecture: arch, Variant: variant}, nil
}

// The most of a registry's answers that is read: an image's config is a
// few KiB (a long history, some hundreds), a manifest or an index less;
// the registry's own limit for a manifest is 4 MiB. A registry chosen by
// whoever creates a pod must not be able to make the reader hold more.
const (
	MaxImageConfig = 4 << 20
	maxAnswer      = 4 << 20 // any answer: a manifest, an index, a token, an error
)

// ReadImageConfig reads image's config from its registry, with the
// credentials keychain has for it, through rt (nil: remote's default
// transport); from a multi-platform index, the platform's image. ctx
// bounds the whole read, and no answer is read past maxAnswer: a config
// the manifest says is larger than MaxImageConfig is refused unread.
func ReadImageConfig(ctx context.Context, image string, keychain authn.Keychain, platform v1.Platform, rt http.RoundTripper) (ImageConfig, error) {
	ref, err := name.ParseReference(image)
	if err != nil {
		return ImageConfig{}, err
	}
	if rt == nil {
		rt = remote.DefaultTransport
	}
	img, err := remote.Image(ref, remote.WithAuthFromKeychain(keychain), remote.WithPlatform(platform), remote.WithContext(ctx),
		remote.WithTransport(boundedTransport{rt}))
	if err != nil {
		return ImageConfig{}, err
	}
	m, err := img.Manifest()
	if err != nil {
		return ImageConfig{}, err
	}
	if m.Config.Size > MaxImageConfig {
		return ImageConfig{}, fmt.Errorf("its config is %d bytes, more than the %d MiB read of one", m.Config.Size, MaxImageConfig>>20)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return ImageConfig{}, err
	}
	c := cf.Config
	return ImageConfig{Entrypoint: c.Entrypoint, Cmd: c.Cmd, Env: c.Env, StopSignal: c.StopSignal}, nil
}

// boundedTransport reads no answer past maxAnswer.
type boundedTransport struct{ http.RoundTripper }

// errTooLarge is the error of an answer past maxAnswer.
var errTooLarge = fmt.Errorf("an answer of more than %d MiB", maxAnswer>>20)

func (t boundedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.RoundTripper.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	if resp.ContentLength > maxAnswer {
		resp.Body.Close()
		return nil, fmt.Errorf("%s %s: %w", req.Method, req.URL.Redacted(), errTooLarge)
	}
	resp.Body = &boundedBody{ReadCloser: resp.Body}
	return resp, nil
}

type boundedBody struct {
	io.ReadCloser
	read int64
}

func (b *boundedBody) Read(p []byte) (int, error) {
	if b.read >= maxAnswer {
		p = p[:min(len(p), 1)] // one byte more tells an answer of maxAnswer from a longer one
	}
	n, err := b.ReadCloser.Read(p)
	if b.read += int64(n); b.read > maxAnswer {
		return 0, errTooLarge
	}
	return n, err
}

// DockerConfigKeychain answers with the credentials of one Docker config
// file (the "auths" of ~/.docker/config.json, and of an image pull
// Secret's .dockerconfigjson), anonymously for a registry it has none for.
func DockerConfigKeychain(cf *configfile.ConfigFile) authn.Keychain { return fileKeychain{cf} }

type fileKeychain struct{ cf *configfile.ConfigFile }

func (k fileKeychain) Resolve(target authn.Resource) (authn.Authenticator, error) {
	key := target.RegistryStr()
	if key == name.DefaultRegistry {
		key = authn.DefaultAuthKey
	}
	ac, err := k.cf.GetAuthConfig(key)
	if err != nil {
		return nil, err
	}
	if ac.Username == "" && ac.Password == "" && ac.Auth == "" && ac.IdentityToken == "" && ac.RegistryToken == "" {
		return authn.Anonymous, nil
	}
	return authn.FromConfig(authn.AuthConfig{Username: ac.Username, Password: ac.Password, Auth: ac.Auth,
		IdentityToken: ac.IdentityToken, RegistryToken: ac.RegistryToken}), nil
}
