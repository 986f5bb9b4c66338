// Package bayeuxtest provides an in-process Bayeux server for tests.
package bayeuxtest
