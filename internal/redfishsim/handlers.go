package redfishsim

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// Paths of the resources served.
const (
	rootPath     = "/redfish/v1"
	sessionsPath = rootPath + "/SessionService/Sessions"
	systemsPath  = rootPath + "/Systems"
	systemPath   = systemsPath + "/1"
	resetPath    = systemPath + "/Actions/ComputerSystem.Reset"
)

// Allowable values of the writable properties (ComputerSystem schema).
var (
	resetTypes = []string{"On", "ForceOff", "GracefulShutdown", "GracefulRestart",
		"ForceRestart", "PowerCycle", "PushPowerButton", "Nmi"}
	overrideEnabled = []string{"Disabled", "Once", "Continuous"}
	overrideTargets = []string{"None", "Pxe", "Hdd", "Cd", "Usb", "BiosSetup",
		"Utilities", "Diags", "UefiHttp", "UefiShell"}
	overrideModes = []string{"UEFI", "Legacy"}
)

// ServeHTTP routes one request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.fault(FaultHang) {
		s.hang(r)
		return
	}
	path := strings.TrimSuffix(r.URL.Path, "/")
	switch {
	case path == "/redfish":
		writeJSON(w, http.StatusOK, map[string]string{"v1": rootPath + "/"})
	case path == rootPath:
		writeJSON(w, http.StatusOK, serviceRoot())
	case path == sessionsPath && r.Method == http.MethodPost:
		s.login(w, r)
	case !s.authorized(r):
		writeError(w, http.StatusUnauthorized, "InsufficientPrivilege", "authentication required")
	default:
		s.serveAuthorized(w, r, path)
	}
}

func (s *Server) serveAuthorized(w http.ResponseWriter, r *http.Request, path string) {
	switch {
	case path == rootPath+"/SessionService":
		writeJSON(w, http.StatusOK, map[string]any{
			"@odata.id": rootPath + "/SessionService", "Id": "SessionService",
			"ServiceEnabled": true, "Sessions": link(sessionsPath)})
	case path == sessionsPath:
		writeJSON(w, http.StatusOK, s.sessionCollection())
	case strings.HasPrefix(path, sessionsPath+"/"):
		s.serveSession(w, r, strings.TrimPrefix(path, sessionsPath+"/"))
	case path == systemsPath:
		writeJSON(w, http.StatusOK, collection(systemsPath, systemPath))
	case path == rootPath+"/Managers" || path == rootPath+"/Chassis":
		writeJSON(w, http.StatusOK, collection(path))
	case path == systemPath && r.Method == http.MethodPatch:
		s.patchSystem(w, r)
	case path == systemPath:
		writeJSON(w, http.StatusOK, s.system())
	case path == resetPath && r.Method == http.MethodPost:
		s.reset(w, r)
	default:
		writeError(w, http.StatusNotFound, "ResourceMissingAtURI", "no resource at "+path)
	}
}

// hang blocks until the client goes away or the emulator closes. It
// reads the body first: net/http notices a client hanging up only once
// the body is consumed.
func (s *Server) hang(r *http.Request) {
	io.Copy(io.Discard, io.LimitReader(r.Body, 64<<10))
	select {
	case <-r.Context().Done():
	case <-s.quit:
	}
}

func (s *Server) authorized(r *http.Request) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.faults[FaultUnauthorized] {
		return false
	}
	if tok := r.Header.Get("X-Auth-Token"); tok != "" {
		_, ok := s.sessions[tok]
		return ok
	}
	user, pass, ok := r.BasicAuth()
	return ok && s.credentialsMatch(user, pass)
}

func (s *Server) credentialsMatch(user, pass string) bool {
	u := subtle.ConstantTimeCompare([]byte(user), []byte(s.cfg.User))
	p := subtle.ConstantTimeCompare([]byte(pass), []byte(s.cfg.Password))
	return u&p == 1
}

