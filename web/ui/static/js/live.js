import * as api from './api.js';

// Live updates: one EventSource on GET /api/v1/events for the whole
// page. The browser reconnects by itself after a drop, sending
// Last-Event-ID so that no event is missed; each page subscribes to the
// events it shows.

const listeners = new Set();
let source = null;

// subscribe calls fn({mac, event}) for every timeline event until the
// returned function is called.
export function subscribe(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

// start opens the stream if it is not open.
export function start() {
  if (source) return;
  source = new EventSource('/api/v1/events');
  source.addEventListener('open', () => setStatus('on', 'live'));
  source.addEventListener('error', onError);
  source.addEventListener('timeline', onTimeline);
  setStatus('retry', 'connecting');
}

// stop closes the stream.
export function stop() {
  if (source) source.close();
  source = null;
  setStatus('', 'offline');
}

function onError() {
  if (!source) return;
  if (source.readyState === EventSource.CLOSED) {
    // The server refused the stream: the browser gives up. If the
    // session ended, asking for it signs the page out; else try again a
    // little later.
    source = null;
    setStatus('retry', 'disconnected');
    setTimeout(retry, 5000);
    return;
  }
  setStatus('retry', 'reconnecting');
}

async function retry() {
  if (source || !api.session) return;
  try {
    await api.get('/api/v1/session');
  } catch {
    return; // signed out (the app shows the sign-in page), or unreachable
  }
  start();
}

function onTimeline(msg) {
  let data;
  try {
    data = JSON.parse(msg.data);
  } catch {
    return;
  }
  if (!data || !data.mac || !data.event) return;
  for (const fn of listeners) {
    try {
      fn(data);
    } catch (err) {
      console.error('live update', err);
    }
  }
}

function setStatus(cls, text) {
  const s = document.getElementById('live');
  s.className = `live ${cls}`;
  s.textContent = text;
  s.title = text === 'live' ? 'Updates arrive as they happen' : 'Live updates are not flowing';
}
