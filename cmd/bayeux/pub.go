package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"

	"github.com/bayeux-go/sdk/bayeux"
)

func init() {
	register(&command{
		name:    "pub",
		args:    "CHANNEL JSON",
		summary: "publish one message and print the server's reply",
		about: `Publish JSON (any JSON value: quote strings, '"text"') to CHANNEL, wait for
the server's reply and print it as one JSON line on stdout. A publish to a
/service/ channel is a remote call: the reply's "data" holds the answer.
A denied publish prints the reply, reports the error on stderr and exits
with status 1.`,
		example: `bayeux pub /chat/general '{"text":"hello"}'
bayeux pub /service/echo '"ping"'
bayeux pub -url https://example.com/cometd -header 'Authorization:Bearer TOKEN' /events '{"n":1}'
bayeux pub /numbers -- -1`,
		minArgs: 2, maxArgs: 2,
		flags: func(fs *flag.FlagSet) func(context.Context, *env, []string) error {
			var cf clientFlags
			cf.define(fs)
			return func(ctx context.Context, e *env, args []string) error {
				return pub(ctx, e, &cf, bayeux.Channel(args[0]), args[1])
			}
		},
	})
}

func pub(ctx context.Context, e *env, cf *clientFlags, channel bayeux.Channel, arg string) error {
	data := json.RawMessage(arg)
	if !json.Valid(data) {
		return &usageError{cmd: "pub", msg: fmt.Sprintf("%q is not JSON (quote strings: '\"text\"')", arg)}
	}
	if err := channel.Validate(); err != nil {
		return &usageError{cmd: "pub", msg: err.Error()}
	}
	switch {
	case channel.HasWildcard():
		return &usageError{cmd: "pub", msg: fmt.Sprintf("cannot publish to the pattern %s: name one channel", channel)}
	case channel.Type() == bayeux.MetaChannel:
		return &usageError{cmd: "pub", msg: fmt.Sprintf("cannot publish to %s: /meta/ channels are the protocol's own", channel)}
	}
	s := newStatus(e, cf.verbose)
	c, err := cf.start(ctx, "pub", s, bayeux.WithErrorHandler(func(err error) { s.printf("%v", err) }))
	if err != nil {
		return err
	}
	defer disconnect(c)
	reply, err := c.Call(ctx, channel, data)
	if reply.Channel != "" {
		line, merr := json.Marshal(reply)
		if merr != nil {
			return merr
		}
		fmt.Fprintf(e.stdout, "%s\n", line)
	}
	if err != nil {
		return fmt.Errorf("publish to %s: %w", channel, err)
	}
	return nil
}
