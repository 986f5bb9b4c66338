package bayeux_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/bayeux-go/sdk/bayeux"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// messageCmp compares messages by their exported fields, advice by value and
// presence (adviceCmp), and an empty Data like a nil one.
var messageCmp = cmp.Options{
	cmpopts.IgnoreUnexported(bayeux.Message{}),
	adviceCmp,
	cmpopts.EquateEmpty(),
}

// encodeOne encodes m alone, as json.Marshal does.
func encodeOne(t *testing.T, m bayeux.Message) string {
	t.Helper()
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatalf("json.Marshal(%+v) = %v", m, err)
	}
	b2, err := bayeux.AppendMessage(nil, &m)
	if err != nil {
		t.Fatalf("AppendMessage(%+v) = %v", m, err)
	}
	if string(b) != string(b2) {
		t.Fatalf("json.Marshal = %s but AppendMessage = %s", b, b2)
	}
	return string(b)
}

// decodeOne decodes a single message object both through DecodeMessages and
// json.Unmarshal, and checks they agree.
func decodeOne(t *testing.T, s string) bayeux.Message {
	t.Helper()
	msgs, err := bayeux.DecodeMessages([]byte("[" + s + "]"))
	if err != nil {
		t.Fatalf("DecodeMessages([%s]) = %v", s, err)
	}
	if len(msgs) != 1 {
		t.Fatalf("DecodeMessages([%s]) returned %d messages", s, len(msgs))
	}
	var m bayeux.Message
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatalf("json.Unmarshal(%s) = %v", s, err)
	}
	if diff := cmp.Diff(msgs[0], m, messageCmp); diff != "" {
		t.Fatalf("DecodeMessages and json.Unmarshal disagree on %s (-DecodeMessages +Unmarshal):\n%s", s, diff)
	}
	if msgs[0].HasSuccessful() != m.HasSuccessful() || msgs[0].SubscriptionIsArray() != m.SubscriptionIsArray() {
		t.Fatalf("DecodeMessages and json.Unmarshal disagree on the form of %s", s)
	}
	return m
}

func TestMessageSuccessful(t *testing.T) {
	// A request carries no "successful".
	req := bayeux.Message{Channel: bayeux.MetaConnect, ClientID: "c1", ConnectionType: "long-polling"}
	if got, want := encodeOne(t, req), `{"channel":"/meta/connect","clientId":"c1","connectionType":"long-polling"}`; got != want {
		t.Fatalf("request = %s, want %s", got, want)
	}
	if req.HasSuccessful() {
		t.Fatal("request HasSuccessful")
	}

	// A failed reply says so (gobayeux's omitempty dropped it).
	reply := bayeux.Message{Channel: bayeux.MetaConnect, Error: "402::Unknown client"}
	reply.SetSuccessful(false)
	if got, want := encodeOne(t, reply), `{"channel":"/meta/connect","successful":false,"error":"402::Unknown client"}`; got != want {
		t.Fatalf("failed reply = %s, want %s", got, want)
	}
	ok := bayeux.Message{Channel: "/foo", Successful: true}
	if got, want := encodeOne(t, ok), `{"channel":"/foo","successful":true}`; got != want {
		t.Fatalf("successful reply = %s, want %s", got, want)
	}

	// Decoding keeps the difference between false and absent.
	tests := []struct {
		in              string
		has, successful bool
	}{
		{`{"channel":"/meta/connect","successful":false}`, true, false},
		{`{"channel":"/meta/connect","successful":true}`, true, true},
		{`{"channel":"/meta/connect"}`, false, false},
	}
	for _, tt := range tests {
		m := decodeOne(t, tt.in)
		if m.HasSuccessful() != tt.has || m.Successful != tt.successful {
			t.Errorf("%s: HasSuccessful %v Successful %v, want %v %v", tt.in, m.HasSuccessful(), m.Successful, tt.has, tt.successful)
		}
		if got := encodeOne(t, m); got != tt.in {
			t.Errorf("re-encoded %s as %s", tt.in, got)
		}
	}
}

