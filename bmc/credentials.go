package bmc

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/rackboot/rackboot/inventory"
)

// maxCredentialsFile bounds what is read of a credentials file.
const maxCredentialsFile = 4 << 10

// credentials are a BMC's user and password, loaded for one operation.
// Every way of printing them hides the password.
type credentials struct {
	user, pass string
}

// String returns the user with the password hidden.
func (c credentials) String() string { return c.user + ":[redacted]" }

// GoString hides the password from %#v too.
func (c credentials) GoString() string { return c.String() }

// LogValue hides the password from slog.
func (c credentials) LogValue() slog.Value { return slog.StringValue(c.String()) }

// SecretReader reads BMC credentials from Kubernetes Secrets. It is
// called from many operations at once, once per operation, so that a
// changed Secret takes effect at the next one.
type SecretReader interface {
	// Credentials returns the user name and the password the Secret ref
	// names holds under ref.UserKey and ref.PasswordKey; an empty
	// ref.Namespace means the reader's own. Its errors name the Secret
	// and the key at fault, never a value.
	Credentials(ctx context.Context, ref inventory.SecretRef) (user, pass string, err error)
}

// errNoSecretReader says a machine names a Secret that rackboot has no
// way to read.
var errNoSecretReader = errors.New("no Kubernetes API server to read Secrets " +
	"from is configured (give rackboot a kubeconfig)")

// loadCredentials reads the credentials b names, now: a changed file,
// variable or Secret takes effect at the next operation. Errors name the
// file, variable or Secret, never its contents.
func (c *Controller) loadCredentials(ctx context.Context, b *inventory.BMC) (credentials, error) {
	var raw, where string
	switch {
	case b.CredentialsSecret != nil:
		return c.secretCredentials(ctx, *b.CredentialsSecret)
	case b.CredentialsFile != "":
		where = "credentials_file " + b.CredentialsFile
		line, err := firstLine(b.CredentialsFile)
		if err != nil {
			return credentials{}, fmt.Errorf("%w: reading %s: %w", ErrCredentials, where, err)
		}
		raw = line
	case b.CredentialsEnv != "":
		where = "credentials_env " + b.CredentialsEnv
		v, ok := os.LookupEnv(b.CredentialsEnv)
		if !ok {
			return credentials{}, fmt.Errorf("%w: %s is not set", ErrCredentials, where)
		}
		raw = v
	default:
		return credentials{}, fmt.Errorf("%w: the bmc entry names no credentials", ErrCredentials)
	}
	return parseCredentials(raw, where)
}

// secretCredentials reads the credentials from the Secret ref names
// through Config.Secrets.
func (c *Controller) secretCredentials(ctx context.Context, ref inventory.SecretRef) (credentials, error) {
	ref = ref.WithDefaults(ref.Namespace) // the keys; the namespace is the reader's
	where := fmt.Sprintf("credentials_secret %s (keys %s, %s)", ref, ref.UserKey, ref.PasswordKey)
	if c.cfg.Secrets == nil {
		return credentials{}, fmt.Errorf("%w: %s: %w", ErrCredentials, where, errNoSecretReader)
	}
	user, pass, err := c.cfg.Secrets.Credentials(ctx, ref)
	if err != nil {
		return credentials{}, fmt.Errorf("%w: reading %s: %w", ErrCredentials, where, err)
	}
	if user == "" || pass == "" {
		return credentials{}, fmt.Errorf("%w: %s holds an empty user name or password",
			ErrCredentials, where)
	}
	return credentials{user: user, pass: pass}, nil
}

// parseCredentials splits "user:password" at the first colon; the
// password may hold colons.
func parseCredentials(raw, where string) (credentials, error) {
	raw = strings.TrimRight(raw, "\r\n")
	user, pass, ok := strings.Cut(raw, ":")
	if !ok || user == "" || pass == "" {
		err := fmt.Errorf("%w: %s does not hold user:password", ErrCredentials, where)
		return credentials{}, err
	}
	return credentials{user: user, pass: pass}, nil
}

// firstLine returns the first line of the file at path, without its end.
func firstLine(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	line, err := bufio.NewReader(io.LimitReader(f, maxCredentialsFile)).ReadString('\n')
	if err != nil && err != io.EOF {
		return "", err
	}
	return line, nil
}
