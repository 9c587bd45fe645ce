// The store's health and the leader, from GET /api/v1/status: a banner
// while the store is degraded, and the leading replica's name in the top
// bar when replicas share a Kubernetes store.
import * as api from './api.js';
import {setText} from './dom.js';

// EVERY is how often the status is asked for, in milliseconds.
const EVERY = 5000;

let timer = null;
let seq = 0; // the newest request; older answers are dropped

// show puts st on the page.
function show(st) {
  const banner = document.getElementById('degraded');
  banner.hidden = !st.degraded;
  setText(banner.querySelector('.reason'), st.reason || 'the store does not answer');
  const leader = document.getElementById('leader');
  leader.hidden = st.store !== 'kubernetes';
  // The server names no leader while none is known to lead now.
  const who = st.leader ? st.leader + (st.leading ? ' (this replica)' : '') : 'none';
  setText(leader, `Leader: ${who}`);
  leader.title = `This replica: ${st.replica}`;
}

// refresh asks for the status now and shows it.
export async function refresh() {
  const mine = ++seq;
  let st;
  try {
    st = await api.get('/api/v1/status');
  } catch {
    return; // the pages show errors; the last status stays
  }
  if (mine === seq && timer) show(st);
}

// start shows the status and keeps it current.
export function start() {
  if (!timer) timer = setInterval(refresh, EVERY);
  refresh();
}

// stop stops asking and hides the banner.
export function stop() {
  clearInterval(timer);
  timer = null;
  seq++;
  document.getElementById('degraded').hidden = true;
}
