package cut

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestMiddle(t *testing.T) {
	long := "exec " + strings.Repeat("ä", 3000) + ": exit 3"
	for _, c := range []struct {
		name  string
		s     string
		limit int
	}{
		{"fits", "drained in 1.0s: exit 0", 4095},
		{"exactly", strings.Repeat("x", 1024), 1024},
		{"ASCII", strings.Repeat("x", 5000) + ": exit 3", 4095},
		{"two-byte characters on both cuts", long, 1024},
		{"odd limit", long, 1001},
		{"a limit smaller than the marker", long, 5},
	} {
		got := Middle(c.s, c.limit)
		if len(got) > c.limit || !utf8.ValidString(got) {
			t.Errorf("%s: %d bytes (limit %d), valid UTF-8 %v", c.name, len(got), c.limit, utf8.ValidString(got))
		}
		switch {
		case len(c.s) <= c.limit && got != c.s:
			t.Errorf("%s: changed although it fits: %q", c.name, got)
		case len(c.s) > c.limit && c.limit > len(marker) && (!strings.HasSuffix(got, ": exit 3") || !strings.Contains(got, marker) || len(got) < c.limit-3):
			t.Errorf("%s: %q: want the end kept, the marker, and the limit nearly used", c.name, got)
		}
	}
}
