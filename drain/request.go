package drain

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
)

// RequestKind is what a drain request does.
type RequestKind int

const (
	Exec  RequestKind = iota // run a command (apachectl graceful-stop, nginx -s quit)
	HTTP                     // send one HTTP request (Envoy's admin API)
	Write                    // write to an existing FIFO or file (uWSGI's master FIFO)
)

// Request is a drain action beside the drain signal and the drain file,
// for servers whose graceful stop is not a signal. Requests are carried
// out when the drain begins, in the order given, off drainit's loop.
type Request struct {
	Kind   RequestKind
	Argv   []string // Exec
	Method string   // HTTP
	URL    string   // HTTP
	Path   string   // Write
	Data   string   // Write
}

func (r Request) String() string {
	switch r.Kind {
	case Exec:
		return "exec " + strings.Join(r.Argv, " ")
	case HTTP:
		return r.Method + " " + Redact(r.URL)
	default:
		return "write " + r.Path
	}
}

// ParseExec splits a command into words as a shell would, honouring single
// and double quotes and backslashes, but runs no shell: "sh -c '…'" when
// one is wanted.
func ParseExec(s string) (Request, error) {
	var words []string
	var w strings.Builder
	inWord, quote := false, rune(0)
	runes := []rune(s)
	for i := 0; i < len(runes); i++ {
		c := runes[i]
		switch {
		case quote == '\'':
			if c == '\'' {
				quote = 0
			} else {
				w.WriteRune(c)
			}
		case quote == '"':
			switch {
			case c == '"':
				quote = 0
			case c == '\\' && i+1 < len(runes) && strings.ContainsRune(`"\$`+"`", runes[i+1]):
				i++
				w.WriteRune(runes[i])
			default:
				w.WriteRune(c)
			}
		case c == '\'' || c == '"':
			quote, inWord = c, true
		case c == '\\' && i+1 < len(runes):
			i++
			w.WriteRune(runes[i])
			inWord = true
		case c == ' ' || c == '\t' || c == '\n':
			if inWord {
				words = append(words, w.String())
				w.Reset()
				inWord = false
			}
		default:
			w.WriteRune(c)
			inWord = true
		}
	}
	if quote != 0 {
		return Request{}, fmt.Errorf("--drain-exec %q: unterminated %c quote", s, quote)
	}
	if inWord {
		words = append(words, w.String())
	}
	if len(words) == 0 {
		return Request{}, fmt.Errorf("--drain-exec %q: empty command", s)
	}
	return Request{Kind: Exec, Argv: words}, nil
}

// secretParams are the query parameters whose values Redact hides: what
// admin APIs and webhooks take credentials in.
var secretParams = []string{"token", "access_token", "auth", "password", "passwd", "pass", "pwd", "secret", "key", "api_key", "apikey", "signature", "sig", "credential"}

// Redact is a URL as drainit writes it anywhere (log, termination message,
// Events): a password in it and the values of query parameters that carry
// credentials (token=, password=, key= …) are replaced by "xxxxx". What
// cannot be parsed is hidden whole but for its scheme.
func Redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		scheme, _, _ := strings.Cut(raw, "://")
		return scheme + "://xxxxx"
	}
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	} else if u.User != nil && u.User.Username() != "" {
		// A user part alone is as often a token (https://TOKEN@host) as a
		// name: never written.
		u.User = url.User("xxxxx")
	}
	if u.RawQuery != "" {
		parts := strings.Split(u.RawQuery, "&")
		for i, p := range parts {
			name, _, hasValue := strings.Cut(p, "=")
			if n, err := url.QueryUnescape(name); err == nil && hasValue && slices.ContainsFunc(secretParams, func(s string) bool {
				n = strings.ToLower(n)
				return n == s || strings.HasSuffix(n, "_"+s) || strings.HasSuffix(n, "-"+s)
			}) {
				parts[i] = name + "=xxxxx"
			}
		}
		u.RawQuery = strings.Join(parts, "&")
	}
	return u.String()
}

// ParseHTTP reads "METHOD URL", the method optional (POST), the URL http
// or https with a host.
func ParseHTTP(s string) (Request, error) {
	fields := strings.Fields(s)
	method, raw := "POST", ""
	switch len(fields) {
	case 1:
		raw = fields[0]
	case 2:
		method, raw = fields[0], fields[1]
	default:
		return Request{}, fmt.Errorf("--drain-http %q: want [METHOD] URL", s)
	}
	for _, c := range method {
		if c < 'A' || c > 'Z' {
			return Request{}, fmt.Errorf("--drain-http %q: method %q: want upper-case letters (POST, PUT, GET …)", s, method)
		}
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return Request{}, fmt.Errorf("--drain-http %q: URL %q: want http:// or https:// and a host", strings.Replace(s, raw, Redact(raw), 1), Redact(raw))
	}
	return Request{Kind: HTTP, Method: method, URL: u.String()}, nil
}

// ParseWrite reads "PATH=DATA", split at the first "="; PATH absolute.
// Whether its directory exists is checked when drainit starts.
func ParseWrite(s string) (Request, error) {
	path, data, ok := strings.Cut(s, "=")
	switch {
	case !ok:
		return Request{}, fmt.Errorf("--drain-write %q: want PATH=DATA", s)
	case path == "":
		return Request{}, fmt.Errorf("--drain-write %q: empty path", s)
	case !strings.HasPrefix(path, "/"):
		return Request{}, fmt.Errorf("--drain-write %q: the path must be absolute (drainit runs in /)", s)
	}
	return Request{Kind: Write, Path: path, Data: data}, nil
}
