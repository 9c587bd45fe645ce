// Package auth decides who may use rackboot's admin listener: API tokens
// with a role, browser sessions bought with a token, CSRF protection for
// those sessions and a per-address limit on failed sign-ins.
//
// A token is "rbt_" and 43 characters of base64url (32 random bytes). Only
// its hash, "sha256:<hex>", is stored: in the tokens file (a YAML list,
// see ParseTokens) or inline in the RACKBOOT_TOKENS environment variable
// (see ParseEnvTokens). A Keyring holds the hashes and answers who a
// token belongs to.
//
// The admin router mounts a Guard:
//
//	ring, err := auth.Load(auth.Files{Tokens: tokensFile,
//		Env: os.Getenv("RACKBOOT_TOKENS"), Bootstrap: adminTokenFile}, log)
//	...
//	g, err := auth.NewGuard(auth.Config{Keyring: ring, Log: log})
//	...
//	r.Post("/login", g.Login)
//	r.Post("/logout", g.Logout)
//	r.Group(func(r chi.Router) {
//		r.Use(g.Require)
//		r.Get("/api/v1/session", g.Session)
//		r.Get("/api/v1/machines", ...) // auth.FromContext(ctx) names the caller
//	})
//
// Require lets viewers read (GET, HEAD) and operators do everything. A
// request authenticates with "Authorization: Bearer <token>" or with the
// session cookie "rackboot_session"; a cookie request that changes state
// must also carry the session's CSRF token in the X-CSRF-Token header.
// Errors are JSON {"error": "...", "code": "..."}.
//
// A request that outlives its check, such as an event stream, asks Still
// before each event whether its credential still holds, and ends when it
// does not: its token removed on SIGHUP, its role lowered, its session
// ended.
//
// No token text is ever logged or put in an error.
package auth
