package main

// The injector's certificates without cert-manager: a CA of its own, kept
// in a Secret that every replica reads (or the first one makes), and a
// serving certificate that each replica signs for itself with it. The API
// server trusts the CA through the MutatingWebhookConfiguration's
// caBundle, and checks the serving certificate against the name it dials,
// SERVICE.NAMESPACE.svc (k8s.io/apiserver's webhook client sets that
// ServerName whatever address it connects to). Each replica renewing its
// own certificate needs no coordination; only the CA is shared.

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"time"
)

// Lifetimes: the CA's is long, since replacing it means a new caBundle;
// a serving certificate's is a year, renewed by its replica once two
// thirds of it have passed (a replica rarely lives that long). A CA with
// less than caRenewBefore left is replaced at a replica's start.
const (
	caLifetime      = 10 * 365 * 24 * time.Hour
	caRenewBefore   = 365 * 24 * time.Hour
	servingLifetime = 365 * 24 * time.Hour
	// clockSkew backdates what is signed: a node whose clock is behind the
	// API server's must not find a certificate not yet valid.
	clockSkew = time.Hour
	// bundleSize is how many CAs the caBundle keeps: the Secret's, and the
	// one before it, which replicas that started before a new CA was made
	// still serve with until they are replaced.
	bundleSize = 2
)

// Keys of the CA's Secret.
const (
	secretCert = "ca.crt"
	secretKey  = "ca.key"
)

// authority is the CA: its certificate and key, and both as PEM.
type authority struct {
	cert    *x509.Certificate
	key     crypto.Signer
	certPEM []byte
	keyPEM  []byte
}

// newAuthority makes a CA named after the service it signs for.
func newAuthority(now time.Time, service string) (*authority, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: service + " CA " + now.UTC().Format("2006-01-02T15:04:05Z")},
		NotBefore:             now.Add(-clockSkew),
		NotAfter:              now.Add(caLifetime),
		IsCA:                  true,
		BasicConstraintsValid: true,
		MaxPathLenZero:        true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	return parseAuthority(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}))
}

// parseAuthority reads a CA from its Secret's keys, and checks that the
// key is the certificate's and the certificate a CA's.
func parseAuthority(certPEM, keyPEM []byte) (*authority, error) {
	cb, _ := pem.Decode(certPEM)
	if cb == nil || cb.Type != "CERTIFICATE" {
		return nil, errors.New(secretCert + " holds no PEM certificate")
	}
	cert, err := x509.ParseCertificate(cb.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", secretCert, err)
	}
	if !cert.IsCA || cert.KeyUsage&x509.KeyUsageCertSign == 0 {
		return nil, errors.New(secretCert + " is not a CA's certificate")
	}
	kb, _ := pem.Decode(keyPEM)
	if kb == nil {
		return nil, errors.New(secretKey + " holds no PEM key")
	}
	k, err := x509.ParsePKCS8PrivateKey(kb.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", secretKey, err)
	}
	key, ok := k.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("%s: a %T cannot sign", secretKey, k)
	}
	pub, ok := key.Public().(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !pub.Equal(cert.PublicKey) {
		return nil, errors.New(secretKey + " is not the key of " + secretCert)
	}
	return &authority{cert: cert, key: key, certPEM: certPEM, keyPEM: keyPEM}, nil
}

// fresh says why the CA must be replaced at now, or nil: it is not yet
// valid, or has less than caRenewBefore left.
func (a *authority) fresh(now time.Time) error {
	switch {
	case now.Before(a.cert.NotBefore):
		return fmt.Errorf("the CA is valid only from %s", a.cert.NotBefore.UTC().Format(time.RFC3339))
	case now.Add(caRenewBefore).After(a.cert.NotAfter):
		return fmt.Errorf("the CA expires on %s", a.cert.NotAfter.UTC().Format(time.RFC3339))
	}
	return nil
}

// serving is a serving certificate and its key, as PEM, with its window.
type serving struct {
	certPEM, keyPEM     []byte
	notBefore, notAfter time.Time
}

// renewAt is when a replica replaces its serving certificate: two thirds
// into its life.
func (s serving) renewAt() time.Time {
	return s.notBefore.Add(s.notAfter.Sub(s.notBefore) * 2 / 3)
}

// sign makes a serving certificate for names, signed by the CA, never
// valid past it. Its chain is the certificate alone: the API server has
// the CA in its caBundle.
func (a *authority) sign(now time.Time, names []string) (serving, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return serving{}, err
	}
	notAfter := now.Add(servingLifetime)
	if notAfter.After(a.cert.NotAfter) {
		notAfter = a.cert.NotAfter
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: names[0]},
		DNSNames:     names,
		NotBefore:    now.Add(-clockSkew),
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, a.cert, key.Public(), a.key)
	if err != nil {
		return serving{}, err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return serving{}, err
	}
	return serving{
		certPEM:   pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		keyPEM:    pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}),
		notBefore: tmpl.NotBefore, notAfter: notAfter,
	}, nil
}

// serviceNames are the DNS names of a Service: the API server dials
// name.namespace.svc; the shorter ones and the cluster domain's are what
// anything else in the cluster would use.
func serviceNames(service, namespace string) []string {
	return []string{service + "." + namespace + ".svc", service + "." + namespace, service, service + "." + namespace + ".svc.cluster.local"}
}

// bundle is the caBundle to write: the CA first, then the CAs of the
// current bundle that are still valid and are not the CA, newest first,
// bundleSize in all. The one before the CA stays, so that a replica that
// started with it is still trusted until it is replaced.
func bundle(current []byte, ca *x509.Certificate, now time.Time) []byte {
	var others []*x509.Certificate
	for rest := current; ; {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			break
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil || c.Equal(ca) || now.After(c.NotAfter) {
			continue
		}
		others = append(others, c)
	}
	slices.SortStableFunc(others, func(x, y *x509.Certificate) int { return y.NotBefore.Compare(x.NotBefore) })
	out := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Raw})
	for _, c := range others[:min(len(others), bundleSize-1)] {
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
	}
	return out
}

// trusts reports whether bundle holds the CA.
func trusts(bundle []byte, ca *x509.Certificate) bool {
	for rest := bundle; ; {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			return false
		}
		if bytes.Equal(b.Bytes, ca.Raw) {
			return true
		}
	}
}

func serial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	return n.Add(n, big.NewInt(1))
}
