package drain

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestWriteFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "drain")
	now := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	deadline := now.Add(27*time.Second + 600*time.Millisecond)
	if err := WriteFile(path, deadline, now); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(b), "2026-11-24T10:00:27.600Z\n28\n"; got != want {
		t.Errorf("drain file = %q, want %q", got, want)
	}
	fi, _ := os.Stat(path)
	if fi.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, want 0644", fi.Mode().Perm())
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".drainit-*")); len(left) != 0 {
		t.Errorf("temporary files left behind: %v", left)
	}
}

func TestWriteFileReplacesSymlinkWithoutFollowing(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "precious")
	os.WriteFile(target, []byte("keep me\n"), 0o600)
	path := filepath.Join(dir, "drain")
	if err := os.Symlink(target, path); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(path, time.Now().Add(time.Second), time.Now()); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(target); string(b) != "keep me\n" {
		t.Errorf("symlink target changed to %q", b)
	}
	if fi, _ := os.Lstat(path); fi.Mode()&os.ModeSymlink != 0 {
		t.Errorf("drain file is still a symlink")
	}
}

func TestPrepareFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "drain")
	if removed, err := PrepareFile(path); err != nil || removed {
		t.Fatalf("PrepareFile on fresh path = %v, %v", removed, err)
	}
	os.WriteFile(path, []byte("old"), 0o644)
	if removed, err := PrepareFile(path); err != nil || !removed {
		t.Fatalf("PrepareFile on stale file = %v, %v", removed, err)
	}
	if _, err := os.Lstat(path); !os.IsNotExist(err) {
		t.Errorf("stale file still there: %v", err)
	}
	// Anything but a regular file is refused, and left as it is: a symlink
	// (its target untouched), a FIFO such as uWSGI's master FIFO.
	target := filepath.Join(dir, "target")
	os.WriteFile(target, []byte("x"), 0o644)
	os.Symlink(target, path)
	if _, err := PrepareFile(path); err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "symlink") {
		t.Errorf("PrepareFile on a symlink = %v, want an error naming the path and the symlink", err)
	}
	if fi, err := os.Lstat(path); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("symlink not left in place: %v %v", fi, err)
	}
	if b, err := os.ReadFile(target); err != nil || string(b) != "x" {
		t.Errorf("symlink target changed: %q %v", b, err)
	}
	fifo := filepath.Join(dir, "fifo")
	if err := unix.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := PrepareFile(fifo); err == nil || !strings.Contains(err.Error(), fifo) || !strings.Contains(err.Error(), "FIFO") {
		t.Errorf("PrepareFile on a FIFO = %v, want an error naming the path and the FIFO", err)
	}
	if fi, err := os.Lstat(fifo); err != nil || fi.Mode()&os.ModeNamedPipe == 0 {
		t.Errorf("FIFO not left in place: %v %v", fi, err)
	}
	if probes, _ := filepath.Glob(filepath.Join(dir, ".drainit-*")); len(probes) != 0 {
		t.Errorf("probe files left behind: %v", probes)
	}

	for name, p := range map[string]string{
		"missing directory": filepath.Join(dir, "nope", "drain"),
		"parent is a file":  filepath.Join(target, "drain"),
		"path is a dir":     dir,
	} {
		if _, err := PrepareFile(p); err == nil || !strings.Contains(err.Error(), p) {
			t.Errorf("%s: PrepareFile(%s) = %v, want an error naming the path", name, p, err)
		}
	}
}

// A directory drainit cannot write to: a read-only file system (as with
// Kubernetes' readOnlyRootFilesystem) where the test may mount one, which
// binds root too; else a directory without write permission, which binds
// everybody else.
func TestPrepareFileReadOnlyDirectory(t *testing.T) {
	dir := t.TempDir()
	if err := unix.Mount("tmpfs", dir, "tmpfs", unix.MS_RDONLY, "size=64k"); err == nil {
		t.Cleanup(func() { unix.Unmount(dir, 0) })
	} else if os.Geteuid() != 0 {
		os.Chmod(dir, 0o555)
		t.Cleanup(func() { os.Chmod(dir, 0o755) })
	} else {
		t.Fatalf("as root, mounting a read-only tmpfs failed: %v", err)
	}
	if f, err := os.Create(filepath.Join(dir, "x")); err == nil {
		f.Close()
		t.Fatalf("%s is writable after all", dir)
	}
	if _, err := PrepareFile(filepath.Join(dir, "drain")); err == nil || !strings.Contains(err.Error(), "not writable") {
		t.Errorf("PrepareFile in read-only dir = %v", err)
	}
}
