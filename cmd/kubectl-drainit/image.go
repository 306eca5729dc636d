package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/docker/cli/cli/config"
	"github.com/docker/cli/cli/config/configfile"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// imageConfigs reads images' configs for their ENTRYPOINT, CMD, ENV and
// STOPSIGNAL: anonymously, with the credentials of the user's Docker
// config ($DOCKER_CONFIG, else ~/.docker), or of the config file
// --docker-config names. Each image is read once.
type imageConfigs struct {
	keychain authn.Keychain
	platform v1.Platform
	seen     map[string]imageRead
}

// imageConfig is what inject takes from an image's config.
type imageConfig struct {
	Entrypoint, Cmd []string
	Env             []string // NAME=VALUE, as the image sets them
	StopSignal      string   // as written: SIGQUIT, QUIT, 3; "" for the runtime's SIGTERM
}

type imageRead struct {
	cfg imageConfig
	err error
}

func newRegistry(dockerConfig, platform string) (*imageConfigs, error) {
	r := &imageConfigs{keychain: authn.DefaultKeychain, seen: map[string]imageRead{}}
	os_, arch, ok := strings.Cut(platform, "/")
	if !ok || os_ == "" || arch == "" {
		return nil, fmt.Errorf("--platform %q: want OS/ARCH, as linux/amd64", platform)
	}
	arch, variant, _ := strings.Cut(arch, "/")
	r.platform = v1.Platform{OS: os_, Architecture: arch, Variant: variant}
	if dockerConfig != "" {
		f, err := os.Open(dockerConfig)
		if err != nil {
			return nil, fmt.Errorf("--docker-config: %w", err)
		}
		defer f.Close()
		cf, err := config.LoadFromReader(f)
		if err != nil {
			return nil, fmt.Errorf("--docker-config %s: %w", dockerConfig, err)
		}
		r.keychain = fileKeychain{cf}
	}
	return r, nil
}

func (r *imageConfigs) config(image string) (imageConfig, error) {
	if c, ok := r.seen[image]; ok {
		return c.cfg, c.err
	}
	var c imageRead
	c.cfg, c.err = r.read(image)
	r.seen[image] = c
	return c.cfg, c.err
}

// readTimeout bounds one image's read: a registry that takes a connection
// and never answers must not hold inject (a Helm upgrade, a pipeline)
// for ever, now that every container's image is read.
var readTimeout = 30 * time.Second

func (r *imageConfigs) read(image string) (imageConfig, error) {
	ref, err := name.ParseReference(image)
	if err != nil {
		return imageConfig{}, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), readTimeout)
	defer cancel()
	img, err := remote.Image(ref, remote.WithAuthFromKeychain(r.keychain), remote.WithPlatform(r.platform), remote.WithContext(ctx))
	if err != nil {
		return imageConfig{}, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return imageConfig{}, err
	}
	c := cf.Config
	return imageConfig{Entrypoint: c.Entrypoint, Cmd: c.Cmd, Env: c.Env, StopSignal: c.StopSignal}, nil
}

// fileKeychain answers with the credentials of one Docker config file.
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
