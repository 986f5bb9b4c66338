package replay

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/bayeux-go/sdk/bayeux"
	"github.com/bayeux-go/sdk/internal/extfield"
)

// Name is the name the extension registers under.
const Name = "replay"

// Starting points a subscription may give instead of an event's replay id,
// as Salesforce defines them.
const (
	// StartNew (-1) asks for the events published after the subscription.
	StartNew int64 = -1
	// StartAll (-2) asks for every event the server retains on the
	// channel, then the new ones.
	StartAll int64 = -2
)

// Extension is the replay extension. Create it with New; it is safe for
// concurrent use. One Extension serves one client.
type Extension struct {
	store    Store
	start    int64
	fallback int64

	session atomic.Pointer[sessionBox]
	enabled atomic.Bool

	mu sync.Mutex
	// sent holds the id each channel's last /meta/subscribe carried.
	sent map[bayeux.Channel]int64
	// kept holds the replay ids of the last events of each channel passed
	// on to the subscriptions in this process (see Keep); dropped counts
	// the copies Keep dropped.
	kept    map[bayeux.Channel]*recentIDs
	dropped int64
	// held holds the channels whose stored id stays where it is: an event
	// of theirs was dropped unhandled (Undelivered) since their last
	// /meta/subscribe. nheld counts them, so that Delivered takes no
	// lock while there is none.
	held  map[bayeux.Channel]bool
	nheld atomic.Int32
	// resumes counts the new sessions asked for after lost answers.
	resumes atomic.Int64
}

// sessionBox holds the session handle (an interface) for atomic.Pointer.
type sessionBox struct{ s bayeux.SessionHandle }

// Option configures an Extension.
type Option func(*Extension)

// WithStore makes the extension keep the replay ids in s (default: a new
// MemoryStore).
func WithStore(s Store) Option {
	return func(e *Extension) {
		if s != nil {
			e.store = s
		}
	}
}

// WithStart sets where a channel with no stored id starts: StartNew (the
// default), StartAll, or a replay id.
func WithStart(id int64) Option {
	return func(e *Extension) { e.start = id }
}

// WithFallback sets where a channel whose stored id the server refused
// resumes: StartAll (the default, so that as little as possible is
// missed) or StartNew.
func WithFallback(id int64) Option {
	return func(e *Extension) { e.fallback = id }
}

// New returns a replay extension configured by opts.
func New(opts ...Option) *Extension {
	e := &Extension{start: StartNew, fallback: StartAll,
		sent: make(map[bayeux.Channel]int64), kept: make(map[bayeux.Channel]*recentIDs),
		held: make(map[bayeux.Channel]bool)}
	for _, o := range opts {
		if o != nil {
			o(e)
		}
	}
	if e.store == nil {
		e.store = NewMemoryStore()
	}
	return e
}

// Name returns "replay" (bayeux.NamedExtension).
func (e *Extension) Name() string { return Name }

// Store returns the store the extension keeps the replay ids in.
func (e *Extension) Store() Store { return e.store }

// Enabled reports whether the server agreed to replay in the last
// successful handshake (its reply carried ext {"replay": true}).
func (e *Extension) Enabled() bool { return e.enabled.Load() }

// Outgoing asks for replay in the handshake, and gives each /meta/subscribe
// the replay id its channels resume from.
func (e *Extension) Outgoing(m *bayeux.Message) {
	switch m.Channel {
	case bayeux.MetaHandshake:
		m.Ext = extfield.With(m.Ext, "replay", true)
	case bayeux.MetaSubscribe:
		var ids map[string]any
		e.mu.Lock()
		for _, ch := range m.Subscription {
			if ch.HasWildcard() || ch.Type() != bayeux.BroadcastChannel {
				continue
			}
			id, ok := e.store.Load(ch)
			if !ok {
				id = e.start
			}
			if ids == nil {
				ids = make(map[string]any, len(m.Subscription))
			}
			ids[string(Key(ch))] = id
			e.sent[ch] = id
			if r := e.kept[ch]; r != nil {
				// Whatever was passed on comes again: copies.
				r.resubscribed()
			}
			if e.held[ch] {
				// The channel resumes from the id held: the events
				// dropped come again, and the position moves again.
				delete(e.held, ch)
				e.nheld.Add(-1)
			}
		}
		e.mu.Unlock()
		if ids != nil {
			m.Ext = extfield.With(m.Ext, "replay", ids)
		}
	}
}

// Key returns the channel under which a subscription to ch gives its
// replay id in the /meta/subscribe ext: ch itself, or, for a Salesforce
// filtered PushTopic channel ("/topic/Orders?Status__c=Open"), the channel
// without its query ("/topic/Orders"), as Salesforce keys it (and
// EMP-Connector sends it). The Store keeps the position under the channel
// as subscribed, the channel its events arrive on.
func Key(ch bayeux.Channel) bayeux.Channel { return ch.Base() }

