package web

import "time"

// Tracked is what the registration tracker knows of one machine that the
// machine API shows beside the machine's own status.
type Tracked struct {
	// Node is the machine's Kubernetes Node; empty before it registers.
	Node string
	// Diagnosis says in plain words why the machine is stuck; empty when
	// it is not.
	Diagnosis string
	// Deadline is when the machine's current stage stalls; zero when no
	// deadline runs.
	Deadline time.Time
}

// Tracker is the registration tracker as the machine API reads it. Its
// method is called from many requests at once.
type Tracker interface {
	// Tracked returns what the tracker knows of the machine called name;
	// false when it does not follow it.
	Tracked(name string) (Tracked, bool)
}

// SetTracker makes the machine API show t's view of each declared machine:
// its Node, diagnosis and deadline. Call it before serving.
func (s *Server) SetTracker(t Tracker) { s.tracker = t }

// addTracked fills in the tracker's view of info, a declared machine.
func (s *Server) addTracked(info *MachineInfo) {
	if s.tracker == nil || info.Name == "" {
		return
	}
	t, ok := s.tracker.Tracked(info.Name)
	if !ok {
		return
	}
	info.Node, info.Diagnosis, info.Deadline = t.Node, t.Diagnosis, t.Deadline
}
