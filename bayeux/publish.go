package bayeux

import (
	"context"
	"errors"
)

// Publish publishes data to channel and waits for the server's reply.
// data is encoded with encoding/json, except json.RawMessage and []byte,
// which must hold JSON and are sent as they are (json.RawMessage("null")
// sends "data": null; a nil data sends {}). A denied publish returns a
// *ServerError matching ErrPublishDenied.
//
// Publishes are at-most-once: after a transport failure a publish is
// re-sent only when it provably never reached the server (nothing of it
// was written, or the connection was refused or already closed by the
// server), and otherwise Publish returns the failure, so that subscribers
// never receive it twice. WithResendPublishes makes them at-least-once
// instead. Either way, a publish is re-sent once, in the next session,
// when the server answered that it did not know the session, since then
// it was not processed. A deadline of ctx ends this call's wait only: it
// never fails the session's other requests.
func (c *Client) Publish(ctx context.Context, channel Channel, data any) error {
	_, err := c.publish(ctx, channel, data, false)
	return err
}

// Call makes a remote call: it publishes data to channel (normally a
// /service/ channel) and returns the server's reply, correlated by message
// id, whose Data holds the result. A failure reply returns a *ServerError
// matching ErrPublishDenied, with the reply in it.
func (c *Client) Call(ctx context.Context, channel Channel, data any) (Message, error) {
	return c.publish(ctx, channel, data, true)
}

func (c *Client) publish(ctx context.Context, channel Channel, data any, call bool) (Message, error) {
	if err := validatePublish(channel); err != nil {
		return Message{}, err
	}
	raw, err := encodeData(data)
	if err != nil {
		return Message{}, err
	}
	for attempt := 0; ; attempt++ {
		sess, err := c.waitReady(ctx)
		if err != nil {
			return Message{}, err
		}
		msg := Message{ID: c.ep.newID(), Channel: channel, ClientID: sess.id, Data: raw}
		c.stats.publishesSent.Add(1)
		if attempt > 0 {
			c.stats.resent.Add(1)
		}
		end := c.ep.hooks.Load().startPublish(ctx, &msg)
		replies, found, err := c.exchange(ctx, c.ep.transport(), []Message{msg}, call)
		if err != nil {
			c.stats.publishesFailed.Add(1)
			if end != nil {
				end(nil, err)
			}
			return Message{}, err
		}
		err = replyError(ErrPublishDenied, channel, replies[0], found[0])
		if end != nil {
			var reply *Message
			if found[0] {
				reply = &replies[0]
			}
			end(reply, err)
		}
		if errors.Is(err, ErrUnknownClient) {
			// Only this request's session is forgotten: a late answer from
			// an older session leaves the current one alone.
			c.loseSession(sess, err)
			if attempt == 0 {
				continue
			}
		}
		if err != nil {
			c.stats.publishesFailed.Add(1)
		}
		return replies[0], err
	}
}

// Batch returns a Batch: messages added to it are sent in one request by
// Send.
func (c *Client) Batch() *Batch { return &Batch{c: c} }

// Batch collects publishes to send in one request.
type Batch struct {
	c    *Client
	msgs []Message
	err  error
}

// Publish adds a publish to the batch. An invalid channel or payload is
// reported by Send.
func (b *Batch) Publish(channel Channel, data any) *Batch {
	if b.err != nil {
		return b
	}
	if err := validatePublish(channel); err != nil {
		b.err = err
		return b
	}
	raw, err := encodeData(data)
	if err != nil {
		b.err = err
		return b
	}
	b.msgs = append(b.msgs, Message{Channel: channel, Data: raw})
	return b
}

// Len returns the number of messages in the batch.
func (b *Batch) Len() int { return len(b.msgs) }

// Send sends the batch in one request and waits for every reply. It
// returns nil when every publish succeeded, or the failures joined
// (errors.Is works on each).
func (b *Batch) Send(ctx context.Context) error {
	if b.err != nil {
		return b.err
	}
	if len(b.msgs) == 0 {
		return nil
	}
	sess, err := b.c.waitReady(ctx)
	if err != nil {
		return err
	}
	msgs := make([]Message, len(b.msgs))
	h := b.c.ep.hooks.Load()
	var ends []func(*Message, error)
	for i, m := range b.msgs {
		m.ID, m.ClientID = b.c.ep.newID(), sess.id
		msgs[i] = m
		if end := h.startPublish(ctx, &msgs[i]); end != nil {
			if ends == nil {
				ends = make([]func(*Message, error), len(msgs))
			}
			ends[i] = end
		}
	}
	b.c.stats.publishesSent.Add(uint64(len(msgs)))
	replies, found, err := b.c.exchange(ctx, b.c.ep.transport(), msgs, false)
	if err != nil {
		b.c.stats.publishesFailed.Add(uint64(len(msgs)))
		for _, end := range ends {
			if end != nil {
				end(nil, err)
			}
		}
		return err
	}
	var errs []error
	for i := range msgs {
		err := replyError(ErrPublishDenied, msgs[i].Channel, replies[i], found[i])
		if ends != nil && ends[i] != nil {
			var reply *Message
			if found[i] {
				reply = &replies[i]
			}
			ends[i](reply, err)
		}
		if errors.Is(err, ErrUnknownClient) {
			b.c.loseSession(sess, err)
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	b.c.stats.publishesFailed.Add(uint64(len(errs)))
	return joinErrors(errs)
}
