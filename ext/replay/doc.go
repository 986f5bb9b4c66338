// Package replay is the client side of Salesforce's replay extension for
// the Streaming API (PushTopics, Platform Events, Change Data Capture):
// with it, a client that lost its session (a network drop, a server
// restart, an expired session, a restart of the process with a FileStore)
// resumes each channel right after the last event it handled, so that no
// event published in between is missed, as long as the server still
// retains it (Salesforce keeps events 72 hours).
//
// The handshake carries ext {"replay": true}; each /meta/subscribe carries
// ext {"replay": {"<channel>": id}}, where id is the replay id of the last
// event handled on the channel (read from the event's data.event.replayId,
// once the subscription's handler returned), or a starting point when there
// is none yet: StartNew (-1, events published from now on) or StartAll
// (-2, every event the server retains). The client re-subscribes every
// channel after each re-handshake, so each channel resumes from its own
// last id.
//
// The ids live in a Store: NewMemoryStore keeps them for the life of the
// process, OpenFileStore also in a file, written atomically at a bounded
// rate, so that a restarted process resumes where the previous one
// stopped.
//
// A stored id the server no longer knows (Salesforce answers
// "400::The replayId {N} you provided was invalid...") is replaced by a
// fallback starting point (StartAll by default) and the subscription is
// sent again; the client's error handler gets one *InvalidIDError for it.
//
// Register it on a Client like any bayeux.MessageExtender:
//
//	store, err := replay.OpenFileStore("replay-ids.json")
//	...
//	defer store.Close()
//	c, err := bayeux.NewClient(url, bayeux.WithExtensions(replay.New(replay.WithStore(store))))
//	...
//	c.Disconnect(ctx)
//	<-c.Done() // the handlers delivering the last queued events have returned
//
// The ids of the events handled after Disconnect returned (a subscription
// delivers what it had queued) are stored too: close a FileStore after Done.
//
// With the extension, a client left at the default overflow policy
// (bayeux.OverflowDefault) applies bayeux.OverflowBlock: a slow handler
// holds the next /meta/connect, and the server keeps the backlog. An event
// dropped before its handler saw it (a queue set to bayeux.OverflowDrop
// was full) holds its channel's stored id at the last event handled before
// it, so the position never moves past an event that was not handled; the
// channel's next resume delivers it again.
//
// Salesforce has no acknowledgement extension: an answer to /meta/connect
// lost on the way back (a torn connection the transport recovers from by
// sending the request again) would lose its events for good. The
// extension then makes the client resume every channel from its last
// handled event in a new session (bayeux.ResumeExtension), and the copies
// of the events received already are dropped.
//
// Replay applies to exact channel names: a wildcard subscription carries
// no replay id. After a resume the server sends again the events that
// were received but not yet handled when the session was lost; the
// extension drops those copies (it remembers, per channel, the replay ids
// of the last 4,096 events it passed on), so within a process each event
// is handled once. Across a restart of the
// process, the events received but not handled before it stopped arrive
// again: at least once. Replay alone does not recover events lost with a
// response while the session lives on (a torn connection): the next
// resume starts after the last event handled. The ack extension recovers
// those; use both where the server has both.
package replay
