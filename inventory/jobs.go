package inventory

import (
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// bucketJobs holds reprovisions in flight: machine name -> JobRecord. It
// is created by the first PutJob, so stores that never reprovisioned do
// not have it.
var bucketJobs = []byte("jobs")

// JobRecord is a machine's reprovision in flight as the store keeps it,
// so that a restarted rackboot resumes it where it was.
type JobRecord struct {
	Machine string `json:"machine"`
	// MAC is the machine's first MAC when the job was saved.
	MAC string `json:"mac"`
	// Attempt counts from 1; Attempts is how many the job may take.
	Attempt  int `json:"attempt"`
	Attempts int `json:"attempts"`
	// Generation is the provisioning generation the attempt started.
	Generation uint64 `json:"generation"`
	// Stage is the stage reached: the one waited for.
	Stage string `json:"stage,omitempty"`
	By    string `json:"by"`
	// Queued and Started are when the job was queued and first started.
	Queued  time.Time `json:"queued"`
	Started time.Time `json:"started"`
	// After is the Seq of the attempt's provision-started event: the
	// attempt's boot events come after it.
	After uint64 `json:"after"`
	// Powered is when the attempt's power cycle was sent; zero means it
	// has not been sent (or not acknowledged) yet.
	Powered time.Time `json:"powered,omitzero"`
	// Replica names the replica that saved the record last: the one
	// running the job, or, with Attempt zero, the one it was submitted
	// to. Empty with the embedded store.
	Replica string `json:"replica,omitempty"`
	// Limit is how many machines of the job's batch may be reprovisioned
	// at once; zero means the workflow's limit.
	Limit int `json:"limit,omitempty"`
}

// PutJob saves j, replacing the record of the same machine.
func (s *Store) PutJob(j JobRecord) error {
	err := s.db.Batch(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucketJobs)
		if err != nil {
			return err
		}
		return putJSON(b, []byte(j.Machine), j)
	})
	if err != nil {
		return fmt.Errorf("saving the reprovision of %s: %w", j.Machine, err)
	}
	return nil
}

// DeleteJob forgets the record of the machine called name, if any.
func (s *Store) DeleteJob(name string) error {
	err := s.db.Batch(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketJobs)
		if b == nil {
			return nil
		}
		return b.Delete([]byte(name))
	})
	if err != nil {
		return fmt.Errorf("deleting the reprovision of %s: %w", name, err)
	}
	return nil
}

// Jobs returns the saved reprovisions, by machine name.
func (s *Store) Jobs() ([]JobRecord, error) {
	var out []JobRecord
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketJobs)
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			var j JobRecord
			if err := json.Unmarshal(v, &j); err != nil {
				return fmt.Errorf("decoding job %q: %w", k, err)
			}
			out = append(out, j)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("reading reprovisions: %w", err)
	}
	return out, nil
}
