package inventory

import (
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Provision is where a declared machine stands in its provisioning: which
// generation it is in, and which one-time steps that generation has taken.
// A reprovision starts a new generation; steps such as serving Ignition
// happen at most once per generation.
type Provision struct {
	// Generation counts reprovisions, starting at 1.
	Generation uint64 `json:"generation"`
	// Steps maps a one-time step ("ignition-served", "installed") to when
	// the current generation took it.
	Steps map[string]time.Time `json:"steps,omitempty"`
}

// One-time steps of a generation that decide how a machine boots.
const (
	// StepInstallerServed: the machine was served its profile's script
	// (the installer) in this generation.
	StepInstallerServed = "installer-served"
	// StepInstalled: the OS booted from the installer called back. From
	// then on the machine's script boots its local disk, until a new
	// generation.
	StepInstalled = "installed"
)

var bucketProvision = []byte("provision") // machine name -> Provision

// Provision returns the provisioning record of the machine called name; a
// machine never provisioned is in generation 1 with no steps taken.
func (s *Store) Provision(name string) (Provision, error) {
	p := Provision{Generation: 1}
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketProvision)
		if b == nil {
			return nil
		}
		if err := getJSON(b, []byte(name), &p); err != nil && err != ErrNotFound {
			return err
		}
		return nil
	})
	if err != nil {
		return p, fmt.Errorf("reading provisioning of %s: %w", name, err)
	}
	return p, nil
}

// NewGeneration starts the next provisioning generation of name, forgetting
// the steps of the last one, and returns the new record.
func (s *Store) NewGeneration(name string) (Provision, error) {
	var p Provision
	err := s.updateProvision(name, func(cur *Provision) (bool, error) {
		cur.Generation++
		cur.Steps = nil
		p = *cur
		return true, nil
	})
	if err != nil {
		return p, fmt.Errorf("starting a new generation of %s: %w", name, err)
	}
	return p, nil
}

// TakeStep records that generation gen of name took step now. It returns
// false, changing nothing, when that generation already took the step or
// when gen is not the machine's current generation.
func (s *Store) TakeStep(name string, gen uint64, step string) (bool, error) {
	var taken bool
	err := s.updateProvision(name, func(cur *Provision) (bool, error) {
		if cur.Generation != gen {
			return false, nil
		}
		if _, done := cur.Steps[step]; done {
			return false, nil
		}
		if cur.Steps == nil {
			cur.Steps = map[string]time.Time{}
		}
		cur.Steps[step] = s.now().UTC()
		taken = true
		return true, nil
	})
	if err != nil {
		return false, fmt.Errorf("recording step %s of %s: %w", step, name, err)
	}
	return taken, nil
}

// updateProvision applies fn to the record of name in one write; fn says
// whether to store the result.
func (s *Store) updateProvision(name string, fn func(*Provision) (bool, error)) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucketProvision)
		if err != nil {
			return err
		}
		cur := Provision{Generation: 1}
		if err := getJSON(b, []byte(name), &cur); err != nil && err != ErrNotFound {
			return err
		}
		write, err := fn(&cur)
		if err != nil || !write {
			return err
		}
		return putJSON(b, []byte(name), cur)
	})
}
