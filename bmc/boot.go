package bmc

import (
	"context"
	"fmt"

	"github.com/rackboot/rackboot/inventory"
)

// BootNetwork sets m's next boot to the network (PXE), in the boot mode
// its inventory entry implies (UEFI or legacy): once, or for every boot
// when persistent. It reads the override back and fails with ErrNotKept
// when the BMC did not keep it. who says who asked, for the timeline.
//
// Over IPMI the override lapses if no chassis power command restarts
// the machine within 60 seconds (IPMI v2.0 table 28-14, boot flags
// valid bit): power on or cycle it right after.
func (c *Controller) BootNetwork(ctx context.Context, m inventory.Machine, persistent bool,
	who string) (Result, error) {
	want := Override{Device: "pxe", Persistent: persistent}
	name := "pxe-once"
	if persistent {
		name = "pxe-persistent"
	}
	if m.BMC != nil {
		want.EFI = m.BMC.EffectiveBootMode(m.Arch) == inventory.BootUEFI
	}
	op := operation{name: name, kind: inventory.EventBMCBootDevice,
		fn: func(ctx context.Context, s *session, res *Result) error {
			return c.setBoot(ctx, s, want, res)
		}}
	return c.do(ctx, m, who, op)
}

// PXEOnce is BootNetwork, once.
func (c *Controller) PXEOnce(ctx context.Context, m inventory.Machine, who string) (Result, error) {
	return c.BootNetwork(ctx, m, false, who)
}

func (c *Controller) setBoot(ctx context.Context, s *session, want Override, res *Result) error {
	ok, err := s.SetBootDevice(ctx, want.Device, want.Persistent, want.EFI)
	if err != nil {
		return fmt.Errorf("setting next boot to %s: %w", want, err)
	}
	if !ok {
		return fmt.Errorf("setting next boot to %s: %w", want, errNotConfirmed)
	}
	res.Detail = "next boot " + want.String() + ", not read back: the client cannot"
	br, ok := s.Client.(BootReader)
	if !ok {
		return nil
	}
	got, err := br.BootOverride(ctx)
	if err != nil {
		return fmt.Errorf("set next boot to %s, but reading it back failed: %w", want, err)
	}
	if err := check(got, want); err != nil {
		return err
	}
	res.Detail = "next boot " + want.String() + ", read back"
	if got.Partial {
		res.Detail += " (device only: the bmc marks its boot flags not valid)"
	}
	return nil
}

// check compares an override read back with the one set; a partial read
// vouches for the device only.
func check(got, want Override) error {
	same := got.Device == want.Device
	if !got.Partial {
		same = same && got.Persistent == want.Persistent && got.EFI == want.EFI
	}
	if !same {
		return fmt.Errorf("%w: set %s, the bmc reports %s", ErrNotKept, want, got)
	}
	return nil
}

// String reads like "pxe once uefi".
func (o Override) String() string {
	s := o.Device + " once"
	if o.Persistent {
		s = o.Device + " persistent"
	}
	switch {
	case o.Partial:
		return o.Device + " (boot flags not valid)"
	case o.EFI:
		return s + " uefi"
	}
	return s + " legacy"
}
