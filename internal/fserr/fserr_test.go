package fserr

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

func TestCause(t *testing.T) {
	_, open := os.Open(filepath.Join(t.TempDir(), "missing"))
	rename := os.Rename(filepath.Join(t.TempDir(), "a"), filepath.Join(t.TempDir(), "b"))
	other := errors.New("other")
	for _, tc := range []struct {
		err, want error
	}{{open, fs.ErrNotExist}, {rename, fs.ErrNotExist}, {other, other}} {
		got := Cause(tc.err)
		if !errors.Is(got, tc.want) || got.Error() == tc.err.Error() && tc.err != other {
			t.Errorf("Cause(%v) = %v, want %v without the path", tc.err, got, tc.want)
		}
	}
}
