package inject

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// A registry chosen by whoever writes the pod cannot make the reader hold
// more than a bound: a config the manifest says is larger is not asked
// for, and no answer (a manifest, here) is read past it.
func TestReadImageConfigIsBounded(t *testing.T) {
	config := []byte(`{"architecture": "amd64", "os": "linux", "config": {"Entrypoint": ["/app"]}, "rootfs": {"type": "layers", "diff_ids": []}}`)
	sum := sha256.Sum256(config)
	digest := "sha256:" + hex.EncodeToString(sum[:])
	manifest := func(size int) []byte {
		b, _ := json.Marshal(map[string]any{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
			"config": map[string]any{"mediaType": "application/vnd.oci.image.config.v1+json", "digest": digest, "size": size}, "layers": []any{}})
		return b
	}
	var blobs atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/v2/":
		case strings.HasSuffix(r.URL.Path, "/manifests/small"):
			w.Header().Set("Content-Type", "application/vnd.oci.image.manifest.v1+json")
			w.Write(manifest(len(config)))
		case strings.HasSuffix(r.URL.Path, "/manifests/huge-config"):
			w.Header().Set("Content-Type", "application/vnd.oci.image.manifest.v1+json")
			w.Write(manifest(400 << 20))
		case strings.HasSuffix(r.URL.Path, "/manifests/huge-manifest"):
			// No Content-Length: the bound is the read's.
			w.Header().Set("Content-Type", "application/vnd.oci.image.manifest.v1+json")
			m := manifest(len(config))
			w.Write(m[:len(m)-1])
			for range 5 << 10 {
				w.Write([]byte(`, "x": "` + strings.Repeat("x", 1<<10) + `"`))
			}
			w.Write([]byte("}"))
		case strings.Contains(r.URL.Path, "/blobs/"):
			blobs.Add(1)
			w.Write(config)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	for _, tc := range []struct{ tag, err string }{
		{"small", ""},
		{"huge-config", "its config is 419430400 bytes, more than the 4 MiB read of one"},
		{"huge-manifest", "an answer of more than 4 MiB"},
	} {
		blobs.Store(0)
		cfg, err := ReadImageConfig(context.Background(), host+"/app:"+tc.tag, authn.NewMultiKeychain(), v1.Platform{OS: "linux", Architecture: "amd64"}, nil)
		switch {
		case tc.err == "" && (err != nil || fmt.Sprint(cfg.Entrypoint) != "[/app]"):
			t.Errorf("%s: %+v, %v", tc.tag, cfg, err)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("%s: error %v, want %q", tc.tag, err, tc.err)
		case tc.err != "" && blobs.Load() != 0:
			t.Errorf("%s: the config was asked for", tc.tag)
		}
	}
}
