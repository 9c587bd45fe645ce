package bmc

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// bootParamOut is what ipmitool 1.8.19 prints for ipmi_sim after
// "chassis bootdev pxe options=efiboot".
const bootParamOut = `Boot parameter version: 1
Boot parameter 5 is valid/unlocked
Boot parameter data: 0004000000
 Boot Flags :
   - Boot Flag Invalid
   - Options apply to only next boot
   - BIOS PC Compatible (legacy) boot
   - Boot Device Selector : Force PXE
`

func TestParseBootParam(t *testing.T) {
	tests := []struct {
		name string
		out  string
		want Override
		err  string
	}{
		{"ipmi_sim", bootParamOut, Override{Device: "pxe", Partial: true}, ""},
		{"valid efi once pxe", "Boot parameter data: a004000000\n", Override{Device: "pxe", EFI: true}, ""},
		{"valid persistent legacy disk", "Boot parameter data: c008000000\n", Override{Device: "disk", Persistent: true}, ""},
		{"valid no override", "Boot parameter data: 8000000000\n", Override{Device: "none"}, ""},
		{"bios setup", "Boot parameter data: 8018000000\n", Override{Device: "bios"}, ""},
		{"unknown selector", "Boot parameter data: 8028000000\n", Override{Device: "selector-0xa"}, ""},
		{"odd hex", "Boot parameter data: 80040\n", Override{}, "boot parameter data"},
		{"one byte", "Boot parameter data: 80\n", Override{}, "1 bytes, want 5"},
		{"no data line", "Error: Unable to establish IPMI v2 / RMCP+ session\n", Override{}, "no boot parameter data"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseBootParam(tt.out)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Errorf("parseBootParam = %+v, %v; want error %q", got, err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("parseBootParam = %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}

func FuzzParseBootParam(f *testing.F) {
	f.Add(bootParamOut)
	f.Add("Boot parameter data: a004000000")
	f.Add("Boot parameter data: \nBoot parameter data: zz")
	f.Fuzz(func(t *testing.T, out string) {
		o, err := parseBootParam(out)
		if err == nil && o.Device == "" {
			t.Errorf("parseBootParam(%q) = %+v with no device and no error", out, o)
		}
	})
}

func TestCheckOverride(t *testing.T) {
	want := Override{Device: "pxe", EFI: true}
	tests := []struct {
		name string
		got  Override
		ok   bool
	}{
		{"same", Override{Device: "pxe", EFI: true}, true},
		{"legacy instead", Override{Device: "pxe"}, false},
		{"persistent instead", Override{Device: "pxe", EFI: true, Persistent: true}, false},
		{"other device", Override{Device: "disk", EFI: true}, false},
		{"partial same device", Override{Device: "pxe", Partial: true}, true},
		{"partial other device", Override{Device: "none", Partial: true}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := check(tt.got, want)
			if (err == nil) != tt.ok || err != nil && !errors.Is(err, ErrNotKept) {
				t.Errorf("check(%+v, %+v) = %v, want ok %v", tt.got, want, err, tt.ok)
			}
		})
	}
}

func TestParsePower(t *testing.T) {
	tests := map[string]PowerState{
		"On": PowerOn, "Off": PowerOff, "PoweringOn": PowerPoweringOn, "PoweringOff": PowerPoweringOff,
		"Chassis Power is on\n": PowerOn, "Chassis Power is off\n": PowerOff,
		"": PowerUnknown, "Paused": PowerUnknown,
	}
	for in, want := range tests {
		if got := parsePower(in); got != want {
			t.Errorf("parsePower(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseAction(t *testing.T) {
	for _, s := range []string{"status", "on", "off", "cycle", "reset"} {
		if a, err := ParseAction(s); err != nil || string(a) != s {
			t.Errorf("ParseAction(%q) = %q, %v", s, a, err)
		}
	}
	for _, s := range []string{"", "ON", "soft", "pxe"} {
		if _, err := ParseAction(s); err == nil {
			t.Errorf("ParseAction(%q) = nil error, want one", s)
		}
	}
}

func TestParseCredentials(t *testing.T) {
	tests := []struct {
		raw, user, pass string
		ok              bool
	}{
		{"admin:pw\n", "admin", "pw", true},
		{"admin:p:w:x\r\n", "admin", "p:w:x", true},
		{"admin:", "", "", false},
		{":pw", "", "", false},
		{"adminpw", "", "", false},
		{"", "", "", false},
	}
	for _, tt := range tests {
		c, err := parseCredentials(tt.raw, "credentials_env X")
		if (err == nil) != tt.ok || c.user != tt.user || c.pass != tt.pass {
			t.Errorf("parseCredentials(%q) = %q, %q, %v; want %q, %q, ok %v", tt.raw, c.user, c.pass, err, tt.user, tt.pass, tt.ok)
		}
		if err != nil && (!errors.Is(err, ErrCredentials) || tt.raw != "" && strings.Contains(err.Error(), tt.raw)) {
			t.Errorf("parseCredentials(%q) = %v, want ErrCredentials without the contents", tt.raw, err)
		}
	}
}

func TestCleanText(t *testing.T) {
	c := credentials{user: "u", pass: "pw"}
	got := cleanText("2 errors occurred:\n\t* provider: gofish: pw rejected\n\t* no Opener implementations found\n\n", c)
	want := "provider: gofish: [redacted] rejected; no Opener implementations found"
	if got != want {
		t.Errorf("cleanText = %q, want %q", got, want)
	}
	long := cleanText(strings.Repeat("é", 400), c)
	if len(long) > maxErrorText+3 || !strings.HasSuffix(long, "...") || !strings.HasPrefix(long, "é") {
		t.Errorf("cleanText(long) = %d bytes %q..., want at most %d and an ellipsis", len(long), long[:10], maxErrorText+3)
	}
}

// TestCleanTextEscapedPasswords checks that a password with characters
// JSON and Go escape is removed in every form a BMC or a library may
// echo it: a BMC's JSON body with or without HTML escaping, and Go's %q
// around the raw password or around that JSON.
func TestCleanTextEscapedPasswords(t *testing.T) {
	c := credentials{user: "admin", pass: `Pa<ss>&w"rd\9`}
	htmlJSON := `Pa\u003css\u003e\u0026w\"rd\\9`
	plainJSON := `Pa<ss>&w\"rd\\9`
	texts := []string{
		`login failed for admin with password ` + htmlJSON + ` (401)`,
		`{"error":"password ` + plainJSON + ` rejected"}`,
		fmt.Sprintf("body %q", `{"password":"`+htmlJSON+`"}`),
		fmt.Sprintf("tried %q", c.pass),
		"raw " + c.pass,
	}
	for _, text := range texts {
		got := cleanText(text, c)
		for _, leak := range []string{"Pa<ss>", `Pa\u003css`, "rd\\9", `rd\\\\9`, "ss>&w"} {
			if strings.Contains(got, leak) {
				t.Errorf("cleanText(%q) = %q, still holds %q", text, got, leak)
			}
		}
		if !strings.Contains(got, "[redacted]") {
			t.Errorf("cleanText(%q) = %q, want [redacted] in it", text, got)
		}
	}
}
