package inventory

import (
	"fmt"
	"time"
)

// LeaseConflict is the error a backend shared by several replicas returns
// from PutLease when another MAC holds the address unexpired: Holder is
// that MAC's lease. It wraps ErrConflict; the caller must not hand the
// address out.
type LeaseConflict struct {
	Holder Lease
}

func (e *LeaseConflict) Error() string {
	return fmt.Sprintf("%s is leased to %s until %s", e.Holder.IP, e.Holder.MAC,
		e.Holder.Expiry.UTC().Format(time.RFC3339))
}

// Unwrap returns ErrConflict.
func (e *LeaseConflict) Unwrap() error { return ErrConflict }
