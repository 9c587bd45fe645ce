package kubetest

import "syscall"

// sysProcAttr makes the kernel kill a component when the test binary dies,
// so an interrupted test leaves no servers behind.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
