// The number of discovered machines waiting for acceptance, shown in the
// top bar and kept current from the event stream.
import * as api from './api.js';
import * as live from './live.js';
import {setText, throttle} from './dom.js';

// KINDS are the events that may change the count.
const KINDS = new Set(['discovered', 'dhcp-discover', 'accepted', 'rejected', 'unrejected']);

let off = null;
let seq = 0; // the newest request; older answers are dropped

// refresh asks for the count now and shows it.
export async function refresh() {
  const mine = ++seq;
  let page;
  try {
    page = await api.get(api.query('/api/v1/machines', {source: 'discovered', limit: 1}));
  } catch {
    return; // the count is a hint; the pages show errors
  }
  if (mine !== seq || !off) return;
  const n = page.total || 0;
  setText(document.getElementById('discovered-count'), n ? n : '');
}

const soon = throttle(refresh, 5000);

// start shows the count and follows it.
export function start() {
  if (!off) off = live.subscribe((msg) => { if (KINDS.has(msg.event.kind)) soon(); });
  refresh();
}

// stop stops following the count.
export function stop() {
  if (off) off();
  off = null;
  seq++;
}
