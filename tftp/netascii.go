package tftp

import (
	"bufio"
	"bytes"
	"io"
)

// netasciiReader converts a local (Unix) file to netascii, the Telnet
// encoding RFC 1350 section 1 refers to (RFC 764): LF becomes CR LF and a
// CR becomes CR NUL. Every byte is kept, so a client that reverses the
// encoding gets the file back exactly.
type netasciiReader struct {
	r       *bufio.Reader
	pending int // the byte owed after a CR, or -1
}

// newNetasciiReader returns a reader of r in netascii.
func newNetasciiReader(r io.Reader) *netasciiReader {
	return &netasciiReader{r: bufio.NewReader(r), pending: -1}
}

// Read fills p with converted bytes.
func (n *netasciiReader) Read(p []byte) (int, error) {
	i := 0
	for ; i < len(p); i++ {
		if n.pending >= 0 {
			p[i], n.pending = byte(n.pending), -1
			continue
		}
		c, err := n.r.ReadByte()
		if err != nil {
			if i > 0 && err == io.EOF {
				err = nil
			}
			return i, err
		}
		p[i] = c
		switch c {
		case '\n':
			p[i], n.pending = '\r', '\n'
		case '\r':
			n.pending = 0
		}
	}
	return i, nil
}

// netasciiSize returns the length r will have in netascii: one more byte
// for every LF and every CR.
func netasciiSize(r io.Reader) (int64, error) {
	buf := make([]byte, 32*1024)
	var size int64
	for {
		n, err := r.Read(buf)
		lf, cr := bytes.Count(buf[:n], []byte{'\n'}), bytes.Count(buf[:n], []byte{'\r'})
		size += int64(n + lf + cr)
		if err == io.EOF {
			return size, nil
		}
		if err != nil {
			return 0, err
		}
	}
}
