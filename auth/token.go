package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
)

// TokenPrefix starts every rackboot token, so one is easy to recognise
// in a file or a secret scanner.
const TokenPrefix = "rbt_"

// tokenBytes is the entropy of a token.
const tokenBytes = 32

// tokenLen is the length of a token: the prefix and unpadded base64url
// of tokenBytes.
var tokenLen = len(TokenPrefix) + base64.RawURLEncoding.EncodedLen(tokenBytes)

// hashPrefix starts every stored hash.
const hashPrefix = "sha256:"

// NewToken returns a new random token.
func NewToken() (string, error) {
	b := make([]byte, tokenBytes)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("reading random bytes: %w", err)
	}
	return TokenPrefix + base64.RawURLEncoding.EncodeToString(b), nil
}

// WellFormed reports whether tok looks like a token NewToken makes. It
// says nothing of whether any keyring knows it.
func WellFormed(tok string) bool {
	if len(tok) != tokenLen || !strings.HasPrefix(tok, TokenPrefix) {
		return false
	}
	_, err := base64.RawURLEncoding.Strict().DecodeString(tok[len(TokenPrefix):])
	return err == nil
}

// Hash returns the stored form of tok: "sha256:" and the lower-case hex
// SHA-256 of the whole token string. A token carries 256 random bits, so
// a plain, unsalted hash is enough to keep it from being guessed.
func Hash(tok string) string {
	sum := sha256.Sum256([]byte(tok))
	return hashPrefix + hex.EncodeToString(sum[:])
}

// normalHash returns h in the form Hash returns (hex in lower case), or
// an error when h is not "sha256:" and 64 hex digits.
func normalHash(h string) (string, error) {
	hexPart, ok := strings.CutPrefix(h, hashPrefix)
	if !ok {
		return "", fmt.Errorf("hash does not start with %q", hashPrefix)
	}
	raw, err := hex.DecodeString(hexPart)
	if err != nil || len(raw) != sha256.Size {
		return "", fmt.Errorf("hash: want %s and %d hex digits", hashPrefix, 2*sha256.Size)
	}
	return hashPrefix + hex.EncodeToString(raw), nil
}

// sameHash compares two hashes in constant time.
func sameHash(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}