func TestMessageSubscriptionForms(t *testing.T) {
	one := bayeux.Message{Channel: bayeux.MetaSubscribe, ClientID: "c", Subscription: []bayeux.Channel{"/foo/*"}}
	if got, want := encodeOne(t, one), `{"channel":"/meta/subscribe","clientId":"c","subscription":"/foo/*"}`; got != want {
		t.Fatalf("one channel = %s, want %s", got, want)
	}
	if one.SubscriptionIsArray() {
		t.Fatal("new message SubscriptionIsArray")
	}
	one.SetSubscriptionArray(true)
	if got, want := encodeOne(t, one), `{"channel":"/meta/subscribe","clientId":"c","subscription":["/foo/*"]}`; got != want {
		t.Fatalf("one channel forced array = %s, want %s", got, want)
	}
	two := bayeux.Message{Channel: bayeux.MetaSubscribe, ClientID: "c", Subscription: []bayeux.Channel{"/a", "/b"}}
	if got, want := encodeOne(t, two), `{"channel":"/meta/subscribe","clientId":"c","subscription":["/a","/b"]}`; got != want {
		t.Fatalf("two channels = %s, want %s", got, want)
	}

	tests := []struct {
		in    string
		want  []bayeux.Channel
		array bool
	}{
		{`{"channel":"/meta/subscribe","subscription":"/foo/**"}`, []bayeux.Channel{"/foo/**"}, false},
		{`{"channel":"/meta/subscribe","subscription":["/foo/**"]}`, []bayeux.Channel{"/foo/**"}, true},
		{`{"channel":"/meta/subscribe","subscription":["/a","/b","/c"]}`, []bayeux.Channel{"/a", "/b", "/c"}, true},
		{`{"channel":"/meta/subscribe","subscription":null}`, nil, false},
	}
	for _, tt := range tests {
		m := decodeOne(t, tt.in)
		if diff := cmp.Diff(tt.want, m.Subscription); diff != "" {
			t.Errorf("%s: Subscription mismatch (-want +got):\n%s", tt.in, diff)
		}
		if m.SubscriptionIsArray() != tt.array {
			t.Errorf("%s: SubscriptionIsArray = %v, want %v", tt.in, m.SubscriptionIsArray(), tt.array)
		}
		// A reply echoes the form of the request.
		if tt.want != nil {
			if got := encodeOne(t, m); got != tt.in {
				t.Errorf("re-encoded %s as %s", tt.in, got)
			}
		}
	}

	for _, bad := range []string{
		`[{"channel":"/meta/subscribe","subscription":5}]`,
		`[{"channel":"/meta/subscribe","subscription":{"a":1}}]`,
		`[{"channel":"/meta/subscribe","subscription":[1]}]`,
		`[{"channel":"/meta/subscribe","subscription":true}]`,
	} {
		if _, err := bayeux.DecodeMessages([]byte(bad)); !errors.Is(err, bayeux.ErrMalformed) {
			t.Errorf("DecodeMessages(%s) = %v, want ErrMalformed", bad, err)
		}
	}
}

