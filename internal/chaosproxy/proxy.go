package chaosproxy

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"net"
	"net/url"
	"sync"
	"time"
)

// Kind is a kind of fault.
type Kind int

// The faults the proxy injects.
const (
	// Drop closes an open connection at once, both ways (a FIN to each
	// side), as a proxy's idle timeout does.
	Drop Kind = iota
	// Reset aborts an open connection at once with a TCP reset.
	Reset
	// Stall stops forwarding on every connection, both ways, for the
	// fault's duration; the connections stay open. Connections accepted
	// meanwhile wait too.
	Stall
	// SlowRead makes one open connection deliver the server's bytes in
	// small pieces, with a pause between pieces, for the fault's duration.
	SlowRead
	// Truncate forwards the first half of the next chunk of a server's
	// bytes, then closes the connection.
	Truncate
	// Status5xx answers the next HTTP request (including a websocket
	// upgrade) with 503 Service Unavailable and closes the connection; the
	// request never reaches the server.
	Status5xx
	// Garbage sends bytes that are neither HTTP nor JSON nor websocket
	// frames to a client in place of the next chunk of a server's bytes,
	// then closes the connection.
	Garbage
	// CloseAfterResponse forwards the next chunk of a server's bytes, then
	// closes that connection without notice.
	CloseAfterResponse
	numKinds
)

// Kinds lists every kind of fault.
var Kinds = []Kind{Drop, Reset, Stall, SlowRead, Truncate, Status5xx, Garbage, CloseAfterResponse}

var kindNames = [...]string{"drop", "reset", "stall", "slow-read", "truncate", "http-503", "garbage", "close-after-response"}

// String returns the fault's name, such as "truncate".
func (k Kind) String() string {
	if k < 0 || k >= numKinds {
		return fmt.Sprintf("Kind(%d)", int(k))
	}
	return kindNames[k]
}

// Proxy is a fault-injecting TCP proxy. Create it with New; it is safe for
// concurrent use.
type Proxy struct {
	target string
	l      net.Listener
	wg     sync.WaitGroup

	mu         sync.Mutex
	conns      map[*pconn]struct{}
	armed      []Kind    // faults waiting for a chunk to act on
	stallUntil time.Time // no forwarding before this
	counts     [numKinds]int
	closed     bool
	rng        *rand.Rand
}

// pconn is one proxied connection.
type pconn struct {
	client, server net.Conn
	once           sync.Once
	slowUntil      time.Time // guarded by Proxy.mu
}

func (c *pconn) close() {
	c.once.Do(func() {
		c.client.Close()
		c.server.Close()
	})
}

// reset aborts both sides with a TCP reset.
func (c *pconn) reset() {
	for _, nc := range []net.Conn{c.client, c.server} {
		if tc, ok := nc.(*net.TCPConn); ok {
			_ = tc.SetLinger(0)
		}
	}
	c.close()
}

// New starts a proxy on a random 127.0.0.1 port that forwards every
// connection to target (host:port).
func New(target string) (*Proxy, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &Proxy{target: target, l: l, conns: make(map[*pconn]struct{}), rng: rand.New(rand.NewPCG(rand.Uint64(), 1))}
	p.wg.Add(1)
	go p.accept()
	return p, nil
}

// Front starts a proxy in front of the server at serverURL (an
// http:// URL on 127.0.0.1) and returns it with the URL that reaches the
// server through it (the same path).
func Front(serverURL string) (*Proxy, string, error) {
	u, err := url.Parse(serverURL)
	if err != nil {
		return nil, "", err
	}
	p, err := New(u.Host)
	if err != nil {
		return nil, "", err
	}
	u.Host = p.Addr()
	return p, u.String(), nil
}

// Addr returns the proxy's address (host:port).
func (p *Proxy) Addr() string { return p.l.Addr().String() }

// Counts returns how many faults of each kind were applied so far.
func (p *Proxy) Counts() map[Kind]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	m := make(map[Kind]int, numKinds)
	for k, n := range p.counts {
		if n > 0 {
			m[Kind(k)] = n
		}
	}
	return m
}

// Inject schedules one fault. d is the duration of a Stall or SlowRead
// and is ignored by the others. A Drop, Reset or SlowRead with no open
// connection does nothing.
func (p *Proxy) Inject(k Kind, d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	switch k {
	case Drop, Reset, SlowRead:
		c := p.randomConnLocked()
		if c == nil {
			return
		}
		p.counts[k]++
		switch k {
		case Drop:
			go c.close()
		case Reset:
			go c.reset()
		default:
			c.slowUntil = time.Now().Add(d)
		}
	case Stall:
		p.counts[k]++
		p.stallUntil = time.Now().Add(d)
	case Truncate, Status5xx, Garbage, CloseAfterResponse:
		p.armed = append(p.armed, k)
	}
}

