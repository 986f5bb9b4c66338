package bayeuxtest

import (
	"bytes"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strings"
	"sync"

	"github.com/gorilla/websocket"

	"github.com/bayeux-go/sdk/bayeux"
)

// BrowserCookie is the name of the cookie the server sets on handshake
// (and on websocket upgrades that lack it), as CometD does.
const BrowserCookie = "BAYEUX_BROWSER"

// DefaultCallback is the JSONP callback name used when a callback-polling
// request has no jsonp parameter, as the specification says.
const DefaultCallback = "jsonpcallback"

// maxCallbackLen bounds JSONP callback names, as CometD does.
const maxCallbackLen = 64

// RequestError is why an HTTP request could not be parsed into Bayeux
// messages; the server answers with Status and a text/plain body.
type RequestError struct {
	// Status is the HTTP status answered: 400 (malformed), 413 (too large)
	// or 415 (unsupported charset).
	Status int
	// Reason says what is wrong.
	Reason string
	// Err is the underlying cause, if any (for example a
	// *bayeux.DecodeError).
	Err error
}

// Error implements the error interface.
func (e *RequestError) Error() string {
	s := "bayeuxtest: bad request: " + e.Reason
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the cause.
func (e *RequestError) Unwrap() error { return e.Err }

func badRequest(reason string, err error) error {
	return &RequestError{Status: http.StatusBadRequest, Reason: reason, Err: err}
}

func tooLarge() error {
	return &RequestError{Status: http.StatusRequestEntityTooLarge, Reason: "request too large", Err: bayeux.ErrTooLarge}
}

// ParseBody parses the body of a long-polling POST: a JSON array of
// messages or a single message object, or, when contentType is
// application/x-www-form-urlencoded, one or more "message" form values each
// holding such JSON. Any other content type (or none) is read as JSON; a
// charset other than UTF-8 is refused (415). Errors are *RequestError.
func ParseBody(contentType string, body []byte) ([]bayeux.Message, error) {
	form := false
	if contentType != "" {
		if mt, params, err := mime.ParseMediaType(contentType); err == nil {
			if cs := params["charset"]; cs != "" && !strings.EqualFold(cs, "utf-8") && !strings.EqualFold(cs, "utf8") {
				return nil, &RequestError{Status: http.StatusUnsupportedMediaType, Reason: "unsupported charset " + cs}
			}
			form = mt == "application/x-www-form-urlencoded"
		}
	}
	if !form {
		msgs, err := bayeux.DecodeMessages(body)
		if err != nil {
			return nil, badRequest("malformed JSON body", err)
		}
		return msgs, nil
	}
	q, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, badRequest("malformed form body", err)
	}
	return decodeMessageValues(q["message"])
}

// ParseCallbackQuery parses the query of a callback-polling (JSONP) GET:
// one or more "message" parameters holding URL-encoded JSON (an array of
// messages or one message) and an optional "jsonp" callback name (default
// DefaultCallback). The callback must be a dotted JavaScript identifier
// path of at most 64 characters ([A-Za-z_$][A-Za-z0-9_$]* segments). The
// message parameters may hold at most maxBytes bytes in total (413 beyond).
// Errors are *RequestError.
func ParseCallbackQuery(rawQuery string, maxBytes int64) (callback string, msgs []bayeux.Message, err error) {
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return "", nil, badRequest("malformed query", err)
	}
	callback = DefaultCallback
	if vs, ok := q["jsonp"]; ok {
		callback = vs[0]
	}
	if !ValidCallback(callback) {
		return "", nil, badRequest("invalid jsonp callback name", nil)
	}
	var total int64
	for _, v := range q["message"] {
		total += int64(len(v))
	}
	if maxBytes > 0 && total > maxBytes {
		return "", nil, tooLarge()
	}
	msgs, err = decodeMessageValues(q["message"])
	if err != nil {
		return "", nil, err
	}
	return callback, msgs, nil
}

