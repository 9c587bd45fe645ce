package tftp

import "io"

// window holds the blocks sent and not yet acknowledged: one block in
// RFC 1350 lock-step, up to windowsize blocks with RFC 7440. Blocks are
// numbered from 1 without limit; on the wire only the low 16 bits travel,
// so block 65536 goes out as 0 and the next as 1 again.
type window struct {
	src     io.Reader
	blksize int
	size    int      // blocks in flight at most
	first   uint64   // number of blocks[0]
	blocks  [][]byte // in flight, in order
	spare   [][]byte // acknowledged buffers, for reuse
	eof     bool     // the last block, shorter than blksize, is read
}

// newWindow returns an empty window over src, starting at block 1.
func newWindow(src io.Reader, blksize, size int) *window {
	return &window{src: src, blksize: blksize, size: size, first: 1}
}

// fill reads blocks from the source until the window is full or the last
// block is read. A block shorter than blksize (maybe empty) ends the file
// (RFC 1350 section 6).
func (w *window) fill() error {
	for len(w.blocks) < w.size && !w.eof {
		buf := w.buffer()
		n, err := io.ReadFull(w.src, buf)
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			w.eof, err = true, nil
		}
		if err != nil {
			return err
		}
		w.blocks = append(w.blocks, buf[:n])
	}
	return nil
}

// buffer returns a block buffer of blksize bytes.
func (w *window) buffer() []byte {
	if n := len(w.spare); n > 0 {
		b := w.spare[n-1]
		w.spare = w.spare[:n-1]
		return b[:w.blksize]
	}
	return make([]byte, w.blksize)
}

// ack slides the window past the block an ACK names with its 16-bit
// number. It returns the bytes newly acknowledged, or false when no block
// in flight has that number: a duplicate or stray ACK, which must not
// trigger a resend (the Sorcerer's Apprentice bug, RFC 1123 4.2.3.1).
func (w *window) ack(block uint16) (int, bool) {
	k := int(block - uint16(w.first)) // wraps like the wire numbers
	if k >= len(w.blocks) {
		return 0, false
	}
	n := 0
	for _, b := range w.blocks[:k+1] {
		n += len(b)
		w.spare = append(w.spare, b)
	}
	w.blocks = append(w.blocks[:0], w.blocks[k+1:]...)
	w.first += uint64(k + 1)
	return n, true
}

// finished reports whether every block, the last included, is
// acknowledged.
func (w *window) finished() bool { return w.eof && len(w.blocks) == 0 }
