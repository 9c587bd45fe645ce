// Package ui is rackboot's operator dashboard: static HTML, one style
// sheet and plain JavaScript modules, embedded in the binary and served
// by Handler on the admin listener. It holds no data and no secret: the
// browser signs in with a token (POST /login), keeps the session cookie,
// and reads and acts through the JSON API under /api/v1, sending the
// session's X-CSRF-Token with every state-changing request. Live updates
// come from the server-sent-event stream GET /api/v1/events.
//
// URL layout (see docs/dashboard.md for what each page shows):
//
//	GET /                 the dashboard; pages are #/machines, #/discovered,
//	                      #/machine/{name or mac}, #/login
//	GET /ui/{file}        its style sheet, scripts and icon
//
// Usage, on the admin router after the API routes:
//
//	r.Handle("/*", ui.Handler())
//
// The handler must be reachable without a session: the page itself is
// the sign-in form, and it carries nothing a viewer may not see.
package ui
