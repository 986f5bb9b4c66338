package interop

import (
	"errors"
	"io"
	"net"
	"sync"
	"time"
)

// Proxy relays TCP connections from a local address to a target address. It
// knows nothing of HTTP or websocket, so it works for every Bayeux
// transport, and it can simulate network failures: Tear closes every relayed
// connection (a torn long poll or websocket), Refuse also turns away new
// ones (the server unreachable) until Accept.
type Proxy struct {
	ln     net.Listener
	target string

	mu       sync.Mutex
	conns    map[net.Conn]struct{}
	refusing bool
	closed   bool
	accepted int

	wg sync.WaitGroup
}

// NewProxy listens on a free port of 127.0.0.1 and relays to target
// ("host:port").
func NewProxy(target string) (*Proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &Proxy{ln: ln, target: target, conns: make(map[net.Conn]struct{})}
	p.wg.Add(1)
	go p.serve()
	return p, nil
}

// Addr returns the proxy's address ("127.0.0.1:port").
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Accepted returns how many connections the proxy relayed so far.
func (p *Proxy) Accepted() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.accepted
}

func (p *Proxy) serve() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		p.mu.Lock()
		refuse := p.refusing || p.closed
		p.mu.Unlock()
		if refuse {
			_ = c.Close()
			continue
		}
		p.wg.Add(1)
		go p.relay(c)
	}
}

func (p *Proxy) relay(client net.Conn) {
	defer p.wg.Done()
	server, err := net.DialTimeout("tcp", p.target, 5*time.Second)
	if err != nil {
		_ = client.Close()
		return
	}
	p.mu.Lock()
	if p.refusing || p.closed {
		p.mu.Unlock()
		_ = client.Close()
		_ = server.Close()
		return
	}
	p.accepted++
	p.conns[client] = struct{}{}
	p.conns[server] = struct{}{}
	p.mu.Unlock()

	var both sync.WaitGroup
	both.Add(2)
	pipe := func(dst, src net.Conn) {
		defer both.Done()
		_, _ = io.Copy(dst, src)
		// One direction ended: end the other too, as a dropped
		// connection would.
		_ = dst.Close()
		_ = src.Close()
	}
	go pipe(server, client)
	go pipe(client, server)
	both.Wait()

	p.mu.Lock()
	delete(p.conns, client)
	delete(p.conns, server)
	p.mu.Unlock()
}

// Tear closes every connection being relayed and returns how many client
// connections it closed. New connections are still accepted.
func (p *Proxy) Tear() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.tearLocked()
}

func (p *Proxy) tearLocked() int {
	n := 0
	for c := range p.conns {
		_ = c.Close()
		n++
	}
	return n / 2
}

// Refuse tears every relayed connection and closes each new one as soon as
// it is accepted, until Accept is called. It returns how many client
// connections it tore.
func (p *Proxy) Refuse() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.refusing = true
	return p.tearLocked()
}

// Accept ends Refuse: new connections are relayed again.
func (p *Proxy) Accept() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.refusing = false
}

// Close stops the proxy, closes every connection and waits for its
// goroutines to end.
func (p *Proxy) Close() error {
	p.mu.Lock()
	p.closed = true
	p.tearLocked()
	p.mu.Unlock()
	err := p.ln.Close()
	p.wg.Wait()
	return err
}
