// One machine: its facts, the diagnosis when it is stuck, power and
// reprovision actions, its boot timeline (live) and the explain-boot
// view.
import * as api from './api.js';
import * as live from './live.js';
import * as discoveredCount from './count.js';
import {el, labelChips, parseTime, powerBadge, setText, stateBadge, template, throttle,
  timeAgo} from './dom.js';
import {renderTimeline, summary} from './timeline.js';

// mount shows machine arg ("name" or a MAC) in main and returns the
// function that removes it.
export function mount(main, {arg}) {
  const page = template('tpl-machine');
  main.append(page);
  const view = new MachineView(page, arg);
  view.start();
  return () => view.stop();
}

class MachineView {
  constructor(page, id) {
    this.page = page;
    this.id = id;
    this.info = null;
    this.events = [];
    this.fresh = new Set();
    this.pending = null; // the action waiting for its confirm
    this.refresh = throttle(() => this.load(), 1000);
  }

  $(sel) {
    return this.page.querySelector(sel);
  }

  start() {
    setText(this.$('#machine-title'), this.id);
    document.title = `${this.id} · rackboot`;
    for (const b of this.page.querySelectorAll('[data-power]')) {
      b.addEventListener('click', () => this.ask(b, () => this.power(b.dataset.power, b)));
    }
    const re = this.$('#reprovision');
    re.addEventListener('click', () => this.ask(re, () => this.reprovision(re)));
    this.$('#explain-btn').addEventListener('click', () => this.explain());
    this.$('#confirm-yes').addEventListener('click', () => this.confirmed());
    this.$('#confirm-no').addEventListener('click', () => this.cancel());
    this.$('#confirm').addEventListener('keydown', (e) => { if (e.key === 'Escape') this.cancel(); });
    this.off = live.subscribe((msg) => this.onEvent(msg));
    this.enableActions(); // nothing to act on until the machine is loaded
    this.load();
  }

  stop() {
    this.off();
    this.stopped = true;
  }

  async load() {
    let info;
    try {
      info = await api.get(`/api/v1/machines/${api.enc(this.id)}?timeline=1`);
      if (!info.timeline) info.timeline = await api.get(`/api/v1/machines/${api.enc(this.id)}/timeline`);
    } catch (err) {
      if (!this.stopped) this.failed(err);
      return;
    }
    if (this.stopped) return;
    this.$('#m-error').hidden = true;
    this.info = info;
    this.mergeEvents(info.timeline || []);
    this.render();
  }

  // failed shows why the machine could not be loaded. A machine that is
  // not there (never was, or deleted meanwhile) loses its facts, its
  // timeline and its actions.
  failed(err) {
    const box = this.$('#m-error');
    setText(box.querySelector('span'), `${this.id}: ${err.message}`);
    box.hidden = false;
    if (err.status !== 404) return;
    const wasShown = !!this.info;
    this.info = null;
    this.events = [];
    this.cancel(false);
    for (const id of ['#m-state', '#m-power', '#m-source']) setText(this.$(id), '');
    for (const id of ['#m-diagnosis', '#m-conflict', '#explain']) this.$(id).hidden = true;
    this.$('#m-facts').replaceChildren();
    this.$('#timeline').replaceChildren();
    setText(this.$('#tl-summary'), '');
    this.enableActions();
    if (wasShown) discoveredCount.refresh(); // its MACs may be discovered again
  }

  mergeEvents(events) {
    const seen = new Set(this.events.map((e) => e.seq));
    for (const e of events) if (!seen.has(e.seq)) this.events.push(e);
    this.events.sort((a, b) => a.seq - b.seq);
  }

  render() {
    const m = this.info;
    setText(this.$('#machine-title'), m.name || m.macs[0]);
    document.title = `${m.name || m.macs[0]} · rackboot`;
    this.$('#m-state').replaceWith(Object.assign(stateBadge(m.state), {id: 'm-state'}));
    this.$('#m-power').replaceWith(Object.assign(m.power ? powerBadge(m.power) : el('span', {class: 'badge'}),
      {id: 'm-power'}));
    setText(this.$('#m-source'), sourceText(m));
    const diag = this.$('#m-diagnosis');
    diag.hidden = !m.diagnosis;
    setText(diag.querySelector('span'), m.diagnosis || '');
    const conflict = this.$('#m-conflict');
    conflict.hidden = !m.conflict;
    setText(conflict.querySelector('span'), m.conflict || '');
    this.$('#m-facts').replaceChildren(...facts(m));
    this.renderEvents();
    this.enableActions();
  }

  renderEvents() {
    const latest = renderTimeline(this.$('#timeline'), this.events, this.fresh);
    setText(this.$('#tl-summary'), latest ? `Latest attempt: ${summary(latest)}` : '');
    this.fresh.clear();
  }

  // enableActions enables the buttons that may act on the machine shown:
  // none while it is not loaded or an action runs.
  enableActions() {
    const m = this.info;
    const why = !m ? 'The machine is not loaded' : !api.canOperate() ? 'Operators only' :
      !m.name ? 'Not in the inventory' : '';
    for (const b of this.page.querySelectorAll('[data-power], #reprovision')) {
      b.disabled = !!why || !!this.busy;
      b.title = why;
    }
    const explain = this.$('#explain-btn');
    explain.disabled = !m;
    explain.title = m ? '' : 'The machine is not loaded';
  }

