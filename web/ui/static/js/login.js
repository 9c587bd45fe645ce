// The sign-in page: a token, posted to /login. The token never stays in
// the page: the field is emptied as soon as the request is sent.
import * as api from './api.js';
import {el, setText, template} from './dom.js';

// mount shows the sign-in form in main; onSignedIn runs after a sign-in.
export function mount(main, {message, onSignedIn}) {
  const page = template('tpl-login');
  main.append(page);
  const form = page.querySelector('#login-form');
  const input = page.querySelector('#token');
  const msg = page.querySelector('#login-msg');
  const button = form.querySelector('button[type="submit"]');
  let timer = 0; // the rate limit's countdown
  setText(msg, message);
  input.focus();
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const token = input.value.trim();
    input.value = '';
    if (!token) return;
    clearInterval(timer);
    button.disabled = true;
    setText(msg, 'Signing in…');
    try {
      await api.login(token);
      onSignedIn();
    } catch (err) {
      if (err.status === 429 && err.retryAfter) timer = countDown(msg, err.retryAfter);
      else setText(msg, loginError(err));
      button.disabled = false;
      input.focus();
    }
  });
}

// countDown says how long the rate limit lasts, second by second, until
// it is over (or the form is gone); it returns the interval's id. The
// seconds are not announced each time they change, the message is.
function countDown(msg, seconds) {
  const end = Date.now() + seconds * 1000;
  const left = el('span', {'aria-live': 'off', class: 'left'}, seconds);
  msg.replaceChildren('Too many failed sign-ins from this address. Try again in ', left, ' s.');
  const tick = () => {
    const s = Math.ceil((end - Date.now()) / 1000);
    if (!msg.isConnected || s <= 0) {
      clearInterval(timer);
      if (msg.isConnected) setText(msg, 'You can try again now.');
      return;
    }
    setText(left, s);
  };
  const timer = setInterval(tick, 1000);
  return timer;
}

// loginError says why a sign-in failed, in words for the operator.
function loginError(err) {
  switch (err.status) {
    case 401:
    case 403:
      return 'That token was not accepted. Check it and try again.';
    case 429: {
      const wait = err.retryAfter ? ` Try again in ${err.retryAfter} s.` : ' Wait a little and try again.';
      return `Too many failed sign-ins from this address.${wait}`;
    }
    case 400:
      return `The sign-in was refused: ${err.message}`;
    default:
      return `Sign-in failed: ${err.message}`;
  }
}
