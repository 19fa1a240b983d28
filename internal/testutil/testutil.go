// Package testutil holds helpers shared by svcreg's tests: finding the
// real tools system tests drive, and the shared registry files.
package testutil

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"syscall"
	"testing"
)

// InCI reports whether the tests run under CI (CI=true), where a missing
// tool or privilege is a failure, never a skip.
func InCI() bool { return os.Getenv("CI") == "true" }

// RequireTool returns the path of a command a system test needs. Outside
// CI a missing tool skips the test, saying which Debian package provides
// it; under CI it fails the test.
func RequireTool(t testing.TB, name, debPackage string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	for _, dir := range []string{"/usr/sbin", "/sbin"} {
		if fp := filepath.Join(dir, name); isExec(fp) {
			return fp
		}
	}
	msg := name + " not found (Debian package " + debPackage + "; `make deps` installs it)"
	if InCI() {
		t.Fatalf("%s", msg)
	}
	t.Skip(msg)
	return ""
}

func isExec(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir() && st.Mode()&0o111 != 0
}

// RequireRoot skips (or, under CI, fails) a test that needs root, e.g. to
// create network namespaces.
func RequireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	if InCI() {
		t.Fatal("test needs root (network namespaces); CI runs as root")
	}
	t.Skip("test needs root (network namespaces)")
}

// RepoRoot is the repository's top directory.
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// SharedFile returns the path of a file in ../shared (beside the checkout),
// e.g. SharedFile(t, "iana", "service-names-port-numbers.xml"). Missing
// shared data skips outside CI and fails under CI.
func SharedFile(t testing.TB, elem ...string) string {
	t.Helper()
	p := filepath.Join(append([]string{RepoRoot(), "..", "shared"}, elem...)...)
	if _, err := os.Stat(p); err != nil {
		if InCI() {
			t.Fatalf("shared data missing: %v", err)
		}
		t.Skipf("shared data missing: %v", err)
	}
	return p
}

// Testdata returns a path below the repository's testdata/.
func Testdata(elem ...string) string {
	return filepath.Join(append([]string{RepoRoot(), "testdata"}, elem...)...)
}

// FreePort returns a loopback port that is free for both UDP and TCP at
// the time of the call (a DNS server listens on both with one number).
func FreePort(t testing.TB) int {
	t.Helper()
	for range 50 {
		pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("free port: %v", err)
		}
		port := pc.LocalAddr().(*net.UDPAddr).Port
		ln, err := net.Listen("tcp4", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		pc.Close()
		if err == nil {
			ln.Close()
			return port
		}
	}
	t.Fatal("no loopback port free for both UDP and TCP")
	return 0
}

// SyncBuffer is a bytes.Buffer that goroutines may write (a daemon's
// logger, exec's output copier) while the test reads it.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// String returns everything written so far.
func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// StartProcess starts cmd, a child of the test, and returns the channel
// its Wait result arrives on. When the test ends with the child still
// running, the cleanup kills it (by its PID, nothing else) and waits for
// it; when the test failed, it logs what log holds (nil: nothing).
func StartProcess(t testing.TB, cmd *exec.Cmd, log fmt.Stringer) <-chan error {
	t.Helper()
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", cmd.Path, err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		// Signal reads no state Wait writes: 0 tells whether it still runs.
		if cmd.Process.Signal(syscall.Signal(0)) == nil {
			_ = cmd.Process.Kill()
			t.Logf("killed after the deadline: %v", <-done)
		}
		if t.Failed() && log != nil {
			t.Logf("%s log:\n%s", filepath.Base(cmd.Path), log.String())
		}
	})
	return done
}
