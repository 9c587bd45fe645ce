package bmc

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/rackboot/rackboot/inventory"
)

// Action is a power operation.
type Action string

// Power actions.
const (
	ActionStatus Action = "status" // read the power state
	ActionOn     Action = "on"     // power on; nothing if already on
	ActionOff    Action = "off"    // soft off, hard off after SoftOffGrace
	ActionCycle  Action = "cycle"  // power cycle; power on if off
	ActionReset  Action = "reset"  // hard reset of a machine that is on
)

// ParseAction returns the Action called s.
func ParseAction(s string) (Action, error) {
	switch a := Action(s); a {
	case ActionStatus, ActionOn, ActionOff, ActionCycle, ActionReset:
		return a, nil
	}
	return "", fmt.Errorf("action %q is not status, on, off, cycle or reset", s)
}

// PowerState is a machine's power state as rackboot names it.
type PowerState string

// Power states.
const (
	PowerOn          PowerState = "on"
	PowerOff         PowerState = "off"
	PowerPoweringOn  PowerState = "powering-on"
	PowerPoweringOff PowerState = "powering-off"
	PowerUnknown     PowerState = "unknown"
)

// parsePower reads a BMC's words for the power state: Redfish's
// PowerState ("On", "PoweringOff") or ipmitool's "Chassis Power is on".
func parsePower(raw string) PowerState {
	s := strings.ToLower(strings.TrimSpace(raw))
	s = strings.TrimPrefix(s, "chassis power is ")
	switch s {
	case "on":
		return PowerOn
	case "off":
		return PowerOff
	case "poweringon":
		return PowerPoweringOn
	case "poweringoff":
		return PowerPoweringOff
	}
	return PowerUnknown
}

// Result is what an operation did.
type Result struct {
	Machine string
	// Action is the power action, "pxe-once" or "pxe-persistent".
	Action string
	// Protocol is the protocol the operation used; empty when it never
	// reached the BMC.
	Protocol inventory.BMCProtocol
	// Power is the power state read after the action; empty when not read.
	Power PowerState
	// Detail says what happened, for people.
	Detail   string
	Duration time.Duration
}

// Power runs action a on m's BMC. who says who asked, for the timeline.
func (c *Controller) Power(ctx context.Context, m inventory.Machine, a Action,
	who string) (Result, error) {
	op := operation{name: string(a), kind: inventory.EventBMCPower}
	switch a {
	case ActionStatus:
		op.fn = c.status
	case ActionOn:
		op.fn = c.on
	case ActionOff:
		op.fn, op.extra = c.off, c.cfg.SoftOffGrace
	case ActionCycle:
		op.fn = c.cycle
	case ActionReset:
		op.fn = c.reset
	default:
		_, err := ParseAction(string(a))
		return Result{Machine: m.Name, Action: string(a)}, err
	}
	return c.do(ctx, m, who, op)
}

// state reads the power state.
func (c *Controller) state(ctx context.Context, s *session) (PowerState, error) {
	raw, err := s.GetPowerState(ctx)
	if err != nil {
		return PowerUnknown, fmt.Errorf("reading power state: %w", err)
	}
	return parsePower(raw), nil
}

func (c *Controller) status(ctx context.Context, s *session, res *Result) error {
	st, err := c.state(ctx, s)
	res.Power = st
	return err
}

func (c *Controller) on(ctx context.Context, s *session, res *Result) error {
	if err := set(ctx, s, "on"); err != nil {
		return err
	}
	st, err := c.state(ctx, s)
	res.Power, res.Detail = st, "power on requested"
	return err
}

