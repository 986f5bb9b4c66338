package bayeuxredis

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/bayeux-go/sdk/ext/replay"
)

// ErrCorruptPosition is wrapped by a *PositionError.
var ErrCorruptPosition = errors.New("bayeuxredis: corrupt stored position")

// PositionError reports a value of the positions hash that is not a replay
// id: the group's data in Redis was written by something else.
type PositionError struct {
	Channel string
	Value   string
}

// Error implements the error interface.
func (e *PositionError) Error() string {
	return fmt.Sprintf("bayeuxredis: stored position of %s is %q, not a replay id", e.Channel, e.Value)
}

// Unwrap returns ErrCorruptPosition.
func (e *PositionError) Unwrap() error { return ErrCorruptPosition }

// parsePosition parses a stored position: a decimal replay id, or one of
// the starting points replay.StartNew (-1) and replay.StartAll (-2), which
// the replay extension stores when the server refused an id.
func parsePosition(channel, s string) (int64, error) {
	if len(s) == 0 || len(s) > 20 {
		return 0, &PositionError{Channel: channel, Value: s}
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && !(i == 0 && c == '-' && len(s) > 1) {
			return 0, &PositionError{Channel: channel, Value: s}
		}
	}
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id < replay.StartAll || (len(s) > 1 && (s[0] == '0' || s[:2] == "-0")) {
		return 0, &PositionError{Channel: channel, Value: s}
	}
	return id, nil
}

// formatPosition is the inverse of parsePosition.
func formatPosition(id int64) string { return strconv.FormatInt(id, 10) }
