// The number of discovered machines waiting for acceptance, shown in the
// top bar and kept current from the event stream.
import * as api from './api.js';
import * as live from './live.js';
import {setText, throttle} from './dom.js';

let off = null;

const refresh = throttle(async () => {
  try {
    const page = await api.get(api.query('/api/v1/machines', {source: 'discovered', limit: 1}));
    const n = page.total || 0;
    setText(document.getElementById('discovered-count'), n ? n : '');
  } catch {
    // The count is a hint; the pages show errors.
  }
}, 5000);

// start shows the count and follows it.
export function start() {
  refresh();
  if (!off) off = live.subscribe((msg) => { if (msg.event.kind === 'discovered' || msg.event.kind === 'dhcp-discover') refresh(); });
}

// stop stops following the count.
export function stop() {
  if (off) off();
  off = null;
}