// Incoming notes whether the server agreed to replay.
func (e *Extension) Incoming(m *bayeux.Message) {
	if m.Channel == bayeux.MetaHandshake && m.Successful {
		e.enabled.Store(extfield.Enabled(m.Ext["replay"]))
	}
}

// Delivered records the replay id of an event once a subscription's
// handler returned (bayeux.DeliveredExtension). Events without
// data.event.replayId are ignored, and so are those of a channel whose
// position is held (see Undelivered). It does not allocate.
func (e *Extension) Delivered(_ bayeux.Channel, m *bayeux.Message) {
	id, ok := replayID(m.Data)
	if !ok {
		return
	}
	if e.nheld.Load() > 0 {
		e.mu.Lock()
		held := e.held[m.Channel]
		e.mu.Unlock()
		if held {
			return
		}
	}
	e.store.Save(m.Channel, id)
}

// Undelivered holds the stored replay id of a channel one of whose events
// was dropped before a handler saw it (bayeux.UndeliveredExtension: a
// subscription's queue was full). The position then stays at the last
// event handled before the drop, so that it never moves past an event
// that was not handled: the next resume of the channel (after a
// re-handshake, or when a restarted process subscribes with a FileStore)
// starts there, the dropped event arrives again and is not taken for a
// copy, and the position moves again. Until that resume, events handled
// on the channel do not move it: after a restart they arrive again (at
// least once).
func (e *Extension) Undelivered(_ bayeux.Channel, m *bayeux.Message) {
	id, ok := replayID(m.Data)
	if !ok {
		return
	}
	e.mu.Lock()
	first := !e.held[m.Channel]
	if first {
		e.held[m.Channel] = true
		e.nheld.Add(1)
		if stored, ok := e.store.Load(m.Channel); !ok || stored == StartNew {
			// Nothing handled yet, or the channel started from the new
			// events: resuming from there would skip this one. Resume
			// right before it (a server sends the events after the id
			// given).
			e.store.Save(m.Channel, id-1)
		}
	}
	if r := e.kept[m.Channel]; r != nil {
		r.forget(id)
	}
	e.mu.Unlock()
	if b := e.session.Load(); first && b != nil {
		b.s.Logger().Warn("bayeux replay position held before an event dropped unhandled; the channel's next resume delivers it again",
			"channel", string(m.Channel), "replayId", id)
	}
}

// NeedsBackpressure returns true (bayeux.BackpressureExtension): with the
// replay extension, a client left at the default overflow policy applies
// bayeux.OverflowBlock, so that a backlog replayed into a slow handler is
// held back at the server instead of dropped. A client set explicitly to
// bayeux.OverflowDrop still never stores a position past a dropped event
// (see Undelivered).
func (e *Extension) NeedsBackpressure() bool { return true }

// ConnectLost resumes every channel from its last handled event in a new
// session when a /meta/connect's answer, and the events in it, may have
// been lost (bayeux.ResumeExtension): Salesforce does not send them again
// on its own, and has no acknowledgement extension. The server then sends
// the events after each channel's stored id; those already received are
// dropped as copies (see Keep), the lost ones are delivered. It does so
// only while the server agreed to replay and a channel was subscribed.
func (e *Extension) ConnectLost(cause error) bool {
	if !e.enabled.Load() {
		return false
	}
	e.mu.Lock()
	n := len(e.sent)
	var blind []string
	for ch := range e.sent {
		id, ok := e.store.Load(ch)
		if ok && id != StartNew || !ok && e.start != StartNew {
			continue
		}
		// Nothing handled on a channel that started from the new
		// events: resuming from there would skip the lost ones. Resume
		// right before the first event received, if one was.
		if oldest, ok := e.kept[ch].oldestID(); ok {
			e.store.Save(ch, oldest-1)
		} else {
			blind = append(blind, string(ch))
		}
	}
	e.mu.Unlock()
	if n == 0 {
		return false
	}
	e.resumes.Add(1)
	if b := e.session.Load(); b != nil {
		log := b.s.Logger()
		log.Warn("bayeux replay: an answer that may have carried events was lost; resuming every channel from its last handled event in a new session",
			"err", cause)
		if len(blind) > 0 {
			log.Warn("bayeux replay: channels that started from the new events (StartNew) and received none yet cannot ask for the events of the lost answer again; start them from a stored id or StartAll",
				"channels", blind)
		}
	}
	return true
}

// Resumes returns how many times the extension made the client resume in
// a new session after a lost answer (see ConnectLost).
func (e *Extension) Resumes() int64 { return e.resumes.Load() }