// off asks the OS to shut down (ACPI soft off), waits SoftOffGrace for
// the power to go, then forces it off.
func (c *Controller) off(ctx context.Context, s *session, res *Result) error {
	st, err := c.state(ctx, s)
	if err != nil {
		return err
	}
	if st == PowerOff {
		res.Power, res.Detail = st, "already off"
		return nil
	}
	// bmclib's Redfish provider reports a GracefulShutdown the BMC
	// accepted as not done, so the soft request's error decides nothing:
	// the power state does.
	softErr := set(ctx, s, "soft")
	if errors.Is(softErr, errNotConfirmed) {
		softErr = nil
	}
	graceCtx, cancel := context.WithTimeout(ctx, c.cfg.SoftOffGrace)
	off, err := c.waitOff(graceCtx, s)
	cancel()
	switch {
	case err != nil:
		return err
	case off:
		res.Power, res.Detail = PowerOff, "soft off"
		return nil
	case ctx.Err() != nil:
		return fmt.Errorf("waiting for soft off: %w", ctx.Err())
	}
	res.Detail = fmt.Sprintf("still on %s after soft off: forced off", c.cfg.SoftOffGrace)
	if softErr != nil {
		why := cleanText(softErr.Error(), s.creds)
		res.Detail = fmt.Sprintf("soft off refused (%s): forced off", why)
	}
	if err := set(ctx, s, "off"); err != nil {
		return fmt.Errorf("forcing off: %w", err)
	}
	if off, err = c.waitOff(ctx, s); err != nil || !off {
		stillOn := errors.New("forced off, but the bmc still reports the power on")
		return errors.Join(err, stillOn, ctx.Err())
	}
	res.Power = PowerOff
	return nil
}

// waitOff reads the power state every PollInterval until it is off or ctx
// ends (which is no error: the caller's clock decides).
func (c *Controller) waitOff(ctx context.Context, s *session) (bool, error) {
	tick := time.NewTicker(c.cfg.PollInterval)
	defer tick.Stop()
	for {
		st, err := c.state(ctx, s)
		switch {
		case ctx.Err() != nil:
			return false, nil
		case err != nil:
			return false, err
		case st == PowerOff:
			return true, nil
		}
		select {
		case <-ctx.Done():
			return false, nil
		case <-tick.C:
		}
	}
}

// cycle power cycles a machine that is on and powers on one that is off,
// so that it starts afresh either way.
func (c *Controller) cycle(ctx context.Context, s *session, res *Result) error {
	st, err := c.state(ctx, s)
	if err != nil {
		return err
	}
	if st == PowerOff {
		res.Detail = "was off: powered on"
		return set(ctx, s, "on")
	}
	res.Detail = "power cycle requested"
	return set(ctx, s, powerVerb(s.proto, ActionCycle))
}

// reset hard-resets a machine that is on; one that is off stays off.
func (c *Controller) reset(ctx context.Context, s *session, res *Result) error {
	st, err := c.state(ctx, s)
	if err != nil {
		return err
	}
	if st == PowerOff {
		res.Power = PowerOff
		return errors.New("the machine is off and a reset does not power it on; use on or cycle")
	}
	res.Detail = "reset requested"
	return set(ctx, s, powerVerb(s.proto, ActionReset))
}

// powerVerb is bmclib's state for a rackboot action. bmclib's Redfish
// provider sends ResetType PowerCycle for "reset" and ForceRestart for
// "cycle", the other way round from IPMI's chassis control power cycle
// and hard reset (IPMI v2.0 section 28.3); rackboot swaps them so that
// cycle removes power and reset does not, on both protocols.
func powerVerb(p inventory.BMCProtocol, a Action) string {
	if p == inventory.BMCRedfish {
		if a == ActionCycle {
			return "reset"
		}
		return "cycle"
	}
	return string(a)
}

// set asks for a power state and turns "not confirmed" into an error.
func set(ctx context.Context, s *session, state string) error {
	ok, err := s.SetPowerState(ctx, state)
	if err != nil {
		return fmt.Errorf("power %s: %w", state, err)
	}
	if !ok {
		return fmt.Errorf("power %s: %w", state, errNotConfirmed)
	}
	return nil
}

// errNotConfirmed: the client reported the request as not done, without
// an error.
var errNotConfirmed = errors.New("the bmc did not confirm")
