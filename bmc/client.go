package bmc

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	bmclib "github.com/bmc-toolbox/bmclib/v2"
	"github.com/bmc-toolbox/bmclib/v2/providers/ipmitool"
	"github.com/bmc-toolbox/bmclib/v2/providers/redfish"
	"github.com/go-logr/logr"
	"github.com/jacobweinstock/registrar"
	"github.com/rackboot/rackboot/inventory"
)

// Client is the part of a BMC client rackboot uses; *bmclib.Client
// implements it. A Client serves one operation from one goroutine: Open,
// some calls, then Close, which the Controller always makes.
type Client interface {
	// Open logs in (Redfish: creates a session).
	Open(ctx context.Context) error
	// Close logs out; it is called even when the operation failed.
	Close(ctx context.Context) error
	// GetPowerState returns the BMC's words for the power state ("On",
	// "Chassis Power is off").
	GetPowerState(ctx context.Context) (string, error)
	// SetPowerState asks for "on", "off" (hard), "soft", "cycle" or
	// "reset" in bmclib's sense; ok false means the BMC did not confirm.
	SetPowerState(ctx context.Context, state string) (ok bool, err error)
	// SetBootDevice sets the next boot device ("pxe"), once or
	// persistent, UEFI or legacy.
	SetBootDevice(ctx context.Context, device string, persistent, efiBoot bool) (ok bool, err error)
}

var _ Client = (*bmclib.Client)(nil)

// BootReader is a Client that can read the boot override back.
type BootReader interface {
	BootOverride(ctx context.Context) (Override, error)
}

// Override is a BMC's next-boot override as read back.
type Override struct {
	// Device is bmclib's name of the device: "pxe", "disk", "none", ...
	Device     string
	Persistent bool
	EFI        bool
	// Partial is true when the BMC vouched for Device only (IPMI boot
	// flags marked not valid), so Persistent and EFI are unknown.
	Partial bool
}

// Target is one BMC to reach in one operation.
type Target struct {
	// Protocol is BMCRedfish or BMCIPMI, never auto.
	Protocol inventory.BMCProtocol
	Host     string
	Port     int
	// User and Password are loaded for this operation; String and
	// GoString hide Password.
	User, Password string
	// TLS verifies the Redfish server; nil for IPMI.
	TLS *tls.Config
	// DialContext makes the Redfish TCP connections; the Controller cuts
	// them when the operation's time is up.
	DialContext func(ctx context.Context, network, addr string) (net.Conn, error)
	// IPMITool is the ipmitool binary's path; "" means look it up in PATH.
	IPMITool string
}

// String names the target without its password.
func (t Target) String() string {
	addr := net.JoinHostPort(t.Host, strconv.Itoa(t.Port))
	return fmt.Sprintf("%s %s as %s", t.Protocol, addr, t.User)
}

// GoString hides the password from %#v too.
func (t Target) GoString() string { return t.String() }

// DialFunc returns an unopened Client for t. Config.Dial replaces the
// bmclib one in tests.
type DialFunc func(t Target) (Client, error)

// dialBMCLib builds a bmclib client holding only the provider t.Protocol
// names, so no other provider probes the BMC.
func dialBMCLib(t Target) (Client, error) {
	host := urlHost(t.Host)
	reg := registrar.NewRegistry()
	switch t.Protocol {
	case inventory.BMCRedfish:
		drv := redfish.New(host, t.User, t.Password, logr.Discard(),
			redfish.WithHttpClient(redfishHTTPClient(t)),
			redfish.WithPort(strconv.Itoa(t.Port)))
		reg.Register(redfish.ProviderName, redfish.ProviderProtocol, redfish.Features, nil, drv)
		cl := bmclib.NewClient(host, t.User, t.Password, bmclib.WithRegistry(reg))
		return redfishClient{cl}, nil
	case inventory.BMCIPMI:
		drv, err := ipmitool.New(host, t.User, t.Password,
			ipmitool.WithPort(strconv.Itoa(t.Port)), ipmitool.WithIpmitoolPath(t.IPMITool))
		if err != nil {
			return nil, fmt.Errorf("finding ipmitool (Debian package ipmitool): %w", err)
		}
		reg.Register(ipmitool.ProviderName, ipmitool.ProviderProtocol, ipmitool.Features, nil, drv)
		cl := bmclib.NewClient(host, t.User, t.Password, bmclib.WithRegistry(reg))
		return &ipmiClient{Client: cl, t: t}, nil
	}
	return nil, fmt.Errorf("protocol %q cannot be dialed", t.Protocol)
}

// redfishHTTPClient verifies the BMC's certificate as t.TLS says and
// keeps no idle connection, so nothing outlives the operation.
func redfishHTTPClient(t Target) *http.Client {
	return &http.Client{Transport: &http.Transport{
		DialContext:           t.DialContext,
		TLSClientConfig:       t.TLS,
		TLSHandshakeTimeout:   15 * time.Second,
		ResponseHeaderTimeout: time.Minute,
		DisableKeepAlives:     true,
	}}
}

// urlHost brackets an IPv6 literal, as URLs and bmclib's host:port
// joining need.
func urlHost(host string) string {
	if strings.Contains(host, ":") && !strings.HasPrefix(host, "[") {
		return "[" + host + "]"
	}
	return host
}

// redfishClient reads the override back through bmclib's Redfish
// provider (GET of the ComputerSystem's Boot object).
type redfishClient struct {
	*bmclib.Client
}

func (c redfishClient) BootOverride(ctx context.Context) (Override, error) {
	o, err := c.GetBootDeviceOverride(ctx)
	if err != nil {
		return Override{}, err
	}
	return Override{Device: string(o.Device), Persistent: o.IsPersistent, EFI: o.IsEFIBoot}, nil
}
