package tftp

import (
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

func TestNetasciiReader(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"plain", "plain"},
		{"a\nb", "a\r\nb"},
		{"a\r\nb", "a\r\x00\r\nb"},
		{"\r", "\r\x00"},
		{"\n\n", "\r\n\r\n"},
		{"end\r", "end\r\x00"},
		{"x\x00y", "x\x00y"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			// One byte per Read: a CR or LF at the end of a buffer must
			// carry its second byte into the next Read.
			got, err := io.ReadAll(iotest.OneByteReader(newNetasciiReader(strings.NewReader(tt.in))))
			if err != nil || string(got) != tt.want {
				t.Errorf("netascii(%q) = %q, %v, want %q", tt.in, got, err, tt.want)
			}
			size, err := netasciiSize(strings.NewReader(tt.in))
			if err != nil || size != int64(len(tt.want)) {
				t.Errorf("netasciiSize(%q) = %d, %v, want %d", tt.in, size, err, len(tt.want))
			}
		})
	}
}
