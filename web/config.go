package web

import (
	"errors"
	"fmt"
	"net"
	"os"
	"time"

	"github.com/rackboot/rackboot/ipxe"
)

// Defaults of Config.
const (
	DefaultUnknownRetry    = ipxe.DefaultUnknownDelay
	DefaultRetryDelay      = ipxe.DefaultRetryDelay
	DefaultShutdownTimeout = 5 * time.Second
)

// Config is the configuration of a Server.
type Config struct {
	// Addr is the TCP address to listen on, such as ":8080".
	Addr string
	// PublicURL is the base URL clients reach this server at, such as
	// "http://192.0.2.10:8080"; every script points at it. Plain http only.
	PublicURL string
	// AssetsDir holds the kernels and initrds served under /assets/.
	AssetsDir string
	// LoaderDirs are searched in order for /loaders/{file}; the first
	// holding the file wins. Empty means /loaders/ finds nothing.
	LoaderDirs []string
	// LoaderFiles maps a loader name to a file path opened as is, symbolic
	// links followed, searched after LoaderDirs: the boot loaders of
	// system directories such as Debian's /usr/lib/ipxe, whose files are
	// links to /boot. Clients reach nothing else through them.
	LoaderFiles map[string]string
	// UnknownRetry is how long a machine missing from the inventory waits
	// before it asks again; zero means DefaultUnknownRetry. iPXE sleeps
	// whole seconds: it is rounded up.
	UnknownRetry time.Duration
	// RetryDelay is how long a client waits after a failed fetch or boot
	// before it tries again; zero means DefaultRetryDelay.
	RetryDelay time.Duration
	// ShutdownTimeout bounds the wait for requests in flight once Run's
	// context ends; zero means DefaultShutdownTimeout.
	ShutdownTimeout time.Duration
}

// Validate reports the first bad field of c, naming it.
func (c Config) Validate() error {
	errNegative := errors.New("must not be negative")
	switch {
	case c.UnknownRetry < 0:
		return fieldError("UnknownRetry", errNegative)
	case c.RetryDelay < 0:
		return fieldError("RetryDelay", errNegative)
	case c.ShutdownTimeout < 0:
		return fieldError("ShutdownTimeout", errNegative)
	}
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		return fieldError("Addr", err)
	}
	if _, err := ipxe.New(c.scriptConfig()); err != nil {
		return fieldError("PublicURL", err)
	}
	if err := checkDir(c.AssetsDir); err != nil {
		return fieldError("AssetsDir", err)
	}
	for i, d := range c.LoaderDirs {
		if err := checkDir(d); err != nil {
			return fieldError(fmt.Sprintf("LoaderDirs[%d]", i), err)
		}
	}
	return nil
}

// fieldError names the field of Config that err is about.
func fieldError(field string, err error) error {
	return fmt.Errorf("%s: %w", field, err)
}

func checkDir(dir string) error {
	if dir == "" {
		return errors.New("required")
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s is not a directory", dir)
	}
	return nil
}

func (c Config) scriptConfig() ipxe.Config {
	return ipxe.Config{
		BaseURL:      c.PublicURL,
		RetryDelay:   c.RetryDelay,
		UnknownDelay: c.UnknownRetry,
	}
}

func (c Config) shutdownTimeout() time.Duration {
	if c.ShutdownTimeout == 0 {
		return DefaultShutdownTimeout
	}
	return c.ShutdownTimeout
}
