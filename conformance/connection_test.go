package conformance_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bayeux-go/sdk/bayeux"
	"github.com/bayeux-go/sdk/bayeux/bayeuxtest"
	"github.com/bayeux-go/sdk/conformance"
	"github.com/google/go-cmp/cmp"
)

// closeAfterResponse answers each HTTP request through h, then closes the
// connection without "Connection: close", as Ruby Faye under puma does.
func closeAfterResponse(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		conn, buf, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		body := rec.Body.Bytes()
		fmt.Fprintf(buf, "HTTP/1.1 %d %s\r\n", rec.Code, http.StatusText(rec.Code))
		for k, vs := range rec.Header() {
			for _, v := range vs {
				fmt.Fprintf(buf, "%s: %s\r\n", k, v)
			}
		}
		fmt.Fprintf(buf, "Content-Length: %d\r\n\r\n", len(body))
		_, _ = buf.Write(body)
		_ = buf.Flush()
	})
}

// A server that closes every kept-alive connection after its response is
// not blamed for the suite's connection reuse: the verdict is the one of
// the same server that keeps them, and the evidence says when a request
// was sent again; with keep-alive off, nothing is sent again.
func TestClosedKeptAliveConnectionsAreNotDeviations(t *testing.T) {
	srv := bayeuxtest.NewServer(bayeuxtest.WithTimeout(2 * time.Second))
	defer srv.Close()
	front := httptest.NewServer(closeAfterResponse(srv.Handler()))
	defer front.Close()
	u := front.URL + "/bayeux"
	for _, keepAlive := range []bool{true, false} {
		rep, err := conformance.Run(context.Background(), u, conformance.WithTransports(conformance.LongPolling, conformance.CallbackPolling),
			conformance.WithKeepAlive(keepAlive), conformance.WithMaxWait(3*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		resent := 0
		for _, r := range rep.Results {
			if r.Status == conformance.Fail {
				t.Errorf("keep-alive %t: %s failed: %s", keepAlive, r.ID, r.Seen)
			}
			if strings.Contains(r.Seen, "sent again on a fresh connection") {
				resent++
			}
		}
		switch {
		case keepAlive && resent == 0:
			t.Errorf("keep-alive on: no case notes a request sent again (the server closes every connection)")
		case !keepAlive && resent > 0:
			t.Errorf("keep-alive off: %d cases note a request sent again", resent)
		}
	}
}

// stringify turns every number in v into a string, as a broken proxy
// does.
func stringify(v any) any {
	switch x := v.(type) {
	case json.Number:
		return string(x)
	case []any:
		for i := range x {
			x[i] = stringify(x[i])
		}
	case map[string]any:
		for k := range x {
			x[k] = stringify(x[k])
		}
	}
	return v
}

// A server that delivers numbers as strings (12.5 -> "12.5", [1,2] ->
// ["1","2"]) breaks a MUST rule: data is compared as JSON values, types
// and all, not as printed text.
func TestChangedDataTypesAreCaught(t *testing.T) {
	srv := bayeuxtest.NewServer(bayeuxtest.WithTimeout(2*time.Second), bayeuxtest.WithMisbehaviour(bayeuxtest.Misbehaviour{
		Rewrite: func(msgs []bayeux.Message) []bayeux.Message {
			for i := range msgs {
				m := &msgs[i]
				if m.HasSuccessful() || m.Data == nil {
					continue
				}
				d := json.NewDecoder(bytes.NewReader(m.Data))
				d.UseNumber()
				var v any
				if d.Decode(&v) == nil {
					m.Data, _ = json.Marshal(stringify(v))
				}
			}
			return msgs
		}}))
	defer srv.Close()
	rep, err := conformance.Run(context.Background(), srv.URL, conformance.WithCases("fields.", "publish."), conformance.WithMaxWait(3*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	var failed []string
	for _, r := range rep.Results {
		if r.Status == conformance.Fail && r.Level == conformance.Must {
			failed = append(failed, r.ID)
		}
	}
	if len(failed) == 0 {
		t.Fatal("no MUST case caught a server that delivers numbers as strings")
	}
	t.Logf("caught by %v", failed)
}

// A server that dies on a malformed POST (Ruby Faye under thin dies on
// [1,2]) is reported dead, with the case after which it stopped
// answering; the cases that could not run are not run, not failures, and
// the verdict is the same on three runs in a row.
func TestServerThatDiesIsReportedDead(t *testing.T) {
	var first map[string]conformance.Status
	for run := range 3 {
		srv := bayeuxtest.NewServer(bayeuxtest.WithTimeout(2 * time.Second))
		var front *httptest.Server
		var once sync.Once
		var dead atomic.Bool
		front = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if dead.Load() {
				// A request on a connection still open when the process
				// died: no answer either.
				if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
					conn.Close()
				}
				return
			}
			if r.Method == http.MethodPost {
				body, _ := io.ReadAll(r.Body)
				if strings.TrimSpace(string(body)) == "[1,2]" {
					// The process dies: this request gets no answer, and
					// nothing is listening any more.
					dead.Store(true)
					if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
						conn.Close()
					}
					once.Do(func() { front.Listener.Close(); go front.CloseClientConnections() })
					return
				}
				r.Body = io.NopCloser(bytes.NewReader(body))
			}
			srv.Handler().ServeHTTP(w, r)
		}))
		rep, err := conformance.Run(context.Background(), front.URL+"/bayeux",
			conformance.WithTransports(conformance.LongPolling), conformance.WithMaxWait(2*time.Second),
			conformance.WithCases("handshake.", "Robustness"))
		front.Close()
		srv.Close()
		if err != nil {
			t.Fatal(err)
		}
		if rep.DiedAfter != "robust.not-messages" {
			t.Fatalf("run %d: died after %q, want robust.not-messages", run, rep.DiedAfter)
		}
		if rep.Secure() {
			t.Errorf("run %d: a server that died is reported secure", run)
		}
		for _, r := range rep.Results {
			if r.Status == conformance.Fail && r.Level == conformance.Must {
				t.Errorf("run %d: %s failed after the server died: %s", run, r.ID, r.Seen)
			}
		}
		// The hostile cases run one at a time in catalogue order: those
		// before the killing one ran, every one after it is not run.
		after := false
		verdict := map[string]conformance.Status{}
		for _, r := range rep.Results {
			verdict[r.Name()] = r.Status
			if r.Section != "Robustness" {
				continue
			}
			notRun := r.Status == conformance.Skip && strings.HasPrefix(r.Seen, "not run: the server stopped answering after robust.not-messages")
			if notRun != after {
				t.Errorf("run %d: %s (%s, after robust.not-messages: %t) %s: %s", run, r.Name(), r.Status, after, map[bool]string{true: "was not run", false: "ran"}[notRun], r.Seen)
			}
			if r.ID == "robust.not-messages" {
				after = true
			}
		}
		if !after {
			t.Fatalf("run %d: robust.not-messages is not in the report", run)
		}
		if first == nil {
			first = verdict
		} else if diff := cmp.Diff(first, verdict); diff != "" {
			t.Errorf("run %d: the verdict differs from run 0 (-run 0 +run %d):\n%s", run, run, diff)
		}
	}
}

