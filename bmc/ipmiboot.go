package bmc

import (
	"bufio"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"os/exec"
	"strconv"
	"strings"

	bmclib "github.com/bmc-toolbox/bmclib/v2"
)

// ipmiClient is bmclib's IPMI client plus what its ipmitool provider
// lacks: reading the boot flags back.
type ipmiClient struct {
	*bmclib.Client
	t Target
}

// BootOverride runs "ipmitool chassis bootparam get 5" (Get System Boot
// Options, parameter 5: boot flags; IPMI v2.0 section 28.13) with the
// password in IPMITOOL_PASSWORD, as bmclib does, never on the command line.
func (c *ipmiClient) BootOverride(ctx context.Context) (Override, error) {
	tool := c.t.IPMITool
	if tool == "" {
		var err error
		if tool, err = exec.LookPath("ipmitool"); err != nil {
			return Override{}, fmt.Errorf("finding ipmitool: %w", err)
		}
	}
	var out []byte
	var err error
	for _, suite := range []string{"3", "17"} { // bmclib's cipher suites, in its order
		args := []string{"-I", "lanplus", "-H", c.t.Host, "-p", strconv.Itoa(c.t.Port),
			"-U", c.t.User, "-E", "-N", "5", "-C", suite, "chassis", "bootparam", "get", "5"}
		cmd := exec.CommandContext(ctx, tool, args...)
		cmd.Env = []string{"IPMITOOL_PASSWORD=" + c.t.Password}
		out, err = cmd.CombinedOutput()
		if err == nil || ctx.Err() != nil {
			break
		}
	}
	if err != nil {
		return Override{}, fmt.Errorf("ipmitool chassis bootparam get 5: %w: %s", err, out)
	}
	return parseBootParam(string(out))
}

// parseBootParam reads the "Boot parameter data:" line ipmitool prints
// for parameter 5, the boot flags (IPMI v2.0 table 28-14).
func parseBootParam(out string) (Override, error) {
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		rest, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "Boot parameter data:")
		if !ok {
			continue
		}
		data, err := hex.DecodeString(strings.TrimSpace(rest))
		if err != nil {
			return Override{}, fmt.Errorf("boot parameter data %q: %w", rest, err)
		}
		return decodeBootFlags(data)
	}
	return Override{}, errors.New("ipmitool printed no boot parameter data")
}

// decodeBootFlags decodes the 5 data bytes of the boot flags parameter.
// Data 1: bit 7 flags valid, bit 6 persistent, bit 5 EFI boot. Data 2:
// bits 5:2 the boot device selector.
func decodeBootFlags(data []byte) (Override, error) {
	if len(data) < 2 {
		return Override{}, fmt.Errorf("boot flags: %d bytes, want 5", len(data))
	}
	o := Override{
		Persistent: data[0]&0x40 != 0,
		EFI:        data[0]&0x20 != 0,
		Partial:    data[0]&0x80 == 0,
		Device:     ipmiDevice(data[1] >> 2 & 0x0f),
	}
	return o, nil
}

// ipmiDevice names a boot device selector (table 28-14, data 2) as
// bmclib's SetBootDevice does.
func ipmiDevice(sel byte) string {
	switch sel {
	case 0x0:
		return "none"
	case 0x1:
		return "pxe"
	case 0x2, 0x3:
		return "disk"
	case 0x4:
		return "diag"
	case 0x5:
		return "cdrom"
	case 0x6:
		return "bios"
	case 0xf:
		return "floppy"
	}
	return fmt.Sprintf("selector-%#x", sel)
}
