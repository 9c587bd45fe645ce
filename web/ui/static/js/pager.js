// Server-side pagination: the API's limit and offset, and a bar of
// buttons to move through the pages.
import {el} from './dom.js';

// PAGE_SIZE is how many rows a page asks for.
export const PAGE_SIZE = 50;

// renderPager fills nav with First/Previous/Next/Last buttons for a page
// {total, offset, limit}; go(offset) moves to another page.
export function renderPager(nav, page, go) {
  const {total, offset, limit} = page;
  const last = Math.max(0, Math.floor((total - 1) / limit) * limit);
  const button = (label, to, disabled, aria) => el('button', {
    type: 'button', class: 'quiet', disabled: disabled, 'aria-label': aria,
    onclick: () => go(to),
  }, label);
  const from = total ? offset + 1 : 0;
  const to = Math.min(offset + limit, total);
  nav.replaceChildren(
    button('«', 0, offset === 0, 'First page'),
    button('‹ Previous', Math.max(0, offset - limit), offset === 0, 'Previous page'),
    el('span', {class: 'where'}, `${from.toLocaleString()}–${to.toLocaleString()} of ${total.toLocaleString()}`),
    button('Next ›', offset + limit, offset + limit >= total, 'Next page'),
    button('»', last, offset >= last, 'Last page'),
  );
}

// listOf returns the items of a list answer: {items: [...]} or a bare
// array.
export function listOf(data) {
  if (Array.isArray(data)) return data;
  return (data && data.items) || [];
}
