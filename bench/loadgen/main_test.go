package loadgen

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// serverEnv selects, in a child process of the test binary, the server
// it runs instead of the tests: "bayeuxtest" (Serve) or "one-event" (a
// canned server answering every /meta/connect with one event).
const serverEnv = "LOADGEN_TEST_SERVER"

func TestMain(m *testing.M) {
	switch os.Getenv(serverEnv) {
	case "":
		goleak.VerifyTestMain(m)
	case "bayeuxtest":
		if err := ServeUntilEOF("127.0.0.1:0", os.Stdin, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	case "one-event":
		if err := serveOneEvent(os.Stdin, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
}

// serverProcess starts the test binary as a server of the given kind and
// stops it when tb ends; it returns the server's URL.
func serverProcess(tb testing.TB, kind string) *ServerProcess {
	tb.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), serverEnv+"="+kind)
	cmd.Stderr = os.Stderr
	p, err := StartServer(cmd, 30*time.Second)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if _, err := p.Stop(); err != nil {
			tb.Errorf("server process: %v", err)
		}
	})
	return p
}

// serveOneEvent serves oneEventHandler until in reaches its end.
func serveOneEvent(in io.Reader, out io.Writer) error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: oneEventHandler()}
	go func() { _ = srv.Serve(ln) }()
	fmt.Fprintf(out, "%shttp://%s/cometd\n", listenPrefix, ln.Addr())
	_, _ = io.Copy(io.Discard, in)
	return srv.Close()
}
