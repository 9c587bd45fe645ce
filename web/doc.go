// Package web is rackboot's HTTP side: the iPXE chain and per-machine
// scripts, kernel and initrd assets, iPXE binaries for UEFI HTTP Boot, the
// callback a booted OS makes, and a small JSON API over the inventory.
//
// URL layout:
//
//	GET      /boot.ipxe                       chain script (DHCP hands it to iPXE)
//	GET      /ipxe?mac=&uuid=&arch=&platform= per-machine script
//	GET      /ignition?mac=&uuid=             Ignition config (see SetIgnition)
//	GET/HEAD /assets/{path...}                files under Config.AssetsDir
//	GET/HEAD /loaders/{file}                  files in Config.LoaderDirs
//	POST     /api/v1/machines/{mac}/callback  event os-callback
//	GET      /api/v1/machines                 []MachineInfo
//	GET      /api/v1/machines/{mac}           MachineInfo
//	GET      /api/v1/machines/{mac}/timeline  []inventory.Event, oldest first
//	POST     /api/v1/machines/{name}/power    BMC power action (see SetBMC)
//	POST     /api/v1/machines/{name}/pxe-once next boot from the network
//	POST/GET /api/v1/machines/{name}/reprovision  queue one reprovision, or its job
//	POST/GET /api/v1/reprovision              queue a rolling batch, or every job
//
// Install once: a declared machine whose current provisioning generation
// was served the installer and then called back gets a script that boots
// its local disk (see ipxe.Scripts.Local), until a new generation.
//
// Each step a machine takes is recorded on its timeline: script-served,
// discovered (a machine missing from the catalog asked), kernel-fetched
// and initrd-fetched once a whole file has gone out, loader-served and
// os-callback. Asset and loader fetches show only an address, so they are
// recorded through Inventory.RecordByIP.
//
// Usage:
//
//	srv, err := web.NewServer(web.Config{
//		Addr:       ":8080",
//		PublicURL:  "http://192.0.2.10:8080",
//		AssetsDir:  "/srv/rackboot/assets",
//		LoaderDirs: []string{"/usr/lib/ipxe"},
//	}, inv, log)
//	if err != nil { ... }
//	err = srv.Run(ctx) // until ctx ends
package web
