package inject

import (
	"context"
	"fmt"
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

// ReadImageConfig reads image's config from its registry, with the
// credentials keychain has for it; from a multi-platform index, the
// platform's image. ctx bounds the whole read.
func ReadImageConfig(ctx context.Context, image string, keychain authn.Keychain, platform v1.Platform) (ImageConfig, error) {
	ref, err := name.ParseReference(image)
	if err != nil {
		return ImageConfig{}, err
	}
	img, err := remote.Image(ref, remote.WithAuthFromKeychain(keychain), remote.WithPlatform(platform), remote.WithContext(ctx))
	if err != nil {
		return ImageConfig{}, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return ImageConfig{}, err
	}
	c := cf.Config
	return ImageConfig{Entrypoint: c.Entrypoint, Cmd: c.Cmd, Env: c.Env, StopSignal: c.StopSignal}, nil
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
