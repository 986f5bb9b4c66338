package bayeux_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/bayeux-go/sdk/bayeux"
	"github.com/google/go-cmp/cmp"
)

// failedReply decodes a server reply, as a client would receive it.
func failedReply(t *testing.T, s string) bayeux.Message {
	t.Helper()
	msgs, err := bayeux.DecodeMessages([]byte(s))
	if err != nil {
		t.Fatalf("DecodeMessages(%s) = %v", s, err)
	}
	return msgs[0]
}

var serverErrorKinds = []error{
	bayeux.ErrHandshakeDenied, bayeux.ErrConnectFailed, bayeux.ErrSubscriptionDenied,
	bayeux.ErrUnsubscribeFailed, bayeux.ErrPublishDenied, bayeux.ErrDisconnectFailed,
}

func TestServerErrorKinds(t *testing.T) {
	replies := map[error]string{
		bayeux.ErrHandshakeDenied:    `{"channel":"/meta/handshake","successful":false,"error":"403::Handshake denied","advice":{"reconnect":"none"}}`,
		bayeux.ErrConnectFailed:      `{"channel":"/meta/connect","successful":false,"error":"500::busy"}`,
		bayeux.ErrSubscriptionDenied: `{"channel":"/meta/subscribe","successful":false,"subscription":"/foo","error":"403:c1,/foo:Subscription denied"}`,
		bayeux.ErrUnsubscribeFailed:  `{"channel":"/meta/unsubscribe","successful":false,"subscription":["/a","/b"],"error":"404:/a:Unknown Channel"}`,
		bayeux.ErrPublishDenied:      `{"channel":"/foo/bar","id":"5","successful":false,"error":"403::Publish denied"}`,
		bayeux.ErrDisconnectFailed:   `{"channel":"/meta/disconnect","successful":false}`,
	}
	for _, kind := range serverErrorKinds {
		t.Run(kind.Error(), func(t *testing.T) {
			reply := failedReply(t, replies[kind])
			var err error = bayeux.NewServerError(kind, reply)
			for _, other := range serverErrorKinds {
				if got := errors.Is(err, other); got != (other == kind) {
					t.Errorf("errors.Is(err, %v) = %v", other, got)
				}
			}
			wrapped := fmt.Errorf("subscribing: %w", err)
			var se *bayeux.ServerError
			if !errors.As(wrapped, &se) || !errors.Is(wrapped, kind) {
				t.Fatalf("wrapped error lost its type or kind: %v", wrapped)
			}
			if se.Kind != kind || se.Channel != reply.Channel || se.Raw != reply.Error {
				t.Errorf("ServerError %+v does not reflect the reply", se)
			}
			if diff := cmp.Diff(reply, se.Reply, messageCmp); diff != "" {
				t.Errorf("Reply mismatch (-want +got):\n%s", diff)
			}
			if errors.Is(err, bayeux.ErrTransport) || errors.Is(err, bayeux.ErrMalformed) {
				t.Errorf("server error matches a transport or decode sentinel")
			}
			if !strings.HasPrefix(err.Error(), "bayeux: "+strings.TrimPrefix(kind.Error(), "bayeux: ")) {
				t.Errorf("Error() = %q does not start with the kind", err.Error())
			}
		})
	}
}

