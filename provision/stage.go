package provision

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/rackboot/rackboot/inventory"
)

// Scope says which machines a stage applies to.
type Scope string

// Scopes of a stage. The zero value means every machine.
const (
	ScopeAll      Scope = ""         // every machine
	ScopeIgnition Scope = "ignition" // machines whose profile has Ignition settings
	ScopePlain    Scope = "plain"    // machines whose profile has none
)

// Stage is one step of a machine's boot that the workflow waits for,
// as the machine's timeline shows it.
type Stage struct {
	// Name names the stage in events, errors and the API.
	Name string `json:"name"`
	// Events are the event kinds that complete the stage: any one does.
	Events []inventory.EventKind `json:"events"`
	// Deadline is how long the stage may take, counted from the end of
	// the stage before it, or for the first stage from the power on. It
	// must be positive.
	Deadline time.Duration `json:"deadline"`
	// Scope limits the stage to some machines; zero means all.
	Scope Scope `json:"scope,omitempty"`
}

// DefaultStages returns the stages of a network install, in order, with
// deadlines generous enough for servers whose firmware takes minutes to
// start: DHCP, the iPXE script, the kernel, then the OS callback (or, for
// Ignition profiles, which do not call back, the Ignition fetch). Where
// the registration tracker runs, callers append NodeReadyStage.
func DefaultStages() []Stage {
	return []Stage{
		{Name: "dhcp", Events: []inventory.EventKind{inventory.EventDHCPOffer,
			inventory.EventDHCPAck}, Deadline: 10 * time.Minute},
		{Name: "script-served", Events: []inventory.EventKind{inventory.EventScriptServed},
			Deadline: 5 * time.Minute},
		{Name: "kernel-fetched", Events: []inventory.EventKind{inventory.EventKernelFetched},
			Deadline: 10 * time.Minute},
		{Name: "ignition-served", Events: []inventory.EventKind{inventory.EventIgnitionServed},
			Deadline: 15 * time.Minute, Scope: ScopeIgnition},
		{Name: "os-callback", Events: []inventory.EventKind{inventory.EventOSCallback},
			Deadline: 30 * time.Minute, Scope: ScopePlain},
	}
}

// NodeReadyStage is the stage a caller appends when the registration
// tracker records node-ready events: an Ignition machine is provisioned
// once its Kubernetes Node is Ready.
func NodeReadyStage() Stage {
	return Stage{Name: "node-ready", Events: []inventory.EventKind{inventory.EventNodeReady},
		Deadline: 20 * time.Minute, Scope: ScopeIgnition}
}

// CheckStages reports the first bad stage: no name, a name used twice, no
// events, a deadline not above zero or an unknown scope.
func CheckStages(stages []Stage) error {
	if len(stages) == 0 {
		return errors.New("no stages")
	}
	seen := map[string]bool{}
	for i, st := range stages {
		where := fmt.Sprintf("stages[%d] (%s)", i, st.Name)
		switch {
		case st.Name == "":
			return fmt.Errorf("%s: name: required", where)
		case seen[st.Name]:
			return fmt.Errorf("%s: name: used twice", where)
		case len(st.Events) == 0:
			return fmt.Errorf("%s: events: at least one is required", where)
		case st.Deadline <= 0:
			return fmt.Errorf("%s: deadline: must be above zero", where)
		case st.Scope != ScopeAll && st.Scope != ScopeIgnition && st.Scope != ScopePlain:
			return fmt.Errorf("%s: scope: %q is not ignition or plain", where, st.Scope)
		}
		seen[st.Name] = true
	}
	return nil
}

// WithDeadlines returns a copy of stages with the deadlines of the stages
// that deadlines names replaced. A name that is no stage is an error.
func WithDeadlines(stages []Stage, deadlines map[string]time.Duration) ([]Stage, error) {
	out := slices.Clone(stages)
	for name, d := range deadlines {
		i := slices.IndexFunc(out, func(st Stage) bool { return st.Name == name })
		if i < 0 {
			return nil, fmt.Errorf("stage %q: not one of %s", name, stageNames(stages))
		}
		out[i].Deadline = d
	}
	return out, nil
}

func stageNames(stages []Stage) string {
	names := make([]string, len(stages))
	for i, st := range stages {
		names[i] = st.Name
	}
	return strings.Join(names, ", ")
}

// stagesFor returns the stages that apply to machines of profile p.
func stagesFor(stages []Stage, p inventory.Profile) []Stage {
	var out []Stage
	for _, st := range stages {
		switch {
		case st.Scope == ScopeIgnition && p.Ignition == nil:
		case st.Scope == ScopePlain && p.Ignition != nil:
		default:
			out = append(out, st)
		}
	}
	return out
}

// completes reports whether an event of kind k completes st.
func (st Stage) completes(k inventory.EventKind) bool {
	return slices.Contains(st.Events, k)
}
