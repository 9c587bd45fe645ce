package kubetest

import (
	"fmt"
	"slices"
)

// StopAPIServer kills the API server and waits for it to exit, so that
// clients find nothing listening at Server until StartAPIServer. etcd
// and the controller manager keep running.
func (cp *ControlPlane) StopAPIServer() {
	if p := cp.process("kube-apiserver"); p != nil {
		p.stop()
	}
}

// StartAPIServer runs the API server again, with the same flags, port
// and etcd, and waits until it is ready. A controller manager that gave
// up while it was away is started again too.
func (cp *ControlPlane) StartAPIServer() error {
	if err := cp.restart("kube-apiserver"); err != nil {
		return err
	}
	if err := cp.waitReadyWatching(cp.process("kube-apiserver")); err != nil {
		return err
	}
	if p := cp.process("kube-controller-manager"); p != nil {
		if gone, _ := p.exited(); gone {
			return cp.restart(p.name)
		}
	}
	return nil
}

// process returns the component called name, nil when there is none.
func (cp *ControlPlane) process(name string) *process {
	i := slices.IndexFunc(cp.procs, func(p *process) bool { return p.name == name })
	if i < 0 {
		return nil
	}
	return cp.procs[i]
}

// restart stops the component called name, if it runs, and starts it
// again with the same binary and flags.
func (cp *ControlPlane) restart(name string) error {
	i := slices.IndexFunc(cp.procs, func(p *process) bool { return p.name == name })
	if i < 0 {
		return fmt.Errorf("restarting %s: no such component", name)
	}
	old := cp.procs[i]
	old.stop()
	p, err := startProcess(cp.Dir, name, old.cmd.Path, old.cmd.Args[1:])
	if err != nil {
		return err
	}
	cp.procs[i] = p
	return nil
}
