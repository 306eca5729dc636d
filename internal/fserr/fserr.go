// Package fserr keeps drainit's error messages naming a path once: the
// messages name the path themselves, so the file system's own wrapper,
// which names it again, is dropped.
package fserr

import (
	"errors"
	"io/fs"
	"os"
)

// Cause is err without its *fs.PathError or *os.LinkError wrapper: "no
// such file or directory" rather than "open /x: no such file or directory".
func Cause(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	var le *os.LinkError
	if errors.As(err, &le) {
		return le.Err
	}
	return err
}