// Pending returns how many injected faults (Truncate, Status5xx, Garbage,
// CloseAfterResponse) are still waiting for a chunk to act on: while no
// traffic flows they pile up, and then break the requests that follow one
// after another.
func (p *Proxy) Pending() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.armed)
}

// Clear removes the faults still waiting for a chunk and ends a stall or
// slow reads in progress.
func (p *Proxy) Clear() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.armed = nil
	p.stallUntil = time.Time{}
	for c := range p.conns {
		c.slowUntil = time.Time{}
	}
}

func (p *Proxy) randomConnLocked() *pconn {
	if len(p.conns) == 0 {
		return nil
	}
	i := p.rng.IntN(len(p.conns))
	for c := range p.conns {
		if i == 0 {
			return c
		}
		i--
	}
	return nil
}

// Close stops the proxy, closes every connection and waits for its
// goroutines.
func (p *Proxy) Close() error {
	p.mu.Lock()
	p.closed = true
	conns := make([]*pconn, 0, len(p.conns))
	for c := range p.conns {
		conns = append(conns, c)
	}
	p.mu.Unlock()
	err := p.l.Close()
	for _, c := range conns {
		c.close()
	}
	p.wg.Wait()
	return err
}

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		client, err := p.l.Accept()
		if err != nil {
			return
		}
		p.wg.Add(1)
		go p.serve(client)
	}
}

func (p *Proxy) serve(client net.Conn) {
	defer p.wg.Done()
	server, err := net.DialTimeout("tcp", p.target, 5*time.Second)
	if err != nil {
		client.Close()
		return
	}
	c := &pconn{client: client, server: server}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		c.close()
		return
	}
	p.conns[c] = struct{}{}
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		delete(p.conns, c)
		p.mu.Unlock()
	}()
	done := make(chan struct{})
	go func() {
		defer close(done)
		p.pump(c, server, client, false)
	}()
	p.pump(c, client, server, true)
	<-done
}

// pump copies src to dst chunk by chunk, applying faults, until either
// side fails; then it closes the connection.
func (p *Proxy) pump(c *pconn, src, dst net.Conn, toServer bool) {
	defer c.close()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 && !p.forward(c, dst, buf[:n], toServer) {
			return
		}
		if err != nil {
			return
		}
	}
}

// httpMethods start an HTTP request.
var httpMethods = [][]byte{[]byte("GET "), []byte("POST "), []byte("HEAD "), []byte("PUT "), []byte("OPTIONS ")}

func isRequestStart(b []byte) bool {
	for _, m := range httpMethods {
		if bytes.HasPrefix(b, m) {
			return true
		}
	}
	return false
}

const response503 = "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nContent-Length: 10\r\nConnection: close\r\n\r\nchaos: 503"

// forward writes b to dst unless a fault takes it; it reports whether the
// connection goes on.
func (p *Proxy) forward(c *pconn, dst net.Conn, b []byte, toServer bool) bool {
	if !p.waitStall() {
		return false
	}
	k, slow := p.take(c, b, toServer)
	switch k {
	case Status5xx:
		_, _ = c.client.Write([]byte(response503))
		return false
	case Truncate:
		_, _ = dst.Write(b[:len(b)/2])
		return false
	case Garbage:
		g := make([]byte, 64)
		for i := range g {
			g[i] = byte(p.rand(256))
		}
		copy(g, "\x00}]{\xff\xfe garbage")
		_, _ = dst.Write(g)
		return false
	case CloseAfterResponse:
		_, _ = dst.Write(b)
		return false
	}
	if !slow {
		_, err := dst.Write(b)
		return err == nil
	}
	for len(b) > 0 {
		n := min(len(b), 64)
		if _, err := dst.Write(b[:n]); err != nil {
			return false
		}
		b = b[n:]
		time.Sleep(2 * time.Millisecond)
	}
	return true
}

// noFault is what take returns when no fault applies to a chunk.
const noFault Kind = -1

// take returns the armed fault that applies to chunk b, consuming it, and
// whether the connection is slowed.
func (p *Proxy) take(c *pconn, b []byte, toServer bool) (Kind, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, k := range p.armed {
		applies := false
		switch k {
		case Status5xx:
			applies = toServer && isRequestStart(b)
		case Truncate, Garbage, CloseAfterResponse:
			applies = !toServer
		}
		if applies {
			p.armed = append(p.armed[:i], p.armed[i+1:]...)
			p.counts[k]++
			return k, false
		}
	}
	return noFault, !toServer && time.Now().Before(c.slowUntil)
}

// waitStall waits while a stall is in progress; it reports false when the
// proxy was closed meanwhile.
func (p *Proxy) waitStall() bool {
	for {
		p.mu.Lock()
		until, closed := p.stallUntil, p.closed
		p.mu.Unlock()
		if closed {
			return false
		}
		d := time.Until(until)
		if d <= 0 {
			return true
		}
		time.Sleep(min(d, 50*time.Millisecond))
	}
}

func (p *Proxy) rand(n int) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.rng.IntN(n)
}
