package conformance

import (
	"fmt"
	"regexp"
	"runtime"
	"strings"
	"time"

	"github.com/bayeux-go/sdk/conformance/internal/raw"
)

// Where the rules are written.
const (
	specRef        = "https://docs.cometd.org/current/reference/#_bayeux"
	srcFields      = "https://docs.cometd.org/current/reference/#_bayeux_message_fields"
	srcID          = "https://docs.cometd.org/current/reference/#_bayeux_id"
	srcSuccessful  = "https://docs.cometd.org/current/reference/#_successful"
	srcError       = "https://docs.cometd.org/current/reference/#_error"
	srcExt         = "https://docs.cometd.org/current/reference/#_bayeux_ext"
	srcAdvice      = "https://docs.cometd.org/current/reference/#_bayeux_advice"
	srcData        = "https://docs.cometd.org/current/reference/#_data"
	srcTimestamp   = "https://docs.cometd.org/current/reference/#_timestamp"
	srcClientID    = "https://docs.cometd.org/current/reference/#_bayeux_clientid"
	srcWild        = "https://docs.cometd.org/current/reference/#_concepts_channels_wild"
	srcChannel     = "https://docs.cometd.org/current/reference/#_channel"
	srcMetaChans   = "https://docs.cometd.org/current/reference/#_bayeux_meta_channels"
	srcServiceChan = "https://docs.cometd.org/current/reference/#_bayeux_service_channels"
	srcHandshake   = "https://docs.cometd.org/current/reference/#_handshake_request"
	srcConnect     = "https://docs.cometd.org/current/reference/#_connect_request"
	srcMetaConnect = "https://docs.cometd.org/current/reference/#_bayeux_meta_connect"
	srcDisconnect  = "https://docs.cometd.org/current/reference/#_bayeux_meta_disconnect"
	srcSubscribe   = "https://docs.cometd.org/current/reference/#_subscribe_request"
	srcUnsubscribe = "https://docs.cometd.org/current/reference/#_unsubscribe_request"
	srcSubField    = "https://docs.cometd.org/current/reference/#_subscription"
	srcConnTypes   = "https://docs.cometd.org/current/reference/#_bayeux_supported_connections"
	srcConnType    = "https://docs.cometd.org/current/reference/#_connectiontype"
	srcTimeout     = "https://docs.cometd.org/current/reference/#_timeout_advice_field"
	srcReconnect   = "https://docs.cometd.org/current/reference/#_reconnect_advice_field"
	srcBinary      = "https://docs.cometd.org/current/reference/#_concepts_binary_data"
	srcCometDSec   = "https://docs.cometd.org/current/reference/#_security"
	srcMultiple    = "https://docs.cometd.org/current/reference/#_bayeux_multiple_clients_advice"
	srcCometDConf  = "https://docs.cometd.org/current/reference/#_java_server_configuration"
	srcCometDWS    = "https://docs.cometd.org/current/reference/#_java_server_transports"
	srcAck         = "https://docs.cometd.org/current/reference/#_extensions_acknowledge"
	srcTimesync    = "https://docs.cometd.org/current/reference/#_extensions_timesync"
	srcFaye        = "https://faye.jcoglan.com/node.html"
	srcFayeCVE     = "https://nvd.nist.gov/vuln/detail/CVE-2020-11020"
	srcFayeLog     = "https://github.com/faye/faye/blob/main/CHANGELOG.md"
	srcReplay      = "https://developer.salesforce.com/docs/atlas.en-us.api_streaming.meta/api_streaming/using_streaming_api_durability.htm"
	srcRFC8259     = "https://www.rfc-editor.org/rfc/rfc8259#section-4"
)

// Sections of the catalogue, in the order of the specification.
const (
	secFields     = "Messages and fields"
	secChannels   = "Channels and wildcards"
	secMeta       = "Meta and service channels"
	secHandshake  = "Handshake and negotiation"
	secConnect    = "Connect"
	secSession    = "Session lifetime"
	secDisconnect = "Disconnect"
	secSubscribe  = "Subscribe and unsubscribe"
	secPublish    = "Publish and delivery"
	secLP         = "Transport: long-polling"
	secCP         = "Transport: callback-polling"
	secWS         = "Transport: websocket"
	secProfiles   = "Extensions (optional profiles)"
	secRobust     = "Robustness"
)

// catalogue returns every case, grouped by section.
func catalogue() []caseDef {
	var all []caseDef
	for _, part := range [][]caseDef{
		fieldCases(), channelCases(), metaCases(), handshakeCases(), connectCases(),
		sessionCases(), disconnectCases(), subscribeCases(), publishCases(),
		transportCases(), httpCases(), websocketCases(), profileCases(), robustnessCases(),
	} {
		all = append(all, part...)
	}
	return all
}

var errorGrammar = regexp.MustCompile(`^[0-9]{3}:[^:]*:.*$`)