func decodeMessageValues(values []string) ([]bayeux.Message, error) {
	if len(values) == 0 {
		return nil, badRequest("missing message parameter", nil)
	}
	var out []bayeux.Message
	for _, v := range values {
		msgs, err := bayeux.DecodeMessages([]byte(v))
		if err != nil {
			return nil, badRequest("malformed message parameter", err)
		}
		out = append(out, msgs...)
	}
	return out, nil
}

// ValidCallback reports whether name is acceptable as a JSONP callback: 1
// to 64 characters forming dot-separated JavaScript identifiers made of
// ASCII letters, digits, '_' and '$' (not starting with a digit).
func ValidCallback(name string) bool {
	if name == "" || len(name) > maxCallbackLen {
		return false
	}
	for _, seg := range strings.Split(name, ".") {
		if seg == "" {
			return false
		}
		for i := 0; i < len(seg); i++ {
			c := seg[i]
			switch {
			case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', c == '_', c == '$':
			case '0' <= c && c <= '9' && i > 0:
			default:
				return false
			}
		}
	}
	return true
}

// bufPool recycles response buffers.
var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

const maxPooledBuf = 4 << 20

func (s *Server) pathMatches(p string) bool {
	p = path.Clean("/" + p)
	return p == s.cfg.path || strings.HasPrefix(p, s.cfg.path+"/")
}

func (s *Server) supports(connType string) bool {
	return slices.Contains(s.cfg.connTypes, connType)
}

func cookieValue(r *http.Request) string {
	c, err := r.Cookie(BrowserCookie)
	if err != nil {
		return ""
	}
	return c.Value
}

func browserCookie(value string) *http.Cookie {
	return &http.Cookie{Name: BrowserCookie, Value: value, Path: "/", HttpOnly: true}
}

func writeRequestError(w http.ResponseWriter, err error) {
	var re *RequestError
	if errors.As(err, &re) {
		http.Error(w, re.Error(), re.Status)
		return
	}
	http.Error(w, err.Error(), http.StatusBadRequest)
}

// serveHTTP is the server's handler: websocket upgrades, long-polling
// POSTs and callback-polling GETs, all on the same path.
func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	if !s.pathMatches(r.URL.Path) {
		http.NotFound(w, r)
		return
	}
	if websocket.IsWebSocketUpgrade(r) {
		s.serveWebSocket(w, r)
		return
	}
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		http.Error(w, "bayeuxtest: server closed", http.StatusServiceUnavailable)
		return
	}

	var (
		transport, callback string
		msgs                []bayeux.Message
		err                 error
	)
	switch r.Method {
	case http.MethodGet:
		transport = bayeux.ConnectionTypeCallbackPolling
		if !s.supports(transport) {
			http.Error(w, "bayeuxtest: callback-polling not enabled", http.StatusBadRequest)
			return
		}
		callback, msgs, err = ParseCallbackQuery(r.URL.RawQuery, s.cfg.maxBody)
	case http.MethodPost:
		transport = bayeux.ConnectionTypeLongPolling
		if !s.supports(transport) {
			http.Error(w, "bayeuxtest: long-polling not enabled", http.StatusBadRequest)
			return
		}
		body, rerr := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.maxBody))
		if rerr != nil {
			var mbe *http.MaxBytesError
			if errors.As(rerr, &mbe) {
				err = tooLarge()
			} else {
				err = badRequest("reading body", rerr)
			}
			break
		}
		msgs, err = ParseBody(r.Header.Get("Content-Type"), body)
	default:
		w.Header().Set("Allow", "GET, POST")
		http.Error(w, "bayeuxtest: method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if err != nil {
		s.log.Debug("bayeuxtest: bad request", "err", err)
		writeRequestError(w, err)
		return
	}
	s.record(msgs)
	if s.authRejectHTTP(w, r, callback, msgs) {
		return
	}

	ri := &reqInfo{transport: transport, browser: cookieValue(r)}
	gone := r.Context().Done()
	f := s.takeFault(transport, msgs)
	if f != nil && !f.processes() {
		if s.sleep(f.Delay, gone) {
			s.applyHTTPFault(w, f, callback != "")
		} else {
			s.abandon(w)
		}
		return
	}
	res := s.process(ri, msgs)
	out := res.replies
	if res.held != nil {
		var tear bool
		out, tear = s.awaitHeld(res.held, gone)
		if tear {
			tearHTTP(w)
			return
		}
		if out == nil {
			return // the client went away
		}
	}
	if f != nil {
		if !s.sleep(f.Delay, gone) {
			s.abandon(w)
			return
		}
		if f.hasAction() {
			s.applyHTTPFault(w, f, callback != "")
			return
		}
	}
	s.writeHTTP(w, callback, res.cookie, out)
}

