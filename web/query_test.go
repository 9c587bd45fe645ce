package web

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/rackboot/rackboot/inventory"
)

func TestParseBootQuery(t *testing.T) {
	tests := []struct {
		name, raw string
		want      bootQuery
	}{
		{"ipxe efi", "mac=52-54-00-12-34-56&uuid=4C4C4544-0042-3510-8052-B3C04F4E3232&arch=x86_64&platform=efi",
			bootQuery{"52:54:00:12:34:56", "4c4c4544-0042-3510-8052-b3c04f4e3232", "x86_64", "efi"}},
		{"ipxe without uuid", "mac=52-54-00-12-34-56&uuid=&arch=i386&platform=pcbios",
			bootQuery{MAC: "52:54:00:12:34:56", Arch: "i386", Platform: "pcbios"}},
		{"upper-case colons", "mac=52:54:00:AB:CD:EF", bootQuery{MAC: "52:54:00:ab:cd:ef"}},
		{"dotted", "mac=5254.00ab.cdef", bootQuery{MAC: "52:54:00:ab:cd:ef"}},
		{"any order", "platform=efi&mac=02:00:00:00:00:01", bootQuery{MAC: mac1, Platform: "efi"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseBootQuery(tt.raw)
			if err != nil {
				t.Fatalf("parseBootQuery(%q): %v", tt.raw, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("parseBootQuery(%q) (-want +got):\n%s", tt.raw, diff)
			}
		})
	}
}

func TestBootQueryEFI(t *testing.T) {
	tests := []struct {
		platform string
		declared inventory.Arch
		want     bool
	}{
		{"efi", "", true},
		{"efi", inventory.ArchBIOS, true}, // what runs beats the catalog
		{"pcbios", inventory.ArchX64EFI, false},
		{"", inventory.ArchX64EFI, true},
		{"", inventory.ArchARM64HTTP, true},
		{"", inventory.ArchBIOS, false},
		{"", "", false},
	}
	for _, tt := range tests {
		q := bootQuery{MAC: mac1, Platform: tt.platform}
		if got := q.efi(tt.declared); got != tt.want {
			t.Errorf("bootQuery{Platform: %q}.efi(%q) = %v, want %v", tt.platform, tt.declared, got, tt.want)
		}
	}
}

// FuzzParseBootQuery checks that the parser never panics and that what it
// accepts is canonical, printable and parses again to the same value.
func FuzzParseBootQuery(f *testing.F) {
	f.Add("mac=52-54-00-12-34-56&uuid=4C4C4544-0042-3510-8052-B3C04F4E3232&arch=x86_64&platform=efi")
	f.Add("mac=02:00:00:00:00:01%0A&arch=%00")
	f.Add("mac=02:00:00:00:00:01;x&mac=")
	f.Add("uuid=" + strings.Repeat("-", 36))
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := parseBootQuery(raw)
		if err != nil {
			return
		}
		if mac, err := inventory.NormalizeMAC(q.MAC); err != nil || mac != q.MAC {
			t.Fatalf("parseBootQuery(%q).MAC = %q, not canonical", raw, q.MAC)
		}
		for _, v := range []string{q.UUID, q.Arch, q.Platform} {
			if strings.ContainsFunc(v, func(r rune) bool { return r <= ' ' || r > '~' }) {
				t.Fatalf("parseBootQuery(%q) = %+v, holds %q", raw, q, v)
			}
		}
		again := url.Values{"mac": {q.MAC}, "uuid": {q.UUID}, "arch": {q.Arch}, "platform": {q.Platform}}
		q2, err := parseBootQuery(again.Encode())
		if err != nil || q2 != q {
			t.Fatalf("parseBootQuery(%q) = %+v, but again = %+v, %v", raw, q, q2, err)
		}
	})
}

// TestScriptGroupMAC checks that /ipxe refuses a MAC no network card has,
// and records nothing for it.
func TestScriptGroupMAC(t *testing.T) {
	for _, mac := range []string{"ff:ff:ff:ff:ff:ff", "01-00-5E-00-00-FB", "33:33:00:00:00:01", "00:00:00:00:00:00"} {
		t.Run(mac, func(t *testing.T) {
			e := newEnv(t)
			w := e.get(t, "/ipxe?mac="+mac+"&platform=efi")
			if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), "not a network card's") {
				t.Errorf("GET /ipxe?mac=%s = %d %q, want 400 naming the MAC as no card's", mac, w.Code, w.Body)
			}
			if n := e.statusCount(t); n != 0 {
				t.Errorf("the store knows %d machines after a group MAC, want 0", n)
			}
		})
	}
}
