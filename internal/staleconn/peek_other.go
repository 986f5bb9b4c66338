//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package staleconn

import "syscall"

const supported = false

func peerClosed(syscall.RawConn) bool { return false }
