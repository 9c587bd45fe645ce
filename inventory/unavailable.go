package inventory

import "errors"

// ErrUnavailable is wrapped by the errors of writes that could not reach
// the store: with the Kubernetes store, its API server. The write did not
// happen, or its outcome is unknown; the caller may retry later. The
// embedded store never returns it.
var ErrUnavailable = errors.New("store unavailable")