  onEvent({mac, event}) {
    if (!this.info || !this.info.macs.includes(mac)) return;
    if (this.events.some((e) => e.seq === event.seq)) return;
    this.fresh.add(event.seq);
    this.mergeEvents([event]);
    this.renderEvents();
    this.refresh(); // state, power and Node follow the event
  }

  // ask runs act at once, or after a confirm when button asks for one.
  ask(button, act) {
    if (!this.info || this.busy) return;
    const what = button.dataset.confirm;
    if (!what) {
      act();
      return;
    }
    this.pending = {act, button};
    const box = this.$('#confirm');
    setText(box.querySelector('p'), `${what} ${this.info.name}? ` + (button.id === 'reprovision' ?
      'Its Node is drained, it boots from the network and is installed again.' :
      'The machine loses power: anything running on it stops.'));
    setText(this.$('#confirm-yes'), `Yes, ${what.toLowerCase()}`);
    box.hidden = false;
    this.$('#confirm-yes').focus();
  }

  confirmed() {
    const p = this.pending;
    this.cancel(false);
    if (p) p.act();
  }

  cancel(refocus = true) {
    const p = this.pending;
    this.pending = null;
    this.$('#confirm').hidden = true;
    if (refocus && p) p.button.focus();
  }

  async power(action, button) {
    await this.act(button, `Power ${action}…`, async () => {
      const r = await api.post(`/api/v1/machines/${api.enc(this.info.name)}/power`, {action});
      const state = r.power ? `; power is ${r.power}` : '';
      return `Power ${r.action} done in ${r.duration_ms} ms${state}${r.detail ? `: ${r.detail}` : ''}.`;
    });
  }

  async reprovision(button) {
    await this.act(button, 'Queueing the reprovision…', async () => {
      const j = await api.post(`/api/v1/machines/${api.enc(this.info.name)}/reprovision`, {});
      return `Reprovision ${j.state}${j.stage ? ` (${j.stage})` : ''}; follow it on the timeline.`;
    });
  }

  // act runs one operation, with the buttons disabled meanwhile, says how
  // it went and gives the focus back to button.
  async act(button, doing, fn) {
    this.busy = true;
    try {
      this.enableActions();
      this.say(doing, false);
      this.say(await fn(), false, true);
    } catch (err) {
      this.say(actionError(err), true);
    } finally {
      this.busy = false;
      this.enableActions();
      this.refocus(button);
      this.refresh();
    }
  }

  // refocus puts the focus back on button after an action, unless the
  // operator has moved it elsewhere meanwhile; a button that is disabled
  // now hands it to the message saying why.
  refocus(button) {
    const at = document.activeElement;
    if (at && at !== document.body && at !== button && !this.$('#confirm').contains(at)) return;
    if (!button.disabled) button.focus();
    else this.$('#action-msg').focus();
  }

  say(text, isError, ok) {
    const msg = this.$('#action-msg');
    setText(msg, text);
    msg.className = `msg${isError ? ' error' : ok ? ' ok' : ''}`;
  }

  async explain() {
    if (!this.info) return;
    const box = this.$('#explain');
    const id = this.info.name || this.info.macs[0];
    let x;
    try {
      x = await api.get(`/api/v1/machines/${api.enc(id)}/explain`);
    } catch (err) {
      this.say(`Explain failed: ${err.message}`, true);
      return;
    }
    this.$('#x-facts').replaceChildren(...pairs([
      ['Machine', x.machine && x.machine.name],
      ['MAC', x.mac],
      ['Profile', x.profile && (x.profile.name || x.profile)],
      ['Arch', x.arch ? `${x.arch}${x.efi ? ' (UEFI)' : ''}` : null],
    ]));
    this.$('#x-notes').replaceChildren(...(x.notes || []).map((n) => el('li', {}, n)));
    setText(this.$('#x-script'), x.script || '(no script)');
    setText(this.$('#x-ignition'), x.ignition ? JSON.stringify(x.ignition, null, 2) : '(no Ignition for this machine)');
    box.hidden = false;
    this.$('#explain-title').focus();
  }
}

function sourceText(m) {
  if (!m.name) return 'not in the inventory';
  if (m.read_only || m.source === 'file') return 'inventory file (read-only)';
  if (m.source === 'api') return 'added by API';
  return '';
}

function facts(m) {
  return pairs([
    ['MACs', m.macs.join(', ')],
    ['Profile', m.profile],
    ['Labels', Object.keys(m.labels || {}).length ? labelChips(m.labels) : null],
    ['Address', m.address],
    ['Last IP', m.ip],
    ['Arch', m.arch || m.arch_seen],
    ['Vendor class', m.vendor_class],
    ['First seen', timeAgo(parseTime(m.first_seen))],
    ['Node', m.node],
    ['Deadline', parseTime(m.deadline) ? parseTime(m.deadline).toLocaleString() : null],
  ]);
}

// pairs turns [label, value] into dt/dd elements, skipping empty values.
function pairs(list) {
  return list.filter(([, v]) => v !== null && v !== undefined && v !== '')
    .flatMap(([k, v]) => [el('dt', {}, k), el('dd', {}, v)]);
}

function actionError(err) {
  switch (err.status) {
    case 403: return `Not allowed: ${err.message}`;
    case 409: return `Refused: ${err.message}`;
    case 501: return `Not available: ${err.message}`;
    default: return `Failed: ${err.message}`;
  }
}
