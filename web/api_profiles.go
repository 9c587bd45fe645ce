package web

import (
	"fmt"
	"net/http"
	"net/url"

	"github.com/go-chi/chi/v5"
	"github.com/rackboot/rackboot/inventory"
)

// ProfileInfo is one profile as the API shows it: the profile, its Butane
// snippet redacted, and how many declared machines boot it.
type ProfileInfo struct {
	inventory.Profile
	Machines int `json:"machines"`
}

// ProfileList is the body of GET /api/v1/profiles.
type ProfileList struct {
	Items []ProfileInfo `json:"items"`
	Total int           `json:"total"`
}

// profileRoutes adds /api/v1/profiles.
func (s *Server) profileRoutes(r chi.Router) {
	r.Get("/api/v1/profiles", s.listProfiles)
	r.Get("/api/v1/profiles/{name}", s.getProfile)
}

// listProfiles answers GET /api/v1/profiles, by name.
func (s *Server) listProfiles(w http.ResponseWriter, r *http.Request) {
	if _, err := apiQuery(r.URL.RawQuery); err != nil {
		writeError(w, r, http.StatusBadRequest, err.Error())
		return
	}
	cat := s.inv.Catalog()
	counts := profileCounts(cat)
	out := ProfileList{Items: []ProfileInfo{}}
	for _, p := range cat.Profiles() {
		out.Items = append(out.Items, ProfileInfo{Profile: redactProfile(p), Machines: counts[p.Name]})
	}
	out.Total = len(out.Items)
	writeJSON(w, http.StatusOK, out)
}

// getProfile answers GET /api/v1/profiles/{name}.
func (s *Server) getProfile(w http.ResponseWriter, r *http.Request) {
	if _, err := apiQuery(r.URL.RawQuery); err != nil {
		writeError(w, r, http.StatusBadRequest, err.Error())
		return
	}
	name, _ := url.PathUnescape(chi.URLParam(r, "name"))
	cat := s.inv.Catalog()
	p, ok := cat.Profile(name)
	if !ok {
		writeError(w, r, http.StatusNotFound, fmt.Sprintf("no profile is called %q", truncate(name)))
		return
	}
	writeJSON(w, http.StatusOK, ProfileInfo{Profile: redactProfile(p), Machines: profileCounts(cat)[name]})
}

// profileCounts counts the declared machines of each profile.
func profileCounts(c *inventory.Catalog) map[string]int {
	n := make(map[string]int)
	for _, m := range c.Machines() {
		n[m.Profile]++
	}
	return n
}