// refused reports whether a request was refused: an HTTP error status, or
// a reply on channel (any reply when channel is "") with successful:false.
// seen describes the answer.
func refused(x *exchange, err error, channel string) (bool, string) {
	switch {
	case err != nil:
		return false, "no answer: " + err.Error()
	case x.resp != nil && x.resp.Status >= 400:
		return true, fmt.Sprintf("HTTP %d", x.resp.Status)
	case x.err != nil:
		return false, x.err.Error()
	}
	for _, r := range x.replies {
		if channel == "" || r.S("channel") == channel {
			if ok, isBool := r.Bool("successful"); isBool && !ok {
				return true, clip(r.Raw)
			}
			return false, clip(r.Raw)
		}
	}
	return false, "no reply on " + channel + " in " + clip(x.body)
}

// alive checks that the server still answers a handshake.
func (t *T) alive() {
	s := t.newSession(LongPolling)
	x, err := s.send(t.ctx, handshakeMsg(LongPolling))
	if err != nil || x.err != nil {
		t.Fatalf("afterwards the server no longer answers a handshake: %v %v", err, x)
	}
	if r, ok := x.reply("/meta/handshake", ""); ok {
		s.clientID = r.S("clientId")
	}
}

// unknownID is a clientId no server has issued.
func (t *T) unknownID() string { return "0conformance0" + t.e.run + "0unknown0" }

// since formats a duration for a report.
func since(d time.Duration) string { return d.Round(time.Millisecond).String() }

// channelsOf lists the channels of msgs.
func channelsOf(msgs []raw.Msg) string {
	var cs []string
	for _, m := range msgs {
		cs = append(cs, m.S("channel"))
	}
	return "[" + strings.Join(cs, " ") + "]"
}

// everyReply runs a short conversation covering every kind of reply
// (handshake, connect, subscribe, publish, unsubscribe, disconnect, an
// error) and returns all the messages received, including events.
func (t *T) everyReply() []raw.Msg {
	s := t.newSession(LongPolling)
	var all []raw.Msg
	add := func(x *exchange, err error) {
		x = t.must(x, err)
		all = append(all, x.msgs...)
	}
	x, err := s.send(t.ctx, handshakeMsg(LongPolling))
	add(x, err)
	r, _ := x.reply("/meta/handshake", "")
	s.clientID = r.S("clientId")
	if s.clientID == "" {
		t.Fatalf("setup: handshake failed: %s", clip(x.body))
	}
	ch := t.channel()
	add(s.send(t.ctx, msg{"channel": "/meta/connect", "connectionType": LongPolling, "advice": map[string]any{"timeout": 0}}))
	add(s.send(t.ctx, msg{"channel": "/meta/subscribe", "subscription": ch}))
	add(s.send(t.ctx, msg{"channel": ch, "data": map[string]any{"n": 1}}))
	all = append(all, s.await(t.ctx, onChannel(ch), 1, t.wait())...)
	add(s.send(t.ctx, msg{"channel": "/meta/connect", "connectionType": LongPolling, "advice": map[string]any{"timeout": 0}}))
	add(s.send(t.ctx, msg{"channel": "/meta/unsubscribe", "subscription": ch}))
	add(s.send(t.ctx, msg{"channel": "/meta/subscribe"}))
	add(s.send(t.ctx, msg{"channel": "/meta/disconnect"}))
	s.gone = true
	add(s.send(t.ctx, msg{"channel": "/meta/connect", "connectionType": LongPolling}))
	return all
}

// mustRefuse sends m from s and fails the case when the server accepts it.
func (t *T) mustRefuse(s *session, m msg) {
	ch, _ := m["channel"].(string)
	x, err := s.send(t.ctx, m)
	if ok, seen := refused(x, err, ch); !ok {
		t.Fatalf("accepted: %s", seen)
	}
}

// control waits for the control event on ch at s. A case that checks that
// an event does not arrive proves something only when the same path
// delivers: the control is published after the event under test, on a
// channel s is subscribed to, and must arrive. When it does not, the case
// fails (never passes): delivering an event to a subscribed session is
// itself a MUST of the specification ("events MUST be delivered if the
// client is subscribed"), and a case that saw nothing at all cannot tell
// a server that follows the rule from one that delivers nothing.
func (t *T) control(s *session, ch string) { t.controlWhere(s, ch, onChannel(ch)) }

// controlOn is control for a control event sharing ch with the event
// under test: it carries data {"control": true}.
func (t *T) controlOn(s *session, ch string) {
	t.controlWhere(s, ch, func(m raw.Msg) bool { return m.S("channel") == ch && isControl(m) })
}

func (t *T) controlWhere(s *session, ch string, pred func(raw.Msg) bool) {
	if got := s.await(t.ctx, pred, 1, t.wait()); len(got) > 0 {
		return
	}
	t.record(Fail, fmt.Sprintf("control: the control event on %s, published after the event under test to a channel the session is subscribed to, did not arrive within %s; the absence of the event under test proves nothing (delivery to a subscriber is a MUST)", ch, since(t.wait())))
	runtime.Goexit()
}

// isControl reports whether m is a control event (data {"control": true}).
func isControl(m raw.Msg) bool {
	v, ok := m.Member("data", "control")
	return ok && string(v) == "true"
}
