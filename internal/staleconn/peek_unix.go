//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package staleconn

import "syscall"

const supported = true

// peerClosed reports whether the end of stream from the peer is waiting
// to be read: a peek of one byte that does not block returns 0 bytes. It
// uses Control, not Read: net/http's read loop holds the connection's read
// lock, blocked in a read, between responses.
func peerClosed(rc syscall.RawConn) bool {
	closed := false
	_ = rc.Control(func(fd uintptr) {
		var b [1]byte
		n, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		closed = err == nil && n == 0
	})
	return closed
}
