package bayeux

import (
	"encoding/json"
	"errors"
	"math/rand/v2"
	"strings"
	"time"
)

func joinErrors(errs []error) error {
	switch len(errs) {
	case 0:
		return nil
	case 1:
		return errs[0]
	}
	return errors.Join(errs...)
}

// encodeData turns a publish payload into raw JSON: json.RawMessage and
// []byte are used as they are (after validation), anything else goes
// through encoding/json. nil becomes {}: a publish must carry data, and
// servers treat "data": null as missing.
func encodeData(data any) (json.RawMessage, error) {
	switch d := data.(type) {
	case nil:
		return json.RawMessage(`{}`), nil
	case json.RawMessage:
		if !validJSON(d) {
			return nil, &EncodeError{Field: "data", Reason: "not valid JSON"}
		}
		return d, nil
	case []byte:
		if !validJSON(d) {
			return nil, &EncodeError{Field: "data", Reason: "not valid JSON"}
		}
		return d, nil
	}
	b, err := json.Marshal(data)
	if err != nil {
		return nil, &EncodeError{Field: "data", Reason: err.Error()}
	}
	return b, nil
}

// validatePublish checks that ch can be published to: a valid name, not a
// pattern and not a /meta/ channel.
func validatePublish(ch Channel) error {
	if err := ch.Validate(); err != nil {
		return err
	}
	if ch.HasWildcard() {
		return &InvalidChannelError{Channel: ch, Reason: "cannot publish to a wildcard pattern"}
	}
	if ch.Type() == MetaChannel {
		return &InvalidChannelError{Channel: ch, Reason: "cannot publish to a /meta/ channel"}
	}
	return nil
}

// backoff is the linear backoff with jitter used after failures. It is
// owned by the session goroutine.
type backoff struct {
	increment, max time.Duration
	n              int
}

// next returns the next wait: increment, 2*increment, ... capped at max,
// each with up to a quarter of jitter removed so that many clients do not
// retry in step. It never returns less than increment/2 (no spinning).
func (b *backoff) next() time.Duration {
	b.n++
	d := time.Duration(b.n) * b.increment
	if d > b.max || d <= 0 {
		d = b.max
		b.n--
	}
	if q := int64(d / 4); q > 0 {
		d -= time.Duration(rand.Int64N(q))
	}
	return d
}

func (b *backoff) reset() { b.n = 0 }

// opError is an operation's failure: its text names the operation and the
// cause with one "bayeux: " prefix, however deep the wrapping.
type opError struct {
	op  string
	err error
}

func (e *opError) Error() string {
	return "bayeux: " + e.op + ": " + strings.TrimPrefix(e.err.Error(), "bayeux: ")
}

func (e *opError) Unwrap() error { return e.err }

// wrapOp wraps err as the failure of op.
func wrapOp(op string, err error) error { return &opError{op: op, err: err} }
