package bayeuxtest_test

import (
	"fmt"
	"slices"
	"testing"
)

// TestSubscriptionIndexFollowsSessions checks that a publish reaches the
// sessions subscribed at that moment, exactly or through patterns, once
// each, and no longer reaches a session that unsubscribed, disconnected or
// expired.
func TestSubscriptionIndexFollowsSessions(t *testing.T) {
	srv := newServer(t)
	exact, star, both, gone, left, expired, pub := newPeer(t, srv), newPeer(t, srv), newPeer(t, srv),
		newPeer(t, srv), newPeer(t, srv), newPeer(t, srv), newPeer(t, srv)
	for _, p := range []*peer{exact, star, both, gone, left, expired, pub} {
		p.handshake()
	}
	exact.subscribe(`"/room/1"`)
	star.subscribe(`"/room/*"`)
	both.subscribe(`["/room/1","/room/**","/**"]`)
	gone.subscribe(`["/room/1","/room/*"]`)
	left.subscribe(`"/room/1"`)
	expired.subscribe(`"/room/**"`)

	gone.post(fmt.Sprintf(`[{"channel":"/meta/unsubscribe","clientId":%q,"subscription":["/room/1","/room/*"],"id":"u"}]`, gone.id))
	left.post(fmt.Sprintf(`[{"channel":"/meta/disconnect","clientId":%q,"id":"d"}]`, left.id))
	if !srv.ExpireSession(expired.id) {
		t.Fatal("ExpireSession: no such session")
	}
	if n := srv.Subscribers("/room/1"); n != 2 {
		t.Errorf("Subscribers(/room/1) = %d, want 2 (exact and both)", n)
	}
	if n := srv.Subscribers("/room/**"); n != 1 {
		t.Errorf("Subscribers(/room/**) = %d, want 1", n)
	}

	pub.publish("/room/1", `1`)
	pub.publish("/room/2", `2`)
	pub.publish("/room/2/x", `3`)
	check := func(name string, p *peer, want ...string) {
		t.Helper()
		if got := channels(p.poll()); !slices.Equal(got, want) {
			t.Errorf("%s: got %v, want %v", name, got, want)
		}
	}
	check("exact", exact, "/room/1")
	check("star", star, "/room/1", "/room/2")
	check("both", both, "/room/1", "/room/2", "/room/2/x")
	check("gone", gone)

	// A session subscribing again after unsubscribing is found again.
	gone.subscribe(`"/room/*"`)
	pub.publish("/room/3", `4`)
	check("gone again", gone, "/room/3")
}
