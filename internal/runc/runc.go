// Package runc runs a command in a real OCI container with runc, the runtime
// under Docker and containerd, and stops it exactly as `docker stop -t N`
// does: SIGTERM to the container's init, N seconds, then SIGKILL. drainit's
// container tests and its demo use it; drainit itself does not.
package runc

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/drainit/drainit/reap"
)

// Available says why containers cannot run here, or nil if they can.
func Available() error {
	if _, err := exec.LookPath("runc"); err != nil {
		return errors.New("runc is not installed (Debian package runc)")
	}
	if os.Geteuid() != 0 {
		return errors.New("runc needs root here")
	}
	return nil
}

// CgroupLayout names the host's cgroup layout. runc runs containers on
// "hybrid" (cgroup v1) hosts, where crun refuses to, which is why drainit's
// tests and demo use runc.
func CgroupLayout() string {
	var st unix.Statfs_t
	if err := unix.Statfs("/sys/fs/cgroup", &st); err != nil {
		return "unknown"
	}
	if st.Type == unix.CGROUP2_SUPER_MAGIC {
		return "unified (cgroup v2)"
	}
	return "hybrid (cgroup v1)"
}

// Spec is what goes into a container.
type Spec struct {
	Files  map[string]string // path in the container -> host file copied there (static binaries)
	Mounts map[string]string // path in the container -> host directory, bind-mounted read-write
	Args   []string
	Env    []string
	Output *os.File // the container's stdout and stderr
}

// Container is one running container.
type Container struct {
	ID     string
	Bundle string
	cmd    *exec.Cmd
	done   chan struct{}
	code   int
	ended  time.Time
}

// Run creates a bundle in dir (a rootfs holding spec.Files and busybox, and
// runc's default config with spec's process and mounts) and starts it in the
// foreground, as `docker run` does through containerd.
func Run(dir, id string, spec Spec) (*Container, error) {
	rootfs := filepath.Join(dir, "rootfs")
	for _, d := range []string{"bin", "proc", "dev", "sys", "tmp"} {
		if err := os.MkdirAll(filepath.Join(rootfs, d), 0o755); err != nil {
			return nil, err
		}
	}
	files := map[string]string{}
	if bb, err := exec.LookPath("busybox"); err == nil {
		files["/bin/busybox"] = bb
		os.Symlink("busybox", filepath.Join(rootfs, "bin", "sh"))
	}
	for k, v := range spec.Files {
		files[k] = v
	}
	for in, host := range files {
		if err := copyFile(host, filepath.Join(rootfs, in)); err != nil {
			return nil, err
		}
	}
	if err := writeConfig(dir, spec); err != nil {
		return nil, err
	}
	c := &Container{ID: id, Bundle: dir, done: make(chan struct{})}
	c.cmd = exec.Command("runc", "run", "--bundle", dir, id)
	c.cmd.Stdout, c.cmd.Stderr = spec.Output, spec.Output
	// runc must not outlive a test binary that dies.
	c.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := c.cmd.Start(); err != nil {
		return nil, fmt.Errorf("runc run %s: %w", id, err)
	}
	go func() {
		c.cmd.Wait()
		c.ended = time.Now()
		c.code = reap.ExitCode(unix.WaitStatus(c.cmd.ProcessState.Sys().(syscall.WaitStatus)))
		close(c.done)
	}()
	return c, nil
}

func writeConfig(dir string, spec Spec) error {
	if out, err := exec.Command("runc", "spec", "--bundle", dir).CombinedOutput(); err != nil {
		return fmt.Errorf("runc spec: %v: %s", err, out)
	}
	path := filepath.Join(dir, "config.json")
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var cfg map[string]any
	if err := json.Unmarshal(b, &cfg); err != nil {
		return err
	}
	proc := cfg["process"].(map[string]any)
	proc["terminal"] = false
	proc["args"] = spec.Args
	proc["env"] = append([]string{"PATH=/bin"}, spec.Env...)
	cfg["root"] = map[string]any{"path": "rootfs", "readonly": false}
	mounts := cfg["mounts"].([]any)
	for in, host := range spec.Mounts {
		mounts = append(mounts, map[string]any{
			"destination": in, "type": "bind", "source": host, "options": []string{"rbind", "rw"},
		})
	}
	cfg["mounts"] = mounts
	b, err = json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}

func copyFile(from, to string) error {
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		return err
	}
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// Pid is the container's init as the host sees it.
func (c *Container) Pid() (int, error) {
	out, err := exec.Command("runc", "state", c.ID).Output()
	if err != nil {
		return 0, fmt.Errorf("runc state %s: %w", c.ID, err)
	}
	var st struct{ Pid int }
	if err := json.Unmarshal(out, &st); err != nil {
		return 0, err
	}
	return st.Pid, nil
}

// Stopped is how a stop went.
type Stopped struct {
	Code   int           // the container's exit status as runc reports it
	Took   time.Duration // from SIGTERM until the container was gone
	Killed bool          // the timeout ran out and the runtime sent SIGKILL
}

// Stop does what `docker stop -t timeout` does to the container.
func (c *Container) Stop(timeout time.Duration) (Stopped, error) {
	st, err := StopLikeDocker(func(sig unix.Signal) error {
		if out, err := exec.Command("runc", "kill", c.ID, unix.SignalName(sig)).CombinedOutput(); err != nil {
			return fmt.Errorf("runc kill %s %s: %v: %s", c.ID, unix.SignalName(sig), err, bytes.TrimSpace(out))
		}
		return nil
	}, c.done, timeout)
	st.Code = c.code
	return st, err
}

// StopLikeDocker is `docker stop -t timeout` for any init: send it
// SIGTERM, give it up to timeout to be gone (done closes then), then send
// SIGKILL and wait. Code is left for the caller, which knows the status.
func StopLikeDocker(send func(unix.Signal) error, done <-chan struct{}, timeout time.Duration) (Stopped, error) {
	start := time.Now()
	if err := send(unix.SIGTERM); err != nil {
		return Stopped{}, err
	}
	var st Stopped
	select {
	case <-done:
	case <-time.After(timeout):
		st.Killed = true
		send(unix.SIGKILL)
		<-done
	}
	st.Took = time.Since(start)
	return st, nil
}

// Remove kills the container if it still runs and deletes it and its bundle.
func (c *Container) Remove() {
	select {
	case <-c.done:
	default:
		exec.Command("runc", "kill", c.ID, "KILL").Run()
		select {
		case <-c.done:
		case <-time.After(10 * time.Second):
			c.cmd.Process.Kill()
		}
	}
	exec.Command("runc", "delete", "--force", c.ID).Run()
	os.RemoveAll(c.Bundle)
}

// UniqueID makes a container name that will not collide with another run's.
func UniqueID(prefix string) string {
	return prefix + "-" + strconv.Itoa(os.Getpid()) + "-" + strconv.FormatInt(time.Now().UnixNano()%1e9, 36)
}
