// Package closingserver is a test server, on a raw net.Listener, that
// answers Bayeux requests (long-polling POSTs and callback-polling GETs)
// and mistreats kept-alive connections the way some real servers do: it
// closes a connection right after a response without "Connection: close"
// (as several Rack servers do), or closes it when the next request arrives,
// or answers part of a status line. It records every message it processed,
// so that tests can tell a request re-sent from one sent once.
package closingserver

import (
	"bufio"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
)

// Behavior is what the server does to connections.
type Behavior int

const (
	// CloseAfterResponse closes every connection right after writing a
	// response (which does not say "Connection: close").
	CloseAfterResponse Behavior = iota
	// CloseOnReuse keeps a connection open after a response and closes it,
	// without reading or processing it, when a second request arrives on
	// it.
	CloseOnReuse
	// PartialOnReuse processes the second request of a connection, writes
	// the first bytes of a status line and closes the connection.
	PartialOnReuse
	// CloseFresh processes the first request of every connection and
	// closes it without a byte of response.
	CloseFresh
)

// Server is a running closing server.
type Server struct {
	// URL is the server's base URL (http://127.0.0.1:port/).
	URL string

	b  Behavior
	ln net.Listener
	wg sync.WaitGroup

	mu        sync.Mutex
	conns     map[net.Conn]struct{}
	processed map[string]int // message id -> times processed
	requests  int
	closed    bool
}

// Start starts a server with behaviour b on 127.0.0.1.
func Start(b Behavior) (*Server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &Server{URL: "http://" + ln.Addr().String() + "/", b: b, ln: ln,
		conns: make(map[net.Conn]struct{}), processed: make(map[string]int)}
	s.wg.Add(1)
	go s.accept()
	return s, nil
}

// Close stops the server and waits for its goroutines.
func (s *Server) Close() {
	s.mu.Lock()
	s.closed = true
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.ln.Close()
	s.wg.Wait()
}

// Processed returns how many times the message with id was processed.
func (s *Server) Processed(id string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.processed[id]
}

// Duplicates returns the ids processed more than once.
func (s *Server) Duplicates() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for id, n := range s.processed {
		if n > 1 {
			out = append(out, id)
		}
	}
	return out
}

// Requests returns how many requests arrived (processed or not).
func (s *Server) Requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests
}

func (s *Server) accept() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			c.Close()
			return
		}
		s.conns[c] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		go s.serve(c)
	}
}

func (s *Server) serve(c net.Conn) {
	defer s.wg.Done()
	defer func() {
		c.Close()
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
	}()
	br := bufio.NewReader(c)
	for n := 1; ; n++ {
		if _, err := br.Peek(1); err != nil {
			return
		}
		s.mu.Lock()
		s.requests++
		s.mu.Unlock()
		if n == 2 && s.b == CloseOnReuse {
			return // the request arrived: closed unread
		}
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		body, callback, err := s.process(req)
		if err != nil {
			_, _ = io.WriteString(c, "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
			return
		}
		switch {
		case s.b == CloseFresh && n == 1:
			return
		case s.b == PartialOnReuse && n == 2:
			_, _ = io.WriteString(c, "HTTP/1.1 20")
			return
		}
		ct := "application/json;charset=UTF-8"
		if callback != "" {
			body = []byte(callback + "(" + string(body) + ");")
			ct = "text/javascript;charset=UTF-8"
		}
		head := "HTTP/1.1 200 OK\r\nContent-Type: " + ct + "\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n"
		if _, err := c.Write(append([]byte(head), body...)); err != nil {
			return
		}
		if s.b == CloseAfterResponse || req.Close {
			return
		}
	}
}

// process records the messages of req and returns the replies, and the
// callback name of a callback-polling request.
func (s *Server) process(req *http.Request) ([]byte, string, error) {
	var payload []byte
	callback := ""
	if req.Method == http.MethodGet {
		q := req.URL.Query()
		payload, callback = []byte(q.Get("message")), q.Get("jsonp")
		if callback == "" || strings.ContainsAny(callback, "();") {
			return nil, "", errors.New("bad callback")
		}
	} else {
		b, err := io.ReadAll(io.LimitReader(req.Body, 1<<20))
		if err != nil {
			return nil, "", err
		}
		payload = b
	}
	var msgs []map[string]any
	if err := json.Unmarshal(payload, &msgs); err != nil {
		return nil, "", err
	}
	replies := make([]map[string]any, 0, len(msgs))
	s.mu.Lock()
	for _, m := range msgs {
		id, _ := m["id"].(string)
		s.processed[id]++
		r := map[string]any{"channel": m["channel"], "successful": true}
		if id != "" {
			r["id"] = id
		}
		if m["channel"] == "/meta/handshake" {
			r["clientId"] = "c1"
			r["version"] = "1.0"
			r["supportedConnectionTypes"] = []string{"long-polling", "callback-polling"}
		}
		replies = append(replies, r)
	}
	s.mu.Unlock()
	out, err := json.Marshal(replies)
	return out, callback, err
}
