package main

// How the injector reaches registries. A registry is named by whoever
// writes a pod, in its image: the injector must not become their way to
// the addresses only it can reach (its own host's loopback, the cloud's
// metadata service), nor hand them what another service answered.

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"syscall"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// metadataV6 is the IPv6 address of AWS's instance metadata service (its
// IPv4 one, 169.254.169.254, as Google's and Azure's, is link-local).
var metadataV6 = netip.MustParseAddr("fd00:ec2::254")

// registryTransport is remote's default transport whose connections go
// to no loopback (unless allowLoopback: the tests' registries), link-local
// or unspecified address, nor to the metadata service. The address is
// checked as the connection is made, after the name is resolved, so that
// a name that resolves elsewhere the second time gains nothing.
func registryTransport(allowLoopback bool) http.RoundTripper {
	base, ok := remote.DefaultTransport.(*http.Transport)
	if !ok {
		base = http.DefaultTransport.(*http.Transport)
	}
	t := base.Clone()
	t.DialContext = (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second,
		Control: func(_, address string, _ syscall.RawConn) error { return checkRegistryAddress(address, allowLoopback) }}).DialContext
	return t
}

// checkRegistryAddress says why the injector does not connect to
// address (IP:PORT), or nil.
func checkRegistryAddress(address string, allowLoopback bool) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return err
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return err
	}
	ip = ip.Unmap()
	why := ""
	switch {
	case ip.IsLoopback() && !allowLoopback:
		why = "loopback (the injector's own)"
	case ip.IsUnspecified():
		why = "unspecified (the injector's own host)"
	case ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast():
		why = "link-local (the cloud's metadata service is 169.254.169.254)"
	case ip.WithZone("") == metadataV6:
		why = "the cloud's metadata service"
	}
	if why != "" {
		return fmt.Errorf("registry address %s is %s: drainit-injector does not connect to it", ip, why)
	}
	return nil
}

// registryCodes are the error codes of the distribution specification: a
// registry's error says one, and nothing else of its body is passed on.
var registryCodes = []transport.ErrorCode{
	transport.BlobUnknownErrorCode, transport.BlobUploadInvalidErrorCode, transport.BlobUploadUnknownErrorCode,
	transport.DigestInvalidErrorCode, transport.ManifestBlobUnknownErrorCode, transport.ManifestInvalidErrorCode,
	transport.ManifestUnknownErrorCode, transport.ManifestUnverifiedErrorCode, transport.NameInvalidErrorCode,
	transport.NameUnknownErrorCode, transport.SizeInvalidErrorCode, transport.TagInvalidErrorCode,
	transport.UnauthorizedErrorCode, transport.DeniedErrorCode, transport.UnsupportedErrorCode,
	transport.TooManyRequestsErrorCode, transport.UnknownErrorCode, transport.UnavailableErrorCode,
}

// maxCause bounds what else of a failed read is said: Go's own words for
// a connection's failure, or a manifest that does not decode.
const maxCause = 200

// registryError is a failed read as the injector says it, in a pod's
// annotation and its creator's Warning: the request, the answer's status
// and its error codes, never the body of the answer, which a service that
// is no registry would have the injector pass on to whoever named it.
func registryError(err error) error {
	var te *transport.Error
	if !errors.As(err, &te) {
		return errors.New(clean(err.Error(), maxCause))
	}
	msg := fmt.Sprintf("%d %s", te.StatusCode, http.StatusText(te.StatusCode))
	if r := te.Request; r != nil && r.URL != nil {
		msg = clean(r.Method+" "+r.URL.Scheme+"://"+r.URL.Host+r.URL.Path, maxCause) + ": " + msg
	}
	var codes []string
	for _, d := range te.Errors {
		if slices.Contains(registryCodes, d.Code) && !slices.Contains(codes, string(d.Code)) {
			codes = append(codes, string(d.Code))
		}
	}
	if len(codes) > 0 {
		msg += fmt.Sprintf(" %v", codes)
	}
	return errors.New(msg)
}
