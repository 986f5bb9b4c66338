package bayeux

import (
	"encoding/json"
	"errors"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"unsafe"

	"github.com/google/go-cmp/cmp"
)

func decodeOne(t *testing.T, body string) Message {
	t.Helper()
	msgs, err := decodeMessages([]byte(body))
	if err != nil {
		t.Fatalf("decode %s: %v", body, err)
	}
	if len(msgs) != 1 {
		t.Fatalf("decode %s: %d messages, want 1", body, len(msgs))
	}
	return msgs[0]
}

func adviceWith(a Advice, timeout, interval, maxInterval *int) *Advice {
	if timeout != nil {
		a.SetTimeout(*timeout)
	}
	if interval != nil {
		a.SetInterval(*interval)
	}
	if maxInterval != nil {
		a.SetMaxInterval(*maxInterval)
	}
	return &a
}

func intp(v int) *int { return &v }

func TestDecodeFields(t *testing.T) {
	successful := func(m Message, ok bool) Message { m.SetSuccessful(ok); return m }
	subArray := func(m Message) Message { m.SetSubscriptionArray(true); return m }
	tests := []struct {
		name string
		in   string
		want Message
	}{
		{"channel only", `{"channel":"/foo"}`, Message{Channel: "/foo"}},
		{"array of one", `[{"channel":"/foo"}]`, Message{Channel: "/foo"}},
		{"white space", " \r\n\t[ \n{ \"channel\" :\t\"/foo\" , \"id\" : \"1\" } \n] \t", Message{Channel: "/foo", ID: "1"}},
		{"id string", `{"channel":"/a","id":"42"}`, Message{Channel: "/a", ID: "42"}},
		{"id number", `{"channel":"/a","id":42}`, Message{Channel: "/a", ID: "42"}},
		{"id number text kept", `{"channel":"/a","id":-1.50e+3}`, Message{Channel: "/a", ID: "-1.50e+3"}},
		{"id null", `{"channel":"/a","id":null}`, Message{Channel: "/a"}},
		{"id null clears", `{"channel":"/a","id":"1","id":null}`, Message{Channel: "/a"}},
		{"id object text", `{"channel":"/a","id":{"x": [1, 2]}}`, Message{Channel: "/a", ID: `{"x": [1, 2]}`}},
		{"clientId", `{"channel":"/a","clientId":"abc"}`, Message{Channel: "/a", ClientID: "abc"}},
		{"clientId null keeps", `{"channel":"/a","clientId":"abc","clientId":null}`, Message{Channel: "/a", ClientID: "abc"}},
		{"data object", `{"channel":"/a","data":{"x":[1,{"y":null}],"z":"\"}"}}`, Message{Channel: "/a", Data: json.RawMessage(`{"x":[1,{"y":null}],"z":"\"}"}`)}},
		{"data string", `{"channel":"/a","data":"hi"}`, Message{Channel: "/a", Data: json.RawMessage(`"hi"`)}},
		{"data number", `{"channel":"/a","data":-0.5e-3}`, Message{Channel: "/a", Data: json.RawMessage(`-0.5e-3`)}},
		{"data array with spaces", `{"channel":"/a","data": [ 1 , true , false ] }`, Message{Channel: "/a", Data: json.RawMessage(`[ 1 , true , false ]`)}},
		{"data null is absent", `{"channel":"/a","data":null}`, Message{Channel: "/a"}},
		{"data last wins", `{"channel":"/a","data":1,"data":2}`, Message{Channel: "/a", Data: json.RawMessage(`2`)}},
		{"version", `{"channel":"/a","version":"1.0","minimumVersion":"0.9"}`, Message{Channel: "/a", Version: "1.0", MinimumVersion: "0.9"}},
		{"supportedConnectionTypes", `{"channel":"/a","supportedConnectionTypes":["long-polling","websocket"]}`,
			Message{Channel: "/a", SupportedConnectionTypes: []string{"long-polling", "websocket"}}},
		{"supportedConnectionTypes empty", `{"channel":"/a","supportedConnectionTypes":[]}`, Message{Channel: "/a", SupportedConnectionTypes: []string{}}},
		{"supportedConnectionTypes null element", `{"channel":"/a","supportedConnectionTypes":[null,"x"]}`,
			Message{Channel: "/a", SupportedConnectionTypes: []string{"", "x"}}},
		{"connectionType", `{"channel":"/a","connectionType":"long-polling"}`, Message{Channel: "/a", ConnectionType: "long-polling"}},
		{"timestamp", `{"channel":"/a","timestamp":"2026-11-26T10:00:00.00"}`, Message{Channel: "/a", Timestamp: "2026-11-26T10:00:00.00"}},
		{"successful true", `{"channel":"/a","successful":true}`, successful(Message{Channel: "/a"}, true)},
		{"successful false", `{"channel":"/a","successful":false}`, successful(Message{Channel: "/a"}, false)},
		{"successful null", `{"channel":"/a","successful":true,"successful":null}`, Message{Channel: "/a"}},
		{"authSuccessful", `{"channel":"/a","authSuccessful":true}`, Message{Channel: "/a", AuthSuccessful: true}},
		{"subscription string", `{"channel":"/meta/subscribe","subscription":"/foo"}`, Message{Channel: MetaSubscribe, Subscription: []Channel{"/foo"}}},
		{"subscription array", `{"channel":"/meta/subscribe","subscription":["/foo/*","/foo/**"]}`,
			subArray(Message{Channel: MetaSubscribe, Subscription: []Channel{"/foo/*", "/foo/**"}})},
		{"subscription empty array", `{"channel":"/meta/subscribe","subscription":[]}`, subArray(Message{Channel: MetaSubscribe, Subscription: []Channel{}})},
		{"subscription null", `{"channel":"/meta/subscribe","subscription":"/x","subscription":null}`, Message{Channel: MetaSubscribe}},
		{"subscription last wins", `{"channel":"/meta/subscribe","subscription":3,"subscription":"/y"}`, Message{Channel: MetaSubscribe, Subscription: []Channel{"/y"}}},
		{"error", `{"channel":"/a","error":"402:xj3sjdsjdsjad:Unknown Client ID"}`, Message{Channel: "/a", Error: "402:xj3sjdsjdsjad:Unknown Client ID"}},
		{"ext", `{"channel":"/a","ext":{"ack":2,"s":"x","o":{"n":null}}}`, Message{Channel: "/a", Ext: map[string]any{"ack": 2.0, "s": "x", "o": map[string]any{"n": nil}}}},
		{"ext merges duplicates", `{"channel":"/a","ext":{"a":1},"ext":{"b":2}}`, Message{Channel: "/a", Ext: map[string]any{"a": 1.0, "b": 2.0}}},
		{"ext null", `{"channel":"/a","ext":{"a":1},"ext":null}`, Message{Channel: "/a"}},
		{"unknown fields skipped", `{"channel":"/a","x":{"y":[1,2,{"z":"\u0041"}]},"n":null,"t":true}`, Message{Channel: "/a"}},
		{"case-insensitive keys", `{"CHANNEL":"/a","Data":1,"ID":"7","Successful":false}`, successful(Message{Channel: "/a", ID: "7", Data: json.RawMessage(`1`)}, false)},
		{"escaped key", `{"chan\u006eel":"/a"}`, Message{Channel: "/a"}},
		{"duplicate channel", `{"channel":"/a","channel":"/b"}`, Message{Channel: "/b"}},
		{"channel escapes", `{"channel":"/caf\u00e9/\ud83d\ude00/\"q\"/\\/\/\b\f\n\r\t"}`, Message{Channel: "/café/😀/\"q\"/\\//\b\f\n\r\t"}},
		{"lone surrogates", `{"channel":"/\ud800/\udc00/\ud800\u0041"}`, Message{Channel: "/\uFFFD/\uFFFD/\uFFFDA"}},
		{"invalid UTF-8", "{\"channel\":\"/caf\xe9/\xed\xa0\x80\"}", Message{Channel: "/caf\uFFFD/\uFFFD\uFFFD\uFFFD"}},
		{"valid UTF-8 kept", "{\"channel\":\"/café/\uFFFD\"}", Message{Channel: "/café/\uFFFD"}},
		{"advice", `{"channel":"/meta/connect","advice":{"reconnect":"retry","interval":0,"timeout":110000,"maxInterval":30000,"multiple-clients":true,"hosts":["h1","h2"]}}`,
			Message{Channel: MetaConnect, Advice: adviceWith(Advice{Reconnect: "retry", MultipleClients: true, Hosts: []string{"h1", "h2"}}, intp(110000), intp(0), intp(30000))}},
		{"advice empty", `{"channel":"/a","advice":{}}`, Message{Channel: "/a", Advice: &Advice{}}},
		{"advice null", `{"channel":"/a","advice":{"timeout":1},"advice":null}`, Message{Channel: "/a"}},
		{"advice replaced", `{"channel":"/a","advice":{"timeout":1},"advice":{"interval":2}}`, Message{Channel: "/a", Advice: adviceWith(Advice{}, nil, intp(2), nil)}},
		{"advice number forms", `{"channel":"/a","advice":{"timeout":"30000","interval":1.9,"maxInterval":-2147483648}}`,
			Message{Channel: "/a", Advice: adviceWith(Advice{}, intp(30000), intp(1), intp(-2147483648))}},
		{"advice null number", `{"channel":"/a","advice":{"timeout":1e999,"timeout":null}}`, Message{Channel: "/a", Advice: &Advice{}}},
		{"advice unknown key", `{"channel":"/a","advice":{"x":{"y":[1]},"reconnect":"none"}}`, Message{Channel: "/a", Advice: &Advice{Reconnect: "none"}}},
		{"advice other reconnect", `{"channel":"/a","advice":{"reconnect":"later"}}`, Message{Channel: "/a", Advice: &Advice{Reconnect: "later"}}},
		{"advice case-insensitive", `{"channel":"/a","ADVICE":{"Timeout":5,"RECONNECT":"handshake"}}`, Message{Channel: "/a", Advice: adviceWith(Advice{Reconnect: "handshake"}, intp(5), nil, nil)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := decodeOne(t, tt.in)
			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(Message{}, Advice{})); diff != "" {
				t.Errorf("decode %s (-want +got):\n%s", tt.in, diff)
			}
			var m Message
			if err := decodeMessage([]byte(tt.in), &m); strings.HasPrefix(strings.TrimSpace(tt.in), "{") {
				if err != nil {
					t.Fatalf("decodeMessage: %v", err)
				}
				if diff := cmp.Diff(tt.want, m, cmp.AllowUnexported(Message{}, Advice{})); diff != "" {
					t.Errorf("decodeMessage %s (-want +got):\n%s", tt.in, diff)
				}
			} else if err == nil {
				t.Errorf("decodeMessage(%s) accepted an array", tt.in)
			}
		})
	}
}

