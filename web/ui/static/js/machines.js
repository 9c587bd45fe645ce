// The inventory table: one page of machines from the API at a time,
// filtered and searched on the server, and kept current from the event
// stream without reloading.
import * as api from './api.js';
import * as live from './live.js';
import {debounce, el, flash, labelChips, parseTime, powerBadge, setText, stateBadge,
  template, throttle, timeAgo} from './dom.js';
import {PAGE_SIZE, listOf, renderPager} from './pager.js';

// STATES are the machine states (inventory.State), in boot order.
export const STATES = ['discovered', 'booting', 'os-booted', 'ignition-served', 'csr-pending',
  'registered', 'ready', 'degraded', 'failed'];

const FILTERS = ['q', 'state', 'profile', 'label'];

// machineKey names a machine in URLs: its name, or its first MAC.
export function machineKey(m) {
  return m.name || m.macs[0];
}

// mount shows the table in main and returns the function that removes it.
export function mount(main, {params}) {
  const page = template('tpl-machines');
  main.append(page);
  const view = new MachinesView(page, params);
  view.start();
  return () => view.stop();
}

class MachinesView {
  constructor(page, params) {
    this.page = page;
    this.tbody = page.querySelector('tbody');
    this.pager = page.querySelector('.pager');
    this.summary = page.querySelector('#machines-summary');
    this.form = page.querySelector('#filters');
    this.filters = Object.fromEntries(FILTERS.map((k) => [k, params.get(k) || '']));
    this.offset = Math.max(0, parseInt(params.get('offset') || '0', 10) || 0);
    this.rows = new Map(); // machineKey -> {tr, sig}
    this.byMAC = new Map(); // mac -> tr
    this.seq = 0; // the newest load asked for; older answers are dropped
    this.soon = throttle(() => this.load(), 1000);
    this.later = throttle(() => this.load(), 10000);
  }

  start() {
    this.fillSelect('#f-state', STATES);
    this.loadProfiles();
    for (const k of FILTERS) this.input(k).value = this.filters[k];
    const changed = () => this.setFilters();
    this.input('q').addEventListener('input', debounce(changed, 250));
    this.input('label').addEventListener('input', debounce(changed, 400));
    this.input('state').addEventListener('change', changed);
    this.input('profile').addEventListener('change', changed);
    this.form.addEventListener('submit', (e) => { e.preventDefault(); changed(); });
    this.form.addEventListener('reset', () => setTimeout(changed));
    this.off = live.subscribe((msg) => this.onEvent(msg));
    this.load();
  }

  stop() {
    this.off();
    this.seq = -1;
  }

  input(name) {
    return this.form.elements[name];
  }

  fillSelect(sel, values) {
    const select = this.page.querySelector(sel);
    for (const v of values) select.append(el('option', {value: v}, v));
  }

  async loadProfiles() {
    try {
      const profiles = listOf(await api.get('/api/v1/profiles'));
      this.fillSelect('#f-profile', profiles.map((p) => p.name).filter(Boolean));
      this.input('profile').value = this.filters.profile;
    } catch {
      // Without the list, the filter still offers "any".
    }
  }

  setFilters() {
    for (const k of FILTERS) this.filters[k] = this.input(k).value.trim();
    this.offset = 0;
    this.load();
  }

  goTo(offset) {
    this.offset = offset;
    this.load();
  }

  // move shows the page at offset from its top, the focus on the heading.
  move(offset) {
    this.goTo(offset);
    window.scrollTo(0, 0);
    this.page.querySelector('h1').focus();
  }

  // syncHash keeps the address bar on the filters and page shown, so
  // that reload and back return here; it fires no hashchange.
  syncHash() {
    const h = api.query('#/machines', {...this.filters, offset: this.offset || ''});
    if (location.hash !== h) history.replaceState(null, '', h);
  }

  async load() {
    const seq = ++this.seq;
    this.syncHash();
    let page;
    try {
      page = await api.get(api.query('/api/v1/machines',
        {...this.filters, limit: PAGE_SIZE, offset: this.offset}));
    } catch (err) {
      if (seq === this.seq) this.showError(err);
      return;
    }
    if (seq !== this.seq) return;
    if (page.offset > 0 && page.offset >= page.total) {
      this.goTo(Math.max(0, page.total - PAGE_SIZE));
      return;
    }
    this.render(listOf(page), page);
  }

