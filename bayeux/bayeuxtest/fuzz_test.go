package bayeuxtest_test

import (
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/bayeux-go/sdk/bayeux"
	"github.com/bayeux-go/sdk/bayeux/bayeuxtest"
)

var bodySeeds = []string{
	handshakeBody,
	`[]`, `{}`, `null`, `"x"`, `42`, `[null]`, `[{}]`, `[{"channel":5}]`,
	`{"channel":"/meta/handshake","version":"1.0","supportedConnectionTypes":["long-polling"]}`,
	`[{"channel":"/meta/connect","clientId":"__proto__","connectionType":"long-polling","advice":{"timeout":-1}}]`,
	`[{"channel":"/meta/subscribe","clientId":"x","subscription":["/a/*","/**",""]}]`,
	`[{"channel":"/meta/subscribe","clientId":"x","subscription":{"a":1}}]`,
	`[{"channel":"/foo","data":{"a":[1,2,{"b":null}]},"ext":{"k":"v"},"id":7}]`,
	`[{"channel":"/meta/handshake","advice":{"timeout":1e400}}]`,
	"[{\"channel\":\"/x\",\"data\":\"\u2028\"}]",
	`[{"channel":"/x","data":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `}]`,
}

func FuzzParseBody(f *testing.F) {
	for _, s := range bodySeeds {
		f.Add("application/json", []byte(s))
	}
	f.Add("application/x-www-form-urlencoded", []byte(url.Values{"message": {handshakeBody, `{"channel":"/x"}`}}.Encode()))
	f.Add("application/x-www-form-urlencoded", []byte("message=%zz"))
	f.Add("application/json; charset=latin1", []byte(handshakeBody))
	f.Add("text/plain;;;", []byte(handshakeBody))
	f.Add("", []byte(""))
	f.Fuzz(func(t *testing.T, contentType string, body []byte) {
		msgs, err := bayeuxtest.ParseBody(contentType, body)
		if err != nil {
			var re *bayeuxtest.RequestError
			if !errors.As(err, &re) || (re.Status != 400 && re.Status != 415) {
				t.Fatalf("unexpected error %T %v", err, err)
			}
			return
		}
		// Whatever parsed must encode again and decode to as many messages.
		out, err := bayeux.EncodeMessages(msgs)
		if err != nil {
			t.Fatalf("re-encoding %q: %v", body, err)
		}
		again, err := bayeux.DecodeMessages(out)
		if err != nil || len(again) != len(msgs) {
			t.Fatalf("round trip of %q: %v (%d vs %d)", body, err, len(again), len(msgs))
		}
	})
}

func FuzzParseCallbackQuery(f *testing.F) {
	for _, s := range bodySeeds {
		f.Add(url.Values{"message": {s}, "jsonp": {"cb"}}.Encode())
	}
	f.Add("message=%5B%5D")
	f.Add("jsonp=alert(1)&message=%5B%5D")
	f.Add("jsonp=a.b.$c_1&message=%7B%22channel%22%3A%22%2Fx%22%7D")
	f.Add("jsonp=&message=x")
	f.Add("message=%zz;jsonp=x")
	f.Add("jsonp=" + strings.Repeat("a", 70) + "&message=%5B%5D")
	f.Fuzz(func(t *testing.T, rawQuery string) {
		cb, msgs, err := bayeuxtest.ParseCallbackQuery(rawQuery, 1<<16)
		if err != nil {
			var re *bayeuxtest.RequestError
			if !errors.As(err, &re) || (re.Status != 400 && re.Status != 413) {
				t.Fatalf("unexpected error %T %v", err, err)
			}
			return
		}
		if !bayeuxtest.ValidCallback(cb) || strings.ContainsAny(cb, "()<>;\"' \n") {
			t.Fatalf("accepted callback %q", cb)
		}
		if _, err := bayeux.EncodeMessages(msgs); err != nil {
			t.Fatalf("re-encoding: %v", err)
		}
	})
}

// FuzzServer sends hostile bodies and queries to a running server: it must
// answer every request with a proper status, never hang or crash.
func FuzzServer(f *testing.F) {
	srv := bayeuxtest.NewServer(bayeuxtest.WithTimeout(5*time.Millisecond), bayeuxtest.WithMaxBodyBytes(1<<16))
	f.Cleanup(srv.Close)
	c := srv.Client()
	c.Timeout = 10 * time.Second
	for _, s := range bodySeeds {
		f.Add([]byte(s), false)
		f.Add([]byte(s), true)
	}
	f.Fuzz(func(t *testing.T, body []byte, get bool) {
		var resp *http.Response
		var err error
		if get {
			resp, err = c.Get(srv.URL + "?" + url.Values{"message": {string(body)}}.Encode())
		} else {
			resp, err = c.Post(srv.URL, "application/json", strings.NewReader(string(body)))
		}
		if err != nil {
			t.Fatalf("request failed: %v", err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		switch resp.StatusCode {
		case 200:
			if get {
				if !strings.HasPrefix(string(b), "/**/"+bayeuxtest.DefaultCallback+"(") {
					t.Fatalf("JSONP body %q", b)
				}
				return
			}
			if _, err := bayeux.DecodeMessages(b); err != nil {
				t.Fatalf("200 with undecodable body %q: %v", b, err)
			}
		case 400, 413, 415:
		default:
			t.Fatalf("status %d for %q", resp.StatusCode, body)
		}
	})
}