// The text report names each section once, even when the catalogue puts
// a section's cases in two places (as the long-polling and
// callback-polling sections are).
func TestTextReportSectionsOnce(t *testing.T) {
	rep := &conformance.Report{URL: "http://x/bayeux", Results: []conformance.Result{
		{ID: "a.1", Section: "Transport: long-polling", Level: conformance.Must, Status: conformance.Pass},
		{ID: "b.1", Section: "Handshake", Level: conformance.Must, Status: conformance.Pass},
		{ID: "a.2", Section: "Transport: long-polling", Level: conformance.Must, Status: conformance.Pass},
	}}
	var b strings.Builder
	if err := rep.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if n := strings.Count(out, "\nTransport: long-polling\n"); n != 1 {
		t.Errorf("the long-polling section printed %d times:\n%s", n, out)
	}
	if strings.Index(out, "a.2") > strings.Index(out, "b.1") {
		t.Errorf("a.2 printed outside its section:\n%s", out)
	}
}

// dropSupersededConnect passes requests to h, but when a second lone
// /meta/connect of a session arrives while the first is held, it closes
// the first one's connection without an answer, as Ruby Faye under puma
// does (it forgets the held connect, and its socket is closed when Ruby
// collects it).
func dropSupersededConnect(h http.Handler) http.Handler {
	var mu sync.Mutex
	held := map[string]chan struct{}{}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		var msgs []struct{ Channel, ClientID string }
		if r.Method != http.MethodPost || json.Unmarshal(body, &msgs) != nil || len(msgs) != 1 || msgs[0].Channel != "/meta/connect" {
			h.ServeHTTP(w, r)
			return
		}
		dropped := make(chan struct{})
		mu.Lock()
		if prev := held[msgs[0].ClientID]; prev != nil {
			close(prev)
		}
		held[msgs[0].ClientID] = dropped
		mu.Unlock()
		rec := httptest.NewRecorder()
		done := make(chan struct{})
		go func() { defer close(done); h.ServeHTTP(rec, r) }()
		select {
		case <-done:
			mu.Lock()
			if held[msgs[0].ClientID] == dropped {
				delete(held, msgs[0].ClientID)
			}
			mu.Unlock()
			for k, vs := range rec.Header() {
				w.Header()[k] = vs
			}
			w.WriteHeader(rec.Code)
			_, _ = w.Write(rec.Body.Bytes())
		case <-dropped:
			if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
				conn.Close()
			}
			<-done
		}
	})
}

// A held /meta/connect whose connection the server closes without an
// answer is reported as such: the suite never sends it again (a resent
// connect is a new connect the server answers, which would hide the
// dropped one), whether or not its connection was a reused one.
func TestDroppedHeldConnectIsNotResent(t *testing.T) {
	srv := bayeuxtest.NewServer(bayeuxtest.WithTimeout(2 * time.Second))
	defer srv.Close()
	front := httptest.NewServer(dropSupersededConnect(srv.Handler()))
	defer front.Close()
	for run := range 3 {
		rep, err := conformance.Run(context.Background(), front.URL+"/bayeux", conformance.WithTransports(conformance.LongPolling),
			conformance.WithCases("connect.superseded-reply", "connect.one-outstanding"), conformance.WithMaxWait(3*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		for id, want := range map[string]conformance.Status{"connect.superseded-reply": conformance.Fail, "connect.one-outstanding": conformance.Warn} {
			r, ok := rep.Result(id)
			if !ok || r.Status != want || !strings.Contains(r.Seen, "the first connect ended without an answer") || strings.Contains(r.Seen, "sent again") {
				t.Errorf("run %d: %s %s, want %s (the first connect ended without an answer, not sent again): %s", run, id, r.Status, want, r.Seen)
			}
		}
	}
}