func TestDecodePayloadShapes(t *testing.T) {
	msgs, err := decodeMessages([]byte(`[]`))
	if err != nil || msgs == nil || len(msgs) != 0 {
		t.Fatalf("[] = %v, %v; want an empty non-nil slice", msgs, err)
	}
	body := []byte(`[{"channel":"/a","data":1},{"channel":"/b","successful":true},{"channel":"/a","data":"x"}]`)
	msgs, err = decodeMessages(body)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 3 || cap(msgs) != 3 {
		t.Fatalf("len %d cap %d, want 3 3", len(msgs), cap(msgs))
	}
	if msgs[0].Channel != "/a" || string(msgs[0].Data) != "1" || msgs[1].Channel != "/b" || !msgs[1].HasSuccessful() || string(msgs[2].Data) != `"x"` {
		t.Fatalf("unexpected messages %+v", msgs)
	}
	// Unicode space around the payload is ignored, as bytes.TrimSpace does.
	if msgs, err := decodeMessages([]byte("\u00a0\v[{\"channel\":\"/a\"}]\u2028")); err != nil || len(msgs) != 1 {
		t.Fatalf("Unicode space: %v, %v", msgs, err)
	}
}

func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		in     string
		reason string // a substring of the reason
	}{
		{``, "empty"},
		{"  \n", "empty"},
		{`null`, "neither"},
		{`"x"`, "neither"},
		{`5`, "neither"},
		{"\ufeff[]", "neither"},
		{`{}`, "no channel"},
		{`[{}]`, "no channel"},
		{`[{"id":"1"}]`, "no channel"},
		{`[{"channel":null}]`, "no channel"},
		{`[{"channel":"/a","channel":null}]`, "no channel"},
		{`[null]`, "not a message object"},
		{`[1]`, "not a message object"},
		{`[[]]`, "not a message object"},
		{`[{"channel":"/a"},"x"]`, "not a message object"},
		{`[{"channel":5}]`, "channel: expected a string, got a number"},
		{`[{"channel":["/a"]}]`, "channel: expected a string"},
		{`[{"channel":"/a","successful":"yes"}]`, "successful: expected a boolean, got a string"},
		{`[{"channel":"/a","authSuccessful":1}]`, "authSuccessful: expected a boolean"},
		{`[{"channel":"/a","subscription":3}]`, "subscription: expected a string or an array"},
		{`[{"channel":"/a","subscription":{}}]`, "subscription: expected"},
		{`[{"channel":"/a","subscription":["/b",3]}]`, "subscription element: expected a string"},
		{`[{"channel":"/a","clientId":1}]`, "clientId: expected a string"},
		{`[{"channel":"/a","id":"1","version":true}]`, "version: expected a string"},
		{`[{"channel":"/a","minimumVersion":{}}]`, "minimumVersion: expected a string"},
		{`[{"channel":"/a","connectionType":[]}]`, "connectionType: expected a string"},
		{`[{"channel":"/a","timestamp":0}]`, "timestamp: expected a string"},
		{`[{"channel":"/a","error":false}]`, "error: expected a string"},
		{`[{"channel":"/a","supportedConnectionTypes":"long-polling"}]`, "supportedConnectionTypes: expected an array"},
		{`[{"channel":"/a","supportedConnectionTypes":[1]}]`, "supportedConnectionTypes element"},
		{`[{"channel":"/a","ext":[]}]`, "ext: expected an object"},
		{`[{"channel":"/a","advice":5}]`, "advice: expected an object"},
		{`[{"channel":"/a","advice":{"timeout":"soon"}}]`, "advice timeout: string is not a number"},
		{`[{"channel":"/a","advice":{"interval":true}}]`, "advice interval: expected a number"},
		{`[{"channel":"/a","advice":{"timeout":2147483649}}]`, "out of range"},
		{`[{"channel":"/a","advice":{"maxInterval":1e999}}]`, "out of range"},
		{`[{"channel":"/a","advice":{"reconnect":1}}]`, "advice reconnect: expected a string"},
		{`[{"channel":"/a","advice":{"multiple-clients":"yes"}}]`, "advice multiple-clients"},
		{`[{"channel":"/a","advice":{"hosts":"h"}}]`, "advice hosts: expected an array"},
		{`[{"channel":"/a","advice":{"hosts":[1]}}]`, "advice hosts element"},
		{`[{"channel":"/a"}`, "unexpected end"},
		{`[{"channel":"/a"`, "unexpected end"},
		{`[{"channel":"/a`, "unexpected end"},
		{`[{"channel":"/a","data":{"x":[1,2]}`, "unexpected end"},
		{`[{"channel":"/a","data":"\u00`, "unexpected end"},
		{`[{"channel":"/a"},]`, "invalid character"},
		{`[{"channel":"/a",}]`, "invalid character"},
		{`[{"channel":"/a" "id":"1"}]`, "invalid character"},
		{`[{"channel":"/a"}]]`, "after the top-level array"},
		{`[{"channel":"/a"}] x`, "after the top-level array"},
		{`{"channel":"/a"} {}`, "after the message object"},
		{`[{channel:"/a"}]`, "invalid character"},
		{`[{"channel":'/a'}]`, "invalid character"},
		{`[{"channel":"/a\q"}]`, "invalid escape"},
		{`[{"channel":"/a\u12G4"}]`, "invalid escape"},
		{"[{\"channel\":\"/a\tb\"}]", "control character"},
		{`[{"channel":"/a","data":NaN}]`, "invalid character"},
		{`[{"channel":"/a","data":Infinity}]`, "invalid character"},
		{`[{"channel":"/a","data":01}]`, "invalid character"},
		{`[{"channel":"/a","data":1.}]`, "numeric literal"},
		{`[{"channel":"/a","data":1e+}]`, "numeric literal"},
		{`[{"channel":"/a","data":-}]`, "numeric literal"},
		{`[{"channel":"/a","data":tru}]`, "literal true"},
		{`[{"channel":"/a","data":nul}]`, "in literal null"},
		{`[{"channel":"/a","data":nul`, "unexpected end"},
		{`[{"channel":"/a","data":"\`, "unexpected end"},
		{`[{"channel":"/a","successful":tru}]`, "invalid character"},
		{`[{"channel":"/a","data":[1,}]}]`, "invalid character"},
		{`[{"channel":"/a","data":{"a" 1}}]`, "invalid character"},
		{`[{"channel":"/a","data":{"a":1,}}]`, "invalid character"},
		{`[{"channel":"/a","data":{1:1}}]`, "invalid character"},
		{`[{"channel":"/a","data":[1}]}`, "invalid character"},
		{`[{"channel":"/a","x":[1,}]}]`, "invalid character"},
		{strings.Repeat("[", 10001) + strings.Repeat("]", 10001), "exceeded max nesting depth"},
		{strings.Repeat("[", 10000) + strings.Repeat("]", 10000), "not a message object"},
		{`[{"channel":"/a","data":` + strings.Repeat("[", 9999) + strings.Repeat("]", 9999) + `}]`, "exceeded max nesting depth"},
		{`{"channel":"/a","data":` + strings.Repeat("[", 10000) + strings.Repeat("]", 10000) + `}`, "exceeded max nesting depth"},
		{`[{"channel":"/a","data":` + strings.Repeat("[", 1000000), "exceeded max nesting depth"},
	}
	for _, tt := range tests {
		name := tt.in
		if len(name) > 60 {
			name = name[:60]
		}
		t.Run(name, func(t *testing.T) {
			msgs, err := decodeMessages([]byte(tt.in))
			if err == nil {
				t.Fatalf("decode %q = %+v, want an error", tt.in, msgs)
			}
			var de *DecodeError
			if !errors.As(err, &de) || !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %T %v is not a *DecodeError", err, err)
			}
			if !strings.Contains(de.Reason, tt.reason) {
				t.Errorf("reason %q does not contain %q", de.Reason, tt.reason)
			}
			if _, werr := decodeMessagesStd([]byte(tt.in)); werr == nil {
				t.Errorf("the reference accepts %q", tt.in)
			}
		})
	}
}

func TestDecodeDepthLimit(t *testing.T) {
	// The payload's array is depth 1, the message 2: data may nest 9998
	// more containers, as encoding/json allows.
	ok := `[{"channel":"/a","data":` + strings.Repeat("[", 9998) + strings.Repeat("]", 9998) + `}]`
	msgs, err := decodeMessages([]byte(ok))
	if err != nil {
		t.Fatalf("depth 10000: %v", err)
	}
	if len(msgs[0].Data) != 2*9998 {
		t.Fatalf("data length %d", len(msgs[0].Data))
	}
	// Objects and arrays mixed, beyond the 64 levels kept in one word.
	mixed := `{"channel":"/a","data":` + strings.Repeat(`[{"a":`, 300) + `1` + strings.Repeat("}]", 300) + `,"id":"x"}`
	m := decodeOne(t, mixed)
	if m.ID != "x" || len(m.Data) != len(mixed)-len(`{"channel":"/a","data":`)-len(`,"id":"x"}`) {
		t.Fatalf("mixed nesting: id %q, data %d bytes", m.ID, len(m.Data))
	}
	bad := `{"channel":"/a","data":` + strings.Repeat(`[{"a":`, 300) + `1` + strings.Repeat("]}", 300) + `}`
	if _, err := decodeMessages([]byte(bad)); err == nil {
		t.Fatal("mismatched brackets accepted")
	}
}

func TestDecodeDataAliasesInput(t *testing.T) {
	body := []byte(`[{"channel":"/a","data":{"n":1}},{"channel":"/a","data":{"n":2}}]`)
	msgs, err := decodeMessages(body)
	if err != nil {
		t.Fatal(err)
	}
	d := msgs[0].Data
	if &d[0] != &body[len(`[{"channel":"/a","data":`)] {
		t.Fatal("Data does not alias the body")
	}
	if cap(d) != len(d) {
		t.Fatalf("Data has spare capacity %d: appending would overwrite the body", cap(d)-len(d))
	}
	if grown := append(d, 'x'); &grown[0] == &d[0] || string(msgs[1].Data) != `{"n":2}` {
		t.Fatal("appending to Data changed the body")
	}
}

func TestDecodeInternsChannels(t *testing.T) {
	body := codecSalesforcePayload(50)
	msgs, err := decodeMessages(body)
	if err != nil {
		t.Fatal(err)
	}
	first := unsafe.StringData(string(msgs[0].Channel))
	for i, m := range msgs[:50] {
		if m.Channel != "/event/Order_Event__e" || unsafe.StringData(string(m.Channel)) != first {
			t.Fatalf("message %d: channel %q not interned", i, m.Channel)
		}
	}
	if last := msgs[50]; last.Channel != MetaConnect || unsafe.StringData(string(last.Channel)) != unsafe.StringData(string(MetaConnect)) {
		t.Fatalf("connect reply channel %q not the MetaConnect constant", last.Channel)
	}
	// More distinct channels than the cache holds still decode correctly.
	var b strings.Builder
	b.WriteByte('[')
	for i := 0; i < 40; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`{"channel":"/c/` + strconv.Itoa(i%20) + `"}`)
	}
	b.WriteByte(']')
	msgs, err = decodeMessages([]byte(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	for i, m := range msgs {
		if want := Channel("/c/" + strconv.Itoa(i%20)); m.Channel != want {
			t.Fatalf("message %d: channel %q, want %q", i, m.Channel, want)
		}
	}
}

func TestDecodeSalesforcePayload(t *testing.T) {
	// Beyond maxPooledMessages too, where the scratch becomes the result.
	for _, n := range []int{1, 500, 2 * maxPooledMessages} {
		body := codecSalesforcePayload(n)
		msgs, err := decodeMessages(body)
		if err != nil {
			t.Fatal(err)
		}
		if len(msgs) != n+1 {
			t.Fatalf("%d messages, want %d", len(msgs), n+1)
		}
		for i, m := range msgs[:n] {
			want := codecEvent(nil, i)
			wantData := want[len(`{"channel":"/event/Order_Event__e","data":`) : len(want)-1]
			if m.Channel != "/event/Order_Event__e" || string(m.Data) != string(wantData) || m.IsReply() {
				t.Fatalf("event %d: %+v", i, m)
			}
		}
		r := msgs[n]
		if r.Channel != MetaConnect || r.ID != "27" || r.ClientID != "4r1b9wy9p1bpjmg1x2z3lq0mcnm1lq" || !r.Successful ||
			r.Advice == nil || r.Advice.Reconnect != ReconnectRetry || r.Advice.Timeout != 110000 || !r.Advice.HasInterval() {
			t.Fatalf("connect reply: %+v advice %+v", r, r.Advice)
		}
		var ev struct {
			Payload struct {
				Note string `json:"Note__c"`
			} `json:"payload"`
		}
		if err := msgs[0].Decode(&ev); err != nil || ev.Payload.Note != `café "quoted"` {
			t.Fatalf("event data decodes to %+v, %v", ev, err)
		}
	}
}

// TestDecodeAllocations asserts the allocation budget: a payload of 500
// events and a /meta/connect reply costs the []Message, the channel name,
// the reply's id and clientId and its advice, and nothing per event.
func TestDecodeAllocations(t *testing.T) {
	body := codecSalesforcePayload(500)
	allocs := testing.AllocsPerRun(20, func() {
		if _, err := decodeMessages(body); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 5 {
		t.Fatalf("%.1f allocations for a payload of 500 events, want at most 5", allocs)
	}
	small := []byte(`[{"id":"1","channel":"/meta/connect","successful":true}]`)
	allocs = testing.AllocsPerRun(20, func() {
		if _, err := decodeMessages(small); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 1 {
		t.Fatalf("%.1f allocations for a one-reply payload, want 1", allocs)
	}
}

func TestDecodeConcurrent(t *testing.T) {
	bodies := [][]byte{codecSalesforcePayload(3), codecSalesforcePayload(60), []byte(`[{"channel":"/x","data":1}]`), []byte(`[{"channel":5}]`)}
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 20; i++ {
				body := bodies[(g+i)%len(bodies)]
				got, err := decodeMessages(body)
				want, werr := decodeMessagesStd(body)
				if (err == nil) != (werr == nil) || !reflect.DeepEqual(got, want) {
					t.Errorf("concurrent decode of %.40q differs: %v / %v", body, err, werr)
					return
				}
			}
		}()
	}
	wg.Wait()
}

func TestMessageUnmarshalJSON(t *testing.T) {
	var msgs []Message
	if err := json.Unmarshal([]byte(`[{"channel":"/a","successful":false,"subscription":["/b"]},{"channel":"/c","data":{"x":1}}]`), &msgs); err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 2 || !msgs[0].HasSuccessful() || !msgs[0].SubscriptionIsArray() || string(msgs[1].Data) != `{"x":1}` {
		t.Fatalf("unexpected %+v", msgs)
	}
	// Data does not alias the input: a json.Decoder reuses its buffer.
	in := []byte(`{"channel":"/a","data":{"k":"v"}}`)
	var one Message
	if err := one.UnmarshalJSON(in); err != nil {
		t.Fatal(err)
	}
	copy(in, strings.Repeat("x", len(in)))
	if string(one.Data) != `{"k":"v"}` {
		t.Fatalf("Data aliases the input: %q", one.Data)
	}
	dec := json.NewDecoder(strings.NewReader(`{"channel":"/a","data":[1]} {"channel":"/b","data":[2]}`))
	var first, second Message
	if err := dec.Decode(&first); err != nil {
		t.Fatal(err)
	}
	if err := dec.Decode(&second); err != nil {
		t.Fatal(err)
	}
	if string(first.Data) != "[1]" || string(second.Data) != "[2]" || first.Channel != "/a" || second.Channel != "/b" {
		t.Fatalf("json.Decoder: %+v %+v", first, second)
	}

	var m Message
	m.ID = "old"
	if err := m.UnmarshalJSON([]byte(`{"id":"1"}`)); err == nil {
		t.Fatal("message without channel accepted")
	}
	if err := m.UnmarshalJSON([]byte(` {"channel":"/d"} `)); err != nil || m.Channel != "/d" || m.ID != "" {
		t.Fatalf("UnmarshalJSON: %+v, %v", m, err)
	}
}

// The fast paths for the keys "channel" and "data" and for a channel equal
// to the last plain one give encoding/json's results, whatever follows
// or precedes them.
func TestDecodeFastKeysAndChannels(t *testing.T) {
	bodies := []string{
		`[{"channel":"/a","data":1},{"channel":"/a","data":2},{"channel":"\/a","data":3},{"channel":"/ab","data":4},{"channel":"/a","data":5}]`,
		`[{"channel":"/a\u00e9","data":1},{"channel":"/aé","data":2},{"channel":"/aé"}]`,
		`[{"channel":"/a"},{"channel":"/a`,
		`[{"channel":"/a"},{"channel":"/a"`,
		`[{"channel":"/a"},{"channel":"/a}]`,
		`[{"channel" : "/a", "data" :{"x":1}},{"channel":"/a","datum":1,"data":2,"Data":3}]`,
		`[{"channel":"/a","data":1,"channel":"/b"},{"channel":"/b","CHANNEL":"/a"}]`,
		`[{"channel":"/a","data"`,
		`[{"channel":"/a","data":`,
		`[{"channel":"/a","data"}]`,
		`[{"data":{"channel":"/x"},"channel":"/y"}]`,
		`{"channel":"/a","data":null}`,
		`[{"channe":"/a"}]`,
		`[{"channel\u0022:"/a"}]`,
	}
	for _, body := range bodies {
		got, err := decodeMessages([]byte(body))
		want, werr := decodeMessagesStd([]byte(body))
		if (err == nil) != (werr == nil) || !reflect.DeepEqual(got, want) {
			t.Errorf("%s:\n got  %+v, %v\n want %+v, %v", body, got, err, want, werr)
		}
	}
}
