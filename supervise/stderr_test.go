package supervise

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"time"
)

// A stderr nobody reads: Write never blocks, lines beyond the queue are
// dropped and counted, and the count is written once the reader catches up,
// before Flush returns.
func TestStderrNeverBlocksAndCountsDrops(t *testing.T) {
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	s := NewStderr(int(pw.Fd()))
	s.OnDrop(func(n int64) []byte { return []byte(fmt.Sprintf("%d log lines dropped\n", n)) })
	line := []byte(strings.Repeat("x", 99) + "\n")
	const lines = 5000 // 500 KB: far more than the pipe and the queue hold
	start := time.Now()
	for range lines {
		s.Write(line)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("5000 writes to a full pipe took %v: Write blocked", took)
	}
	var got bytes.Buffer
	copied := make(chan struct{})
	go func() { io.Copy(&got, pr); close(copied) }()
	s.Flush(10 * time.Second)
	pw.Close()
	<-copied
	kept := strings.Count(got.String(), string(line))
	var dropped int
	for _, l := range strings.Split(got.String(), "\n") {
		if n, ok := strings.CutSuffix(l, " log lines dropped"); ok {
			var d int
			fmt.Sscan(n, &d)
			dropped += d // one count each time the writer caught up
		}
	}
	if dropped == 0 || kept+dropped != lines {
		t.Errorf("kept %d and counted %d dropped of %d lines", kept, dropped, lines)
	}
}
