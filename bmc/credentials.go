package bmc

import (
	"bufio"
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

// loadCredentials reads the credentials b names, now: a changed file or
// variable takes effect at the next operation. Errors name the file or
// variable, never its contents.
func loadCredentials(b *inventory.BMC) (credentials, error) {
	var raw, where string
	switch {
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
