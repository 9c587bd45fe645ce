// Discovered machines: MACs that asked to boot but are in no inventory,
// with what is known of them, to accept (name and profile) or reject.
import * as api from './api.js';
import * as live from './live.js';
import * as discoveredCount from './count.js';
import {el, flash, parseTime, setText, template, throttle, timeAgo, toast} from './dom.js';
import {lastEventCell, lastEventTitle} from './machines.js';
import {PAGE_SIZE, listOf, renderPager} from './pager.js';

// mount shows the list in main and returns the function that removes it.
export function mount(main, {params}) {
  const page = template('tpl-discovered');
  main.append(page);
  const view = new DiscoveredView(page, parseInt(params.get('offset') || '0', 10) || 0);
  view.load();
  view.loadProfiles();
  discoveredCount.refresh();
  const off = live.subscribe(() => view.soon());
  return () => { off(); view.seq = -1; };
}

class DiscoveredView {
  constructor(page, offset) {
    this.page = page;
    this.tbody = page.querySelector('tbody');
    this.summary = page.querySelector('#discovered-summary');
    this.offset = Math.max(0, offset);
    this.profiles = [];
    this.seq = 0;
    this.open = null; // the MAC whose accept form is open; its row is kept
    this.wantFocus = null; // where the next load puts the focus (see restoreFocus)
    this.soon = throttle(() => { if (!this.open) this.load(); }, 2000);
  }

  async loadProfiles() {
    try {
      this.profiles = listOf(await api.get('/api/v1/profiles')).map((p) => p.name).filter(Boolean);
    } catch {
      this.profiles = [];
    }
  }

  async load() {
    const seq = ++this.seq;
    const h = api.query('#/discovered', {offset: this.offset || ''});
    if (location.hash !== h) history.replaceState(null, '', h);
    let page;
    try {
      page = await api.get(api.query('/api/v1/machines',
        {source: 'discovered', limit: PAGE_SIZE, offset: this.offset}));
    } catch (err) {
      if (seq === this.seq) setText(this.summary, `Could not load discovered machines: ${err.message}`);
      return;
    }
    if (seq !== this.seq) return;
    const items = listOf(page);
    const total = page.total ?? items.length;
    setText(this.summary, `${total.toLocaleString()} waiting`);
    renderPager(this.page.querySelector('.pager'),
      {total, offset: page.offset || 0, limit: page.limit || PAGE_SIZE},
      (o) => this.goTo(o));
    const focus = this.wantFocus || this.focused();
    this.wantFocus = null;
    this.tbody.replaceChildren(...(items.length ? items.map((m) => this.row(m)) :
      [el('tr', {}, el('td', {colspan: 7, class: 'empty'}, 'No machine is waiting.'))]));
    if (focus) this.restoreFocus(focus);
  }

  // focused says which row button has the focus, so that a reload keeps
  // it there.
  focused() {
    const at = document.activeElement;
    const tr = at && at.tagName === 'BUTTON' && this.tbody.contains(at) && at.closest('tr[data-mac]');
    if (!tr) return null;
    return {mac: tr.dataset.mac, selector: at.classList.contains('primary') ? 'button.primary' : 'button:not(.primary)'};
  }

  // restoreFocus focuses {mac, selector, next}: the button of mac's row;
  // when the row is gone, the Accept button of the next row, or the
  // heading.
  restoreFocus({mac, selector, next}) {
    const row = (m) => m && this.tbody.querySelector(`tr[data-mac="${CSS.escape(m)}"]`);
    const target = (row(mac) && row(mac).querySelector(selector)) ||
      (row(next) && row(next).querySelector('button.primary'));
    if (target) target.focus();
    else if (next !== undefined) this.page.querySelector('h1').focus();
  }

  // goTo shows the page at offset from its top, the focus on the heading.
  goTo(offset) {
    this.offset = offset;
    this.load();
    window.scrollTo(0, 0);
    this.page.querySelector('h1').focus();
  }

  // refocus reloads the list, then puts the focus back on the button of
  // mac's row (see restoreFocus).
  refocus(mac, selector, next) {
    this.wantFocus = {mac, selector, next: next || null};
    return this.load();
  }

