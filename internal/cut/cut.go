// Package cut shortens drainit's records to the limits of where they go
// (the termination message's 4096 bytes, an Event note's 1024) without
// losing their end, where the outcome and the exit status are, and
// without splitting a UTF-8 character: the API server would take the
// broken bytes as U+FFFD, three bytes each, and the note would outgrow
// its limit.
package cut

import "unicode/utf8"

// marker stands where the middle was.
const marker = " […] "

// Middle is s if it fits in limit bytes; otherwise its beginning and its
// end, a marker between them, at most limit bytes in all, cut at
// character boundaries. The end gets the larger part.
func Middle(s string, limit int) string {
	if len(s) <= limit {
		return s
	}
	if limit <= len(marker) {
		return prefix(s, limit)
	}
	room := limit - len(marker)
	head := prefix(s, room/3)
	tail := s[len(s)-(room-len(head)):]
	for len(tail) > 0 && !utf8.RuneStart(tail[0]) {
		tail = tail[1:]
	}
	return head + marker + tail
}

// prefix is the longest beginning of s of at most n bytes that ends at a
// character boundary.
func prefix(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
