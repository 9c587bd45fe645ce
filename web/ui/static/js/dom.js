// DOM helpers. Every piece of data reaches the page through textContent
// or an attribute set here; nothing is ever parsed as HTML.

// el builds an element: el('td', {class: 'x', title: 't'}, 'text', child).
// Attribute values are set with setAttribute; children that are strings
// become text nodes; null and undefined children are skipped.
export function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') {
      node.addEventListener(k.slice(2), v);
    } else {
      node.setAttribute(k, v === true ? '' : String(v));
    }
  }
  append(node, children);
  return node;
}

// append adds children (strings, nodes or arrays of them) to node.
export function append(node, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

// setText replaces node's content with text.
export function setText(node, text) {
  node.textContent = text === null || text === undefined ? '' : String(text);
  return node;
}

// clear removes node's children.
export function clear(node) {
  node.replaceChildren();
  return node;
}

// template clones the <template id=id> of index.html.
export function template(id) {
  return document.getElementById(id).content.firstElementChild.cloneNode(true);
}

// parseTime returns a Date, or null for a missing or zero time.
export function parseTime(s) {
  if (!s || s.startsWith('0001-')) return null;
  const d = new Date(s);
  return isNaN(d) ? null : d;
}

// duration says how long ms milliseconds is, in at most two units.
export function duration(ms) {
  if (ms < 0) ms = 0;
  const s = Math.round(ms / 1000);
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return s % 60 ? `${m}m ${s % 60}s` : `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 48) return m % 60 ? `${h}h ${m % 60}m` : `${h}h`;
  return `${Math.floor(h / 24)}d ${h % 24}h`;
}

// ago says how long before now date was: "12s ago", "3m ago".
export function ago(date, now = Date.now()) {
  const ms = now - date.getTime();
  if (ms < 5000) return 'just now';
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s ago`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ago`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h ago`;
  return `${Math.floor(h / 24)}d ago`;
}

// timeAgo is a <time> that says how long ago date was and keeps saying
// it (see refreshAgo); its title holds the exact time.
export function timeAgo(date) {
  if (!date) return el('span', {class: 'muted'}, '—');
  return el('time', {datetime: date.toISOString(), title: date.toLocaleString(), 'data-ago': ''},
    ago(date));
}

// refreshAgo updates every timeAgo in the page.
export function refreshAgo() {
  const now = Date.now();
  for (const t of document.querySelectorAll('time[data-ago]')) {
    t.textContent = ago(new Date(t.getAttribute('datetime')), now);
  }
}

// debounce returns fn delayed until wait ms pass without a call.
export function debounce(fn, wait) {
  let timer = 0;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), wait);
  };
}

// throttle returns fn run at most once per wait ms, the last call of a
// burst always run at the end of its window.
export function throttle(fn, wait) {
  let last = 0;
  let timer = 0;
  return () => {
    if (timer) return;
    const delay = Math.max(0, last + wait - Date.now());
    timer = setTimeout(() => {
      timer = 0;
      last = Date.now();
      fn();
    }, delay);
  };
}

// flash briefly highlights node, to show it changed.
export function flash(node, cls = 'flash') {
  node.classList.remove(cls);
  void node.offsetWidth; // restart the animation
  node.classList.add(cls);
}

// toast shows a short message at the bottom of the page for a while.
let toastTimer = 0;
export function toast(text, isError = false) {
  const t = document.getElementById('toast');
  t.textContent = text;
  t.classList.toggle('error', isError);
  t.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { t.hidden = true; }, isError ? 8000 : 4000);
}

// stateBadge is a coloured badge for a machine state; empty means the
// machine was never seen.
export function stateBadge(state) {
  const s = state || 'unseen';
  return el('span', {class: `badge state-${s}`}, s);
}

// powerBadge shows the last known power state, or nothing.
export function powerBadge(power) {
  if (!power) return el('span', {class: 'muted'}, '—');
  return el('span', {class: `badge power power-${power}`}, power);
}

// labelChips shows labels as key=value chips, sorted by key.
export function labelChips(labels) {
  return Object.keys(labels || {}).sort().map((k) => el('span', {class: 'chip'}, `${k}=${labels[k]}`));
}
