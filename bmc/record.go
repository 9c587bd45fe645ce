package bmc

import (
	"fmt"
	"strings"
	"time"
	"unicode"

	"github.com/rackboot/rackboot/inventory"
)

// Bounds of what lands on a timeline.
const (
	maxWho    = 64
	maxDetail = 480
)

// record puts the outcome of an operation on m's timeline, under its
// first MAC, and logs it.
func (c *Controller) record(m inventory.Machine, who string, res Result,
	kind inventory.EventKind, err error) {
	detail := eventDetail(who, res, err)
	mac, remote := primaryMAC(m), m.BMC.String()
	if _, rerr := c.rec.Record(mac, inventory.Event{Kind: kind, Detail: detail}); rerr != nil {
		c.log.Error("recording bmc operation", "mac", mac, "remote", remote, "err", rerr)
	}
	switch {
	case err != nil:
		c.log.Info("bmc "+res.Action+" failed", "mac", mac, "remote", remote, "err", err)
	case res.Action == string(ActionStatus):
		c.log.Debug("bmc status read", "mac", mac, "remote", remote)
	default:
		c.log.Info("bmc "+res.Action+" done", "mac", mac, "remote", remote)
	}
}

// eventDetail reads like "by api 192.0.2.1: off via redfish: ok in 3.2s:
// soft off; power off".
func eventDetail(who string, res Result, err error) string {
	var b strings.Builder
	fmt.Fprintf(&b, "by %s: %s", sanitize(who), res.Action)
	if res.Protocol != "" {
		fmt.Fprintf(&b, " via %s", res.Protocol)
	}
	took := res.Duration.Round(100 * time.Millisecond)
	if err != nil {
		fmt.Fprintf(&b, ": failed in %s: %v", took, err)
	} else {
		fmt.Fprintf(&b, ": ok in %s", took)
	}
	if res.Detail != "" && err == nil {
		fmt.Fprintf(&b, ": %s", res.Detail)
	}
	if res.Power != "" {
		fmt.Fprintf(&b, "; power %s", res.Power)
	}
	return truncate(b.String(), maxDetail)
}

// sanitize keeps who printable and short; empty becomes "unknown".
func sanitize(who string) string {
	who = strings.Map(func(r rune) rune {
		if unicode.IsPrint(r) {
			return r
		}
		return -1
	}, who)
	if who == "" {
		return "unknown"
	}
	return truncate(who, maxWho)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	r := []rune(s[:n])
	return string(r[:len(r)-1]) + "..."
}

// primaryMAC is the MAC whose timeline holds m's BMC events.
func primaryMAC(m inventory.Machine) string {
	if len(m.MACs) == 0 {
		return ""
	}
	return m.MACs[0]
}