func TestParseErrorString(t *testing.T) {
	valid := []struct {
		in   string
		want bayeux.MessageError
	}{
		// The specification's examples.
		{"401::No client ID", bayeux.MessageError{ErrorCode: 401, ErrorMessage: "No client ID"}},
		{"402:xj3sjdsjdsjad:Unknown Client ID", bayeux.MessageError{ErrorCode: 402, ErrorArgs: []string{"xj3sjdsjdsjad"}, ErrorMessage: "Unknown Client ID"}},
		{"403:xj3sjdsjdsjad,/foo/bar:Subscription denied", bayeux.MessageError{ErrorCode: 403, ErrorArgs: []string{"xj3sjdsjdsjad", "/foo/bar"}, ErrorMessage: "Subscription denied"}},
		{"404:/foo/bar:Unknown Channel", bayeux.MessageError{ErrorCode: 404, ErrorArgs: []string{"/foo/bar"}, ErrorMessage: "Unknown Channel"}},
		// Faye and CometD strings.
		{"403::Unknown client", bayeux.MessageError{ErrorCode: 403, ErrorMessage: "Unknown client"}},
		{"405:c[websocket],s[long-polling]:no_transport", bayeux.MessageError{ErrorCode: 405, ErrorArgs: []string{"c[websocket]", "s[long-polling]"}, ErrorMessage: "no_transport"}},
		// Colons in the message belong to the message.
		{"500::Internal: error: x", bayeux.MessageError{ErrorCode: 500, ErrorMessage: "Internal: error: x"}},
		{"401:a:b:c", bayeux.MessageError{ErrorCode: 401, ErrorArgs: []string{"a"}, ErrorMessage: "b:c"}},
		// Empty message and empty arguments.
		{"999::", bayeux.MessageError{ErrorCode: 999}},
		{"401:a,,b:", bayeux.MessageError{ErrorCode: 401, ErrorArgs: []string{"a", "", "b"}}},
	}
	for _, tt := range valid {
		got, err := bayeux.ParseErrorString(tt.in)
		if err != nil {
			t.Errorf("ParseErrorString(%q) = %v", tt.in, err)
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("ParseErrorString(%q) mismatch (-want +got):\n%s", tt.in, diff)
		}
		if s := got.String(); s != tt.in {
			t.Errorf("MessageError.String() = %q, want %q", s, tt.in)
		}
		m := bayeux.Message{Channel: "/meta/subscribe", Error: tt.in}
		if viaMsg, err := m.ParseError(); err != nil || !cmp.Equal(viaMsg, got) {
			t.Errorf("Message.ParseError() = %+v, %v; want %+v", viaMsg, err, got)
		}
	}

	malformed := []string{
		"",
		"Unknown client",
		"401",
		"401:",
		"401:args without message",
		"40::x",
		"4011::x",
		"abc::x",
		"4O1::x",
		"-01::x",
		" 401::x",
		"+01::x",
		":401::x",
		"::",
		"\xff\xfe\xfd::x",
	}
	for _, in := range malformed {
		got, err := bayeux.ParseErrorString(in)
		if !errors.Is(err, bayeux.ErrMalformed) {
			t.Errorf("ParseErrorString(%q) = %+v, %v; want ErrMalformed", in, got, err)
			continue
		}
		var de *bayeux.DecodeError
		if !errors.As(err, &de) {
			t.Errorf("ParseErrorString(%q) error %T, want *DecodeError", in, err)
		}
		if !cmp.Equal(got, bayeux.MessageError{}) {
			t.Errorf("ParseErrorString(%q) returned %+v with its error", in, got)
		}
	}
}

func FuzzParseErrorString(f *testing.F) {
	for _, s := range []string{
		"401::No client ID", "402:xj3sjdsjdsjad:Unknown Client ID",
		"403:xj3sjdsjdsjad,/foo/bar:Subscription denied", "404:/foo/bar:Unknown Channel",
		"", "401", "401:", "40::x", "abc::x", "999:a,,b:", "500::a:b:c", "\xff::x",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		me, err := bayeux.ParseErrorString(s)
		if err != nil {
			if !errors.Is(err, bayeux.ErrMalformed) {
				t.Fatalf("ParseErrorString(%q) = %v, not ErrMalformed", s, err)
			}
			return
		}
		if me.ErrorCode < 0 || me.ErrorCode > 999 {
			t.Fatalf("ParseErrorString(%q) code %d", s, me.ErrorCode)
		}
		for _, a := range me.ErrorArgs {
			if strings.ContainsAny(a, ":,") {
				t.Fatalf("ParseErrorString(%q) arg %q holds a separator", s, a)
			}
		}
		if len(s) < 5 || s[3] != ':' {
			t.Fatalf("ParseErrorString(%q) accepted a string without code and ':'", s)
		}
		if !strings.HasSuffix(s, ":"+me.ErrorMessage) {
			t.Fatalf("ParseErrorString(%q) message %q is not the tail", s, me.ErrorMessage)
		}
		// String gives the input back when the code has three digits
		// without leading zeros (see the report on MessageError.String for
		// codes below 100).
		if me.ErrorCode >= 100 {
			if got := me.String(); got != s {
				t.Fatalf("String() = %q, want %q", got, s)
			}
		}
	})
}

func TestMessageGetExt(t *testing.T) {
	var m bayeux.Message
	if ext := m.GetExt(false); ext != nil {
		t.Fatalf("GetExt(false) on a new message = %v, want nil", ext)
	}
	if m.Ext != nil {
		t.Fatal("GetExt(false) created the map")
	}
	ext := m.GetExt(true)
	if ext == nil || m.Ext == nil {
		t.Fatal("GetExt(true) did not create the map")
	}
	ext["ack"] = true
	if got := m.GetExt(false); got["ack"] != true {
		t.Fatalf("GetExt(false) = %v, want the map created before", got)
	}
	if got := m.GetExt(true); len(got) != 1 {
		t.Fatalf("GetExt(true) replaced an existing map: %v", got)
	}
	if got, want := encodeOne(t, bayeux.Message{Channel: "/a", Ext: ext}), `{"channel":"/a","ext":{"ack":true}}`; got != want {
		t.Fatalf("ext encodes as %s, want %s", got, want)
	}
	// An empty Ext is omitted.
	if got, want := encodeOne(t, bayeux.Message{Channel: "/a", Ext: map[string]any{}}), `{"channel":"/a"}`; got != want {
		t.Fatalf("empty ext encodes as %s, want %s", got, want)
	}
}

