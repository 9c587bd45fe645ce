// The boot timeline: a machine's events as a vertical list, grouped into
// boot attempts, with the time between steps and the time from the first
// DHCP packet to Node Ready.
import {duration, el, parseTime} from './dom.js';

// RANK orders the stages of a boot; other kinds are side notes (DHCP
// acks, BMC calls, drains).
const RANK = {
  'dhcp-discover': 1, 'dhcp-offer': 1, 'dhcp-ack': 1,
  'tftp-served': 2, 'loader-served': 2, 'script-served': 3,
  'kernel-fetched': 4, 'initrd-fetched': 4, 'os-callback': 5, 'ignition-served': 6,
  'node-csr': 7, 'node-registered': 8, 'node-ready': 9,
};
const GOOD = new Set(['node-ready', 'provision-done', 'csr-approved']);
const BAD = new Set(['stalled', 'provision-failed', 'error', 'node-not-ready', 'ignition-refused',
  'dhcp-nak', 'node-mismatch', 'csr-denied']);

// isBootDHCP reports whether e is a DHCP exchange of a network-booting
// client (rackboot's DHCP notes "arch=... file=..." for those).
function isBootDHCP(e) {
  return e.kind === 'dhcp-discover' || (RANK[e.kind] === 1 && (e.detail || '').startsWith('arch='));
}

// attempts splits events (oldest first) into boot attempts. One starts at
// provision-started, or at a boot client's DHCP once the attempt before
// had got as far as its kernel; the DHCP packets just before a new
// attempt's first boot step belong to it.
export function attempts(events) {
  const out = [];
  let cur = null;
  for (const e of events) {
    const fresh = !cur || e.kind === 'provision-started' ||
      (isBootDHCP(e) && cur.reached >= RANK['kernel-fetched']);
    if (fresh) {
      cur = {events: [], reached: 0};
      out.push(cur);
    }
    cur.events.push(e);
    cur.reached = Math.max(cur.reached, RANK[e.kind] || 0);
  }
  return out;
}

// summary says how far an attempt got and how long it took, from its
// first DHCP packet to Node Ready (or to its last event).
export function summary(att) {
  const first = att.events.find((e) => RANK[e.kind] === 1) || att.events[0];
  const ready = att.events.find((e) => e.kind === 'node-ready');
  const last = att.events[att.events.length - 1];
  const t0 = parseTime(first.time);
  if (ready) {
    return `${first.kind} → node-ready in ${duration(parseTime(ready.time) - t0)}`;
  }
  const stalled = att.events.find((e) => e.kind === 'stalled' || e.kind === 'provision-failed');
  if (stalled) return `stalled after ${duration(parseTime(stalled.time) - t0)}: ${stalled.detail || stalled.kind}`;
  const n = att.events.length;
  if (n === 1) return `1 event, ${last.kind}`;
  return `${n} events over ${duration(parseTime(last.time) - t0)}, latest ${last.kind}`;
}

// MAX_ATTEMPTS bounds the attempts drawn, so that a machine with years of
// history keeps a light page.
const MAX_ATTEMPTS = 20;

// renderTimeline fills box with the attempts of events: the newest open,
// older ones folded. fresh holds the Seqs to highlight as just arrived.
export function renderTimeline(box, events, fresh = new Set()) {
  const all = attempts(events);
  if (!all.length) {
    box.replaceChildren(el('p', {class: 'help'}, 'No event yet: this machine has not been seen on the network.'));
    return null;
  }
  const skipped = Math.max(0, all.length - MAX_ATTEMPTS);
  const nodes = all.slice(skipped).map((att, k) => {
    const i = k + skipped;
    const list = el('ol', {}, att.events.map((e, j) => eventItem(e, att.events[j - 1], fresh)));
    const label = `Attempt ${i + 1} · ${new Date(att.events[0].time).toLocaleString()} · ${summary(att)}`;
    if (i === all.length - 1) return el('div', {class: 'attempt', 'aria-label': label}, list);
    return el('details', {}, el('summary', {}, label), list);
  });
  if (skipped) nodes.unshift(el('p', {class: 'help'}, `${skipped} older attempts not shown.`));
  box.replaceChildren(...nodes.reverse());
  return all[all.length - 1];
}

function eventItem(e, prev, fresh) {
  const t = parseTime(e.time);
  const cls = [RANK[e.kind] ? 'stage' : '', GOOD.has(e.kind) ? 'good' : '', BAD.has(e.kind) ? 'bad' : '',
    fresh.has(e.seq) ? 'fresh' : ''].filter(Boolean).join(' ');
  const delta = prev ? `+${duration(t - parseTime(prev.time))}` : 'start';
  return el('li', {class: cls || null, 'data-kind': e.kind, 'data-seq': e.seq},
    el('span', {class: 'delta', title: 'time since the step before'}, delta),
    el('span', {class: 'kind'}, e.kind),
    el('time', {class: 'when', datetime: t ? t.toISOString() : null}, t ? t.toLocaleTimeString() : ''),
    e.ip ? el('span', {class: 'when'}, e.ip) : null,
    e.detail ? el('span', {class: 'detail'}, e.detail) : null,
  );
}
