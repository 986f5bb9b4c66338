package bayeux

import (
	"context"
	"fmt"
)

// Subscribe subscribes handler to channel (a name or a pattern ending in
// "*" or "**", or a Salesforce filtered PushTopic channel such as
// "/topic/Orders?Status__c=Open": see Channel.ValidateSubscription) and returns once the server has acknowledged the
// subscription. Each matching message is delivered once per subscription,
// in order, on a goroutine of the subscription, outside every lock: the
// handler may call Publish, Subscribe, Unsubscribe or Disconnect. A nil
// handler makes a pull-mode subscription read with Next or All.
//
// The subscription survives a lost session: the client subscribes again
// after every re-handshake, and retries with backoff a renewal the server
// denies (State and Err show it). Subscribing several times to one channel
// sends one /meta/subscribe. A denied subscription returns a *ServerError
// matching ErrSubscriptionDenied. When ctx ends before the server
// answered, Subscribe returns an error and the client makes sure the
// server does not keep the subscription. /meta/ channels are served by
// AddListener instead.
func (c *Client) Subscribe(ctx context.Context, channel Channel, handler func(Message)) (*Subscription, error) {
	if err := channel.ValidateSubscription(); err != nil {
		return nil, err
	}
	if channel.Type() == MetaChannel {
		return nil, &InvalidChannelError{Channel: channel, Reason: "cannot subscribe to a /meta/ channel; use AddListener"}
	}
	if err := c.usable(); err != nil {
		return nil, err
	}
	s := newSubscription(c, channel, handler, false)
	spawn, ok := c.subs.add(s, c.currentGen())
	if !ok {
		return nil, ErrClosed
	}
	if spawn && !c.track.spawn(func() { c.reconcile(channel, false) }) {
		c.subs.abandon(channel, ErrClosed)
	}
	select {
	case <-s.settled:
	case <-ctx.Done():
		// Leave nothing behind on the server: the reconciler unsubscribes
		// once the request in flight is answered.
		done, cancel := context.WithCancel(context.Background())
		cancel()
		_ = s.Unsubscribe(done)
		return nil, fmt.Errorf("bayeux: subscribe %s: not confirmed (client %s): %w", channel, c.State(), ctx.Err())
	}
	if s.State() == SubscriptionUnsubscribed {
		if err := s.Err(); err != nil {
			return nil, err
		}
		return nil, ErrClosed
	}
	return s, nil
}

// usable returns nil when the client accepts requests.
func (c *Client) usable() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.usableLocked()
}

// Unsubscribe removes the subscription: once it returns, no handler call
// begins (Next returns ErrClosed); a call already under way is not waited
// for, so that a handler may unsubscribe itself. When it was the last subscription to its
// channel, /meta/unsubscribe is sent (after any subscribe or re-subscribe
// still in flight is answered) and its reply awaited until ctx ends; a
// failure is returned, but the local removal stands. Calling it again does
// nothing.
func (s *Subscription) Unsubscribe(ctx context.Context) error {
	if !s.stop() {
		return nil
	}
	c := s.c
	wait, spawn := c.subs.remove(s)
	if spawn && !c.track.spawn(func() { c.reconcile(s.channel, false) }) {
		c.subs.abandon(s.channel, nil)
	}
	if wait == nil {
		return nil
	}
	select {
	case err := <-wait:
		return err
	case <-c.life.closing.Done():
		return nil
	case <-ctx.Done():
		return fmt.Errorf("bayeux: unsubscribe %s: no answer yet (it is still carried out): %w", s.channel, ctx.Err())
	}
}

// AddListener adds a local listener: it receives every message the client
// receives on a matching channel, /meta/ channels included (the protocol's
// own replies: a listener on /meta/connect sees every connect reply), and
// sends nothing to the server. It runs like a subscription handler. Remove
// it with Unsubscribe.
func (c *Client) AddListener(channel Channel, handler func(Message)) (*Subscription, error) {
	if err := channel.Validate(); err != nil {
		return nil, err
	}
	if c.stageOf() >= stageClosing {
		return nil, ErrClosed
	}
	s := newSubscription(c, channel, handler, true)
	if _, ok := c.subs.add(s, 0); !ok {
		return nil, ErrClosed
	}
	return s, nil
}
