package inventory

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// Bucket names of the embedded store. Keys are canonical MACs unless noted.
var (
	bucketEvents = []byte("events") // mac + "/" + big-endian seq -> Event
	bucketStatus = []byte("status") // mac -> Status
	bucketLeases = []byte("leases") // mac -> Lease
	bucketAddrs  = []byte("addrs")  // ip (text) -> mac, last address seen
)

// ErrNotFound is returned when a store lookup finds nothing.
var ErrNotFound = errors.New("not found")

// Store is rackboot's embedded runtime state: leases, discovered machines
// and their timelines, in one bbolt file. Every write is committed to disk
// before the call returns; concurrent writers are grouped into one commit.
// A Store is safe for concurrent use.
type Store struct {
	db  *bolt.DB
	now func() time.Time
	hub Hub // watchers of recorded events
}

// OpenStore opens (creating if needed) the store file "rackboot.db" in dir.
func OpenStore(dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("creating data dir: %w", err)
	}
	path := filepath.Join(dir, "rackboot.db")
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 2 * time.Second})
	if errors.Is(err, berrors.ErrTimeout) {
		return nil, fmt.Errorf("opening store %s: another process (a second rackboot?) holds it: %w", path, err)
	}
	if err != nil {
		return nil, fmt.Errorf("opening store %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketEvents, bucketStatus, bucketLeases, bucketAddrs} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("initialising store %s: %w", path, err)
	}
	db.MaxBatchDelay = 2 * time.Millisecond
	return &Store{db: db, now: time.Now}, nil
}

// Close closes the store file.
func (s *Store) Close() error { return s.db.Close() }

// Record appends e to the timeline of mac and updates the machine's status.
// A zero e.Time is set to now. The first sighting of a MAC (an event
// whose Kind.Sighting is true: its DHCP, TFTP or HTTP requests, its OS
// or kubelet) sets the status's FirstSeen and makes it a discovered
// machine. Other kinds (an operator's decision, a BMC call, a
// reprovision, the tracker's actions) never set FirstSeen: a MAC known
// only by them has a status without FirstSeen, and without a State
// unless the kind moves it (stateAfter: provision-started makes it
// booting), until the network shows it.
func (s *Store) Record(mac string, e Event) (Event, error) {
	if e.Time.IsZero() {
		e.Time = s.now()
	}
	e.Time = e.Time.UTC()
	err := s.db.Batch(func(tx *bolt.Tx) error {
		events := tx.Bucket(bucketEvents)
		seq, err := events.NextSequence()
		if err != nil {
			return err
		}
		e.Seq = seq
		if err := putJSON(events, eventKey(mac, seq), e); err != nil {
			return err
		}
		return updateStatus(tx, mac, e)
	})
	if err != nil {
		return e, fmt.Errorf("recording %s for %s: %w", e.Kind, mac, err)
	}
	s.hub.Publish(Notice{MAC: mac, Event: e})
	return e, nil
}

func updateStatus(tx *bolt.Tx, mac string, e Event) error {
	b := tx.Bucket(bucketStatus)
	var st Status
	if err := getJSON(b, []byte(mac), &st); errors.Is(err, ErrNotFound) {
		st = Status{MAC: mac}
	} else if err != nil {
		return err
	}
	if e.Kind.Sighting() {
		sighted(&st, e.Time)
	}
	if next, ok := stateAfter[e.Kind]; ok {
		st.State = next
	}
	if e.IP.IsValid() {
		st.IP = e.IP
		if err := tx.Bucket(bucketAddrs).Put([]byte(e.IP.String()), []byte(mac)); err != nil {
			return err
		}
	}
	st.LastEvent = e
	return putJSON(b, []byte(mac), st)
}

// sighted marks st seen on the network at t, unless it was seen before.
func sighted(st *Status, t time.Time) {
	if st.FirstSeen.IsZero() {
		st.FirstSeen = t
	}
	if st.State == "" {
		st.State = StateDiscovered
	}
}

// Timeline returns the events of mac, oldest first.
func (s *Store) Timeline(mac string) ([]Event, error) {
	var out []Event
	prefix := []byte(mac + "/")
	err := s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketEvents).Cursor()
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			var e Event
			if err := json.Unmarshal(v, &e); err != nil {
				return fmt.Errorf("decoding event %x: %w", k, err)
			}
			out = append(out, e)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading timeline of %s: %w", mac, err)
	}
	return out, nil
}