func TestMessageIsReplyIsMeta(t *testing.T) {
	tests := []struct {
		in           string
		reply, isMet bool
	}{
		{`{"channel":"/meta/connect","successful":true}`, true, true},
		{`{"channel":"/meta/handshake","successful":false,"error":"403::denied"}`, true, true},
		{`{"channel":"/meta/subscribe"}`, true, true},
		{`{"channel":"/foo/bar","successful":true,"id":"7"}`, true, false}, // publish ack
		{`{"channel":"/foo/bar","successful":false,"id":"7","error":"403::denied"}`, true, false},
		{`{"channel":"/foo/bar","data":{"x":1}}`, false, false}, // event
		{`{"channel":"/foo/bar","data":{"x":1},"successful":true}`, false, false},
		{`{"channel":"/service/echo","data":"hi","id":"3"}`, false, false},
		{`{"channel":"/foo/bar"}`, false, false},
		{`{"channel":"/metadata"}`, false, false},
	}
	for _, tt := range tests {
		m := decodeOne(t, tt.in)
		if m.IsReply() != tt.reply || m.IsMeta() != tt.isMet {
			t.Errorf("%s: IsReply %v IsMeta %v, want %v %v", tt.in, m.IsReply(), m.IsMeta(), tt.reply, tt.isMet)
		}
	}
}

func TestMessageDecodeData(t *testing.T) {
	m := decodeOne(t, `{"channel":"/chat","data":{"user":"ann","text":"hi","n":3}}`)
	var v struct {
		User, Text string
		N          int
	}
	if err := m.Decode(&v); err != nil {
		t.Fatal(err)
	}
	if v.User != "ann" || v.Text != "hi" || v.N != 3 {
		t.Fatalf("Decode = %+v", v)
	}
	empty := decodeOne(t, `{"channel":"/chat","data":null}`)
	if err := empty.Decode(&v); !errors.Is(err, bayeux.ErrMalformed) {
		t.Fatalf("Decode without data = %v, want ErrMalformed", err)
	}
}

func TestMessageRoundTrip(t *testing.T) {
	adv := &bayeux.Advice{Reconnect: "retry", Interval: 0, Hosts: []string{"h"}}
	adv.SetTimeout(0)
	adv.SetInterval(0)
	full := bayeux.Message{
		Advice:                   adv,
		ID:                       "42",
		Channel:                  "/foo/bar",
		ClientID:                 "c1",
		Data:                     json.RawMessage(`{"a":[1,2,{"b":null}],"s":"x\u003c"}`),
		Version:                  "1.0",
		MinimumVersion:           "0.9",
		SupportedConnectionTypes: []string{"websocket", "long-polling"},
		ConnectionType:           "websocket",
		Timestamp:                "2024-01-02T03:04:05.06",
		Successful:               true,
		AuthSuccessful:           true,
		Subscription:             []bayeux.Channel{"/a", "/b/**"},
		Error:                    "403:a,b:no",
		Ext:                      map[string]any{"ack": true, "n": 1.5, "nested": map[string]any{"k": "v"}, "list": []any{"x", 2.0}},
	}
	wire := encodeOne(t, full)
	const want = `{"advice":{"reconnect":"retry","timeout":0,"interval":0,"hosts":["h"]},"id":"42","channel":"/foo/bar","clientId":"c1",` +
		`"data":{"a":[1,2,{"b":null}],"s":"x\u003c"},"version":"1.0","minimumVersion":"0.9","supportedConnectionTypes":["websocket","long-polling"],` +
		`"connectionType":"websocket","timestamp":"2024-01-02T03:04:05.06","successful":true,"authSuccessful":true,"subscription":["/a","/b/**"],` +
		`"error":"403:a,b:no","ext":{"ack":true,"list":["x",2],"n":1.5,"nested":{"k":"v"}}}`
	if wire != want {
		t.Fatalf("encoded\n%s\nwant\n%s", wire, want)
	}
	back := decodeOne(t, wire)
	if diff := cmp.Diff(full, back, messageCmp); diff != "" {
		t.Fatalf("round trip mismatch (-want +got):\n%s", diff)
	}
	if got := encodeOne(t, back); got != wire {
		t.Fatalf("second encoding differs:\n%s\n%s", got, wire)
	}

	// Several messages, and the single-object form the spec allows.
	msgs := []bayeux.Message{{Channel: "/a", Data: json.RawMessage(`1`)}, {Channel: "/b", Data: json.RawMessage(`"x"`)}}
	b, err := bayeux.EncodeMessages(msgs)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != `[{"channel":"/a","data":1},{"channel":"/b","data":"x"}]` {
		t.Fatalf("EncodeMessages = %s", b)
	}
	got, err := bayeux.DecodeMessages(b)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(msgs, got, messageCmp); diff != "" {
		t.Fatalf("array round trip mismatch (-want +got):\n%s", diff)
	}
	single, err := bayeux.DecodeMessages([]byte(` {"channel":"/a","data":1} `))
	if err != nil || len(single) != 1 || single[0].Channel != "/a" {
		t.Fatalf("single object: %v, %v", single, err)
	}
	empty, err := bayeux.EncodeMessages(nil)
	if err != nil || string(empty) != "[]" {
		t.Fatalf("EncodeMessages(nil) = %s, %v", empty, err)
	}

	// A numeric id keeps its text.
	if m := decodeOne(t, `{"channel":"/a","id":17}`); m.ID != "17" {
		t.Fatalf("numeric id decoded as %q", m.ID)
	}
}

