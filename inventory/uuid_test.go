package inventory

import (
	"strings"
	"testing"
)

func TestNormalizeUUID(t *testing.T) {
	const canon = "0f0e0d0c-0b0a-0908-0706-050403020100"
	tests := []struct {
		name, in, want string
		wantErr        bool
	}{
		{name: "canonical", in: canon, want: canon},
		{name: "upper case", in: strings.ToUpper(canon), want: canon},
		{name: "no dashes", in: "0F0E0D0C0B0A09080706050403020100", want: canon},
		{name: "braces", in: "{" + canon + "}", want: canon},
		{name: "urn", in: "urn:uuid:" + canon, want: canon},
		{name: "empty", in: "", wantErr: true},
		{name: "short", in: canon[:35], wantErr: true},
		{name: "dash misplaced", in: "0f0e0d0c0-b0a-0908-0706-050403020100", wantErr: true},
		{name: "not hex", in: "0g0e0d0c-0b0a-0908-0706-050403020100", wantErr: true},
		{name: "too long", in: canon + "00", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := NormalizeUUID(tt.in)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("NormalizeUUID(%q) = %q, %v; want %q, error %v",
					tt.in, got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestBootUUIDSurvivesReopen(t *testing.T) {
	const mac, canon = "02:00:00:00:00:01", "0f0e0d0c-0b0a-0908-0706-050403020100"
	dir := t.TempDir()
	s := openTestStore(t, dir)
	if got, err := s.BootUUID(mac); err != nil || got != "" {
		t.Fatalf("BootUUID(%s) of a new store = %q, %v; want \"\"", mac, got, err)
	}
	if err := s.PutBootUUID(mac, strings.ToUpper(canon)); err != nil {
		t.Fatal(err)
	}
	s.Close()

	s = openTestStore(t, dir)
	if got, err := s.BootUUID(mac); err != nil || got != canon {
		t.Errorf("BootUUID(%s) after reopen = %q, %v; want %q", mac, got, err, canon)
	}
	if got, _ := s.BootUUID("02:00:00:00:00:02"); got != "" {
		t.Errorf("BootUUID of another MAC = %q, want \"\"", got)
	}
	if err := s.PutBootUUID(mac, "not-a-uuid"); err == nil {
		t.Errorf("PutBootUUID(%s, not-a-uuid) = nil, want an error", mac)
	}
	if got, _ := s.BootUUID(mac); got != canon {
		t.Errorf("BootUUID(%s) after a refused put = %q, want %q", mac, got, canon)
	}
	if err := s.PutBootUUID(mac, ""); err != nil {
		t.Fatal(err)
	}
	if got, err := s.BootUUID(mac); err != nil || got != "" {
		t.Errorf("BootUUID(%s) after a boot without uuid = %q, %v; want \"\"", mac, got, err)
	}
}
