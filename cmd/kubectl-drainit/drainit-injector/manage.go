package main

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// checkInterval is how often a replica checks its CA's Secret and its
// webhook configuration's caBundle (a configuration deleted and applied
// again has none), and whether its serving certificate is due: two
// requests a minute, whatever the number of pods.
const checkInterval = time.Minute

// certManager keeps the injector's certificates without cert-manager: the
// CA in a Secret of its namespace (made by the first replica, taken by
// the others), the replica's own serving certificate in --cert-dir, and
// the CA in the caBundle of each webhook of its configuration that calls
// its Service.
type certManager struct {
	kube          *kubeClient
	namespace     string
	secretName    string
	webhookConfig string // "" when something else writes the caBundle
	service       string
	dir           string
	log           *slog.Logger
	now           func() time.Time

	ca      *authority
	serving serving
}

// run keeps the certificates until ctx ends: at once, then every
// checkInterval, and after a failure again within seconds.
func (m *certManager) run(ctx context.Context) {
	backoff := time.Second
	for {
		err := m.check(ctx)
		wait := checkInterval
		if err != nil {
			m.log.Error("certificates", "error", err, "retry in", backoff)
			wait, backoff = backoff, min(2*backoff, 30*time.Second)
		} else {
			backoff = time.Second
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}

// check makes or takes the CA, signs a serving certificate when there is
// none, the CA changed or it is due, and puts the CA in the caBundle.
func (m *certManager) check(ctx context.Context) error {
	ca, err := m.authority(ctx)
	if err != nil {
		return fmt.Errorf("the CA in Secret %s/%s: %w", m.namespace, m.secretName, err)
	}
	now := m.now()
	if m.ca == nil || !m.ca.cert.Equal(ca.cert) || m.serving.certPEM == nil || !now.Before(m.serving.renewAt()) {
		s, err := ca.sign(now, serviceNames(m.service, m.namespace))
		if err != nil {
			return err
		}
		if err := writeFiles(m.dir, map[string][]byte{"tls.key": s.keyPEM, "tls.crt": s.certPEM}); err != nil {
			return fmt.Errorf("--cert-dir: %w", err)
		}
		m.ca, m.serving = ca, s
		m.log.Info("signed a serving certificate", "names", serviceNames(m.service, m.namespace), "notAfter", s.notAfter.UTC().Format(time.RFC3339), "ca", ca.cert.Subject.CommonName)
	}
	if m.webhookConfig == "" {
		return nil
	}
	return m.trust(ctx)
}

// authority reads the CA from its Secret, or makes it: when the Secret is
// missing (created, and if another replica was first, theirs is taken),
// or holds no usable CA or one that is due (replaced, if no other replica
// replaced it first).
func (m *certManager) authority(ctx context.Context) (*authority, error) {
	for range 5 {
		s, err := m.kube.getSecret(ctx, m.namespace, m.secretName)
		switch {
		case isStatus(err, 404):
			ca, err := newAuthority(m.now(), m.service)
			if err != nil {
				return nil, err
			}
			s := secret{Type: "Opaque", Data: map[string][]byte{secretCert: ca.certPEM, secretKey: ca.keyPEM}}
			s.Metadata.Name = m.secretName
			if err := m.kube.createSecret(ctx, m.namespace, s); isStatus(err, 409) {
				continue // another replica made it: take theirs
			} else if err != nil {
				return nil, err
			}
			m.log.Info("made a CA", "secret", m.secretName, "ca", ca.cert.Subject.CommonName)
			return ca, nil
		case err != nil:
			return nil, err
		}
		ca, err := parseAuthority(s.Data[secretCert], s.Data[secretKey])
		if err == nil {
			if err = ca.fresh(m.now()); err == nil {
				return ca, nil
			}
		}
		m.log.Warn("replacing the CA", "secret", m.secretName, "why", err)
		if ca, err = newAuthority(m.now(), m.service); err != nil {
			return nil, err
		}
		s.Data = map[string][]byte{secretCert: ca.certPEM, secretKey: ca.keyPEM}
		if err := m.kube.updateSecret(ctx, m.namespace, s); isStatus(err, 409) {
			continue // another replica replaced it: take theirs
		} else if err != nil {
			return nil, err
		}
		return ca, nil
	}
	return nil, errors.New("it changed under every attempt to read or write it")
}

// trust puts the CA first in the caBundle of each webhook of the
// configuration that calls the injector's Service, keeping the CA before
// it (bundle), with a JSON Patch that fails if the configuration changed
// since it was read.
func (m *certManager) trust(ctx context.Context) error {
	for range 5 {
		cfg, err := m.kube.getWebhookConfig(ctx, m.webhookConfig)
		if err != nil {
			return fmt.Errorf("MutatingWebhookConfiguration %s: %w", m.webhookConfig, err)
		}
		ops := []patchOp{{Op: "test", Path: "/metadata/resourceVersion", Value: cfg.Metadata.ResourceVersion}}
		calls := 0
		for i, w := range cfg.Webhooks {
			svc := w.ClientConfig.Service
			if svc == nil || svc.Name != m.service || svc.Namespace != m.namespace {
				continue
			}
			calls++
			if trusts(w.ClientConfig.CABundle, m.ca.cert) {
				continue
			}
			op := "replace"
			if w.ClientConfig.CABundle == nil {
				op = "add"
			}
			ops = append(ops, patchOp{Op: op, Path: "/webhooks/" + strconv.Itoa(i) + "/clientConfig/caBundle",
				Value: base64.StdEncoding.EncodeToString(bundle(w.ClientConfig.CABundle, m.ca.cert, m.now()))})
		}
		if calls == 0 {
			return fmt.Errorf("MutatingWebhookConfiguration %s has no webhook calling Service %s/%s", m.webhookConfig, m.namespace, m.service)
		}
		if len(ops) == 1 {
			return nil
		}
		err = m.kube.patchWebhookConfig(ctx, m.webhookConfig, ops)
		if err == nil {
			m.log.Info("wrote the CA into the caBundle", "config", m.webhookConfig, "webhooks", len(ops)-1)
			return nil
		}
		if !isStatus(err, 409) && !isStatus(err, 422) {
			return fmt.Errorf("patching MutatingWebhookConfiguration %s: %w", m.webhookConfig, err)
		}
	}
	return fmt.Errorf("MutatingWebhookConfiguration %s changed under every attempt to patch it", m.webhookConfig)
}

// writeFiles writes each file whole, a temporary file renamed over it,
// the key first: between the two renames the pair does not load, and the
// server keeps serving the certificate it has.
func writeFiles(dir string, files map[string][]byte) error {
	for _, name := range []string{"tls.key", "tls.crt"} {
		b, ok := files[name]
		if !ok {
			continue
		}
		tmp, err := os.CreateTemp(dir, "."+name+"-*")
		if err != nil {
			return err
		}
		_, err = tmp.Write(b)
		if cerr := tmp.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			err = os.Chmod(tmp.Name(), 0o600)
		}
		if err == nil {
			err = os.Rename(tmp.Name(), filepath.Join(dir, name))
		}
		if err != nil {
			os.Remove(tmp.Name())
			return err
		}
	}
	return nil
}