// login answers POST .../Sessions (DSP0266 section 13.3.4, session login).
func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	var body struct{ UserName, Password string }
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4<<10)).Decode(&body); err != nil {
		writeError(w, http.StatusBadRequest, "MalformedJSON", err.Error())
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.faults[FaultUnauthorized]:
		writeError(w, http.StatusUnauthorized, "NoValidSession",
			fmt.Sprintf("login failed for %s with password %s", body.UserName, body.Password))
		return
	case !s.credentialsMatch(body.UserName, body.Password):
		writeError(w, http.StatusUnauthorized, "NoValidSession", "invalid user name or password")
		return
	case s.faults[FaultSessionsFull] || len(s.sessions) >= s.cfg.MaxSessions:
		writeError(w, http.StatusServiceUnavailable, "SessionLimitExceeded",
			"the session could not be created: the session limit is reached")
		return
	}
	s.lastID++
	s.logins++
	id := strconv.Itoa(s.lastID)
	tok := newToken()
	s.sessions[tok] = id
	w.Header().Set("X-Auth-Token", tok)
	w.Header().Set("Location", sessionsPath+"/"+id)
	writeJSON(w, http.StatusCreated, session(id, body.UserName))
}

func newToken() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func (s *Server) serveSession(w http.ResponseWriter, r *http.Request, id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	tok := ""
	for t, sid := range s.sessions {
		if sid == id {
			tok = t
		}
	}
	switch {
	case tok == "":
		writeError(w, http.StatusNotFound, "ResourceMissingAtURI", "no session "+id)
	case r.Method == http.MethodDelete:
		delete(s.sessions, tok)
		w.WriteHeader(http.StatusNoContent)
	default:
		writeJSON(w, http.StatusOK, session(id, s.cfg.User))
	}
}

func (s *Server) sessionCollection() map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ids []string
	for _, id := range s.sessions {
		ids = append(ids, sessionsPath+"/"+id)
	}
	slices.Sort(ids)
	return collection(sessionsPath, ids...)
}

// system renders the ComputerSystem resource.
func (s *Server) system() map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	return map[string]any{
		"@odata.id":   systemPath,
		"@odata.type": "#ComputerSystem.v1_13_0.ComputerSystem",
		"Id":          "1",
		"Name":        "rackboot test system",
		"SystemType":  "Physical",
		"PowerState":  s.power,
		"Boot": map[string]any{
			"BootSourceOverrideEnabled":                         s.boot.Enabled,
			"BootSourceOverrideTarget":                          s.boot.Target,
			"BootSourceOverrideMode":                            s.boot.Mode,
			"BootSourceOverrideTarget@Redfish.AllowableValues":  overrideTargets,
			"BootSourceOverrideEnabled@Redfish.AllowableValues": overrideEnabled,
		},
		"Actions": map[string]any{"#ComputerSystem.Reset": map[string]any{
			"target": resetPath, "ResetType@Redfish.AllowableValues": resetTypes}},
	}
}

