package inventory

import (
	"encoding/hex"
	"fmt"
	"strings"

	bolt "go.etcd.io/bbolt"
)

var bucketBootUUID = []byte("boot-uuid") // mac -> canonical UUID (text)

// NormalizeUUID returns the canonical form of an SMBIOS UUID: lower-case
// 8-4-4-4-12 hex. It accepts either case, with or without the dashes,
// and with surrounding braces or a "urn:uuid:" prefix.
func NormalizeUUID(s string) (string, error) {
	raw := strings.ToLower(s)
	raw = strings.TrimPrefix(raw, "urn:uuid:")
	if strings.HasPrefix(raw, "{") && strings.HasSuffix(raw, "}") {
		raw = raw[1 : len(raw)-1]
	}
	if len(raw) == 36 {
		for _, i := range []int{8, 13, 18, 23} {
			if raw[i] != '-' {
				return "", fmt.Errorf("uuid %q: not 8-4-4-4-12 hex digits", s)
			}
		}
		raw = strings.ReplaceAll(raw, "-", "")
	}
	b, err := hex.DecodeString(raw)
	if err != nil || len(b) != 16 {
		return "", fmt.Errorf("uuid %q: not 32 hex digits", s)
	}
	h := hex.EncodeToString(b)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:], nil
}

// PutBootUUID remembers uuid as the one mac reported when it last asked
// for its boot script; an empty uuid (a NIC that sends none) forgets any
// earlier one. The UUID is stored in canonical form.
func (s *Store) PutBootUUID(mac, uuid string) error {
	var err error
	if uuid != "" {
		if uuid, err = NormalizeUUID(uuid); err != nil {
			return fmt.Errorf("storing boot uuid of %s: %w", mac, err)
		}
	}
	err = s.db.Batch(func(tx *bolt.Tx) error {
		if uuid == "" {
			b := tx.Bucket(bucketBootUUID)
			if b == nil {
				return nil
			}
			return b.Delete([]byte(mac))
		}
		b, err := tx.CreateBucketIfNotExists(bucketBootUUID)
		if err != nil {
			return err
		}
		return b.Put([]byte(mac), []byte(uuid))
	})
	if err != nil {
		return fmt.Errorf("storing boot uuid of %s: %w", mac, err)
	}
	return nil
}

// BootUUID returns the UUID mac reported when it last asked for its boot
// script, in canonical form, or "" when it reported none or never asked.
func (s *Store) BootUUID(mac string) (string, error) {
	var uuid string
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketBootUUID)
		if b != nil {
			uuid = string(b.Get([]byte(mac)))
		}
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("reading boot uuid of %s: %w", mac, err)
	}
	return uuid, nil
}
