package main

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"strings"
	"testing"
	"time"
)

// A CA made, kept in its Secret's keys and read back is the same CA, and
// the serving certificate it signs passes the check the API server's
// webhook client makes: the chain to the caBundle and the name it dials,
// SERVICE.NAMESPACE.svc, whatever address it connects to.
func TestCertificatesAsTheAPIServerChecksThem(t *testing.T) {
	now := time.Now()
	ca, err := newAuthority(now, "drainit-injector")
	if err != nil {
		t.Fatal(err)
	}
	again, err := parseAuthority(ca.certPEM, ca.keyPEM)
	if err != nil || !again.cert.Equal(ca.cert) {
		t.Fatalf("the CA read back from its Secret: %v", err)
	}
	if err := again.fresh(now); err != nil {
		t.Errorf("a new CA is due: %v", err)
	}
	s, err := again.sign(now, serviceNames("drainit-injector", "drainit-system"))
	if err != nil {
		t.Fatal(err)
	}
	pair, err := tls.X509KeyPair(s.certPEM, s.keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(bundle(nil, ca.cert, now))
	for _, tc := range []struct {
		name string
		ok   bool
	}{
		{"drainit-injector.drainit-system.svc", true}, // what the API server dials
		{"drainit-injector.drainit-system", true},
		{"drainit-injector", true},
		{"drainit-injector.drainit-system.svc.cluster.local", true},
		{"drainit-injector.other.svc", false},
		{"10.0.0.1", false},
	} {
		_, err := pair.Leaf.Verify(x509.VerifyOptions{DNSName: tc.name, Roots: roots, CurrentTime: now, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})
		if (err == nil) != tc.ok {
			t.Errorf("verified for %s: %v, want ok %v", tc.name, err, tc.ok)
		}
	}
	other, _ := newAuthority(now, "drainit-injector")
	if _, err := pair.Leaf.Verify(x509.VerifyOptions{DNSName: "drainit-injector.drainit-system.svc", Roots: pool(other)}); err == nil {
		t.Errorf("verified against another CA")
	}
	if s.renewAt().Before(now.Add(servingLifetime/2)) || !s.renewAt().Before(s.notAfter) {
		t.Errorf("renewed at %v, valid until %v", s.renewAt(), s.notAfter)
	}
	// Never valid past its CA.
	late := now.Add(caLifetime - 30*24*time.Hour)
	if s2, _ := ca.sign(late, []string{"x"}); s2.notAfter.After(ca.cert.NotAfter) {
		t.Errorf("signed valid until %v, past the CA's %v", s2.notAfter, ca.cert.NotAfter)
	}
}

func pool(a *authority) *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(a.cert)
	return p
}

// A Secret whose CA cannot be used is replaced: what is wrong is said.
func TestCAInTheSecret(t *testing.T) {
	now := time.Now()
	ca, _ := newAuthority(now, "s")
	other, _ := newAuthority(now, "s")
	leaf, _ := ca.sign(now, []string{"x"})
	for _, tc := range []struct {
		name      string
		cert, key []byte
		at        time.Time
		err       string // from parseAuthority or fresh
	}{
		{"the same", ca.certPEM, ca.keyPEM, now, ""},
		{"empty", nil, nil, now, "holds no PEM certificate"},
		{"another CA's key", ca.certPEM, other.keyPEM, now, "is not the key of"},
		{"not a CA", leaf.certPEM, leaf.keyPEM, now, "is not a CA's certificate"},
		{"a garbled key", ca.certPEM, []byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"), now, "ca.key"},
		{"less than a year left", ca.certPEM, ca.keyPEM, now.Add(caLifetime - caRenewBefore + time.Hour), "the CA expires on"},
		{"not yet valid", ca.certPEM, ca.keyPEM, now.Add(-2 * clockSkew), "the CA is valid only from"},
	} {
		a, err := parseAuthority(tc.cert, tc.key)
		if err == nil {
			err = a.fresh(tc.at)
		}
		if tc.err == "" && err != nil || tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.err)
		}
	}
}

// The caBundle keeps the CA first and the one before it, which replicas
// that started before it still serve with; an expired one and the
// third go.
func TestBundleKeepsTheCABeforeIt(t *testing.T) {
	now := time.Now()
	var cas []*authority
	for i := range 3 {
		a, _ := newAuthority(now.Add(time.Duration(i)*time.Minute), "s")
		cas = append(cas, a)
	}
	expired, _ := newAuthority(now.Add(-caLifetime-time.Hour), "s")
	names := func(b []byte) []string {
		var out []string
		for rest := b; ; {
			var blk *pem.Block
			if blk, rest = pem.Decode(rest); blk == nil {
				return out
			}
			c, _ := x509.ParseCertificate(blk.Bytes)
			out = append(out, c.Subject.CommonName)
		}
	}
	cn := func(a *authority) string { return a.cert.Subject.CommonName }
	first := bundle(nil, cas[0].cert, now)
	second := bundle(first, cas[1].cert, now)
	third := bundle(second, cas[2].cert, now)
	withExpired := bundle(append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: expired.cert.Raw}), first...), cas[1].cert, now)
	for _, tc := range []struct {
		name string
		b    []byte
		want []string
	}{
		{"the first", first, []string{cn(cas[0])}},
		{"a new CA", second, []string{cn(cas[1]), cn(cas[0])}},
		{"the same CA again", bundle(second, cas[1].cert, now), []string{cn(cas[1]), cn(cas[0])}},
		{"a third", third, []string{cn(cas[2]), cn(cas[1])}},
		{"an expired one", withExpired, []string{cn(cas[1]), cn(cas[0])}},
		{"garbage", bundle([]byte("not PEM"), cas[0].cert, now), []string{cn(cas[0])}},
	} {
		if got := names(tc.b); strings.Join(got, ",") != strings.Join(tc.want, ",") {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
	if !trusts(second, cas[0].cert) || !trusts(second, cas[1].cert) || trusts(second, cas[2].cert) {
		t.Errorf("trusts is wrong about %q", names(second))
	}
}