// patchSystem applies {"Boot": {...}}; properties of Boot other than the
// three override ones are accepted and ignored.
func (s *Server) patchSystem(w http.ResponseWriter, r *http.Request) {
	if s.fault(FaultHangActions) {
		s.hang(r)
		return
	}
	var body struct {
		Boot map[string]any
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 16<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil {
		writeError(w, http.StatusBadRequest, "PropertyUnknown", err.Error())
		return
	}
	next, err := s.overrideAfter(body.Boot)
	if err != nil {
		writeError(w, http.StatusBadRequest, "PropertyValueNotInList", err.Error())
		return
	}
	s.mu.Lock()
	if !s.faults[FaultForgetBoot] {
		s.boot = next
	}
	s.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

// overrideAfter is the override with the non-empty properties of boot
// applied, or an error naming the first value not allowed.
func (s *Server) overrideAfter(boot map[string]any) (Override, error) {
	o := s.Override()
	fields := []struct {
		name    string
		allowed []string
		dst     *string
	}{
		{"BootSourceOverrideEnabled", overrideEnabled, &o.Enabled},
		{"BootSourceOverrideTarget", overrideTargets, &o.Target},
		{"BootSourceOverrideMode", overrideModes, &o.Mode},
	}
	for _, f := range fields {
		v, _ := boot[f.name].(string)
		if v == "" {
			continue
		}
		if !slices.Contains(f.allowed, v) {
			allowed := strings.Join(f.allowed, ", ")
			return o, fmt.Errorf("%s: %q is not one of %s", f.name, v, allowed)
		}
		*f.dst = v
	}
	return o, nil
}

// reset performs the ComputerSystem.Reset action.
func (s *Server) reset(w http.ResponseWriter, r *http.Request) {
	if s.fault(FaultHangActions) {
		s.hang(r)
		return
	}
	var body struct{ ResetType string }
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4<<10)).Decode(&body); err != nil {
		writeError(w, http.StatusBadRequest, "MalformedJSON", err.Error())
		return
	}
	if !slices.Contains(resetTypes, body.ResetType) {
		writeError(w, http.StatusBadRequest, "ActionParameterValueNotInList",
			fmt.Sprintf("ResetType %q is not one of %s", body.ResetType,
				strings.Join(resetTypes, ", ")))
		return
	}
	if err := s.applyReset(body.ResetType); err != nil {
		writeError(w, http.StatusInternalServerError, "InternalError", err.Error())
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// applyReset changes the power state as kind says, then hands the
// transitions to Config.OnPower.
func (s *Server) applyReset(kind string) error {
	s.mu.Lock()
	s.resets = append(s.resets, kind)
	s.applyResetLocked(kind)
	changes := s.changes
	s.changes = nil
	s.mu.Unlock()
	if s.cfg.OnPower == nil {
		return nil
	}
	for _, state := range changes {
		if err := s.cfg.OnPower(state); err != nil {
			return fmt.Errorf("powering %s: %w", strings.ToLower(state), err)
		}
	}
	return nil
}

func (s *Server) applyResetLocked(kind string) {
	on := s.power == PowerOn
	switch kind {
	case "ForceOff":
		s.stopLocked()
	case "GracefulShutdown":
		if !s.faults[FaultIgnoreGraceful] {
			s.stopLocked()
		}
	case "PushPowerButton":
		if on {
			s.stopLocked()
		} else {
			s.startLocked()
		}
	case "On", "GracefulRestart", "ForceRestart", "PowerCycle":
		if kind != "On" || !on {
			s.startLocked()
		}
	}
}

// stopLocked powers the system off.
func (s *Server) stopLocked() {
	if s.power == PowerOn {
		s.changes = append(s.changes, PowerOff)
	}
	s.power = PowerOff
}

func serviceRoot() map[string]any {
	return map[string]any{
		"@odata.id":      rootPath + "/",
		"@odata.type":    "#ServiceRoot.v1_11_0.ServiceRoot",
		"Id":             "RootService",
		"Name":           "rackboot Redfish emulator",
		"RedfishVersion": "1.11.0",
		"UUID":           "7c0a5a3e-5b8f-4c55-9c4e-3f3c5d2f6a01",
		"Systems":        link(systemsPath),
		"Managers":       link(rootPath + "/Managers"),
		"Chassis":        link(rootPath + "/Chassis"),
		"SessionService": link(rootPath + "/SessionService"),
		"Links":          map[string]any{"Sessions": link(sessionsPath)},
	}
}

func session(id, user string) map[string]any {
	return map[string]any{
		"@odata.id":   sessionsPath + "/" + id,
		"@odata.type": "#Session.v1_3_0.Session",
		"Id":          id, "Name": "Session " + id, "UserName": user,
	}
}

func link(path string) map[string]string { return map[string]string{"@odata.id": path} }

func collection(path string, members ...string) map[string]any {
	links := make([]map[string]string, 0, len(members))
	for _, m := range members {
		links = append(links, link(m))
	}
	return map[string]any{"@odata.id": path, "Members": links,
		"Members@odata.count": len(links)}
}

// writeError answers code with a Redfish error body (DSP0266 section
// 9.6.2, error responses).
func writeError(w http.ResponseWriter, code int, id, msg string) {
	id = "Base.1.8." + id
	writeJSON(w, code, map[string]any{"error": map[string]any{
		"code": id, "message": msg,
		"@Message.ExtendedInfo": []map[string]string{{"MessageId": id, "Message": msg}},
	}})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		code, b = http.StatusInternalServerError, []byte(`{}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("OData-Version", "4.0")
	w.WriteHeader(code)
	w.Write(b)
}
