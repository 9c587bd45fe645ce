package inventory

import (
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Buckets of the declarations made through the API. Like bucketJobs they
// are created by their first write.
var (
	bucketMachines = []byte("machines") // machine name -> Machine
	bucketRejected = []byte("rejected") // mac -> Rejection
)

// Rejection is a MAC an operator rejected: rackboot ignores its DHCP.
type Rejection struct {
	MAC  string    `json:"mac"`
	Time time.Time `json:"time"`
}

// StoredMachines returns the machines declared through the API, by name.
// An entry that does not decode is reported in bad and left out.
func (s *Store) StoredMachines() (ms []Machine, bad []error, err error) {
	err = s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketMachines)
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			var m Machine
			if err := json.Unmarshal(v, &m); err != nil {
				bad = append(bad, fmt.Errorf("stored machine %q: decoding: %w", k, err))
				return nil
			}
			m.Name, m.Source = string(k), SourceAPI
			ms = append(ms, m)
			return nil
		})
	})
	if err != nil {
		return nil, nil, fmt.Errorf("reading stored machines: %w", err)
	}
	return ms, bad, nil
}

// PutStoredMachine stores m, replacing the machine of the same name, and
// forgets the rejections of its MACs, in one write.
func (s *Store) PutStoredMachine(m Machine) error {
	err := s.db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucketMachines)
		if err != nil {
			return err
		}
		if err := putJSON(b, []byte(m.Name), m); err != nil {
			return err
		}
		if r := tx.Bucket(bucketRejected); r != nil {
			for _, mac := range m.MACs {
				if err := r.Delete([]byte(mac)); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("storing machine %s: %w", m.Name, err)
	}
	return nil
}

// DeleteStoredMachine deletes the machine called name; false means the
// store had none.
func (s *Store) DeleteStoredMachine(name string) (bool, error) {
	return s.deleteKey(bucketMachines, name, "machine")
}

// deleteKey deletes key from bucket; false means it was not there.
func (s *Store) deleteKey(bucket []byte, key, what string) (bool, error) {
	var found bool
	err := s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucket)
		if b == nil || b.Get([]byte(key)) == nil {
			return nil
		}
		found = true
		return b.Delete([]byte(key))
	})
	if err != nil {
		return false, fmt.Errorf("deleting %s %s: %w", what, key, err)
	}
	return found, nil
}

// PutRejection stores the rejection of mac, keeping the time of an
// earlier one.
func (s *Store) PutRejection(mac string) error {
	err := s.db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucketRejected)
		if err != nil || b.Get([]byte(mac)) != nil {
			return err
		}
		return putJSON(b, []byte(mac), Rejection{MAC: mac, Time: s.now().UTC()})
	})
	if err != nil {
		return fmt.Errorf("storing the rejection of %s: %w", mac, err)
	}
	return nil
}

// DeleteRejection forgets the rejection of mac; false means there was
// none.
func (s *Store) DeleteRejection(mac string) (bool, error) {
	return s.deleteKey(bucketRejected, mac, "the rejection of")
}

// Rejections returns every rejected MAC, by MAC, declared ones included
// (an Inventory's catalog leaves those out).
func (s *Store) Rejections() ([]Rejection, error) {
	var out []Rejection
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketRejected)
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			var r Rejection
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("decoding the rejection of %s: %w", k, err)
			}
			out = append(out, r)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("reading rejections: %w", err)
	}
	return out, nil
}
