// One machine: its facts, the diagnosis when it is stuck, power and
// reprovision actions, its boot timeline (live) and the explain-boot
// view.
import * as api from './api.js';
import * as live from './live.js';
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
      b.addEventListener('click', () => this.ask(b, () => this.power(b.dataset.power)));
    }
    this.$('#reprovision').addEventListener('click', (e) => this.ask(e.target, () => this.reprovision()));
    this.$('#explain-btn').addEventListener('click', () => this.explain());
    this.$('#confirm-yes').addEventListener('click', () => this.confirmed());
    this.$('#confirm-no').addEventListener('click', () => this.cancel());
    this.$('#confirm').addEventListener('keydown', (e) => { if (e.key === 'Escape') this.cancel(); });
    this.off = live.subscribe((msg) => this.onEvent(msg));
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
      if (!this.stopped) this.say(`Could not load ${this.id}: ${err.message}`, true);
      return;
    }
    if (this.stopped) return;
    this.info = info;
    this.mergeEvents(info.timeline || []);
    this.render();
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
    this.$('#m-power').replaceWith(Object.assign(m.power ? powerBadge(m.power) : el('span'), {id: 'm-power'}));
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

  enableActions() {
    const m = this.info;
    const why = !api.canOperate() ? 'Operators only' : !m.name ? 'Not in the inventory' : '';
    for (const b of this.page.querySelectorAll('[data-power], #reprovision')) {
      b.disabled = !!why || !!this.busy;
      b.title = why;
    }
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

  async power(action) {
    await this.act(`Power ${action}…`, async () => {
      const r = await api.post(`/api/v1/machines/${api.enc(this.info.name)}/power`, {action});
      const state = r.power ? `; power is ${r.power}` : '';
      return `Power ${r.action} done in ${r.duration_ms} ms${state}${r.detail ? `: ${r.detail}` : ''}.`;
    });
  }

  async reprovision() {
    await this.act('Queueing the reprovision…', async () => {
      const j = await api.post(`/api/v1/machines/${api.enc(this.info.name)}/reprovision`, {});
      return `Reprovision ${j.state}${j.stage ? ` (${j.stage})` : ''}; follow it on the timeline.`;
    });
  }

  // act runs one operation, with the buttons disabled meanwhile, and says
  // how it went.
  async act(doing, fn) {
    this.busy = true;
    this.enableActions();
    this.say(doing, false);
    try {
      this.say(await fn(), false, true);
    } catch (err) {
      this.say(actionError(err), true);
    } finally {
      this.busy = false;
      this.enableActions();
      this.refresh();
    }
  }

  say(text, isError, ok) {
    const msg = this.$('#action-msg');
    setText(msg, text);
    msg.className = `msg${isError ? ' error' : ok ? ' ok' : ''}`;
  }

  async explain() {
    const box = this.$('#explain');
    const id = this.info ? this.info.name || this.info.macs[0] : this.id;
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