func TestServerErrorFields(t *testing.T) {
	reply := failedReply(t, `{"channel":"/meta/subscribe","successful":false,"subscription":["/foo","/bar"],`+
		`"error":"403:xj3sjdsjdsjad,/foo/bar:Subscription denied","advice":{"reconnect":"retry","interval":100}}`)
	se := bayeux.NewServerError(bayeux.ErrSubscriptionDenied, reply)
	if se.Code != 403 || se.Message != "Subscription denied" {
		t.Errorf("Code %d Message %q", se.Code, se.Message)
	}
	if diff := cmp.Diff([]string{"xj3sjdsjdsjad", "/foo/bar"}, se.Args); diff != "" {
		t.Errorf("Args mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]bayeux.Channel{"/foo", "/bar"}, se.Subscription); diff != "" {
		t.Errorf("Subscription mismatch (-want +got):\n%s", diff)
	}
	if se.Advice == nil || se.Advice.Interval != 100 {
		t.Errorf("Advice %+v", se.Advice)
	}
	const want = `bayeux: subscription denied on /meta/subscribe [/foo /bar]: "403:xj3sjdsjdsjad,/foo/bar:Subscription denied" (advice reconnect=retry)`
	if se.Error() != want {
		t.Errorf("Error() =\n%s\nwant\n%s", se.Error(), want)
	}

	// An error outside the grammar is kept raw, with code 0.
	odd := bayeux.NewServerError(bayeux.ErrPublishDenied, failedReply(t, `{"channel":"/x","successful":false,"error":"no permission"}`))
	if odd.Code != 0 || odd.Args != nil || odd.Message != "" || odd.Raw != "no permission" {
		t.Errorf("non-grammar error parsed as %+v", odd)
	}
	if got, want := odd.Error(), `bayeux: publish denied on /x: "no permission"`; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	// No kind.
	if got, want := (&bayeux.ServerError{}).Error(), "bayeux: request failed"; got != want {
		t.Errorf("zero ServerError text %q, want %q", got, want)
	}
}

func TestServerErrorUnknownClient(t *testing.T) {
	tests := []struct {
		name       string
		kind       error
		reply      string
		unknown    bool
		terminated bool
	}{
		{"connect with handshake advice", bayeux.ErrConnectFailed,
			`{"channel":"/meta/connect","successful":false,"error":"403::Unknown client","advice":{"reconnect":"handshake","interval":0}}`, true, false},
		{"Faye 401", bayeux.ErrConnectFailed,
			`{"channel":"/meta/connect","successful":false,"error":"401:abc:Unknown client"}`, true, false},
		{"CometD 402", bayeux.ErrSubscriptionDenied,
			`{"channel":"/meta/subscribe","successful":false,"subscription":"/a","error":"402::Unknown Session"}`, true, false},
		{"publish with 402", bayeux.ErrPublishDenied,
			`{"channel":"/a","successful":false,"error":"402::unknown session"}`, true, false},
		{"plain denial", bayeux.ErrSubscriptionDenied,
			`{"channel":"/meta/subscribe","successful":false,"subscription":"/a","error":"403::denied"}`, false, false},
		{"retry advice", bayeux.ErrConnectFailed,
			`{"channel":"/meta/connect","successful":false,"error":"500::overloaded","advice":{"reconnect":"retry"}}`, false, false},
		{"handshake reply with handshake advice is not a lost session", bayeux.ErrHandshakeDenied,
			`{"channel":"/meta/handshake","successful":false,"error":"402::x","advice":{"reconnect":"handshake"}}`, false, false},
		{"reconnect none", bayeux.ErrConnectFailed,
			`{"channel":"/meta/connect","successful":false,"error":"403::bye","advice":{"reconnect":"none"}}`, false, true},
		{"negative interval", bayeux.ErrConnectFailed,
			`{"channel":"/meta/connect","successful":false,"advice":{"interval":-1}}`, false, true},
		{"unknown client but none", bayeux.ErrConnectFailed,
			`{"channel":"/meta/connect","successful":false,"error":"402::session_unknown","advice":{"reconnect":"none"}}`, true, true},
		{"Faye 402 is a missing parameter, not a lost session", bayeux.ErrPublishDenied,
			`{"channel":"/a","successful":false,"error":"402:data:Missing required parameter"}`, false, false},
		{"handshake denied with none", bayeux.ErrHandshakeDenied,
			`{"channel":"/meta/handshake","successful":false,"error":"403::bad credentials","advice":{"reconnect":"none"}}`, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			se := bayeux.NewServerError(tt.kind, failedReply(t, tt.reply))
			if se.UnknownClient() != tt.unknown {
				t.Errorf("UnknownClient() = %v, want %v", se.UnknownClient(), tt.unknown)
			}
			err := fmt.Errorf("op: %w", se)
			if errors.Is(err, bayeux.ErrUnknownClient) != tt.unknown {
				t.Errorf("errors.Is(ErrUnknownClient) = %v, want %v", !tt.unknown, tt.unknown)
			}
			if errors.Is(err, bayeux.ErrSessionTerminated) != tt.terminated {
				t.Errorf("errors.Is(ErrSessionTerminated) = %v, want %v", !tt.terminated, tt.terminated)
			}
			if !errors.Is(err, tt.kind) {
				t.Errorf("lost its kind %v", tt.kind)
			}
			wantRetry := tt.unknown && !tt.terminated
			if bayeux.IsRetryable(err) != wantRetry {
				t.Errorf("IsRetryable = %v, want %v", !wantRetry, wantRetry)
			}
		})
	}
}

