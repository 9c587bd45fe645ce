package dhcp

import (
	"bytes"
	"testing"
)

// TestChoseOtherHoldsAddress has a client accept the first replica's
// offer while that replica has not stored the lease yet and the feed has
// told nothing: the second replica, which saw the REQUEST name the
// first, must not offer that address to another client meanwhile (that
// client's REQUEST would get a NAK), and offers it again once the hold
// ends.
func TestChoseOtherHoldsAddress(t *testing.T) {
	clk := &clock{now: t0}
	srvs := replicaServers(t, newSharedStore(t, clk.Now), clk)
	first := &env{t: t, srv: srvs[0], logs: new(bytes.Buffer)}
	second := &env{t: t, srv: srvs[1], logs: new(bytes.Buffer)}
	ip := yiaddr(first.must(msg(discoverT, 1), offerT))
	second.must(msg(discoverT, 1), offerT)
	// The REQUEST reaches the second replica, which stays silent; the
	// first has not answered yet.
	second.silent(msg(requestT, 1, want(ip), serverID("192.0.2.10")))

	if got := yiaddr(second.must(msg(discoverT, 2, want(ip)), offerT)); got == ip {
		t.Errorf("second replica offered %s, chosen from the first by client 1, to client 2", ip)
	}
	clk.Add(srvs[1].cfg.OfferHold + 1)
	if got := yiaddr(second.must(msg(discoverT, 3, want(ip)), offerT)); got != ip {
		t.Errorf("after the hold, DISCOVER asking for %s was offered %s", ip, got)
	}
}
