// Package metrics exports rackboot's machine-level Prometheus series,
// the ones no single protocol part can count: how many machines are in
// each state, and how long machines take from power-on to a Ready Node.
// The parts count their own traffic in their own metrics.go (dhcp, tftp,
// web, bmc, tracker); this package also builds the registry and the
// /metrics handler they all share.
//
// Usage:
//
//	reg := metrics.NewRegistry()
//	dhcpCfg.Metrics = dhcp.NewMetrics(reg) // and so on for each part
//	m := metrics.New(inv, reg, log)
//	g.Go(func() error { return m.Run(ctx) })
//	mux.Handle("/metrics", metrics.Handler(reg, log))
//
// docs/metrics.md lists every series with its labels.
package metrics