// TimelineSince returns the events of mac whose Seq is above after,
// oldest first: what a follower polling the timeline has not seen yet.
// It reads only those events.
func (s *Store) TimelineSince(mac string, after uint64) ([]Event, error) {
	var out []Event
	if after == math.MaxUint64 {
		return nil, nil
	}
	prefix := []byte(mac + "/")
	err := s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketEvents).Cursor()
		for k, v := c.Seek(eventKey(mac, after+1)); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			var e Event
			if err := json.Unmarshal(v, &e); err != nil {
				return fmt.Errorf("decoding event %x: %w", k, err)
			}
			out = append(out, e)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading timeline of %s since %d: %w", mac, after, err)
	}
	return out, nil
}

// Status returns the runtime status of mac, or ErrNotFound.
func (s *Store) Status(mac string) (Status, error) {
	var st Status
	err := s.db.View(func(tx *bolt.Tx) error {
		return getJSON(tx.Bucket(bucketStatus), []byte(mac), &st)
	})
	if err != nil {
		return st, fmt.Errorf("reading status of %s: %w", mac, err)
	}
	return st, nil
}

// Statuses returns the status of every machine the store has seen, by MAC.
func (s *Store) Statuses() ([]Status, error) {
	var out []Status
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketStatus).ForEach(func(k, v []byte) error {
			var st Status
			if err := json.Unmarshal(v, &st); err != nil {
				return fmt.Errorf("decoding status of %s: %w", k, err)
			}
			out = append(out, st)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("reading statuses: %w", err)
	}
	return out, nil
}

// MACByIP returns the MAC last seen with ip (from a lease, a DHCP request or
// any recorded event), or ErrNotFound.
func (s *Store) MACByIP(ip netip.Addr) (string, error) {
	var mac string
	err := s.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketAddrs).Get([]byte(ip.String()))
		if v == nil {
			return ErrNotFound
		}
		mac = string(v)
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("looking up %s: %w", ip, err)
	}
	return mac, nil
}

// PutLease stores l, replacing any lease of the same MAC. It returns once
// the lease is on disk, so a DHCPACK sent after it survives a crash.
func (s *Store) PutLease(l Lease) error {
	l.Expiry = l.Expiry.UTC()
	err := s.db.Batch(func(tx *bolt.Tx) error {
		if err := putJSON(tx.Bucket(bucketLeases), []byte(l.MAC), l); err != nil {
			return err
		}
		return tx.Bucket(bucketAddrs).Put([]byte(l.IP.String()), []byte(l.MAC))
	})
	if err != nil {
		return fmt.Errorf("storing lease %s for %s: %w", l.IP, l.MAC, err)
	}
	return nil
}

// DeleteLease removes the lease of mac; removing a missing lease is not an
// error.
func (s *Store) DeleteLease(mac string) error {
	err := s.db.Batch(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketLeases).Delete([]byte(mac))
	})
	if err != nil {
		return fmt.Errorf("deleting lease of %s: %w", mac, err)
	}
	return nil
}

// Leases returns every stored lease, expired ones included, by address.
func (s *Store) Leases() ([]Lease, error) {
	var out []Lease
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketLeases).ForEach(func(k, v []byte) error {
			var l Lease
			if err := json.Unmarshal(v, &l); err != nil {
				return fmt.Errorf("decoding lease of %s: %w", k, err)
			}
			out = append(out, l)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("reading leases: %w", err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].IP.Less(out[j].IP) })
	return out, nil
}

func eventKey(mac string, seq uint64) []byte {
	k := make([]byte, 0, len(mac)+9)
	k = append(k, mac...)
	k = append(k, '/')
	return binary.BigEndian.AppendUint64(k, seq)
}

func putJSON(b *bolt.Bucket, key []byte, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return b.Put(key, data)
}

func getJSON(b *bolt.Bucket, key []byte, v any) error {
	data := b.Get(key)
	if data == nil {
		return ErrNotFound
	}
	return json.Unmarshal(data, v)
}

// RecordByIP records e for the MAC last seen with ip, for peers such as TFTP
// and plain HTTP clients that show only their address. It returns
// ErrNotFound (wrapped) when no MAC is known for ip; nothing is recorded then.
func (s *Store) RecordByIP(ip netip.Addr, e Event) (Event, error) {
	mac, err := s.MACByIP(ip)
	if err != nil {
		return e, err
	}
	e.IP = ip
	return s.Record(mac, e)
}