func TestTransportError(t *testing.T) {
	cause := &bayeux.DecodeError{Reason: "payload is neither a JSON array nor an object", Input: "<html>"}
	err := error(&bayeux.TransportError{ConnectionType: "long-polling", StatusCode: 200, Err: cause})
	if !errors.Is(err, bayeux.ErrTransport) || !errors.Is(err, bayeux.ErrMalformed) {
		t.Fatalf("TransportError with a DecodeError cause: Is(ErrTransport)=%v Is(ErrMalformed)=%v",
			errors.Is(err, bayeux.ErrTransport), errors.Is(err, bayeux.ErrMalformed))
	}
	var de *bayeux.DecodeError
	if !errors.As(err, &de) || de != cause {
		t.Fatal("errors.As did not find the cause")
	}
	want := `bayeux: long-polling transport failure: HTTP 200: bayeux: malformed message: payload is neither a JSON array nor an object in "<html>"`
	if err.Error() != want {
		t.Fatalf("Error() =\n%s\nwant\n%s", err.Error(), want)
	}

	refused := &bayeux.TransportError{ConnectionType: "websocket", StatusCode: 403, Refused: true}
	if got, want := refused.Error(), "bayeux: websocket transport failure: HTTP 403 (transport refused)"; got != want {
		t.Fatalf("Error() = %q, want %q", got, want)
	}
	if refused.Unwrap() != nil {
		t.Fatal("Unwrap without cause is not nil")
	}

	timeout := fmt.Errorf("connect: %w", &bayeux.TransportError{ConnectionType: "long-polling", Err: context.DeadlineExceeded})
	var te *bayeux.TransportError
	if !errors.As(timeout, &te) || !errors.Is(timeout, context.DeadlineExceeded) || !errors.Is(timeout, bayeux.ErrTransport) {
		t.Fatalf("wrapped transport timeout lost its identity: %v", timeout)
	}
	if errors.Is(timeout, bayeux.ErrUnknownClient) || errors.Is(timeout, bayeux.ErrConnectFailed) {
		t.Fatal("transport error matches a server error sentinel")
	}
	eof := &bayeux.TransportError{ConnectionType: "websocket", Err: io.ErrUnexpectedEOF}
	if got, want := eof.Error(), "bayeux: websocket transport failure: unexpected EOF"; got != want {
		t.Fatalf("Error() = %q, want %q", got, want)
	}
}

func TestDecodeAndEncodeErrors(t *testing.T) {
	de := &bayeux.DecodeError{Reason: "message has no channel", Input: `{"data":1}`}
	if !errors.Is(de, bayeux.ErrMalformed) || errors.Is(de, bayeux.ErrTransport) {
		t.Fatal("DecodeError does not match (only) ErrMalformed")
	}
	if got, want := de.Error(), `bayeux: malformed message: message has no channel in "{\"data\":1}"`; got != want {
		t.Fatalf("Error() = %q, want %q", got, want)
	}
	if got, want := (&bayeux.DecodeError{Reason: "empty payload"}).Error(), "bayeux: malformed message: empty payload"; got != want {
		t.Fatalf("Error() = %q, want %q", got, want)
	}
	// A real decode failure carries its type through errors.As.
	_, err := bayeux.DecodeMessages([]byte(`[{"data":1}]`))
	var got *bayeux.DecodeError
	if !errors.As(err, &got) {
		t.Fatalf("DecodeMessages error %T, want *DecodeError", err)
	}

	ee := &bayeux.EncodeError{Field: "data", Reason: "not valid JSON"}
	if got, want := ee.Error(), "bayeux: cannot encode message field data: not valid JSON"; got != want {
		t.Fatalf("Error() = %q, want %q", got, want)
	}
}

func TestInvalidChannelError(t *testing.T) {
	err := bayeux.Channel("/foo/*/bar").Validate()
	var ice *bayeux.InvalidChannelError
	if !errors.As(err, &ice) || !errors.Is(err, bayeux.ErrBadChannel) {
		t.Fatalf("Validate error %T %v", err, err)
	}
	if got, want := err.Error(), `bayeux: invalid channel "/foo/*/bar": wildcard allowed only as the last segment`; got != want {
		t.Fatalf("Error() = %q, want %q", got, want)
	}
	if errors.Is(err, bayeux.ErrMalformed) {
		t.Fatal("InvalidChannelError matches ErrMalformed")
	}
	wrapped := fmt.Errorf("subscribe: %w", err)
	if !errors.Is(wrapped, bayeux.ErrBadChannel) || bayeux.IsRetryable(wrapped) {
		t.Fatal("wrapped channel error: wrong identity or retryable")
	}
}

