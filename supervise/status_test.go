package supervise

import "testing"

func TestParseSuccessCode(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int
		bad  bool
	}{
		{in: "0", want: 0}, {in: "143", want: 143}, {in: " 255 ", want: 255},
		{in: "256", bad: true}, {in: "-1", bad: true}, {in: "", bad: true}, {in: "x", bad: true}, {in: "1e2", bad: true},
	} {
		got, err := ParseSuccessCode(tc.in)
		if tc.bad != (err != nil) || (!tc.bad && got != tc.want) {
			t.Errorf("ParseSuccessCode(%q) = %v, %v", tc.in, got, err)
		}
	}
}

func FuzzParseSuccessCode(f *testing.F) {
	for _, s := range []string{"0", "143", "255", "256", "-0", "+1", " 7"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := ParseSuccessCode(s)
		if err == nil && (n < 0 || n > 255) {
			t.Fatalf("ParseSuccessCode(%q) = %d", s, n)
		}
	})
}