// abandon ends a request cut short by Close (torn) or by the client.
func (s *Server) abandon(w http.ResponseWriter) {
	select {
	case <-s.done:
		tearHTTP(w)
	default:
	}
}

func (s *Server) applyHTTPFault(w http.ResponseWriter, f *Fault, jsonp bool) {
	switch {
	case f.Tear:
		tearHTTP(w)
	case f.Status != 0:
		http.Error(w, "bayeuxtest: injected fault", f.status())
	default:
		setContentHeaders(w.Header(), jsonp)
		_, _ = w.Write(f.Raw)
	}
}

// tearHTTP closes the request's connection without a response. Where the
// connection cannot be hijacked (HTTP/2, recorders) it answers 503 instead.
func tearHTTP(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		http.Error(w, "bayeuxtest: connection torn", http.StatusServiceUnavailable)
		return
	}
	_ = conn.Close()
}

func setContentHeaders(h http.Header, jsonp bool) {
	h.Set("Cache-Control", "no-cache, no-store")
	if jsonp {
		h.Set("Content-Type", "text/javascript;charset=UTF-8")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Content-Disposition", "attachment; filename=f.txt")
	} else {
		h.Set("Content-Type", "application/json;charset=UTF-8")
	}
}

// writeHTTP encodes msgs into one pooled buffer (wrapped in the JSONP
// callback when callback is set) and writes it.
func (s *Server) writeHTTP(w http.ResponseWriter, callback, cookie string, msgs []bayeux.Message) {
	bp := bufPool.Get().(*[]byte)
	buf := (*bp)[:0]
	defer func() {
		if cap(buf) <= maxPooledBuf {
			*bp = buf[:0]
			bufPool.Put(bp)
		}
	}()
	if callback != "" {
		buf = append(buf, "/**/"...)
		buf = append(buf, callback...)
		buf = append(buf, '(')
	}
	var err error
	buf, err = bayeux.AppendMessages(buf, msgs)
	if err != nil {
		s.log.Debug("bayeuxtest: cannot encode reply", "err", err)
		http.Error(w, "bayeuxtest: cannot encode reply: "+err.Error(), http.StatusInternalServerError)
		return
	}
	if callback != "" {
		buf = append(buf, ')', ';')
		buf = escapeLineTerminators(buf)
	}
	h := w.Header()
	setContentHeaders(h, callback != "")
	if cookie != "" {
		http.SetCookie(w, browserCookie(cookie))
	}
	_, _ = w.Write(buf)
}

var (
	lineSep = []byte("\u2028")
	paraSep = []byte("\u2029")
)

// escapeLineTerminators replaces raw U+2028 and U+2029, which end a line in
// older JavaScript but not in JSON, by their \u escapes. They can only
// occur inside JSON strings (for example in a publisher's data), where the
// escape means the same.
func escapeLineTerminators(b []byte) []byte {
	if !bytes.Contains(b, lineSep) && !bytes.Contains(b, paraSep) {
		return b
	}
	b = bytes.ReplaceAll(b, lineSep, []byte(`\u2028`))
	return bytes.ReplaceAll(b, paraSep, []byte(`\u2029`))
}
