package inventory

import (
	"errors"
	"fmt"
	"maps"
	"slices"
)

// Errors of the declaration writes of an Inventory (PutMachine,
// AddMachine, DeleteMachine, Reject). Each error they return wraps one of
// these, or ErrNotFound, and names the field at fault.
var (
	// ErrInvalid: a field of the machine is malformed, or names a profile
	// that does not exist.
	ErrInvalid = errors.New("invalid declaration")
	// ErrConflict: the machine's name, a MAC or its address is another
	// machine's already.
	ErrConflict = errors.New("conflicting declaration")
	// ErrReadOnly: the machine is declared in the inventory file, which
	// only the operator changes.
	ErrReadOnly = errors.New("declared in the inventory file")
)

// kindError is an error that reads as its message and wraps one of the
// sentinels above.
type kindError struct {
	kind error
	msg  string
}

func (e *kindError) Error() string { return e.msg }
func (e *kindError) Unwrap() error { return e.kind }

// invalid returns an error wrapping ErrInvalid that reads as format says.
func invalid(format string, args ...any) error {
	return &kindError{ErrInvalid, fmt.Sprintf(format, args...)}
}

// conflict returns an error wrapping ErrConflict.
func conflict(format string, args ...any) error {
	return &kindError{ErrConflict, fmt.Sprintf(format, args...)}
}

// checkLabels checks the labels of a machine declared through the API:
// each a Kubernetes label, and one a kubelet may set on its own Node when
// the machine's profile has Ignition settings (they become its Node's
// labels). The inventory file's labels are checked by ignition.CheckCatalog
// instead.
func checkLabels(labels map[string]string, node bool) error {
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		v := labels[k]
		err := checkQualifiedName(k)
		if err == nil {
			err = checkLabelValue(v)
		}
		if err == nil && node {
			err = CheckNodeLabel(k, v)
		}
		if err != nil {
			return invalid("labels[%s]: %v", k, err)
		}
	}
	return nil
}