func TestMessageEncodeInvalidData(t *testing.T) {
	for _, data := range []string{`{bad`, `[1,`, `nul`, `"unterminated`, `1 2`} {
		m := bayeux.Message{Channel: "/a", Data: json.RawMessage(data)}
		_, err := bayeux.EncodeMessages([]bayeux.Message{m})
		var ee *bayeux.EncodeError
		if !errors.As(err, &ee) || ee.Field != "data" {
			t.Errorf("EncodeMessages with data %q = %v, want *EncodeError for data", data, err)
		}
		if _, err := json.Marshal(m); err == nil {
			t.Errorf("json.Marshal with data %q succeeded", data)
		}
	}
	m := bayeux.Message{Channel: "/a", Ext: map[string]any{"f": func() {}}}
	var ee *bayeux.EncodeError
	if _, err := bayeux.EncodeMessages([]bayeux.Message{m}); !errors.As(err, &ee) || ee.Field != "ext" {
		t.Errorf("EncodeMessages with unencodable ext = %v, want *EncodeError for ext", err)
	}
}

func TestMessageDecodeMalformed(t *testing.T) {
	for _, bad := range []string{
		``, ` `, `null`, `42`, `"x"`, `[`, `[{]`, `{"channel":}`, `[{"data":1}]`, `[1]`, `[{"channel":5}]`,
		`[{"channel":"/a","successful":"yes"}]`, `[{"channel":"/a","ext":[1]}]`, `[{"channel":"/a"}]x`,
		`[{"channel":"/a","data":{"x":1}`, `[{"channel":"/a","clientId":1}]`,
	} {
		msgs, err := bayeux.DecodeMessages([]byte(bad))
		if !errors.Is(err, bayeux.ErrMalformed) {
			t.Errorf("DecodeMessages(%q) = %v, %v; want ErrMalformed", bad, msgs, err)
		}
	}
}

