// Package secrets reads BMC user names and passwords from Kubernetes
// Secrets, for bmc.Config.Secrets.
//
// A Reader asks the API server for the Secret each time it is called:
// nothing is cached, so a rotated Secret takes effect at the next BMC
// operation, and no value is kept beyond the call. Errors name the Secret
// and the key at fault, never a value.
//
// Usage:
//
//	r := secrets.New(kubernetes.NewForConfigOrDie(cfg).CoreV1(), "rackboot")
//	ctl, err := bmc.New(bmc.Config{Secrets: r}, inv, log)
//
// rackboot needs "get" on secrets in every namespace a machine's BMC
// names.
package secrets

import (
	"context"
	"fmt"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corev1 "k8s.io/client-go/kubernetes/typed/core/v1"

	"github.com/rackboot/rackboot/inventory"
)

// Reader reads credentials from core/v1 Secrets. It is safe for
// concurrent use.
type Reader struct {
	client    corev1.SecretsGetter
	namespace string
}

// New returns a Reader that gets Secrets through client. namespace is
// where Secrets named without one are, rackboot's own.
func New(client corev1.SecretsGetter, namespace string) *Reader {
	return &Reader{client: client, namespace: namespace}
}

// Credentials gets the Secret ref names, now, and returns the values of
// its ref.UserKey and ref.PasswordKey (empty keys mean
// inventory.DefaultSecretUserKey and DefaultSecretPasswordKey). A line end
// at the end of a value, which a Secret made from files often has, is
// dropped. A missing or empty key is an error.
func (r *Reader) Credentials(ctx context.Context, ref inventory.SecretRef) (user, pass string, err error) {
	ref = ref.WithDefaults(r.namespace)
	s, err := r.client.Secrets(ref.Namespace).Get(ctx, ref.Name, metav1.GetOptions{})
	if err != nil {
		return "", "", fmt.Errorf("getting secret %s: %w", ref, err)
	}
	if user, err = value(s.Data, ref, ref.UserKey); err != nil {
		return "", "", err
	}
	if pass, err = value(s.Data, ref, ref.PasswordKey); err != nil {
		return "", "", err
	}
	return user, pass, nil
}

// value returns data[key] without a final line end.
func value(data map[string][]byte, ref inventory.SecretRef, key string) (string, error) {
	v, ok := data[key]
	if !ok {
		return "", fmt.Errorf("secret %s has no key %q", ref, key)
	}
	s := strings.TrimSuffix(strings.TrimSuffix(string(v), "\n"), "\r")
	if s == "" {
		return "", fmt.Errorf("secret %s: key %q is empty", ref, key)
	}
	return s, nil
}
