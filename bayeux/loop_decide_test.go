package bayeux

import (
	"errors"
	"testing"
	"time"
)

// TestDecide is the session loop's policy as a table: each row is a state,
// what happened, and what the loop must do.
func TestDecide(t *testing.T) {
	fail := errors.New("boom")
	connected := loopState{phase: phaseConnect, established: true}
	firstHandshake := loopState{phase: phaseHandshake, connectFirst: true}
	rehandshaking := loopState{phase: phaseHandshake, established: true, rehandshake: true, connectFirst: true, failures: 1}

	tests := []struct {
		name  string
		st    loopState
		ev    loopEvent
		want  loopAction
		after loopState
	}{
		{"first handshake ok", firstHandshake, loopEvent{outcome: handshakeOK},
			loopAction{ready: true, setState: true, state: StateConnecting, resetClock: true},
			loopState{phase: phaseConnect, established: true, connectFirst: true}},
		{"re-handshake ok renews, keeps failures for backoff, and starts a new failure window", rehandshaking,
			loopEvent{outcome: handshakeOK},
			loopAction{ready: true, setState: true, state: StateConnecting, resetClock: true},
			loopState{phase: phaseConnect, established: true, connectFirst: true, failures: 1}},
		{"first handshake transport failure within the retry budget", firstHandshake,
			loopEvent{outcome: handshakeFailed, err: fail, failingFor: time.Second, connectRetry: 5 * time.Second},
			loopAction{report: true, nextURL: true, backoff: true},
			loopState{phase: phaseHandshake, failures: 1, connectFirst: true}},
		{"first handshake transport failure past the retry budget fails Connect", firstHandshake,
			loopEvent{outcome: handshakeFailed, err: fail, failingFor: 6 * time.Second, connectRetry: 5 * time.Second},
			loopAction{failConnect: true}, firstHandshake},
		{"retry forever never fails Connect", firstHandshake,
			loopEvent{outcome: handshakeFailed, err: fail, failingFor: time.Hour, connectRetry: -1},
			loopAction{report: true, nextURL: true, backoff: true},
			loopState{phase: phaseHandshake, failures: 1, connectFirst: true}},
		{"first handshake HTTP 4xx fails Connect at once", firstHandshake,
			loopEvent{outcome: handshakeFailed, err: fail, fatal: true, connectRetry: 5 * time.Second},
			loopAction{failConnect: true}, firstHandshake},
		{"a fatal failure of a re-handshake is retried", rehandshaking,
			loopEvent{outcome: handshakeFailed, err: fail, fatal: true},
			loopAction{report: true, nextURL: true, backoff: true},
			loopState{phase: phaseHandshake, established: true, rehandshake: true, connectFirst: true, failures: 2}},
		{"denied first handshake without advice fails Connect", firstHandshake,
			loopEvent{outcome: handshakeDenied, err: fail}, loopAction{failConnect: true}, firstHandshake},
		{"denied first handshake advised to retry is retried", firstHandshake,
			loopEvent{outcome: handshakeDenied, err: fail, reconnect: ReconnectRetry, interval: 50 * time.Millisecond,
				failingFor: time.Second, connectRetry: 5 * time.Second},
			loopAction{report: true, wait: 50 * time.Millisecond, backoff: true},
			loopState{phase: phaseHandshake, failures: 1, connectFirst: true}},
		{"denied first handshake advised to retry, past the retry budget, fails Connect", firstHandshake,
			loopEvent{outcome: handshakeDenied, err: fail, reconnect: ReconnectRetry, failingFor: 6 * time.Second, connectRetry: 5 * time.Second},
			loopAction{failConnect: true}, firstHandshake},
		{"denied re-handshake advised to retry is retried however long it fails", rehandshaking,
			loopEvent{outcome: handshakeDenied, err: fail, reconnect: ReconnectRetry, failingFor: time.Hour, connectRetry: 5 * time.Second},
			loopAction{report: true, backoff: true},
			loopState{phase: phaseHandshake, established: true, rehandshake: true, connectFirst: true, failures: 2}},
		{"denied handshake advised none terminates", rehandshaking,
			loopEvent{outcome: handshakeDenied, err: fail, reconnect: ReconnectNone},
			loopAction{terminate: true}, rehandshaking},
		{"refused transport with another to try", firstHandshake,
			loopEvent{outcome: handshakeRefused, err: fail, otherTransport: true},
			loopAction{report: true}, firstHandshake},
		{"every transport refused fails Connect", firstHandshake,
			loopEvent{outcome: handshakeRefused, err: fail}, loopAction{report: true, failConnect: true}, firstHandshake},
		{"connect ok waits the interval", connected,
			loopEvent{outcome: connectOK, interval: 100 * time.Millisecond, elapsed: time.Second},
			loopAction{setState: true, state: StateConnected, resetBackoff: true, resetClock: true, wait: 100 * time.Millisecond}, connected},
		{"an empty connect answered at once is paced", connected,
			loopEvent{outcome: connectOK, empty: true, elapsed: 10 * time.Millisecond, minConnectPeriod: 100 * time.Millisecond},
			loopAction{setState: true, state: StateConnected, resetBackoff: true, resetClock: true, wait: 90 * time.Millisecond}, connected},
		{"an empty connect held by the server is not paced", connected,
			loopEvent{outcome: connectOK, empty: true, elapsed: 30 * time.Second, minConnectPeriod: 100 * time.Millisecond},
			loopAction{setState: true, state: StateConnected, resetBackoff: true, resetClock: true}, connected},
		{"connect ok with advice none terminates", connected,
			loopEvent{outcome: connectOK, reconnect: ReconnectNone}, loopAction{terminate: true, resetBackoff: true, resetClock: true}, connected},
		{"connect transport failure backs off", connected,
			loopEvent{outcome: connectFailed, err: fail, interval: 0, failingFor: time.Second, expiry: 40 * time.Second},
			loopAction{setState: true, state: StateReconnecting, report: true, backoff: true},
			loopState{phase: phaseConnect, established: true, failures: 1, connectFirst: true}},
		{"failing past timeout+interval+maxInterval re-handshakes", connected,
			loopEvent{outcome: connectFailed, err: fail, failingFor: 41 * time.Second, expiry: 40 * time.Second},
			loopAction{setState: true, state: StateRehandshaking, report: true, backoff: true, loseSession: true},
			loopState{phase: phaseHandshake, established: true, rehandshake: true, failures: 1, connectFirst: true}},
		{"a lost answer an extension recovers leaves the session and re-handshakes at once", connected,
			loopEvent{outcome: connectFailed, err: fail, resume: true, interval: time.Second, failingFor: time.Second, expiry: 40 * time.Second},
			loopAction{setState: true, state: StateRehandshaking, report: true, loseSession: true, leave: true},
			loopState{phase: phaseHandshake, established: true, rehandshake: true, failures: 1, connectFirst: true}},
		{"a lost answer again, after a failure, re-handshakes with backoff", loopState{phase: phaseConnect, established: true, failures: 1},
			loopEvent{outcome: connectFailed, err: fail, resume: true},
			loopAction{setState: true, state: StateRehandshaking, report: true, loseSession: true, leave: true, backoff: true},
			loopState{phase: phaseHandshake, established: true, rehandshake: true, failures: 2, connectFirst: true}},
		{"connect refused switches transport at once", connected,
			loopEvent{outcome: connectRefused, err: fail, otherTransport: true},
			loopAction{setState: true, state: StateReconnecting, report: true},
			loopState{phase: phaseConnect, established: true, connectFirst: true}},
		{"connect refused with no other transport is a failed connect", connected,
			loopEvent{outcome: connectRefused, err: fail, interval: 0, failingFor: time.Second, expiry: 40 * time.Second},
			loopAction{setState: true, state: StateReconnecting, report: true, backoff: true},
			loopState{phase: phaseConnect, established: true, failures: 1, connectFirst: true}},
		{"connect refused with no other transport, past the expiry, re-handshakes", connected,
			loopEvent{outcome: connectRefused, err: fail, failingFor: 41 * time.Second, expiry: 40 * time.Second},
			loopAction{setState: true, state: StateRehandshaking, report: true, backoff: true, loseSession: true},
			loopState{phase: phaseHandshake, established: true, rehandshake: true, failures: 1, connectFirst: true}},
		{"unknown client re-handshakes at once the first time", connected,
			loopEvent{outcome: connectDenied, err: fail, reconnect: ReconnectHandshake},
			loopAction{setState: true, state: StateRehandshaking, loseSession: true},
			loopState{phase: phaseHandshake, established: true, rehandshake: true, failures: 1, connectFirst: true}},
		{"unknown client again re-handshakes with backoff", loopState{phase: phaseConnect, established: true, failures: 1},
			loopEvent{outcome: connectDenied, err: fail, reconnect: ReconnectHandshake},
			loopAction{setState: true, state: StateRehandshaking, loseSession: true, backoff: true},
			loopState{phase: phaseHandshake, established: true, rehandshake: true, failures: 2, connectFirst: true}},
		{"denied connect advised retry waits interval and backoff", connected,
			loopEvent{outcome: connectDenied, err: fail, reconnect: ReconnectRetry, interval: time.Second},
			loopAction{setState: true, state: StateReconnecting, report: true, wait: time.Second, backoff: true},
			loopState{phase: phaseConnect, established: true, failures: 1, connectFirst: true}},
		{"denied connect with a negative interval terminates", connected,
			loopEvent{outcome: connectDenied, err: fail, interval: -1}, loopAction{terminate: true}, connected},
		{"session lost elsewhere re-handshakes", connected,
			loopEvent{outcome: sessionLost, err: fail},
			loopAction{setState: true, state: StateRehandshaking, loseSession: true},
			loopState{phase: phaseHandshake, established: true, rehandshake: true, failures: 1, connectFirst: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			after, got := decide(tt.st, tt.ev)
			if got != tt.want {
				t.Errorf("action\n got %+v\nwant %+v", got, tt.want)
			}
			if after != tt.after {
				t.Errorf("state\n got %+v\nwant %+v", after, tt.after)
			}
		})
	}
}
