package inventory

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"sort"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Declined is an address a DHCP client declined (RFC 2131 section 4.3.3):
// another host answers on it, so it stays out of use until Until.
type Declined struct {
	IP    netip.Addr `json:"ip"`
	Until time.Time  `json:"until"`
}

var bucketDeclined = []byte("declined") // ip (text) -> Declined

// PutDeclined quarantines ip until until, replacing any earlier quarantine
// of ip, and drops quarantines that have ended. It returns once the record
// is on disk, so a restart keeps the address out of use.
func (s *Store) PutDeclined(ip netip.Addr, until time.Time) error {
	d := Declined{IP: ip, Until: until.UTC()}
	now := s.now()
	err := s.db.Batch(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucketDeclined)
		if err != nil {
			return err
		}
		if err := dropEnded(b, now); err != nil {
			return err
		}
		return putJSON(b, []byte(ip.String()), d)
	})
	if err != nil {
		return fmt.Errorf("storing declined address %s: %w", ip, err)
	}
	return nil
}

// dropEnded deletes the quarantines of b that ended before now. The bucket
// holds at most one record per address of the pools, so a full walk is
// cheap.
func dropEnded(b *bolt.Bucket, now time.Time) error {
	var ended [][]byte
	err := b.ForEach(func(k, v []byte) error {
		var d Declined
		if json.Unmarshal(v, &d) != nil || d.Until.Before(now) {
			ended = append(ended, k)
		}
		return nil
	})
	for _, k := range ended {
		if err == nil {
			err = b.Delete(k)
		}
	}
	return err
}

// Declined returns every stored quarantine, ended ones included, by
// address.
func (s *Store) Declined() ([]Declined, error) {
	var out []Declined
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketDeclined)
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			var d Declined
			if err := json.Unmarshal(v, &d); err != nil {
				return fmt.Errorf("decoding declined address %s: %w", k, err)
			}
			out = append(out, d)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("reading declined addresses: %w", err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].IP.Less(out[j].IP) })
	return out, nil
}
