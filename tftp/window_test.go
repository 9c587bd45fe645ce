package tftp

import (
	"bytes"
	"testing"
)

// TestWindowAck checks which 16-bit ACK numbers slide a window, across the
// rollover from 65535 to 0.
func TestWindowAck(t *testing.T) {
	src := bytes.NewReader(make([]byte, 70000*8))
	w := newWindow(src, 8, 4)
	w.first = 65534 // pretend 65,533 blocks went before
	if err := w.fill(); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		ack       uint16
		ok        bool
		wantFirst uint64
	}{
		{65533, false, 65534}, // acknowledged already
		{2, false, 65534},     // beyond the window (65534..65537 = 65534, 65535, 0, 1)
		{65535, true, 65536},  // two blocks
		{65535, false, 65536}, // duplicate
		{0, true, 65537},      // block 65536 travels as 0
		{1, true, 65538},
	}
	for _, tt := range tests {
		_, ok := w.ack(tt.ack)
		if ok != tt.ok || w.first != tt.wantFirst {
			t.Errorf("ack(%d) = %t, first %d, want %t, first %d", tt.ack, ok, w.first, tt.ok, tt.wantFirst)
		}
		if err := w.fill(); err != nil {
			t.Fatal(err)
		}
	}
}
