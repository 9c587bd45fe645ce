package web

import (
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/rackboot/rackboot/inventory"
)

// serveAsset answers GET and HEAD /assets/{path...} from Config.AssetsDir.
// Once a profile's kernel or initrd has gone out to its end, the fetch is
// recorded on the timeline of the machine at the client's address.
func (s *Server) serveAsset(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(r.URL.Path, "/assets/")
	if !s.serveFile(w, r, []string{s.cfg.AssetsDir}, name) {
		return
	}
	kind, ok := assetKind(s.inv.Catalog(), name)
	if !ok {
		return
	}
	s.recordByIP(r, inventory.Event{Kind: kind, Detail: name})
}

// serveLoader answers GET and HEAD /loaders/{file} from the first of
// Config.LoaderDirs holding file: iPXE binaries for UEFI HTTP Boot.
func (s *Server) serveLoader(w http.ResponseWriter, r *http.Request) {
	name, err := url.PathUnescape(chi.URLParam(r, "file"))
	if err != nil || strings.Contains(name, "/") {
		writeError(w, r, http.StatusNotFound, "not found")
		return
	}
	open := func() (*os.File, fs.FileInfo, error) {
		f, fi, err := openFile(s.cfg.LoaderDirs, name)
		if p, pinned := s.cfg.LoaderFiles[name]; pinned && errors.Is(err, fs.ErrNotExist) {
			return openPinned(p)
		}
		return f, fi, err
	}
	if s.serveOpened(w, r, name, open) {
		s.recordByIP(r, inventory.Event{Kind: inventory.EventLoaderServed, Detail: name})
	}
}

// openPinned opens one of Config.LoaderFiles, following symbolic links.
func openPinned(p string) (*os.File, fs.FileInfo, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, nil, err
	}
	fi, err := f.Stat()
	if err == nil && !fi.Mode().IsRegular() {
		err = fmt.Errorf("%s: not a regular file: %w", p, fs.ErrNotExist)
	}
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return f, fi, nil
}

// assetKind says whether name is a kernel or an initrd of some profile.
func assetKind(c *inventory.Catalog, name string) (inventory.EventKind, bool) {
	kind, found := inventory.EventKind(""), false
	for _, p := range c.Profiles() {
		if p.Kernel == name {
			return inventory.EventKernelFetched, true
		}
		for _, initrd := range p.Initrds {
			if initrd == name {
				kind, found = inventory.EventInitrdFetched, true
			}
		}
	}
	return kind, found
}

// serveFile sends name from the first of dirs holding it, with Range and
// HEAD support, and reports whether the body went out to its last byte:
// a whole 200 body or a single range ending at the file's end. HEAD and
// multipart range answers report false.
func (s *Server) serveFile(w http.ResponseWriter, r *http.Request,
	dirs []string, name string) bool {
	return s.serveOpened(w, r, name, func() (*os.File, fs.FileInfo, error) {
		return openFile(dirs, name)
	})
}

// serveOpened is serveFile for a file that open finds.
func (s *Server) serveOpened(w http.ResponseWriter, r *http.Request, name string,
	open func() (*os.File, fs.FileInfo, error)) bool {
	f, fi, err := open()
	if err != nil {
		s.fileError(w, r, name, err)
		return false
	}
	defer f.Close()

	rc := http.NewResponseController(w)
	if err := rc.SetWriteDeadline(time.Now().Add(assetWriteTimeout)); err != nil {
		s.log.Debug("extending write deadline", "path", r.URL.Path, "err", err)
	}
	cw := &responseWriter{ResponseWriter: w}
	w.Header().Set("Content-Type", "application/octet-stream")
	http.ServeContent(cw, r, "", fi.ModTime(), f)
	s.metrics.sent(cw.bytes)
	if r.Method == http.MethodHead || !reachedEnd(cw, fi.Size()) {
		return false
	}
	s.log.Info("file sent", "path", r.URL.Path, "remote", r.RemoteAddr, "bytes", cw.bytes)
	return true
}

// reachedEnd reports whether the response carried the file's last byte.
func reachedEnd(w *responseWriter, size int64) bool {
	switch w.status {
	case http.StatusOK:
		return w.bytes == size
	case http.StatusPartialContent:
		var first, last, total int64
		cr := w.Header().Get("Content-Range")
		if _, err := fmt.Sscanf(cr, "bytes %d-%d/%d", &first, &last, &total); err != nil {
			return false // multipart/byteranges
		}
		return last == size-1 && w.bytes == last-first+1
	}
	return false
}

func (s *Server) fileError(w http.ResponseWriter, r *http.Request, name string, err error) {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		s.log.Debug("file not found", "path", r.URL.Path, "remote", r.RemoteAddr)
		writeError(w, r, http.StatusNotFound, "not found")
	case errors.Is(err, fs.ErrPermission):
		s.log.Warn("opening file", "file", name, "err", err)
		writeError(w, r, http.StatusForbidden, "forbidden")
	default:
		// Among others a symlink leading out of its directory.
		s.log.Warn("opening file", "file", name, "err", err)
		writeError(w, r, http.StatusNotFound, "not found")
	}
}

// openFile opens name in the first of dirs that holds it. It goes through
// os.Root, so neither ".." nor a symbolic link leaves the directory.
// Directories count as missing.
func openFile(dirs []string, name string) (*os.File, fs.FileInfo, error) {
	if !fs.ValidPath(name) || name == "." {
		return nil, nil, fs.ErrNotExist
	}
	for _, dir := range dirs {
		f, fi, err := openIn(dir, name)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		return f, fi, err
	}
	return nil, nil, fs.ErrNotExist
}

func openIn(dir, name string) (*os.File, fs.FileInfo, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, nil, err
	}
	defer root.Close() // f stays open: it has its own descriptor
	f, err := root.Open(name)
	if err != nil {
		return nil, nil, err
	}
	fi, err := f.Stat()
	if err == nil && !fi.Mode().IsRegular() {
		err = fmt.Errorf("%s: not a regular file: %w", name, fs.ErrNotExist)
	}
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return f, fi, nil
}

// recordByIP records e for the machine last seen at the client's address.
// An address no machine is known by is only logged.
func (s *Server) recordByIP(r *http.Request, e inventory.Event) {
	ip := remoteIP(r)
	_, err := s.inv.RecordByIP(ip, e)
	switch {
	case errors.Is(err, inventory.ErrNotFound):
		s.log.Debug("no machine known at address", "ip", ip, "path", r.URL.Path)
	case err != nil:
		s.log.Error("recording event", "ip", ip, "err", err)
	}
}