  showError(err) {
    setText(this.summary, `Could not load machines: ${err.message}`);
    this.summary.classList.add('error');
  }

  render(items, page) {
    this.summary.classList.remove('error');
    const total = page.total ?? items.length;
    setText(this.summary, `${total.toLocaleString()} machine${total === 1 ? '' : 's'}` +
      (FILTERS.some((k) => this.filters[k]) ? (total === 1 ? ' matches' : ' match') : ''));
    renderPager(this.pager, {total, offset: page.offset || 0, limit: page.limit || PAGE_SIZE},
      (o) => this.move(o));
    this.renderRows(items);
  }

  // renderRows updates the table in place: rows whose machine did not
  // change are kept (with their focus), changed ones are replaced.
  renderRows(items) {
    const next = new Map();
    this.byMAC.clear();
    const wanted = items.map((m) => {
      const key = machineKey(m);
      const sig = JSON.stringify(m);
      const old = this.rows.get(key);
      const tr = old && old.sig === sig ? old.tr : machineRow(m);
      if (old && old.tr !== tr) flash(tr);
      next.set(key, {tr, sig});
      for (const mac of m.macs) this.byMAC.set(mac, tr);
      return tr;
    });
    if (!items.length) wanted.push(emptyRow(FILTERS.some((k) => this.filters[k])));
    this.rows = next;
    placeRows(this.tbody, wanted);
  }

  onEvent({mac, event}) {
    const tr = this.byMAC.get(mac);
    if (!tr) {
      this.later();
      return;
    }
    const cell = tr.querySelector('td.last');
    if (cell) {
      cell.replaceChildren(...lastEventCell(event));
      cell.title = lastEventTitle(event);
    }
    flash(tr);
    this.soon();
  }
}

// placeRows makes tbody hold exactly rows, in order, moving only the
// rows out of place.
function placeRows(tbody, rows) {
  const keep = new Set(rows);
  for (const tr of [...tbody.children]) if (!keep.has(tr)) tr.remove();
  rows.forEach((tr, i) => {
    if (tbody.children[i] !== tr) tbody.insertBefore(tr, tbody.children[i] || null);
  });
}

function emptyRow(filtered) {
  return el('tr', {}, el('td', {colspan: 9, class: 'empty'},
    filtered ? 'No machine matches these filters.' : 'No machines yet: declare some in the inventory, or wait for one to boot.'));
}

function machineRow(m) {
  const key = machineKey(m);
  const address = m.address || m.ip || '';
  return el('tr', {'data-key': key},
    el('td', {}, el('a', {href: `#/machine/${api.enc(key)}`}, m.name || m.macs[0]),
      !m.name ? el('span', {class: 'sub'}, 'not in the inventory') : null,
      m.read_only === false && m.source === 'api' ? el('span', {class: 'sub'}, 'added by API') : null),
    el('td', {class: 'macs'}, m.macs.map((mac, i) => [i ? el('br') : null, mac])),
    el('td', {class: 'mono'}, address,
      m.address && m.ip && m.ip !== m.address ? el('span', {class: 'sub'}, `seen ${m.ip}`) : null),
    el('td', {}, m.profile || '—'),
    el('td', {}, labelChips(m.labels)),
    el('td', {class: 'state'}, stateBadge(m.state), m.rejected ? [' ', el('span', {class: 'badge rejected'}, 'rejected')] : null,
      m.conflict ? [' ', el('span', {class: 'badge rejected', title: m.conflict}, 'left out')] : null),
    el('td', {class: 'power'}, powerBadge(m.power)),
    el('td', {class: 'clip', title: m.diagnosis || null}, m.node || '—',
      m.diagnosis ? el('span', {class: 'sub error'}, m.diagnosis) : null),
    el('td', {class: 'last clip', title: lastEventTitle(m.last_event) || null}, ...lastEventCell(m.last_event)),
  );
}

// lastEventTitle is the full text of an event, for a cell that may cut it.
export function lastEventTitle(ev) {
  if (!ev) return '';
  return ev.detail ? `${ev.kind}: ${ev.detail}` : ev.kind;
}

// lastEventCell shows an event's kind, how long ago, and its detail.
export function lastEventCell(ev) {
  if (!ev) return ['—'];
  return [ev.kind, ' ', timeAgo(parseTime(ev.time)),
    ev.detail ? el('span', {class: 'sub', title: ev.detail}, ev.detail) : null];
}
