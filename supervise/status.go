package supervise

import (
	"fmt"
	"strconv"
	"strings"
)

// ParseSuccessCode reads one --success-code value: an exit status 0-255 that
// drainit reports as 0, such as 143 for a JVM that exits on SIGTERM.
func ParseSuccessCode(s string) (int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n < 0 || n > 255 {
		return 0, fmt.Errorf("success code %q: want a whole number from 0 to 255", s)
	}
	return n, nil
}
