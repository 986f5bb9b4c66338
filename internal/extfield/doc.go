// Package extfield reads and writes the fields of a Bayeux message's ext
// object as the extensions of this module need them: numbers decoded as
// float64 (or json.Number) read as integers, a copy of the map made before
// a field is set, since the map may be shared with the caller's message.
package extfield
