package join

import (
	"crypto/rand"
	"errors"
	"fmt"
	"math/big"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The bootstrap token format, from the Kubernetes reference "Authenticating
// with Bootstrap Tokens": a Secret named bootstrap-token-<id> in kube-system
// of type bootstrap.kubernetes.io/token, whose token authenticates as
// "<id>.<secret>" with id six and secret sixteen of [a-z0-9].
const (
	tokenNamespace = "kube-system"
	tokenPrefix    = "bootstrap-token-"
	idLen          = 6
	secretLen      = 16
	tokenAlphabet  = "0123456789abcdefghijklmnopqrstuvwxyz"
)

// Keys of a bootstrap token Secret's data.
const (
	keyID          = "token-id"
	keySecret      = "token-secret"
	keyExpiration  = "expiration"
	keyDescription = "description"
	keyUsageAuth   = "usage-bootstrap-authentication"
	keyUsageSign   = "usage-bootstrap-signing"
	keyExtraGroups = "auth-extra-groups"
)

// Group is the extra group every token rackboot mints authenticates in,
// besides system:bootstrappers, which the API server adds to every
// bootstrap token. The RBAC bindings Minter makes name this group, so
// tokens minted by other tools gain nothing from them.
const Group = "system:bootstrappers:rackboot"

// Labels rackboot puts on the Secrets and CSRs it creates, to find them
// again by machine and generation.
const (
	LabelMachine    = "rackboot.io/machine"
	LabelGeneration = "rackboot.io/generation"
	labelManagedBy  = "app.kubernetes.io/managed-by"
)

// token is one bootstrap token. secret is the credential: it goes into the
// Secret and to the machine, never into a log line or an error.
type token struct {
	id      string
	secret  string
	expires time.Time
}

// newToken returns a fresh random token that expires at expires.
func newToken(expires time.Time) (token, error) {
	id, err := randomString(idLen)
	if err != nil {
		return token{}, err
	}
	secret, err := randomString(secretLen)
	if err != nil {
		return token{}, err
	}
	return token{id: id, secret: secret, expires: expires}, nil
}

// randomString returns n characters drawn uniformly from tokenAlphabet.
func randomString(n int) (string, error) {
	b := make([]byte, n)
	size := big.NewInt(int64(len(tokenAlphabet)))
	for i := range b {
		v, err := rand.Int(rand.Reader, size)
		if err != nil {
			return "", fmt.Errorf("reading random bytes: %w", err)
		}
		b[i] = tokenAlphabet[v.Int64()]
	}
	return string(b), nil
}

// secretName is the name the API server looks the token up by.
func (tk token) secretName() string { return tokenPrefix + tk.id }

// String returns the bearer token the kubelet presents, "id.secret".
func (tk token) String() string { return tk.id + "." + tk.secret }

// secretFor builds the Secret that makes tk valid for machine's generation
// gen: usable for authentication and for signing the cluster-info
// ConfigMap, in Group, and deleted by the token cleaner once it expires.
func secretFor(tk token, machine string, gen uint64) *corev1.Secret {
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{
			Name:      tk.secretName(),
			Namespace: tokenNamespace,
			Labels: map[string]string{
				LabelMachine:    machine,
				LabelGeneration: strconv.FormatUint(gen, 10),
				labelManagedBy:  "rackboot",
			},
		},
		Type: corev1.SecretTypeBootstrapToken,
		Data: map[string][]byte{
			keyID:          []byte(tk.id),
			keySecret:      []byte(tk.secret),
			keyExpiration:  []byte(tk.expires.UTC().Format(time.RFC3339)),
			keyUsageAuth:   []byte("true"),
			keyUsageSign:   []byte("true"),
			keyExtraGroups: []byte(Group),
			keyDescription: []byte(fmt.Sprintf(
				"rackboot: kubelet TLS bootstrap for machine %s, generation %d",
				machine, gen)),
		},
	}
}

// errNotToken marks a Secret that is not a complete bootstrap token.
var errNotToken = errors.New("not a complete bootstrap token")

// tokenFrom reads the token back out of a Secret secretFor built.
func tokenFrom(s *corev1.Secret) (token, error) {
	if s.Type != corev1.SecretTypeBootstrapToken {
		return token{}, errNotToken
	}
	tk := token{id: string(s.Data[keyID]), secret: string(s.Data[keySecret])}
	if len(tk.id) != idLen || len(tk.secret) != secretLen || s.Name != tk.secretName() {
		return token{}, errNotToken
	}
	exp, err := time.Parse(time.RFC3339, string(s.Data[keyExpiration]))
	if err != nil {
		return token{}, errNotToken
	}
	tk.expires = exp
	return tk, nil
}

// generationOf returns the generation label of s, or 0 when it has none.
func generationOf(s *corev1.Secret) uint64 {
	gen, _ := strconv.ParseUint(s.Labels[LabelGeneration], 10, 64)
	return gen
}
