package bayeux

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// peerReplies are response bodies recorded from Faye 1.4.3 and
// cometd-nodejs-server 1.2.1 (see the interop transcripts).
var peerReplies = []string{
	`[{"id":"1","channel":"/meta/handshake","error":"403::Forbidden","successful":false,"version":"1.0","supportedConnectionTypes":["long-polling","cross-origin-long-polling","callback-polling","websocket","eventsource","in-process"],"advice":{"reconnect":"handshake"}}]`,
	`[{"id":"1","channel":"/meta/handshake","successful":true,"version":"1.0","supportedConnectionTypes":["long-polling","cross-origin-long-polling","callback-polling","websocket","eventsource","in-process"],"clientId":"02be7pt281mk45iqyt5owdwas620pju","advice":{"reconnect":"retry","interval":0,"timeout":10000}}]`,
	`[{"id":"2","clientId":"02be7pt281mk45iqyt5owdwas620pju","channel":"/meta/connect","successful":true,"advice":{"reconnect":"retry","interval":0,"timeout":10000}}]`,
	`[{"id":"6","clientId":"02be7pt281mk45iqyt5owdwas620pju","channel":"/meta/subscribe","successful":true,"subscription":["/foo/*","/foo/**"]}]`,
	`[{"id":"10","clientId":"02be7pt281mk45iqyt5owdwas620pju","channel":"/meta/subscribe","successful":false,"error":"402:subscription:Missing required parameter","subscription":[]}]`,
	`[{"id":"8","clientId":"rp167f2yi4t6ildarbzh4g9r79ilfa2","channel":"/foo","successful":false,"error":"402:data:Missing required parameter"}]`,
	`[{"id":"11","clientId":"02be7pt281mk45iqyt5owdwas620pju","channel":"/meta/connect","successful":true,"advice":{"reconnect":"retry","interval":0,"timeout":10000}},{"channel":"/foo","data":{"msg":"to /foo"},"id":"2","ext":{"x":1}},{"channel":"/foo/bar","data":{"msg":"to /foo/bar"},"id":"3"},{"channel":"/foo/bar/baz","data":{"msg":"to /foo/bar/baz"},"id":"4"}]`,
	`[{"id":"10","clientId":"rp167f2yi4t6ildarbzh4g9r79ilfa2","channel":"/meta/subscribe","successful":true,"subscription":"/echo"},{"id":"11","clientId":"rp167f2yi4t6ildarbzh4g9r79ilfa2","channel":"/echo","successful":true},{"id":"12","clientId":"rp167f2yi4t6ildarbzh4g9r79ilfa2","channel":"/meta/connect","successful":true,"advice":{"reconnect":"retry","interval":0,"timeout":10000}},{"channel":"/echo","data":"self","id":"11"}]`,
	`[{"id":"18","clientId":"02be7pt281mk45iqyt5owdwas620pju","channel":"/meta/connect","successful":true,"advice":{"reconnect":"retry","interval":0,"timeout":10000}}]`,
	`[{"id":"7","channel":"/meta/handshake","successful":true,"version":"1.0","supportedConnectionTypes":["long-polling","cross-origin-long-polling","callback-polling","websocket","eventsource","in-process"],"clientId":"x9l0o37y36lbbm6du2ybskgg6ib89fw","advice":{"reconnect":"retry","interval":0,"timeout":10000}}]`,
	`[{"id":"16","clientId":"x9l0o37y36lbbm6du2ybskgg6ib89fw","channel":"/meta/disconnect","successful":true}]`,
	`[{"channel":"/foo","data":{"hello":"ws"},"id":"5"}]`,
	`[{"id":"7","channel":"/meta/subscribe","subscription":"/service/bar","successful":true}]`,
	`[{"id":"6","channel":"/service/bar","successful":true}]`,
	`[{"id":"7","channel":"/foo/*","successful":true}]`,
	`[{"id":"12b","channel":"/meta/connect","successful":true,"advice":{"reconnect":"retry","timeout":10000,"interval":0}}]`,
	`[{"id":"9","successful":false,"error":"400::channel_missing"}]`,
	`[{"id":"11","channel":"/meta/connect","successful":false,"error":"402::session_unknown","advice":{"reconnect":"handshake","interval":0}}]`,
	`[{"id":"14","channel":"/meta/subscribe","subscription":"/foo bar","successful":true}]`,
	`[{"id":"2","channel":"/meta/connect","successful":true,"advice":{"reconnect":"retry","timeout":3000,"interval":0},"ext":{"ack":1}}]`,
	`[{"channel":"/acked","data":1},{"channel":"/acked","data":2},{"id":"4","channel":"/meta/connect","successful":true,"ext":{"ack":2}}]`,
	`[{"id":"7","channel":"/meta/connect","successful":true,"advice":{"multiple-clients":true,"reconnect":"retry","interval":2000}}]`,
	`[{"id":"1","channel":"/meta/handshake","successful":false,"error":"403::handshake_denied","advice":{"reconnect":"none"}}]`,
	`[{"channel":"/test/tick","data":{"n":3,"ts":1795719308097}},{"channel":"/test/tick","data":{"n":4,"ts":1795719308397}},{"id":"3","channel":"/meta/connect","successful":true}]`,
}