func TestDroppedMessageError(t *testing.T) {
	err := error(&bayeux.DroppedMessageError{Subscription: "/foo/*", Message: bayeux.Message{Channel: "/foo/bar"}})
	if !errors.Is(err, bayeux.ErrSlowConsumer) || bayeux.IsRetryable(err) {
		t.Fatal("DroppedMessageError: wrong identity or retryable")
	}
	if got, want := err.Error(), "bayeux: subscription /foo/* too slow, dropped message on /foo/bar"; got != want {
		t.Fatalf("Error() = %q, want %q", got, want)
	}
}

func TestIsRetryable(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"transport", &bayeux.TransportError{ConnectionType: "long-polling", StatusCode: 503}, true},
		{"wrapped transport", fmt.Errorf("x: %w", &bayeux.TransportError{Err: io.EOF}), true},
		{"no reply", bayeux.ErrNoReply, true},
		{"wrapped no reply", fmt.Errorf("publish: %w", bayeux.ErrNoReply), true},
		{"unknown client sentinel", bayeux.ErrUnknownClient, true},
		{"decode", &bayeux.DecodeError{Reason: "x"}, false},
		{"closed", bayeux.ErrClosed, false},
		{"terminated", bayeux.ErrSessionTerminated, false},
		{"bad state", bayeux.ErrBadState, false},
		{"canceled", context.Canceled, false},
		{"plain", errors.New("boom"), false},
		{"denied", bayeux.NewServerError(bayeux.ErrPublishDenied, bayeux.Message{Channel: "/a", Error: "403::no"}), false},
		{"terminated transport", errors.Join(&bayeux.TransportError{}, bayeux.ErrSessionTerminated), false},
	}
	for _, tt := range tests {
		if got := bayeux.IsRetryable(tt.err); got != tt.want {
			t.Errorf("%s: IsRetryable(%v) = %v, want %v", tt.name, tt.err, got, tt.want)
		}
	}
}

func TestSentinelsDistinct(t *testing.T) {
	sentinels := []error{
		bayeux.ErrClosed, bayeux.ErrNoTransport, bayeux.ErrNoCommonTransport, bayeux.ErrBadChannel,
		bayeux.ErrMalformed, bayeux.ErrTransport, bayeux.ErrTooLarge, bayeux.ErrNoReply,
		bayeux.ErrHandshakeDenied, bayeux.ErrConnectFailed, bayeux.ErrUnknownClient, bayeux.ErrSubscriptionDenied,
		bayeux.ErrUnsubscribeFailed, bayeux.ErrPublishDenied, bayeux.ErrDisconnectFailed, bayeux.ErrSessionTerminated,
		bayeux.ErrSlowConsumer, bayeux.ErrBadState, bayeux.ErrInvalidOption,
		bayeux.ErrInvalidVersion, bayeux.ErrInvalidConnectionType, bayeux.ErrMissingField, bayeux.ErrUnknownEvent,
	}
	texts := map[string]bool{}
	for i, a := range sentinels {
		if !strings.HasPrefix(a.Error(), "bayeux: ") {
			t.Errorf("sentinel %q lacks the bayeux: prefix", a)
		}
		if texts[a.Error()] {
			t.Errorf("duplicate sentinel text %q", a)
		}
		texts[a.Error()] = true
		for j, b := range sentinels {
			if i != j && errors.Is(a, b) {
				t.Errorf("errors.Is(%v, %v)", a, b)
			}
		}
	}
}

// An error wrapping another of the package names the operation and says
// "bayeux: " once.
func TestWrappedErrorsSayBayeuxOnce(t *testing.T) {
	c, err := bayeux.NewClient("http://127.0.0.1:1/bayeux", bayeux.WithTransports(failingInit{}))
	if c != nil || err == nil {
		t.Fatal("NewClient with a failing transport succeeded")
	}
	if n := strings.Count(err.Error(), "bayeux: "); n != 1 || !errors.Is(err, errInitFailed) {
		t.Errorf("%q: %d prefixes", err, n)
	}
}

var errInitFailed = errors.New("bayeux: cannot init")

type failingInit struct{}

func (failingInit) Name() string                      { return "long-polling" }
func (failingInit) Init(bayeux.TransportConfig) error { return errInitFailed }
func (failingInit) Close() error                      { return nil }
func (failingInit) RoundTrip(context.Context, string, []bayeux.Message) ([]bayeux.Message, error) {
	return nil, nil
}
