package lab

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// checkMetrics scrapes /metrics after the authoritative boots and checks
// that each kind of firmware the lab booted was counted where an operator
// would look for it.
func checkMetrics(t *testing.T, s *server) {
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	got, err := s.scrape(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// The BIOS guests' NIC ROM is iPXE itself: they count as ipxe.
	atLeastOne := []string{
		`rackboot_dhcp_offers_total{client_class="uefi-pxe"}`,
		`rackboot_dhcp_offers_total{client_class="uefi-http"}`,
		`rackboot_dhcp_offers_total{client_class="ipxe"}`,
		`rackboot_dhcp_packets_total{outcome="answered",type="request"}`,
		`rackboot_tftp_transfers_total{result="ok"}`,
		`rackboot_tftp_bytes_total`,
		`rackboot_http_scripts_served_total{kind="chain"}`,
		`rackboot_http_scripts_served_total{kind="machine"}`,
		`rackboot_http_asset_bytes_total`,
	}
	for _, series := range atLeastOne {
		if v, ok := got[series]; !ok || v < 1 {
			t.Errorf("%s = %v (present %v), want at least 1", series, v, ok)
		}
	}
	var machines float64
	for k, v := range got {
		if strings.HasPrefix(k, "rackboot_machines{") {
			machines += v
		}
	}
	if machines < 3 {
		t.Errorf("rackboot_machines sums to %v over its states, want the 3 booted guests at least", machines)
	}
}

// scrape reads the admin listener's /metrics into a map from series (name
// and labels, as printed) to value.
func (s *server) scrape(ctx context.Context) (map[string]float64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.admin+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+s.token)
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /metrics: %s %v", resp.Status, err)
	}
	out := make(map[string]float64)
	for line := range strings.SplitSeq(string(body), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if i < 0 || err != nil {
			return nil, fmt.Errorf("GET /metrics: bad line %q", line)
		}
		out[line[:i]] = v
	}
	return out, nil
}
