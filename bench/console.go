package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// files are a console's database and what lives beside it: the secret key,
// the checkpoint file and the embedded sandbox's folder (its keys and state).
type files struct{ dir string }

func (f files) db() string         { return filepath.Join(f.dir, "countersign.db") }
func (f files) key() string        { return filepath.Join(f.dir, "countersign.key") }
func (f files) checkpoint() string { return filepath.Join(f.dir, "countersign.checkpoint") }
func (f files) sandbox() string    { return f.db() + "-sandbox" }
func (f files) log() string        { return filepath.Join(f.dir, "console.log") }

// console is the real binary, running against a database with its embedded sandbox.
type console struct {
	cmd     *exec.Cmd
	url     string
	serving time.Duration // from exec to the first 200 of /healthz
	logFile *os.File
	exited  chan error
	once    sync.Once
	stopErr error
}

// startConsole runs bin over f's database on a free loopback port, with env
// added to its environment, and waits until it serves.
func startConsole(bin string, f files, env ...string) (*console, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	logFile, err := os.OpenFile(f.log(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	cmd := exec.Command(bin)
	cmd.Env = append(cleanEnv(), "COUNTERSIGN_ADDR="+addr, "COUNTERSIGN_DB="+f.db(), "COUNTERSIGN_SECRET_KEY_FILE="+f.key(),
		"COUNTERSIGN_AUDIT_CHECKPOINT_FILE="+f.checkpoint())
	cmd.Env = append(cmd.Env, env...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	c := &console{cmd: cmd, url: "http://" + addr, logFile: logFile, exited: make(chan error, 1)}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, err
	}
	go func() { c.exited <- cmd.Wait() }()
	hc := &http.Client{Timeout: 5 * time.Second}
	deadline := start.Add(5 * time.Minute) // migrations on a big database may take a while
	for {
		resp, err := hc.Get(c.url + "/healthz")
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				c.serving = time.Since(start)
				return c, nil
			}
		}
		select {
		case err := <-c.exited:
			logFile.Close()
			return nil, fmt.Errorf("the console exited before it served (%v); its log: %s", err, f.log())
		case <-time.After(time.Millisecond):
		}
		if time.Now().After(deadline) {
			c.stop()
			return nil, fmt.Errorf("the console did not serve within 5 minutes; its log: %s", f.log())
		}
	}
}

// readThrough reads the file at path to its end, leaving it in the page cache.
func readThrough(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(io.Discard, f)
	return err
}

// cleanEnv is this process's environment without the console's own
// settings, so that the benchmark always runs the embedded sandbox with the
// defaults.
func cleanEnv() []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "COUNTERSIGN_") && !strings.HasPrefix(kv, "SMARTGLOCAL_") {
			out = append(out, kv)
		}
	}
	return out
}

// stop asks the console to shut down (SIGTERM) and waits; after a minute it
// kills it. Stopping again returns what the first stop did.
func (c *console) stop() error {
	c.once.Do(func() {
		defer c.logFile.Close()
		if err := c.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
			c.stopErr = err
			return
		}
		select {
		case c.stopErr = <-c.exited:
		case <-time.After(time.Minute):
			c.cmd.Process.Kill()
			<-c.exited
			c.stopErr = errors.New("the console did not stop within a minute of SIGTERM; killed")
		}
	})
	return c.stopErr
}

// memory reads the console's resident set now and at its peak, in bytes.
func (c *console) memory() (rss, peak int64, err error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", c.cmd.Process.Pid))
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		switch k {
		case "VmRSS":
			rss = kb << 10
		case "VmHWM":
			peak = kb << 10
		}
	}
	return rss, peak, sc.Err()
}

// cpuTicks is the CPU time, user and system, that the process pid has used
// so far, in clock ticks (/proc/PID/stat).
func cpuTicks(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name, in parentheses, may hold spaces; the fields after it
	// are plain: state is field 3, utime and stime are fields 14 and 15.
	_, rest, ok := strings.Cut(string(b), ") ")
	f := strings.Fields(rest)
	if !ok || len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	user, err1 := strconv.ParseInt(f[11], 10, 64)
	system, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	return user + system, nil
}

// machineTicks is the whole machine's CPU time so far, busy and idle
// (idle and waiting for the disk), in clock ticks (/proc/stat).
func machineTicks() (busy, idle int64, err error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0, err
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 6 || f[0] != "cpu" {
		return 0, 0, errors.New("/proc/stat: unexpected format")
	}
	for i, v := range f[1:] {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return 0, 0, errors.New("/proc/stat: unexpected format")
		}
		switch i {
		case 3, 4: // idle, iowait
			idle += n
		case 8, 9: // guest time is counted in user time already
		default:
			busy += n
		}
	}
	return busy, idle, nil
}

// ticksPerSecond is Linux's USER_HZ, the unit of /proc's CPU times: 100 on
// every architecture Go runs Linux on.
const ticksPerSecond = 100

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// buildConsole builds the console from the module at root into dir.
func buildConsole(ctx context.Context, root, dir string) (string, error) {
	bin := filepath.Join(dir, "countersign")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, ".")
	cmd.Dir = root
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("build the console: %w", err)
	}
	return bin, nil
}

// copyTree copies the files of src into dst (created), one level of
// folders deep: a database with its key, checkpoint and sandbox folder.
func copyTree(src, dst string) error {
	if err := os.RemoveAll(dst); err != nil {
		return err
	}
	return filepath.WalkDir(src, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		to := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(to, 0o700)
		}
		in, err := os.Open(path)
		if err != nil {
			return err
		}
		defer in.Close()
		out, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
		if err != nil {
			return err
		}
		if _, err := io.Copy(out, in); err != nil {
			out.Close()
			return err
		}
		return out.Close()
	})
}
