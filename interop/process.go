package interop

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"
)

// ErrNodeMissing is returned by FindNode when no node executable is on PATH.
var ErrNodeMissing = errors.New("interop: node (Node.js) not found on PATH")

// FindNode returns the path of the node executable on PATH.
func FindNode() (string, error) {
	p, err := exec.LookPath("node")
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrNodeMissing, err)
	}
	return p, nil
}

// Command describes a Node.js script to run.
type Command struct {
	// Node is the node executable; empty means FindNode.
	Node string
	// Dir is the working directory, where Script and node_modules are.
	Dir string
	// Script is the script file, relative to Dir.
	Script string
	// Args are the script's arguments.
	Args []string
	// Env holds extra KEY=VALUE variables, added to the current environment.
	Env []string
	// Stdin gives the process a pipe for Process.Send; without it stdin is
	// empty.
	Stdin bool
}

// Process is a running Node.js script, started in its own process group so
// that Stop ends it and anything it started.
type Process struct {
	// Port is the port a server script reported in its "listening on PORT"
	// line (see StartServer); 0 for other scripts.
	Port int

	cmd   *exec.Cmd
	stdin io.WriteCloser
	lines chan string
	errs  *tail
	done  chan struct{}

	mu      sync.Mutex
	waitErr error
	dropped int

	stopOnce sync.Once
}

// maxQueuedLines bounds the stdout lines kept for Lines; later lines are
// dropped (and counted) when nobody reads them.
const maxQueuedLines = 10000

// Start starts a script. Its stdout lines are available from Lines, the end
// of its stderr from Stderr. Call Stop to end it.
func Start(c Command) (*Process, error) {
	node := c.Node
	if node == "" {
		var err error
		if node, err = FindNode(); err != nil {
			return nil, err
		}
	}
	cmd := exec.Command(node, append([]string{c.Script}, c.Args...)...)
	cmd.Dir = c.Dir
	cmd.Env = append(os.Environ(), c.Env...)
	setProcessGroup(cmd)
	p := &Process{cmd: cmd, lines: make(chan string, maxQueuedLines), errs: newTail(64 << 10), done: make(chan struct{})}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if c.Stdin {
		if p.stdin, err = cmd.StdinPipe(); err != nil {
			return nil, err
		}
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("interop: start %s: %w", c.Script, err)
	}
	var readers sync.WaitGroup
	readers.Add(2)
	go func() {
		defer readers.Done()
		defer close(p.lines)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 64<<10), 16<<20)
		for sc.Scan() {
			select {
			case p.lines <- sc.Text():
			default:
				p.mu.Lock()
				p.dropped++
				p.mu.Unlock()
			}
		}
		_, _ = io.Copy(io.Discard, stdout) // after a too long line: drain until exit
	}()
	go func() {
		defer readers.Done()
		_, _ = io.Copy(p.errs, stderr)
	}()
	go func() {
		readers.Wait()
		err := cmd.Wait()
		p.mu.Lock()
		p.waitErr = err
		p.mu.Unlock()
		close(p.done)
	}()
	return p, nil
}

// StartServer starts a server script that prints "listening on PORT" when it
// accepts connections, and waits for that line until ctx ends. The port is
// in Process.Port. If the script exits or ctx ends first, the error carries
// the script's stderr.
func StartServer(ctx context.Context, c Command) (*Process, error) {
	p, err := Start(c)
	if err != nil {
		return nil, err
	}
	for {
		select {
		case line, ok := <-p.lines:
			if !ok {
				<-p.done
				return nil, fmt.Errorf("interop: %s exited before listening (%v); stderr:\n%s", c.Script, p.exitErr(), p.Stderr())
			}
			if rest, found := strings.CutPrefix(line, "listening on "); found {
				port, err := strconv.Atoi(strings.TrimSpace(rest))
				if err != nil || port <= 0 || port > 65535 {
					p.Stop()
					return nil, fmt.Errorf("interop: %s printed a bad port line %q", c.Script, line)
				}
				p.Port = port
				return p, nil
			}
		case <-ctx.Done():
			p.Stop()
			return nil, fmt.Errorf("interop: %s did not report listening: %w; stderr:\n%s", c.Script, ctx.Err(), p.Stderr())
		}
	}
}

// Lines returns the channel of the script's stdout lines; it is closed when
// the script's stdout closes.
func (p *Process) Lines() <-chan string { return p.lines }

// Send writes one line to the script's stdin (Command.Stdin must be set).
func (p *Process) Send(line string) error {
	if p.stdin == nil {
		return errors.New("interop: process started without stdin")
	}
	_, err := io.WriteString(p.stdin, line+"\n")
	return err
}

// CloseStdin closes the script's stdin (end of input).
func (p *Process) CloseStdin() error {
	if p.stdin == nil {
		return nil
	}
	return p.stdin.Close()
}

// Done is closed when the script has exited and its output was read.
func (p *Process) Done() <-chan struct{} { return p.done }

// ExitErr returns the result of waiting for the script (nil for exit code
// 0); it is only meaningful after Done is closed.
func (p *Process) ExitErr() error { return p.exitErr() }

func (p *Process) exitErr() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.waitErr
}

// Stderr returns the end of what the script wrote to stderr.
func (p *Process) Stderr() string { return p.errs.String() }

// Stop ends the script's process group: SIGTERM, then SIGKILL if it has not
// exited within five seconds. It waits until the process is gone and is safe
// to call more than once.
func (p *Process) Stop() {
	p.stopOnce.Do(func() {
		if p.stdin != nil {
			_ = p.stdin.Close()
		}
		select {
		case <-p.done:
			return
		default:
		}
		terminate(p.cmd)
		select {
		case <-p.done:
		case <-time.After(5 * time.Second):
			kill(p.cmd)
			<-p.done
		}
	})
	<-p.done
}

// tail keeps the last max bytes written to it.
type tail struct {
	mu  sync.Mutex
	max int
	buf []byte
	cut bool
}

func newTail(max int) *tail { return &tail{max: max} }

// Write implements io.Writer.
func (t *tail) Write(b []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, b...)
	if over := len(t.buf) - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
		t.cut = true
	}
	return len(b), nil
}

// String implements fmt.Stringer.
func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.cut {
		return "[...]\n" + string(t.buf)
	}
	return string(t.buf)
}