// hostileSeeds are malformed, borderline and adversarial payloads.
var hostileSeeds = []string{
	``, ` `, `[]`, ` [ ] `, `{}`, `[{}]`, `null`, `[null]`, `[1]`, `["x"]`, `[[]]`, `true`, `5`, `"x"`,
	"\ufeff[{\"channel\":\"/a\"}]", "\u00a0[{\"channel\":\"/a\"}]\u2028", "\v[{\"channel\":\"/a\"}]\f",
	`[{"channel":"/a"}`, `[{"channel":"/a"},]`, `[{"channel":"/a"}]]`, `[{"channel":"/a"}] x`, `{"channel":"/a"} {}`,
	`[{"channel":"/a",}]`, `[{"channel":"/a" "id":"1"}]`, `[{"channel"}]`, `[{channel:"/a"}]`, `[{"channel":'/a'}]`,
	`[{"channel":"/a","data":NaN}]`, `[{"channel":"/a","data":Infinity}]`, `[{"channel":"/a","data":-}]`,
	`[{"channel":"/a","data":01}]`, `[{"channel":"/a","data":1.}]`, `[{"channel":"/a","data":1e}]`, `[{"channel":"/a","data":.5}]`,
	`[{"channel":"/a","data":1e999999}]`, `[{"channel":"/a","data":-0.0e-0}]`, `[{"channel":"/a","id":123456789012345678901234567890}]`,
	`[{"channel":"/a","data":tru}]`, `[{"channel":"/a","data":nul}]`, `[{"channel":"/a","data":[1,2,}]}]`,
	`[{"channel":"/a","data":{"a":[{"b":{}}],"c":"\\\"\u00e9\ud83d\ude00\ud800x\udc00"}}]`,
	`[{"channel":"/a\q"}]`, `[{"channel":"/a\u12"}]`, `[{"channel":"/a\u12G4"}]`, "[{\"channel\":\"/a\tb\"}]",
	`[{"channel":"\ud800"}]`, `[{"channel":"\ud800\udc00"}]`, `[{"channel":"\udc00\ud800"}]`, `[{"channel":"\ud800\u0041"}]`,
	"[{\"channel\":\"/caf\xe9\"}]", "[{\"channel\":\"/\xed\xa0\x80\"}]", "[{\"channel\":\"/\xef\xbf\xbd\"}]",
	`[{"channel":5}]`, `[{"channel":null}]`, `[{"channel":"/a","channel":null}]`, `[{"channel":null,"channel":"/a"}]`,
	`[{"channel":["/a"]}]`, `[{"channel":{}}]`, `[{"channel":true}]`,
	`[{"channel":"/a","successful":"yes"}]`, `[{"channel":"/a","successful":null}]`, `[{"channel":"/a","successful":true,"successful":null}]`,
	`[{"channel":"/a","successful":false}]`, `[{"channel":"/a","authSuccessful":1}]`, `[{"channel":"/a","authSuccessful":true,"authSuccessful":null}]`,
	`[{"channel":"/a","subscription":3}]`, `[{"channel":"/a","subscription":3,"subscription":"/b"}]`, `[{"channel":"/a","subscription":"/b","subscription":null}]`,
	`[{"channel":"/a","subscription":[]}]`, `[{"channel":"/a","subscription":["/b",null]}]`, `[{"channel":"/a","subscription":["/b",1]}]`,
	`[{"channel":"/a","subscription":{}}]`, `[{"channel":"/a","subscription":""}]`,
	`[{"channel":"/a","id":5}]`, `[{"channel":"/a","id":-1.5e3}]`, `[{"channel":"/a","id":true}]`, `[{"channel":"/a","id":{"x": [1, 2]}}]`,
	`[{"channel":"/a","id":"1","id":null}]`, `[{"channel":"/a","id":"\u0041"}]`,
	`[{"channel":"/a","clientId":"c","clientId":null}]`, `[{"channel":"/a","clientId":1}]`, `[{"channel":"/a","version":[]}]`,
	`[{"channel":"/a","error":"402::x","error":null}]`, `[{"channel":"/a","timestamp":false}]`, `[{"channel":"/a","minimumVersion":{}}]`,
	`[{"channel":"/a","connectionType":"long-polling"}]`,
	`[{"channel":"/a","supportedConnectionTypes":"long-polling"}]`, `[{"channel":"/a","supportedConnectionTypes":[]}]`,
	`[{"channel":"/a","supportedConnectionTypes":[null,"x"]}]`, `[{"channel":"/a","supportedConnectionTypes":["a","b","c"],"supportedConnectionTypes":["x"],"supportedConnectionTypes":[null,null]}]`,
	`[{"channel":"/a","supportedConnectionTypes":[1]}]`, `[{"channel":"/a","supportedConnectionTypes":null}]`,
	`[{"channel":"/a","ext":{"ack":1}}]`, `[{"channel":"/a","ext":{"a":1},"ext":{"b":2}}]`, `[{"channel":"/a","ext":{}}]`,
	`[{"channel":"/a","ext":null}]`, `[{"channel":"/a","ext":[]}]`, `[{"channel":"/a","ext":"x"}]`,
	`[{"channel":"/a","data":null}]`, `[{"channel":"/a","data":"x","data":null}]`, `[{"channel":"/a","data":""}]`, `[{"channel":"/a","data":[]}]`,
	`[{"channel":"/a","advice":null}]`, `[{"channel":"/a","advice":{}}]`, `[{"channel":"/a","advice":5}]`, `[{"channel":"/a","advice":[]}]`,
	`[{"channel":"/a","advice":{"timeout":"30000"}}]`, `[{"channel":"/a","advice":{"timeout":"x"}}]`, `[{"channel":"/a","advice":{"timeout":1e99}}]`,
	`[{"channel":"/a","advice":{"timeout":1e99,"timeout":null}}]`, `[{"channel":"/a","advice":{"timeout":2147483648}}]`, `[{"channel":"/a","advice":{"timeout":2147483649}}]`,
	`[{"channel":"/a","advice":{"timeout":-2147483648.9}}]`, `[{"channel":"/a","advice":{"interval":1.9,"maxInterval":-0}}]`, `[{"channel":"/a","advice":{"timeout":true}}]`,
	`[{"channel":"/a","advice":{"reconnect":5}}]`, `[{"channel":"/a","advice":{"reconnect":"retry","reconnect":null}}]`, `[{"channel":"/a","advice":{"reconnect":"\u0072etry"}}]`,
	`[{"channel":"/a","advice":{"multiple-clients":1}}]`, `[{"channel":"/a","advice":{"multiple-clients":true,"multiple-clients":null}}]`,
	`[{"channel":"/a","advice":{"hosts":["h1",null]}}]`, `[{"channel":"/a","advice":{"hosts":[]}}]`, `[{"channel":"/a","advice":{"hosts":"h"}}]`,
	`[{"channel":"/a","advice":{"hosts":["a","b","c"],"hosts":[null,null]}}]`, `[{"channel":"/a","advice":{"x":{"y":[1]}}}]`,
	`[{"channel":"/a","advice":{"timeout":1},"advice":{"interval":2}}]`, `[{"channel":"/a","advice":{"timeout":1},"advice":null}]`,
	`[{"Channel":"/a","DATA":1,"Successful":true,"ID":"i","clientid":"c","ADVICE":{"TIMEOUT":5,"Reconnect":"none"}}]`,
	"[{\"\u212a\":1,\"channel\":\"/a\",\"\u017fucce\u017f\u017fful\":true}]", `[{"chan\u006eel":"/a"}]`, `[{"\u0063hannel":"/a","d\u0061ta":{}}]`,
	`[{"channel":"/a","unknown":{"deep":[[[{}]]]},"more":null}]`, `[{"channel":"/a","unknown":[1,}]}]`,
	` [ {"channel" : "/a" , "data" : { "x" : [ 1 , 2 ] } } , {"channel":"/b"} ] `,
	"[{\"channel\":\"/a\",\"data\":{\"x\":\"\x00\"}}]", "[{\"channel\":\"/a\",\"data\":\"\xff\xfe\"}]",
	strings.Repeat("[", 10001) + strings.Repeat("]", 10001),
	`[{"channel":"/a","data":` + strings.Repeat("[", 9998) + strings.Repeat("]", 9998) + `}]`,
	`[{"channel":"/a","data":` + strings.Repeat("[", 9999) + strings.Repeat("]", 9999) + `}]`,
	`{"channel":"/a","data":` + strings.Repeat(`{"a":`, 9999) + `1` + strings.Repeat("}", 9999) + `}`,
	`[{"channel":"/a","data":` + strings.Repeat(`[{"a":`, 200) + `1` + strings.Repeat("}]", 200) + `}]`,
	`{"channel":"/meta/connect","successful":true}`, `{"channel":"/a"}garbage`,
	`[{"channel":"/a","data":{"a":1}}`, `[{"channel":"/a","data":"\`, `[{"channel":"/a","data":"\u00`, `[{"channel":"/a","da`,
}

// FuzzDecodeMessages checks the fast decoder against the encoding/json
// reference: both accept or both reject every input, accepted inputs give
// the same messages, and the input is never modified. It also checks
// validJSON against json.Valid. Error texts differ by
// design (both errors are *DecodeError).
func FuzzDecodeMessages(f *testing.F) {
	for _, s := range peerReplies {
		f.Add([]byte(s))
		f.Add([]byte(s[1 : len(s)-1])) // its first message alone, if it had one
	}
	for _, s := range hostileSeeds {
		f.Add([]byte(s))
	}
	f.Add(codecSalesforcePayload(20))
	f.Fuzz(func(t *testing.T, body []byte) {
		orig := bytes.Clone(body)
		got, err := decodeMessages(body)
		want, werr := decodeMessagesStd(orig)
		checkAgreement(t, "DecodeMessages", orig, got, err, want, werr)
		if !bytes.Equal(body, orig) {
			t.Fatalf("decoder modified its input")
		}

		if got, want := validJSON(body), json.Valid(orig); got != want {
			t.Fatalf("validJSON(%q) = %v, json.Valid says %v", orig, got, want)
		}

		var m1, m2 Message
		err = decodeMessage(body, &m1)
		werr = decodeMessageStd(orig, &m2)
		checkAgreement(t, "Message.UnmarshalJSON", orig, []Message{m1}, err, []Message{m2}, werr)
	})
}

func checkAgreement(t *testing.T, what string, in []byte, got []Message, err error, want []Message, werr error) {
	t.Helper()
	if (err == nil) != (werr == nil) {
		t.Fatalf("%s(%q): fast error %v, reference error %v", what, in, err, werr)
	}
	if err != nil {
		var de *DecodeError
		if !errors.As(err, &de) || !errors.Is(err, ErrMalformed) {
			t.Fatalf("%s(%q): error %T %v is not a *DecodeError", what, in, err, err)
		}
		return
	}
	if reflect.DeepEqual(want, got) {
		return
	}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(Message{}, Advice{})); diff != "" {
		t.Fatalf("%s(%q): messages differ (-reference +fast):\n%s", what, in, diff)
	}
}
