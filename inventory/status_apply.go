package inventory

// Apply updates st, the status of the MAC e was recorded for, as
// Store.Record does: a sighting sets FirstSeen and makes the MAC
// discovered, the kind may move the state on, an address in e becomes
// the MAC's, and e becomes its last event. Other backends keep their
// statuses with it.
func (st *Status) Apply(e Event) {
	if e.Kind.Sighting() {
		sighted(st, e.Time)
	}
	if next, ok := stateAfter[e.Kind]; ok {
		st.State = next
	}
	if e.IP.IsValid() {
		st.IP = e.IP
	}
	st.LastEvent = e
}
