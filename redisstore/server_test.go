package redisstore

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// server_test.go runs real redis-server processes for the tests: on
// 127.0.0.1, a free port, no persistence, stopped when the test ends.

// redisServer is a redis-server process on port.
type redisServer struct {
	tb    testing.TB
	port  int
	dir   string
	extra []string

	mu  sync.Mutex
	cmd *exec.Cmd
}

// redisBinary returns the path of redis-server, or skips tb without it.
func redisBinary(tb testing.TB) string {
	tb.Helper()
	path, err := exec.LookPath("redis-server")
	if err != nil {
		tb.Skip("redis-server not found in PATH: install it (apt-get install redis-server) to run the Redis tests")
	}
	return path
}

// startRedis starts a redis-server with the extra arguments (such as
// "--maxmemory", "1mb") and stops it when tb ends.
func startRedis(tb testing.TB, extra ...string) *redisServer {
	tb.Helper()
	redisBinary(tb)
	s := &redisServer{tb: tb, dir: tb.TempDir(), extra: extra}
	var err error
	for range 5 { // the free port may be taken between Listen and redis-server
		s.port = freePort(tb)
		if err = s.start(); err == nil {
			tb.Cleanup(s.kill)
			return s
		}
	}
	tb.Fatalf("redis-server did not start: %v", err)
	return nil
}

func freePort(tb testing.TB) int {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func (s *redisServer) addr() string { return "127.0.0.1:" + strconv.Itoa(s.port) }

// start starts redis-server on s.port and waits until it answers PING.
func (s *redisServer) start() error {
	args := append([]string{
		"--port", strconv.Itoa(s.port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", s.dir,
		"--daemonize", "no", "--loglevel", "warning", "--logfile", "",
	}, s.extra...)
	cmd := exec.Command(redisBinary(s.tb), args...)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if c, err := net.DialTimeout("tcp", s.addr(), 100*time.Millisecond); err == nil {
			_, werr := c.Write([]byte("PING\r\n"))
			buf := make([]byte, 16)
			c.SetReadDeadline(time.Now().Add(time.Second))
			n, _ := c.Read(buf)
			c.Close()
			if werr == nil && strings.HasPrefix(string(buf[:n]), "+PONG") {
				break
			}
		}
		select {
		case err := <-exited:
			return fmt.Errorf("redis-server exited: %v: %s", err, out.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			<-exited
			return fmt.Errorf("redis-server does not answer on %s: %s", s.addr(), out.String())
		}
	}
	s.mu.Lock()
	s.cmd = cmd
	s.mu.Unlock()
	go func() {
		<-exited
		s.mu.Lock()
		if s.cmd == cmd {
			s.cmd = nil
		}
		s.mu.Unlock()
	}()
	return nil
}

// kill stops redis-server at once (SIGKILL): what it held is gone.
func (s *redisServer) kill() {
	s.mu.Lock()
	cmd := s.cmd
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	cmd.Process.Signal(syscall.SIGCONT) // a paused one dies too
	cmd.Process.Kill()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); {
		s.mu.Lock()
		done := s.cmd != cmd
		s.mu.Unlock()
		if done {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	s.tb.Errorf("redis-server on %s did not exit", s.addr())
}

// restart starts a new, empty redis-server on the same port.
func (s *redisServer) restart() {
	s.tb.Helper()
	var err error
	for range 50 { // the port is free again at once, but not always
		if err = s.start(); err == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	s.tb.Fatalf("redis-server did not restart on %s: %v", s.addr(), err)
}

// pause freezes redis-server (SIGSTOP): connections stay open and nothing
// is answered, a Redis too slow to be of use. resume wakes it.
func (s *redisServer) pause()  { s.signal(syscall.SIGSTOP) }
func (s *redisServer) resume() { s.signal(syscall.SIGCONT) }

func (s *redisServer) signal(sig os.Signal) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		s.cmd.Process.Signal(sig)
	}
}

// client returns a go-redis client of s, closed when the test ends.
func (s *redisServer) client(tb testing.TB, opt ...func(*redis.Options)) *redis.Client {
	o := &redis.Options{Addr: s.addr()}
	for _, f := range opt {
		f(o)
	}
	rdb := redis.NewClient(o)
	tb.Cleanup(func() { rdb.Close() })
	return rdb
}