// Keep drops an event that the subscriptions received already
// (bayeux.FilterExtension): one whose replay id is among the last 4,096
// passed on for its channel in this process. A server sends such copies
// when a channel resumes from its stored id (the last event handled)
// while later events were received but not yet handled: the session was
// lost, or the subscription was sent twice. Only ids seen are dropped: an
// event that arrives after one with a greater id (replayed events riding
// on the subscribe reply can be overtaken by newer ones pushed on a
// websocket) is passed on, late, never lost. Events without a replay id,
// and every event while the server did not agree to replay, are kept.
// Once the server refuses a channel's id, the channel's ids are forgotten
// (the server's ids may have started again).
func (e *Extension) Keep(m *bayeux.Message) bool {
	if m.IsMeta() || m.HasSuccessful() || !e.enabled.Load() {
		return true
	}
	id, ok := replayID(m.Data)
	if !ok {
		return true
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	r := e.kept[m.Channel]
	if r == nil {
		r = &recentIDs{}
		e.kept[m.Channel] = r
	}
	if r.copyOf(id) {
		e.dropped++
		return false
	}
	r.add(id)
	return true
}

// Dropped returns how many copies of events already received Keep
// dropped.
func (e *Extension) Dropped() int64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.dropped
}

// Retry handles a /meta/subscribe the server denied for its replay id
// (bayeux.RetryExtension): the channel's stored id is replaced by the
// fallback, the error handler gets an *InvalidIDError, and the
// subscription is sent again. A subscription already sent with the
// fallback is not retried by the extension.
func (e *Extension) Retry(request, reply *bayeux.Message, _ error) bool {
	if request == nil || reply == nil || request.Channel != bayeux.MetaSubscribe || !IsInvalidIDError(reply.Error) {
		return false
	}
	retry := false
	for _, ch := range request.Subscription {
		e.mu.Lock()
		id, ok := e.sent[ch]
		again := ok && id != e.fallback
		if again {
			e.sent[ch] = e.fallback
			delete(e.kept, ch)
		}
		e.mu.Unlock()
		if !again {
			continue
		}
		e.store.Save(ch, e.fallback)
		retry = true
		err := &InvalidIDError{Channel: ch, ID: id, Fallback: e.fallback, Reason: reply.Error}
		if b := e.session.Load(); b != nil {
			b.s.Logger().Warn("bayeux replay id refused; resuming from the fallback",
				"channel", string(ch), "replayId", id, "fallback", e.fallback)
			b.s.ReportError(err)
		}
	}
	return retry
}

// AttachSession keeps the session handle, to report errors
// (bayeux.SessionExtension). A FileStore's write errors are reported too.
func (e *Extension) AttachSession(s bayeux.SessionHandle) {
	e.session.Store(&sessionBox{s: s})
	if r, ok := e.store.(errorReporter); ok {
		r.reportErrorsTo(s.ReportError)
	}
}

// Registered is called when the extension is added to a client.
func (e *Extension) Registered(string, *bayeux.BayeuxClient) {}

// Unregistered is called when the extension is removed; the stored ids
// are kept.
func (e *Extension) Unregistered() {}

// errorReporter is implemented by stores that fail in the background.
type errorReporter interface {
	reportErrorsTo(func(error))
}

// IsInvalidIDError reports whether a server error is Salesforce's refusal
// of a replay id: "400::The replayId {N} you provided was invalid...".
func IsInvalidIDError(serverError string) bool {
	return strings.HasPrefix(serverError, "400:") &&
		strings.Contains(strings.ToLower(serverError), "replayid")
}

// InvalidIDError reports that the server refused the replay id a channel
// resumed from (it expired, say), and that the channel resumes from
// Fallback instead: the events between the two may be missed.
type InvalidIDError struct {
	Channel  bayeux.Channel
	ID       int64
	Fallback int64
	// Reason is the server's error.
	Reason string
}

// Error implements the error interface.
func (e *InvalidIDError) Error() string {
	return fmt.Sprintf("replay: the server refused replay id %d of %s (%q); resuming from %d",
		e.ID, e.Channel, e.Reason, e.Fallback)
}

var (
	_ bayeux.MessageExtender       = (*Extension)(nil)
	_ bayeux.NamedExtension        = (*Extension)(nil)
	_ bayeux.SessionExtension      = (*Extension)(nil)
	_ bayeux.RetryExtension        = (*Extension)(nil)
	_ bayeux.DeliveredExtension    = (*Extension)(nil)
	_ bayeux.UndeliveredExtension  = (*Extension)(nil)
	_ bayeux.FilterExtension       = (*Extension)(nil)
	_ bayeux.BackpressureExtension = (*Extension)(nil)
	_ bayeux.ResumeExtension       = (*Extension)(nil)
)
