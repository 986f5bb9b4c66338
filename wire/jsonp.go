package wire

import (
	"errors"
	"net/url"
	"strconv"
)

// Query parameters of a callback-polling request.
const (
	// CallbackParameter names the JSONP callback.
	CallbackParameter = "jsonp"
	// MessageParameter carries the messages.
	MessageParameter = "message"
)

// CallbackURL returns the callback-polling URL that sends message (a JSON
// payload, sent as is) to base with the given callback name:
// base?jsonp=callback&message=..., both values percent-encoded (every
// byte but the unreserved ones of RFC 3986), base's own query kept and its
// fragment dropped.
func CallbackURL(base, callback string, message []byte) (string, error) {
	b, err := QueryBase(base)
	if err != nil {
		return "", err
	}
	u := make([]byte, 0, len(b)+len(CallbackParameter)+len(MessageParameter)+3+EscapedLen([]byte(callback))+EscapedLen(message))
	u = append(u, b...)
	u = append(u, CallbackParameter+"="...)
	u = AppendEscaped(u, []byte(callback))
	u = append(u, "&"+MessageParameter+"="...)
	u = AppendEscaped(u, message)
	return string(u), nil
}

// QueryBase returns rawURL, an absolute http or https URL, without
// fragment and ready for more query parameters: ending with "?" or "&".
func QueryBase(rawURL string) (string, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "", errors.New("invalid URL " + strconv.Quote(RedactURL(rawURL)))
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", errors.New("URL " + strconv.Quote(RedactURL(rawURL)) + " is not an absolute http or https URL")
	}
	u.Fragment, u.RawFragment = "", ""
	sep := "&"
	if u.RawQuery == "" {
		u.ForceQuery = false
		sep = "?"
	}
	return u.String() + sep, nil
}

// unreserved reports whether c is sent as is in a query component.
func unreserved(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '-' || c == '.' || c == '_' || c == '~'
}

// EscapedLen is len(AppendEscaped(nil, b)).
func EscapedLen(b []byte) int {
	n := 0
	for _, c := range b {
		if unreserved(c) {
			n++
		} else {
			n += 3
		}
	}
	return n
}

// AppendEscaped percent-encodes every byte of b except the unreserved ones
// (RFC 3986), so that the result means the same to every server.
func AppendEscaped(dst, b []byte) []byte {
	const hex = "0123456789ABCDEF"
	for _, c := range b {
		if unreserved(c) {
			dst = append(dst, c)
		} else {
			dst = append(dst, '%', hex[c>>4], hex[c&15])
		}
	}
	return dst
}
