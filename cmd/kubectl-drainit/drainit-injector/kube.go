package main

// The few requests the injector makes of the API server, with the
// standard library: its CA's Secret and its webhook configuration at start
// and every checkInterval; for a pod whose images' configs must be read,
// its namespace's labels (once a minute), and when the configs are not
// cached, the image pull Secrets it names. No list, no watch.

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
)

// serviceAccountDir is where the kubelet mounts a pod's token, the
// cluster's CA and the pod's namespace.
const serviceAccountDir = "/var/run/secrets/kubernetes.io/serviceaccount"

// requestTimeout bounds one request: the API server's objective is 1 s at
// the 99th percentile for one object.
const requestTimeout = 5 * time.Second

// maxAnswer bounds an answer: a Secret is at most 1 MiB.
const maxAnswer = 4 << 20

type kubeClient struct {
	api       string // https://HOST:PORT
	tokenFile string // re-read for every request: bound tokens rotate
	http      *http.Client
}

// apiError is an answer other than 2xx, with the status's code.
type apiError struct {
	Code    int
	Message string
}

func (e *apiError) Error() string {
	return fmt.Sprintf("%d %s%s", e.Code, http.StatusText(e.Code), e.Message)
}

func isStatus(err error, code int) bool {
	e, ok := err.(*apiError)
	return ok && e.Code == code
}

func newKubeClient(api, tokenFile, caFile string) (*kubeClient, error) {
	u, err := url.Parse(api)
	if err != nil || u.Scheme != "https" && u.Scheme != "http" || u.Host == "" {
		return nil, fmt.Errorf("--kube-api %q: want https://HOST:PORT", api)
	}
	tr := &http.Transport{
		DialContext:           (&net.Dialer{Timeout: requestTimeout}).DialContext,
		TLSHandshakeTimeout:   requestTimeout,
		ResponseHeaderTimeout: requestTimeout,
		MaxIdleConnsPerHost:   4,
		IdleConnTimeout:       90 * time.Second,
		Proxy:                 nil, // the API server is reached directly, as client-go does in a pod
	}
	if u.Scheme == "https" {
		tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
		if caFile != "" {
			pem, err := os.ReadFile(caFile)
			if err != nil {
				return nil, fmt.Errorf("--kube-ca-file: %w", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("--kube-ca-file %s: no PEM certificate in it", caFile)
			}
			tr.TLSClientConfig.RootCAs = pool
		}
	}
	return &kubeClient{api: strings.TrimSuffix(api, "/"), tokenFile: tokenFile, http: &http.Client{Transport: tr, Timeout: requestTimeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}, nil
}

// do sends one request and decodes a 2xx answer into out (unless nil).
func (k *kubeClient) do(ctx context.Context, method, path, contentType string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, ok := body.([]byte)
		if !ok {
			var err error
			if b, err = json.Marshal(body); err != nil {
				return err
			}
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, k.api+path, rd)
	if err != nil {
		return err
	}
	if k.tokenFile != "" {
		token, err := os.ReadFile(k.tokenFile)
		if err != nil {
			return fmt.Errorf("token: %w", err)
		}
		req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(token)))
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "drainit-injector/"+version)
	if contentType == "" && body != nil {
		contentType = "application/json"
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := k.http.Do(req)
	if err != nil {
		if ue, ok := err.(*url.Error); ok {
			err = ue.Err
		}
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer+1))
	switch {
	case err != nil:
		return fmt.Errorf("%s %s: %s: %w", method, path, resp.Status, err)
	case len(answer) > maxAnswer:
		return fmt.Errorf("%s %s: %s: an answer over %d MiB", method, path, resp.Status, maxAnswer>>20)
	case resp.StatusCode/100 != 2:
		var st struct{ Kind, Message string }
		msg := ""
		if json.Unmarshal(answer, &st) == nil && st.Kind == "Status" && st.Message != "" {
			msg = ": " + st.Message
		}
		return &apiError{Code: resp.StatusCode, Message: msg}
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(answer, out)
}

// secret is what the injector reads of a Secret.
type secret struct {
	Metadata struct {
		Name            string `json:"name"`
		ResourceVersion string `json:"resourceVersion,omitempty"`
	} `json:"metadata"`
	Type string            `json:"type,omitempty"`
	Data map[string][]byte `json:"data,omitempty"` // base64 in JSON, as encoding/json writes []byte
}

func secretPath(namespace, name string) string {
	return "/api/v1/namespaces/" + url.PathEscape(namespace) + "/secrets/" + url.PathEscape(name)
}

func (k *kubeClient) getSecret(ctx context.Context, namespace, name string) (secret, error) {
	var s secret
	err := k.do(ctx, "GET", secretPath(namespace, name), "", nil, &s)
	return s, err
}

// createSecret creates it; a Secret of that name already there is a 409.
func (k *kubeClient) createSecret(ctx context.Context, namespace string, s secret) error {
	obj := map[string]any{"apiVersion": "v1", "kind": "Secret", "metadata": map[string]any{"name": s.Metadata.Name,
		"labels": map[string]any{"app.kubernetes.io/name": "drainit-injector"}}, "type": s.Type, "data": s.Data}
	return k.do(ctx, "POST", "/api/v1/namespaces/"+url.PathEscape(namespace)+"/secrets", "", obj, nil)
}

// updateSecret replaces it if it is still at s's resourceVersion (else 409).
func (k *kubeClient) updateSecret(ctx context.Context, namespace string, s secret) error {
	obj := map[string]any{"apiVersion": "v1", "kind": "Secret", "metadata": map[string]any{"name": s.Metadata.Name,
		"resourceVersion": s.Metadata.ResourceVersion, "labels": map[string]any{"app.kubernetes.io/name": "drainit-injector"}},
		"type": s.Type, "data": s.Data}
	return k.do(ctx, "PUT", secretPath(namespace, s.Metadata.Name), "", obj, nil)
}

// namespaceLabels are a namespace's labels.
func (k *kubeClient) namespaceLabels(ctx context.Context, name string) (map[string]string, error) {
	var ns struct {
		Metadata struct {
			Labels map[string]string `json:"labels"`
		} `json:"metadata"`
	}
	err := k.do(ctx, "GET", "/api/v1/namespaces/"+url.PathEscape(name), "", nil, &ns)
	return ns.Metadata.Labels, err
}

// webhookConfig is what the injector reads of its MutatingWebhookConfiguration.
type webhookConfig struct {
	Metadata struct {
		ResourceVersion string `json:"resourceVersion"`
	} `json:"metadata"`
	Webhooks []struct {
		Name         string `json:"name"`
		ClientConfig struct {
			Service *struct {
				Name      string `json:"name"`
				Namespace string `json:"namespace"`
			} `json:"service"`
			CABundle []byte `json:"caBundle"`
		} `json:"clientConfig"`
	} `json:"webhooks"`
}

func webhookPath(name string) string {
	return "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/" + url.PathEscape(name)
}

func (k *kubeClient) getWebhookConfig(ctx context.Context, name string) (webhookConfig, error) {
	var w webhookConfig
	err := k.do(ctx, "GET", webhookPath(name), "", nil, &w)
	return w, err
}

// patchWebhookConfig applies a JSON Patch, which starts with a test of the
// resourceVersion it was computed from: another replica's change in
// between makes it fail (422) rather than be overwritten.
func (k *kubeClient) patchWebhookConfig(ctx context.Context, name string, ops []patchOp) error {
	return k.do(ctx, "PATCH", webhookPath(name), "application/json-patch+json", ops, nil)
}