// TestMessageStringEscaping checks that string fields are escaped exactly as
// encoding/json escapes them: <, > and & as \u escapes (safe inside a JSONP
// script), U+2028 and U+2029 escaped, invalid UTF-8 replaced by U+FFFD.
func TestMessageStringEscaping(t *testing.T) {
	tests := []struct {
		in, wire string
	}{
		{`a<b>&c`, `"a\u003cb\u003e\u0026c"`},
		{"line\u2028sep\u2029", `"line\u2028sep\u2029"`},
		{"quote\" back\\ nl\n cr\r tab\t", `"quote\" back\\ nl\n cr\r tab\t"`},
		{"ctl\x00\x01\x1f\x7f", `"ctl\u0000\u0001\u001f` + "\x7f" + `"`},
		{"bad\xffutf8\xc3", `"bad\ufffdutf8\ufffd"`},
		{"ünïcödé 日本 😀", `"ünïcödé 日本 😀"`},
		{"</script>", `"\u003c/script\u003e"`},
	}
	for _, tt := range tests {
		m := bayeux.Message{Channel: "/a", ID: tt.in, ClientID: tt.in, Error: tt.in, Timestamp: tt.in}
		got := encodeOne(t, m)
		want := `{"id":` + tt.wire + `,"channel":"/a","clientId":` + tt.wire + `,"timestamp":` + tt.wire + `,"error":` + tt.wire + `}`
		if got != want {
			t.Errorf("encoding %q:\n got %s\nwant %s", tt.in, got, want)
		}
		ref, err := json.Marshal(tt.in)
		if err != nil {
			t.Fatal(err)
		}
		if string(ref) != tt.wire {
			t.Errorf("test table disagrees with encoding/json for %q: %s", tt.in, ref)
		}
		back := decodeOne(t, got)
		wantBack := strings.ToValidUTF8(tt.in, "")
		if tt.in != wantBack { // each invalid byte became one U+FFFD
			var s string
			if err := json.Unmarshal(ref, &s); err != nil {
				t.Fatal(err)
			}
			wantBack = s
		}
		if back.ID != wantBack || back.ClientID != wantBack || back.Error != wantBack || back.Timestamp != wantBack {
			t.Errorf("decoded %q back as %q", tt.in, back.ID)
		}
	}
	// Channels, connection types, versions and subscriptions are escaped
	// the same way.
	m := bayeux.Message{Channel: "/a<b", ConnectionType: "x&y", Version: "1>", SupportedConnectionTypes: []string{"<"}, Subscription: []bayeux.Channel{"/&"}}
	const want = `{"channel":"/a\u003cb","version":"1\u003e","supportedConnectionTypes":["\u003c"],"connectionType":"x\u0026y","subscription":"/\u0026"}`
	if got := encodeOne(t, m); got != want {
		t.Errorf("got %s\nwant %s", got, want)
	}
}

// FuzzMessageStrings checks the encoder on arbitrary string fields: the
// output is valid JSON without a raw <, >, &, U+2028 or U+2029, it decodes
// (with encoding/json and with DecodeMessages) to what encoding/json's own
// encoding of the strings decodes to, and the decoders agree.
func FuzzMessageStrings(f *testing.F) {
	f.Add("/foo/bar", "id1", "client", "402::Unknown client")
	f.Add("/a", "<>&", "\u2028\u2029", "\xff\xfe")
	f.Add("", "\x00\x1f\"\\", "😀", "a\u0000b\b\f")
	f.Fuzz(func(t *testing.T, channel, id, clientID, errStr string) {
		m := bayeux.Message{Channel: bayeux.Channel(channel), ID: id, ClientID: clientID, Error: errStr}
		got, err := bayeux.AppendMessage(nil, &m)
		if err != nil {
			t.Fatalf("AppendMessage = %v", err)
		}
		if !json.Valid(got) {
			t.Fatalf("AppendMessage produced invalid JSON %q", got)
		}
		if strings.ContainsAny(string(got), "<>&\u2028\u2029") {
			t.Fatalf("AppendMessage left a character unescaped: %q", got)
		}
		type fields struct {
			ID       string `json:"id"`
			Channel  string `json:"channel"`
			ClientID string `json:"clientId"`
			Error    string `json:"error"`
		}
		// What encoding/json makes of the same strings.
		refWire, err := json.Marshal(fields{id, channel, clientID, errStr})
		if err != nil {
			t.Fatal(err)
		}
		var want, ours fields
		if err := json.Unmarshal(refWire, &want); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(got, &ours); err != nil {
			t.Fatal(err)
		}
		if ours != want {
			t.Fatalf("encoding %q decodes to %+v, encoding/json's to %+v", got, ours, want)
		}
		msgs, err := bayeux.DecodeMessages(got)
		if err != nil {
			t.Fatalf("DecodeMessages(%s) = %v", got, err)
		}
		back := msgs[0]
		if back.ID != want.ID || string(back.Channel) != want.Channel || back.ClientID != want.ClientID || back.Error != want.Error {
			t.Fatalf("DecodeMessages gave %+v, want %+v", back, want)
		}
	})
}
