package drain

import (
	"slices"
	"strings"
	"testing"
)

func TestParseExec(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
		bad  string
	}{
		{"apachectl graceful-stop", []string{"apachectl", "graceful-stop"}, ""},
		{`sh -c 'kill -USR1 "$DRAINIT_WORKLOAD_PID"; sleep 1'`, []string{"sh", "-c", `kill -USR1 "$DRAINIT_WORKLOAD_PID"; sleep 1`}, ""},
		{`echo "a \"b\" \$c" d\ e`, []string{"echo", `a "b" $c`, "d e"}, ""},
		{`  nginx   -s quit  `, []string{"nginx", "-s", "quit"}, ""},
		{`printf ''`, []string{"printf", ""}, ""},
		{"", nil, "empty command"},
		{"   ", nil, "empty command"},
		{`sh -c 'x`, nil, "unterminated ' quote"},
	} {
		r, err := ParseExec(tc.in)
		if tc.bad != "" {
			if err == nil || !strings.Contains(err.Error(), tc.bad) || !strings.Contains(err.Error(), `"`) {
				t.Errorf("ParseExec(%q) = %v, want an error naming the value: %s", tc.in, err, tc.bad)
			}
			continue
		}
		if err != nil || !slices.Equal(r.Argv, tc.want) {
			t.Errorf("ParseExec(%q) = %q, %v; want %q", tc.in, r.Argv, err, tc.want)
		}
	}
}

func TestParseHTTP(t *testing.T) {
	for _, tc := range []struct{ in, method, url, bad string }{
		{"POST http://127.0.0.1:15000/drain_listeners?graceful", "POST", "http://127.0.0.1:15000/drain_listeners?graceful", ""},
		{"http://127.0.0.1:15000/healthcheck/fail", "POST", "http://127.0.0.1:15000/healthcheck/fail", ""},
		{"PUT https://[::1]:8443/x", "PUT", "https://[::1]:8443/x", ""},
		{"  DELETE\thttp://h/x  ", "DELETE", "http://h/x", ""},
		{"ftp://h/x", "", "", `"ftp://h/x"`},
		{"POST 127.0.0.1:15000", "", "", "want http://"},
		{"post http://h/", "", "", `method "post"`},
		{"POST http://h/ extra", "", "", "want [METHOD] URL"},
		{"", "", "", "want [METHOD] URL"},
		// Issue 32 review: a first word that is part of a URL is no method,
		// and a bad escape is named as one.
		{"https://SECRET TOKEN@127.0.0.1:1/", "", "", `--drain-http "https://xxxxx": URL "https://xxxxx" holds a space`},
		{"POST https://SECRET TOKEN@127.0.0.1:1/", "", "", `--drain-http "POST https://xxxxx": URL "https://xxxxx" holds a space`},
		{"https://SECRET%zzTOKEN@127.0.0.1:1/", "", "", `--drain-http "https://xxxxx": URL "https://xxxxx": invalid URL escape in the user part`},
		{"https://SECRET:PASS%zzWORD@127.0.0.1:1/", "", "", "invalid URL escape in the user part"},
		{"https://SECRET@127.0.0.1:1/a%zz?token=TOKEN", "", "", `URL "https://xxxxx": invalid URL escape "%zz"`},
		{"https://127.0.0.1:1/?token=SECRET TOKEN", "", "", `URL "https://127.0.0.1:1/?token=xxxxx" holds a space`},
		{"SECRET@127.0.0.1/x", "", "", `--drain-http "xxxxx": URL "xxxxx": want http://`},
		{"https:SECRET@127.0.0.1", "", "", `URL "xxxxx": want http://`},
		{"WORD TOKEN@127.0.0.1:1/", "", "", `--drain-http "WORD xxxxx": URL "xxxxx": want http://`}, // no URL in the first word: a method
	} {
		r, err := ParseHTTP(tc.in)
		if tc.bad != "" {
			if err == nil || !strings.Contains(err.Error(), tc.bad) {
				t.Errorf("ParseHTTP(%q) = %v, want an error with %s", tc.in, err, tc.bad)
			}
			if err != nil && (strings.Contains(err.Error(), "SECRET") || strings.Contains(err.Error(), "TOKEN") ||
				strings.Contains(err.Error(), "PASS")) {
				t.Errorf("ParseHTTP(%q): %v: the error holds a secret", tc.in, err)
			}
			continue
		}
		if err != nil || r.Method != tc.method || r.URL != tc.url {
			t.Errorf("ParseHTTP(%q) = %+v, %v", tc.in, r, err)
		}
	}
}

func TestParseWrite(t *testing.T) {
	r, err := ParseWrite("/run/uwsgi/master.fifo=q")
	if err != nil || r.Path != "/run/uwsgi/master.fifo" || r.Data != "q" {
		t.Errorf("got %+v, %v", r, err)
	}
	if r, _ := ParseWrite("/x=a=b"); r.Data != "a=b" {
		t.Errorf("split at the first =: %+v", r)
	}
	for _, bad := range []string{"/run/fifo", "=q", "run/fifo=q"} {
		if _, err := ParseWrite(bad); err == nil || !strings.Contains(err.Error(), bad) {
			t.Errorf("ParseWrite(%q) = %v, want an error naming it", bad, err)
		}
	}
}

func TestRedact(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"http://127.0.0.1:9901/drain_listeners?graceful", "http://127.0.0.1:9901/drain_listeners?graceful"},
		{"http://admin:s3cret@127.0.0.1:8080/drain", "http://admin:xxxxx@127.0.0.1:8080/drain"},
		{"http://admin@127.0.0.1/drain", "http://xxxxx@127.0.0.1/drain"},
		{"https://ghp_T0KEN@127.0.0.1/drain", "https://xxxxx@127.0.0.1/drain"}, // issue 32: a token as the user part
		{"https://h/drain?token=abc&x=1", "https://h/drain?token=xxxxx&x=1"},
		{"https://h/drain?Access_Token=abc&api-key=k&monkey=banana", "https://h/drain?Access_Token=xxxxx&api-key=xxxxx&monkey=banana"},
		{"https://h/drain?x-amz-signature=s&graceful", "https://h/drain?x-amz-signature=xxxxx&graceful"},
		{"http://u:p@[::1:bad/", "http://xxxxx"},
		{"https://SECRET%zz@127.0.0.1/", "https://xxxxx"},
		{"SECRET@127.0.0.1/x", "xxxxx"},     // no scheme: no user part to tell from the rest
		{"https:SECRET@127.0.0.1", "xxxxx"}, // no host either
		{"SECRET@h/x://y%zz", "xxxxx"},      // what comes before :// is no scheme
		{"/drain?token=abc", "/drain?token=xxxxx"},
		{"127.0.0.1:15000", "127.0.0.1:15000"}, // unparsed, but with neither a user part nor a query
	} {
		if got := Redact(c.in); got != c.want {
			t.Errorf("Redact(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
