// The sign-in page: a token, posted to /login. The token never stays in
// the page: the field is emptied as soon as the request is sent.
import * as api from './api.js';
import {setText, template} from './dom.js';

// mount shows the sign-in form in main; onSignedIn runs after a sign-in.
export function mount(main, {message, onSignedIn}) {
  const page = template('tpl-login');
  main.append(page);
  const form = page.querySelector('#login-form');
  const input = page.querySelector('#token');
  const msg = page.querySelector('#login-msg');
  const button = form.querySelector('button[type="submit"]');
  setText(msg, message);
  input.focus();
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const token = input.value.trim();
    input.value = '';
    if (!token) return;
    button.disabled = true;
    setText(msg, 'Signing in…');
    try {
      await api.login(token);
      onSignedIn();
    } catch (err) {
      setText(msg, loginError(err));
      button.disabled = false;
      input.focus();
    }
  });
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