  row(m) {
    const mac = m.macs[0];
    const operator = api.canOperate();
    const tr = el('tr', {'data-mac': mac},
      el('td', {class: 'mac'}, el('a', {href: `#/machine/${api.enc(mac)}`}, mac),
        m.rejected ? [' ', el('span', {class: 'badge rejected'}, 'rejected')] : null),
      el('td', {}, m.arch_seen || m.arch || '—'),
      el('td', {class: 'clip', title: m.vendor_class || null}, m.vendor_class || '—'),
      el('td', {}, timeAgo(parseTime(m.first_seen))),
      el('td', {}, relayText(m.relay)),
      el('td', {class: 'last clip', title: lastEventTitle(m.last_event) || null}, ...lastEventCell(m.last_event)),
      el('td', {}, el('div', {class: 'buttons'},
        el('button', {type: 'button', class: 'primary', disabled: !operator,
          title: operator ? null : 'Operators only', onclick: () => this.showAccept(tr, mac)}, 'Accept…'),
        el('button', {type: 'button', disabled: !operator, title: operator ? null : 'Operators only',
          onclick: (e) => this.reject(e.target, mac, !m.rejected)}, m.rejected ? 'Unreject' : 'Reject'))),
    );
    return tr;
  }

  showAccept(tr, mac) {
    const old = this.tbody.querySelector('tr.acceptrow');
    if (old) old.remove();
    const row = template('tpl-accept');
    const form = row.querySelector('form');
    setText(row.querySelector('.mac'), mac);
    const select = form.elements.profile;
    for (const p of this.profiles) select.append(el('option', {value: p}, p));
    tr.after(row);
    this.open = mac;
    form.elements.name.focus();
    const close = () => {
      row.remove();
      this.open = null;
      tr.querySelector('button').focus();
    };
    row.querySelector('.cancel').addEventListener('click', close);
    form.addEventListener('keydown', (e) => { if (e.key === 'Escape') close(); });
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      this.accept(form, mac);
    });
  }

  async accept(form, mac) {
    const msg = form.querySelector('.msg');
    const body = {name: form.elements.name.value.trim(), profile: form.elements.profile.value};
    const labels = parseLabels(form.elements.labels.value);
    if (labels === null) {
      setText(msg, 'Labels are key=value pairs, separated by commas.');
      msg.className = 'msg error';
      return;
    }
    if (Object.keys(labels).length) body.labels = labels;
    const address = form.elements.address.value.trim();
    if (address) body.address = address;
    try {
      await api.post(`/api/v1/machines/${api.enc(mac)}/accept`, body);
    } catch (err) {
      setText(msg, `Not accepted: ${err.message}`);
      msg.className = 'msg error';
      return;
    }
    this.open = null;
    toast(`Accepted ${mac} as ${body.name}.`);
    discoveredCount.refresh();
    await this.refocus(mac, 'button.primary', this.nextRow(mac));
  }

  // nextRow is the MAC of the row after mac's (or before it), if any.
  nextRow(mac) {
    const macs = [...this.tbody.querySelectorAll('tr[data-mac]')].map((tr) => tr.dataset.mac);
    const i = macs.indexOf(mac);
    return macs[i + 1] || macs[i - 1] || null;
  }

  // reject makes rackboot ignore mac's DHCP, or, with on false, answer
  // it again.
  async reject(button, mac, on) {
    button.disabled = true;
    const path = `/api/v1/machines/${api.enc(mac)}/reject`;
    try {
      await (on ? api.post(path) : api.del(path));
      toast(on ? `Rejected ${mac}: rackboot ignores its DHCP from now on.` :
        `${mac} is no longer rejected.`);
    } catch (err) {
      toast(`Could not change ${mac}: ${err.message}`, true);
      button.disabled = false;
      return;
    }
    flash(button.closest('tr'));
    discoveredCount.refresh();
    await this.refocus(mac, 'button:not(.primary)', null);
  }
}

// relayText shows option 82 as the relay saw the machine: switch port
// (circuit id), remote id and relay address.
function relayText(relay) {
  if (!relay) return '—';
  const parts = [];
  if (relay.circuit_id) parts.push(`port ${relay.circuit_id}`);
  if (relay.remote_id) parts.push(`remote ${relay.remote_id}`);
  if (relay.giaddr) parts.push(`via ${relay.giaddr}`);
  return parts.join(', ') || '—';
}

// parseLabels reads "k=v, k2=v2" into an object; null if malformed.
export function parseLabels(text) {
  const out = {};
  for (const part of text.split(',').map((s) => s.trim()).filter(Boolean)) {
    const i = part.indexOf('=');
    if (i <= 0) return null;
    out[part.slice(0, i).trim()] = part.slice(i + 1).trim();
  }
  return out;
}
