package inventory

import (
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"regexp"
	"strings"
)

// Artifact is a file of the asset store that Ignition downloads and
// verifies.
type Artifact struct {
	// Asset is the file's path relative to the assets directory.
	Asset string `json:"asset"`
	// SHA512 is its lower-case hex sha512.
	SHA512 string `json:"sha512"`
}

var hex512Pattern = regexp.MustCompile(`^[0-9a-f]{128}$`)

func (a Artifact) check() error {
	if a.Asset == "" {
		return errors.New("asset: required")
	}
	if !fs.ValidPath(a.Asset) || strings.Contains(a.Asset, "\\") || a.Asset == "." {
		return fmt.Errorf("asset: %q must be a relative path inside the assets directory", a.Asset)
	}
	if !hex512Pattern.MatchString(a.SHA512) {
		return errors.New("sha512: not 128 lower-case hex digits")
	}
	return nil
}

// VerifyIgnitionAssets checks that the kubelet and CRI-O artifacts of every
// profile with Ignition settings exist in fsys with their sha512 sums.
func (c *Catalog) VerifyIgnitionAssets(fsys fs.FS) error {
	var errs []error
	for _, p := range c.Profiles() {
		if p.Ignition == nil {
			continue
		}
		for _, a := range []Artifact{p.Ignition.Kubelet, p.Ignition.CRIO} {
			if err := a.verify(fsys); err != nil {
				errs = append(errs, fmt.Errorf("profile %s: %w", p.Name, err))
			}
		}
	}
	return errors.Join(errs...)
}

func (a Artifact) verify(fsys fs.FS) error {
	f, err := fsys.Open(path.Clean(a.Asset))
	if err != nil {
		return fmt.Errorf("asset %s: %w", a.Asset, err)
	}
	defer f.Close()
	h := sha512.New()
	if _, err := io.Copy(h, f); err != nil {
		return fmt.Errorf("asset %s: reading: %w", a.Asset, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != a.SHA512 {
		return fmt.Errorf("asset %s: sha512 is %s, profile says %s", a.Asset, got, a.SHA512)
	}
	return nil
}
