// Package inventory holds what rackboot knows about machines: the declared
// profiles and machines read from the operator's YAML file, and the runtime
// state kept in an embedded store (leases, discovered machines and one
// timeline of events per machine).
//
// Every other rackboot package depends on inventory and on nothing else of
// rackboot's; inventory depends on no other rackboot package.
package inventory
