package drain

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"unicode"
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
// Events, errors): a password in it and the values of query parameters
// that carry credentials (token=, password=, key= …) are replaced by
// "xxxxx". What cannot be parsed, or has no host for a user part to be
// told from (TOKEN@host without a scheme), is hidden whole but for a
// well-formed scheme. What has no "@" and no "?" is written as it is.
func Redact(raw string) string {
	if !strings.ContainsAny(raw, "@?") {
		return raw // neither a user part nor a query: nothing to hide
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" && strings.Contains(raw, "@") {
		if scheme, _, ok := strings.Cut(raw, "://"); ok && validScheme(scheme) {
			return scheme + "://xxxxx"
		}
		return "xxxxx"
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

// validScheme reports whether s is a URL scheme as RFC 3986 spells one: a
// letter, then letters, digits, "+", "-" or ".". Anything else before a
// "://" may be part of a secret.
func validScheme(s string) bool {
	for i, c := range s {
		switch {
		case 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z':
		case i > 0 && ('0' <= c && c <= '9' || c == '+' || c == '-' || c == '.'):
		default:
			return false
		}
	}
	return s != ""
}

// looksLikeURL reports whether a word of --drain-http is (part of) a URL
// rather than a method: a method is a token, with no ":", "/" or "@"
// (RFC 9110), and a URL with a space in its user part
// (https://SECRET TOKEN@host) splits into words that have them.
func looksLikeURL(word string) bool { return strings.ContainsAny(word, ":/@") }

// ParseHTTP reads "METHOD URL", the method optional (POST), the URL http
// or https with a host. No error holds the URL's secrets (Redact): a
// value is shown redacted, and url.Parse's own errors, which quote the
// raw URL, are told in words of their own.
func ParseHTTP(s string) (Request, error) {
	method, raw, given := "POST", strings.TrimSpace(s), false
	if i := strings.IndexFunc(raw, unicode.IsSpace); i >= 0 && !looksLikeURL(raw[:i]) {
		method, raw, given = raw[:i], strings.TrimSpace(raw[i:]), true
	}
	shown := Redact(raw)
	if given {
		shown = method + " " + shown
	}
	if raw == "" {
		return Request{}, fmt.Errorf("--drain-http %q: want [METHOD] URL", shown)
	}
	for _, c := range method {
		if c < 'A' || c > 'Z' {
			return Request{}, fmt.Errorf("--drain-http %q: method %q: want upper-case letters (POST, PUT, GET …)", shown, method)
		}
	}
	if strings.IndexFunc(raw, unicode.IsSpace) >= 0 {
		return Request{}, fmt.Errorf("--drain-http %q: URL %q holds a space: want [METHOD] URL, a space in the URL written %%20", shown, Redact(raw))
	}
	u, err := url.Parse(raw)
	if err != nil && (strings.HasPrefix(raw, "http://") || strings.HasPrefix(raw, "https://")) {
		return Request{}, fmt.Errorf("--drain-http %q: URL %q: %s", shown, Redact(raw), parseProblem(raw, err))
	}
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return Request{}, fmt.Errorf("--drain-http %q: URL %q: want http:// or https:// and a host", shown, Redact(raw))
	}
	return Request{Kind: HTTP, Method: method, URL: u.String()}, nil
}

// parseProblem is url.Parse's error on raw without the raw URL it quotes.
// A bad escape in the user part is placed, not quoted: its two characters
// are a token's.
func parseProblem(raw string, err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var esc url.EscapeError
	if errors.As(err, &esc) && badEscape(userPart(raw)) {
		return "invalid URL escape in the user part (a % must be followed by two hex digits; %25 is a % itself)"
	}
	return err.Error()
}

// userPart is what comes before the "@" of a URL's authority, as url.Parse
// finds it.
func userPart(raw string) string {
	_, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return ""
	}
	rest, _, _ = strings.Cut(rest, "#")
	rest, _, _ = strings.Cut(rest, "?")
	authority, _, _ := strings.Cut(rest, "/")
	if i := strings.LastIndex(authority, "@"); i >= 0 {
		return authority[:i]
	}
	return ""
}

// badEscape reports whether s has a % not followed by two hex digits.
func badEscape(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && (i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2])) {
			return true
		}
	}
	return false
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
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
