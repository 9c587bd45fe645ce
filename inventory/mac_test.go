package inventory

import "testing"

func TestUnicastMAC(t *testing.T) {
	tests := []struct {
		mac  string
		want bool
	}{
		{"02:00:00:00:00:01", true},
		{"52-54-00-12-34-56", true},
		{"5254.0012.3456", true},
		{"fe:00:00:00:00:01", true}, // bit 0 clear, locally administered
		{"ff:ff:ff:ff:ff:ff", false},
		{"FF-FF-FF-FF-FF-FF", false},
		{"01:00:5e:00:00:01", false}, // IPv4 multicast
		{"33:33:00:00:00:01", false}, // IPv6 multicast
		{"03:00:00:00:00:00", false},
		{"00:00:00:00:00:00", false},
		{"not a mac", false},
		{"00:00:00:00:fe:80:00:00:00:00:00:00:02:00:5e:10:00:00:00:01", false},
	}
	for _, tt := range tests {
		if got := UnicastMAC(tt.mac); got != tt.want {
			t.Errorf("UnicastMAC(%q) = %v, want %v", tt.mac, got, tt.want)
		}
	}
}
