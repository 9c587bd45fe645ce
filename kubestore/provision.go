package kubestore

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/rackboot/rackboot/inventory"
	"github.com/rackboot/rackboot/kube/apis/v1alpha1"
)

// Provision returns the provisioning record of the machine called name:
// its Machine's status.generation and status.steps. A machine without a
// Machine object (one of the inventory file) has its record in this
// replica's memory.
func (s *Store) Provision(name string) (inventory.Provision, error) {
	if m, ok := s.cachedMachine(name); ok {
		return m.Status.Provision(), nil
	}
	return s.local.provision(name), nil
}

// NewGeneration starts the next provisioning generation of name,
// forgetting the steps of the last one, and returns the new record.
func (s *Store) NewGeneration(name string) (inventory.Provision, error) {
	var p inventory.Provision
	err := s.changeStatus(name, func(st *v1alpha1.MachineStatus) bool {
		p = st.Provision()
		p.Generation++
		p.Steps = nil
		st.Generation, st.Steps = int64(p.Generation), nil
		return true
	}, func(l *inventory.Provision) bool {
		l.Generation++
		l.Steps = nil
		p = *l
		return true
	})
	if err != nil {
		return p, fmt.Errorf("starting a new generation of %s: %w", name, err)
	}
	return p, nil
}

// TakeStep records that generation gen of name took step now. It returns
// false, changing nothing, when that generation took the step already or
// gen is not the current one. Of replicas taking the same step at once,
// one gets true: the write carries the resourceVersion it read.
func (s *Store) TakeStep(name string, gen uint64, step string) (bool, error) {
	now := s.now().UTC().Truncate(time.Microsecond)
	var taken bool
	take := func(p *inventory.Provision) bool {
		_, done := p.Steps[step]
		taken = p.Generation == gen && !done
		if taken {
			p.Steps = maps.Clone(p.Steps)
			if p.Steps == nil {
				p.Steps = map[string]time.Time{}
			}
			p.Steps[step] = now
		}
		return taken
	}
	err := s.changeStatus(name, func(st *v1alpha1.MachineStatus) bool {
		p := st.Provision()
		if !take(&p) {
			return false
		}
		st.Generation, st.Steps = int64(p.Generation), v1alpha1.StepsFromInventory(p.Steps)
		return true
	}, take)
	if err != nil {
		return false, fmt.Errorf("recording step %s of %s: %w", step, name, err)
	}
	return taken, nil
}

// changeStatus applies change to the status of the Machine called name
// and writes it, or, when there is no such Machine, applies local to the
// record in memory.
func (s *Store) changeStatus(name string, change func(*v1alpha1.MachineStatus) bool,
	local func(*inventory.Provision) bool) error {
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	err := s.updateStatus(ctx, name, func(m *v1alpha1.Machine) (bool, error) {
		return change(&m.Status), nil
	})
	if errors.Is(err, inventory.ErrNotFound) {
		s.local.change(name, local)
		return nil
	}
	return unavailable(err)
}

// PutJob saves j in the status of its Machine, replacing the job there.
func (s *Store) PutJob(j inventory.JobRecord) error {
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	err := s.updateStatus(ctx, j.Machine, func(m *v1alpha1.Machine) (bool, error) {
		m.Status.Reprovision = v1alpha1.JobFromInventory(j)
		return true, nil
	})
	if errors.Is(err, inventory.ErrNotFound) {
		s.local.putJob(j)
		return nil
	}
	if err != nil {
		return fmt.Errorf("saving the reprovision of %s: %w", j.Machine, unavailable(err))
	}
	return nil
}

// DeleteJob forgets the job of the machine called name, if any.
func (s *Store) DeleteJob(name string) error {
	s.local.deleteJob(name)
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	err := s.updateStatus(ctx, name, func(m *v1alpha1.Machine) (bool, error) {
		had := m.Status.Reprovision != nil
		m.Status.Reprovision = nil
		return had, nil
	})
	if err != nil && !errors.Is(err, inventory.ErrNotFound) {
		return fmt.Errorf("deleting the reprovision of %s: %w", name, unavailable(err))
	}
	return nil
}

// Jobs returns the saved reprovisions, by machine name.
func (s *Store) Jobs() ([]inventory.JobRecord, error) {
	out := s.local.jobList()
	for _, m := range s.cachedMachines() {
		if m.Status.Reprovision != nil {
			out = append(out, m.Status.Reprovision.Inventory(m.Name))
		}
	}
	slices.SortFunc(out, func(a, b inventory.JobRecord) int { return strings.Compare(a.Machine, b.Machine) })
	return out, nil
}

// localProvision keeps, in this replica's memory, the provisioning and
// jobs of machines that have no Machine object. With this store every
// machine that boots is a Machine (serve refuses an inventory file that
// declares machines, and Restore a dump that keeps the provisioning of
// one), so it holds only what a Machine deleted in the middle of its
// provisioning still records.
type localProvision struct {
	mu    sync.Mutex
	provs map[string]inventory.Provision // guarded by mu
	jobs  map[string]inventory.JobRecord // guarded by mu
}

func (l *localProvision) provision(name string) inventory.Provision {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.provisionLocked(name)
}

func (l *localProvision) provisionLocked(name string) inventory.Provision {
	if p, ok := l.provs[name]; ok {
		return p
	}
	return inventory.Provision{Generation: 1}
}

func (l *localProvision) change(name string, fn func(*inventory.Provision) bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	p := l.provisionLocked(name)
	if !fn(&p) {
		return
	}
	if l.provs == nil {
		l.provs = map[string]inventory.Provision{}
	}
	l.provs[name] = p
}

func (l *localProvision) putJob(j inventory.JobRecord) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.jobs == nil {
		l.jobs = map[string]inventory.JobRecord{}
	}
	l.jobs[j.Machine] = j
}

func (l *localProvision) deleteJob(name string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.jobs, name)
}

func (l *localProvision) jobList() []inventory.JobRecord {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Collect(maps.Values(l.jobs))
}

// records returns every provisioning record kept in memory.
func (l *localProvision) records() []inventory.ProvisionRecord {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []inventory.ProvisionRecord
	for name, p := range l.provs {
		out = append(out, inventory.ProvisionRecord{Machine: name, Provision: p})
	}
	return out
}
