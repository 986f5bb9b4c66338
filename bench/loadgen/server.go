package loadgen

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os/exec"
	"strings"
	"time"

	"github.com/bayeux-go/sdk/bayeux/bayeuxtest"
)

// listenPrefix starts the line on which Serve announces its URL.
const listenPrefix = "LISTEN "

// Serve runs a bayeuxtest server for load runs on addr (host:port; port 0
// picks a free one) until ctx ends. Once it serves, it writes
// "LISTEN <url>\n" to w. The server keeps no log of received messages,
// holds /meta/connect up to 20 s and expires sessions silent for 30 s;
// opts are applied after those settings (bayeux bench passes
// bayeuxtest.WithPushInterval).
func Serve(ctx context.Context, addr string, w io.Writer, opts ...bayeuxtest.Option) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	opts = append([]bayeuxtest.Option{bayeuxtest.WithReceivedLimit(-1),
		bayeuxtest.WithTimeout(20 * time.Second), bayeuxtest.WithMaxInterval(30 * time.Second)}, opts...)
	srv := bayeuxtest.NewUnstartedServer(opts...)
	srv.StartOn(ln)
	defer srv.Close()
	if _, err := fmt.Fprintf(w, "%s%s\n", listenPrefix, srv.URL); err != nil {
		return err
	}
	<-ctx.Done()
	return nil
}

// ServerProcess is a server running in a child process, started by
// StartServer.
type ServerProcess struct {
	// URL is the Bayeux endpoint the server announced.
	URL string

	cmd   *exec.Cmd
	stdin io.WriteCloser
	done  chan struct{}
}

// StartServer starts cmd, a process that runs Serve until its standard
// input is closed (as `bayeux bench -serve` does), and returns once it
// announced its URL, or with an error after timeout.
func StartServer(cmd *exec.Cmd, timeout time.Duration) (*ServerProcess, error) {
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &ServerProcess{cmd: cmd, stdin: stdin, done: make(chan struct{})}
	lines := make(chan string, 1)
	go func() {
		defer close(p.done)
		sc := bufio.NewScanner(stdout)
		announced := false
		for sc.Scan() {
			if !announced && strings.HasPrefix(sc.Text(), listenPrefix) {
				announced = true
				lines <- strings.TrimPrefix(sc.Text(), listenPrefix)
			}
		}
		if !announced {
			close(lines)
		}
	}()
	select {
	case url, ok := <-lines:
		if ok {
			p.URL = url
			return p, nil
		}
		_, _ = p.Stop()
		return nil, errors.New("loadgen: the server process ended without announcing its URL")
	case <-time.After(timeout):
		_, _ = p.Stop()
		return nil, fmt.Errorf("loadgen: the server process announced no URL within %v", timeout)
	}
}

// Stop closes the server's standard input, waits for it to exit (killing
// it after 10 s) and returns the CPU time it used.
func (p *ServerProcess) Stop() (cpu time.Duration, err error) {
	_ = p.stdin.Close()
	exited := make(chan error, 1)
	go func() {
		<-p.done
		exited <- p.cmd.Wait()
	}()
	select {
	case err = <-exited:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		err = <-exited
	}
	if ps := p.cmd.ProcessState; ps != nil {
		cpu = ps.UserTime() + ps.SystemTime()
	}
	return cpu, err
}

// ServeUntilEOF runs Serve on addr (with opts) until in (the standard
// input of a server process) reaches its end.
func ServeUntilEOF(addr string, in io.Reader, out io.Writer, opts ...bayeuxtest.Option) error {
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		_, _ = io.Copy(io.Discard, in)
		cancel()
	}()
	return Serve(ctx, addr, out, opts...)
}
