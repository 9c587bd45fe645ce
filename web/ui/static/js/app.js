// The dashboard's entry point: session check, hash routing, the top bar
// and the keyboard shortcut "/" for search.
import * as api from './api.js';
import * as live from './live.js';
import {refreshAgo, setText, toast} from './dom.js';
import * as loginPage from './login.js';
import * as machinesPage from './machines.js';
import * as discoveredPage from './discovered.js';
import * as machinePage from './machine.js';
import * as discoveredCount from './count.js';
import * as storeStatus from './status.js';

const main = document.getElementById('main');
let unmount = null;
let quietFocus = false; // the next heading focus comes from a sign-in

// parseHash splits "#/machine/node1?x=1" into a page, its argument and
// its parameters.
function parseHash() {
  const raw = location.hash.replace(/^#\/?/, '');
  const [pathPart, queryPart = ''] = raw.split('?', 2);
  const [page = '', ...rest] = pathPart.split('/');
  return {page, arg: decodeURIComponent(rest.join('/')), params: new URLSearchParams(queryPart)};
}

const pages = {
  machines: machinesPage,
  discovered: discoveredPage,
  machine: machinePage,
};

function route() {
  if (!api.session) {
    showLogin('');
    return;
  }
  const {page, arg, params} = parseHash();
  const mod = pages[page];
  if (!mod) {
    history.replaceState(null, '', '#/machines');
    route();
    return;
  }
  mount(mod, arg, params);
  for (const a of document.querySelectorAll('[data-nav]')) {
    const current = a.dataset.nav === page || (page === 'machine' && a.dataset.nav === 'machines');
    if (current) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
}

function mount(mod, arg, params) {
  if (unmount) unmount();
  unmount = null;
  main.replaceChildren();
  unmount = mod.mount(main, {arg, params}) || null;
  // A new page starts at its top, the focus on its heading: a screen
  // reader announces it, and Tab goes on from there.
  window.scrollTo(0, 0);
  const h1 = main.querySelector('h1');
  if (!h1) return;
  // After a sign-in nobody moved the focus by keyboard: no ring then.
  if (quietFocus) {
    h1.dataset.quiet = '';
    h1.addEventListener('blur', () => delete h1.dataset.quiet, {once: true});
  }
  quietFocus = false;
  h1.focus({preventScroll: true});
}

function showLogin(message) {
  live.stop();
  discoveredCount.stop();
  storeStatus.stop();
  document.getElementById('top').hidden = true;
  document.title = 'Sign in · rackboot';
  if (unmount) unmount();
  unmount = null;
  main.replaceChildren();
  loginPage.mount(main, {message, onSignedIn: signedIn});
}

function signedIn() {
  const top = document.getElementById('top');
  const s = api.session;
  setText(document.getElementById('whoami'), `${s.name} (${s.role})`);
  top.hidden = false;
  document.title = 'rackboot';
  live.start();
  discoveredCount.start();
  storeStatus.start();
  quietFocus = true;
  if (parseHash().page === 'login' || !location.hash) history.replaceState(null, '', '#/machines');
  route();
}

async function signOut() {
  try {
    await api.logout();
  } catch (err) {
    toast(`Sign-out failed: ${err.message}`, true);
  }
}

function onKey(e) {
  if (e.key !== '/' || e.ctrlKey || e.metaKey || e.altKey) return;
  const t = e.target;
  if (t.closest && t.closest('input, textarea, select, [contenteditable]')) return;
  const search = document.getElementById('q');
  if (!search) return;
  e.preventDefault();
  search.focus();
  search.select();
}

async function start() {
  window.addEventListener('hashchange', () => { if (api.session) route(); });
  window.addEventListener(api.signedOutEvent, () => showLogin('You are signed out.'));
  document.getElementById('signout').addEventListener('click', signOut);
  document.addEventListener('keydown', onKey);
  setInterval(refreshAgo, 10000);
  try {
    await api.loadSession();
  } catch (err) {
    main.replaceChildren();
    main.append(document.createTextNode(`rackboot did not answer: ${err.message}`));
    return;
  }
  if (api.session) signedIn();
  else showLogin('');
}

start();
