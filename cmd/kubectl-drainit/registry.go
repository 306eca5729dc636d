package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/docker/cli/cli/config"
	"github.com/google/go-containerregistry/pkg/authn"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/drainit/drainit/cmd/kubectl-drainit/inject"
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

type imageRead struct {
	cfg inject.ImageConfig
	err error
}

func newRegistry(dockerConfig, platform string) (*imageConfigs, error) {
	r := &imageConfigs{keychain: authn.DefaultKeychain, seen: map[string]imageRead{}}
	p, err := inject.ParsePlatform(platform)
	if err != nil {
		return nil, fmt.Errorf("--%w", err)
	}
	r.platform = p
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
		r.keychain = inject.DockerConfigKeychain(cf)
	}
	return r, nil
}

func (r *imageConfigs) config(image string) (inject.ImageConfig, error) {
	if c, ok := r.seen[image]; ok {
		return c.cfg, c.err
	}
	ctx, cancel := context.WithTimeout(context.Background(), readTimeout)
	defer cancel()
	var c imageRead
	c.cfg, c.err = inject.ReadImageConfig(ctx, image, r.keychain, r.platform, nil)
	r.seen[image] = c
	return c.cfg, c.err
}

// readTimeout bounds one image's read: a registry that takes a connection
// and never answers must not hold inject (a Helm upgrade, a pipeline)
// for ever, now that every container's image is read.
var readTimeout = 30 * time.Second
