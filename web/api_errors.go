package web

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/rackboot/rackboot/inventory"
)

// Stable error codes of the JSON API, in the "code" field of every error
// answer beside the human message in "error". Clients branch on the code,
// never on the message.
const (
	CodeBadRequest       = "bad_request"
	CodeUnauthorized     = "unauthorized"
	CodeForbidden        = "forbidden"
	CodeNotFound         = "not_found"
	CodeConflict         = "conflict"
	CodeReadOnly         = "read_only" // a 409 for a machine of the inventory file
	CodeMethodNotAllowed = "method_not_allowed"
	CodeRateLimited      = "rate_limited"
	CodeUnavailable      = "unavailable"
	CodeInternal         = "internal"
)

// APIError is the body of every error answer under /api/.
type APIError struct {
	Error string `json:"error"`
	Code  string `json:"code"`
}

// errorCode is the stable code of an HTTP status; writeAPIError names the
// variants (read_only) a status alone does not tell.
func errorCode(status int) string {
	switch status {
	case http.StatusBadRequest, http.StatusRequestEntityTooLarge,
		http.StatusUnsupportedMediaType, http.StatusUnprocessableEntity:
		return CodeBadRequest
	case http.StatusUnauthorized:
		return CodeUnauthorized
	case http.StatusForbidden:
		return CodeForbidden
	case http.StatusNotFound:
		return CodeNotFound
	case http.StatusConflict:
		return CodeConflict
	case http.StatusMethodNotAllowed:
		return CodeMethodNotAllowed
	case http.StatusTooManyRequests:
		return CodeRateLimited
	case http.StatusServiceUnavailable, http.StatusNotImplemented,
		http.StatusBadGateway, http.StatusGatewayTimeout:
		return CodeUnavailable
	}
	if status >= 500 {
		return CodeInternal
	}
	return CodeBadRequest
}

// writeAPIError answers status with msg and an explicit code.
func writeAPIError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, APIError{Error: msg, Code: code})
}

// writeInventoryError answers an error of the inventory's declaration
// writes: 409 read_only, 409 conflict, 400, 404, 503 when the store
// cannot be reached, or 500 for another failure of the store.
func (s *Server) writeInventoryError(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, inventory.ErrReadOnly):
		writeAPIError(w, http.StatusConflict, CodeReadOnly,
			err.Error()+"; edit the file to change it")
	case errors.Is(err, inventory.ErrConflict):
		writeError(w, r, http.StatusConflict, err.Error())
	case errors.Is(err, inventory.ErrInvalid):
		writeError(w, r, http.StatusBadRequest, err.Error())
	case errors.Is(err, inventory.ErrNotFound):
		writeError(w, r, http.StatusNotFound, err.Error())
	default:
		s.internalError(w, r, err)
	}
}

// unavailableRetry is the Retry-After of a write refused because the
// store could not be reached: about the time the Kubernetes store takes
// to notice its API server is back.
const unavailableRetry = 5 * time.Second

// writeUnavailable answers 503 unavailable with a Retry-After when err
// says the store could not be reached (inventory.ErrUnavailable), and
// reports whether it did. Nothing was written; the client may retry.
func (s *Server) writeUnavailable(w http.ResponseWriter, r *http.Request, err error) bool {
	if !errors.Is(err, inventory.ErrUnavailable) {
		return false
	}
	s.log.Warn("write refused: store unavailable", "path", r.URL.Path, "err", err)
	w.Header().Set("Retry-After", strconv.Itoa(int(unavailableRetry/time.Second)))
	writeError(w, r, http.StatusServiceUnavailable,
		"the store cannot be reached (its API server is unavailable); nothing was written, try again later")
	return true
}
