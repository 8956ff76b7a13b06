// The auditor's viewer: search GET /api/Audit with every filter, the search in the URL,
// results newest first loaded page by page by nextToken as the reader scrolls, an event's
// detail with its changes and metadata, its proof checked in the page (verify.mjs), and
// exports through the API's CSV and NDJSON formats.
//
// Plain ES modules, no framework, no build step. Every request goes to this page's own
// origin, relative to the page, so the viewer works at /api/audit/ui/ on the local gateway
// and behind API Gateway (a named stage's prefix included). The DOM is built with
// textContent only: the page's policy requires Trusted Types and allows none.
import { verifyEvent, stepName } from './verify.mjs';

const API = new URL('../../Audit', document.baseURI).pathname; // /api/Audit, stage prefix kept
const TOKEN_KEY = 'audit-viewer.token';
const PINNED_KEY = 'audit-viewer.pinnedKey';
/** The parameters of GET /api/Audit the form sets, in the order the URL shows them. */
const API_PARAMS = ['category', 'eventType', 'rangeStart', 'rangeEnd', 'actorId', 'targetType', 'targetId',
  'organizationId', 'outcome', 'order', 'pageSize'];
/** Parameters of the viewer's URL that are not sent to the API as filters. */
const VIEWER_PARAMS = ['preset', 'correlationId', 'pageNumber'];
/** Empty partial pages followed in a row before the reader is asked to go on. */
const MAX_EMPTY_RUN = 20;

const $ = (id) => document.getElementById(id);
const form = $('search');

// ------------------------------------------------------------------ DOM helpers

/** An element with attributes and children (strings become text nodes, never markup). */
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === 'class') el.className = value;
    else if (name.startsWith('on') && typeof value === 'function') el.addEventListener(name.slice(2), value);
    else if (name === 'dataset') Object.assign(el.dataset, value);
    else el.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

const localFormat = new Intl.DateTimeFormat(undefined, {
  year: 'numeric', month: 'short', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit',
  timeZoneName: 'short',
});

/** A date in the reader's time zone, with its UTC form on hover. */
function when(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return h('time', { datetime: d.toISOString(), title: `${d.toISOString().replace('T', ' ').replace('Z', ' UTC')}` },
    localFormat.format(d));
}

function text(value) {
  if (value === undefined || value === null) return '';
  return typeof value === 'string' ? value : JSON.stringify(value);
}

// ------------------------------------------------------------------ access: token and pinned key

function token() {
  return sessionStorage.getItem(TOKEN_KEY) || '';
}

function pinnedKey() {
  return sessionStorage.getItem(PINNED_KEY) || '';
}

function showAccess() {
  $('token').value = token();
  $('pinned-key').value = pinnedKey();
  $('access-state').textContent = token() ? '(token set)' : '(no token)';
}

$('access-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const t = $('token').value.trim().replace(/^Bearer\s+/i, '');
  if (t) sessionStorage.setItem(TOKEN_KEY, t); else sessionStorage.removeItem(TOKEN_KEY);
  const k = $('pinned-key').value.trim();
  if (k) sessionStorage.setItem(PINNED_KEY, k); else sessionStorage.removeItem(PINNED_KEY);
  showAccess();
  $('access').open = false;
  loadCatalog().then(() => runSearch());
});

$('access-clear').addEventListener('click', () => {
  sessionStorage.removeItem(TOKEN_KEY);
  sessionStorage.removeItem(PINNED_KEY);
  showAccess();
});

// ------------------------------------------------------------------ API calls

/** An API error: the problem document's fields, or API Gateway's `{ message }`. */
class ApiError extends Error {
  constructor(status, body, retryAfter) {
    const detail = body && (body.detail || body.message);
    super(detail || `HTTP ${status}`);
    this.status = status;
    this.body = body || {};
    this.retryAfter = retryAfter;
  }
}

/** GET a path of the API with the reader's token; answers the Response, throws ApiError on a failure status. */
async function apiFetch(path, { accept = 'application/json', signal } = {}) {
  const headers = { Accept: accept };
  if (token()) headers.Authorization = `Bearer ${token()}`;
  const response = await fetch(path, { headers, signal, credentials: 'omit', cache: 'no-store' });
  if (!response.ok) {
    let body = null;
    try { body = await response.json(); } catch { body = null; }
    throw new ApiError(response.status, body, response.headers.get('Retry-After'));
  }
  return response;
}

async function apiJson(path, options) {
  return (await apiFetch(path, options)).json();
}

/** The problem panel: status, title, detail and every parameter error; empty hides it. */
function showProblem(error, context) {
  const panel = $('problem');
  panel.replaceChildren();
  if (!error) { panel.hidden = true; return; }
  panel.hidden = false;
  if (error instanceof ApiError) {
    const b = error.body;
    panel.append(h('p', { class: 'problem-title' },
      `${context ? `${context}: ` : ''}${error.status} ${b.title || ''}`.trim()));
    panel.append(h('p', { class: 'problem-detail' }, b.detail || b.message || ''));
    if (Array.isArray(b.errors) && b.errors.length) {
      panel.append(h('ul', {}, b.errors.map((e) => h('li', {}, h('code', {}, e.parameter), ': ', e.message))));
    }
    if (b.requestId) panel.append(h('p', { class: 'muted' }, `Request id ${b.requestId}`));
    if (error.status === 401) panel.append(h('p', {}, 'Paste a bearer token under Access (top right).'));
  } else {
    panel.append(h('p', { class: 'problem-title' }, `${context ? `${context}: ` : ''}${error.message}`));
  }
}

// ------------------------------------------------------------------ the catalog

let catalog = { categories: [], eventTypes: [] };

async function loadCatalog() {
  try {
    const [categories, eventTypes] = await Promise.all([
      apiJson(`${API}/categories`), apiJson(`${API}/eventTypes`),
    ]);
    catalog = { categories, eventTypes };
  } catch (e) {
    showProblem(e, 'Loading the catalog');
    return;
  }
  const category = $('category');
  const selected = new Set(Array.from(category.selectedOptions, (o) => o.value));
  category.replaceChildren(...catalog.categories.map((c) =>
    h('option', { value: String(c.code), title: c.description, selected: selected.has(String(c.code)) }, `${c.name} (${c.code})`)));
  const eventType = $('eventType');
  const selectedTypes = new Set(Array.from(eventType.selectedOptions, (o) => o.value));
  eventType.replaceChildren(...catalog.categories.map((c) => h('optgroup', { label: c.name },
    catalog.eventTypes.filter((t) => t.category === c.code).map((t) =>
      h('option', { value: String(t.code), title: t.description, selected: selectedTypes.has(String(t.code)) }, `${t.name} (${t.code})`)))));
  fillForm(new URLSearchParams(location.search));
}

/** A category or type value from the URL (code or name, any case) as the option's code. */
function codeOf(value, list) {
  const v = value.trim();
  const found = list.find((x) => String(x.code) === v || x.name.toLowerCase() === v.toLowerCase());
  return found ? String(found.code) : v;
}

// ------------------------------------------------------------------ the form and the URL

const PRESETS = { '1h': 3600e3, '24h': 86400e3, '7d': 7 * 86400e3, '30d': 30 * 86400e3, '90d': 90 * 86400e3 };

/** The URL's search into the form. */
function fillForm(params) {
  for (const name of ['category', 'eventType']) {
    const list = name === 'category' ? catalog.categories : catalog.eventTypes;
    const wanted = new Set(params.getAll(name).flatMap((v) => v.split(',')).filter(Boolean).map((v) => codeOf(v, list)));
    const select = $(name);
    for (const missing of wanted) {
      if (!Array.from(select.options).some((o) => o.value === missing)) select.append(h('option', { value: missing }, missing));
    }
    for (const option of select.options) option.selected = wanted.has(option.value);
  }
  for (const name of ['rangeStart', 'rangeEnd', 'actorId', 'targetType', 'targetId', 'organizationId', 'correlationId']) {
    $(name).value = params.get(name) || '';
  }
  $('outcome').value = (params.get('outcome') || '').toLowerCase();
  $('order').value = (params.get('order') || '').toLowerCase() === 'asc' ? 'asc' : '';
  const size = params.get('pageSize') || '';
  if (size && size !== '50' && !Array.from($('pageSize').options).some((o) => o.value === size)) {
    $('pageSize').append(h('option', { value: size }, size));
  }
  $('pageSize').value = size === '50' ? '' : size;
  $('preset').value = params.get('preset') || (params.get('rangeStart') || params.get('rangeEnd') ? 'custom' : '');
  $('correlation-field').hidden = !params.get('correlationId');
  describeRange();
}

/** The form as the viewer's URL parameters (API filters, then the viewer's own). */
function formParams() {
  const params = new URLSearchParams();
  for (const name of API_PARAMS) {
    const el = $(name);
    if (el.multiple) {
      const values = Array.from(el.selectedOptions, (o) => o.value);
      if (values.length) params.set(name, values.join(','));
    } else if (el.value.trim()) {
      params.set(name, el.value.trim());
    }
  }
  const preset = $('preset').value;
  if (preset && preset !== 'custom') params.set('preset', preset);
  if ($('correlationId').value.trim()) params.set('correlationId', $('correlationId').value.trim());
  return params;
}

/** The API's query for a viewer URL: the filters only; a preset's range computed now. */
function apiParams(params) {
  const out = new URLSearchParams();
  for (const name of API_PARAMS) if (params.get(name)) out.set(name, params.get(name));
  const preset = params.get('preset');
  if (PRESETS[preset]) {
    out.set('rangeStart', new Date(Date.now() - PRESETS[preset]).toISOString());
    out.delete('rangeEnd');
  }
  if (params.get('pageNumber')) out.set('pageNumber', params.get('pageNumber'));
  return out;
}

/** Under each date field, what it means in the reader's time zone. */
function describeRange() {
  for (const name of ['rangeStart', 'rangeEnd']) {
    const value = $(name).value.trim();
    const hint = $(`${name}-hint`);
    if (!value) { hint.textContent = name === 'rangeStart' ? 'RFC 3339 date-time or YYYY-MM-DD (UTC day)' : ''; continue; }
    const dateOnly = /^\d{4}-\d{2}-\d{2}$/.test(value);
    const d = new Date(dateOnly ? `${value}T${name === 'rangeEnd' ? '23:59:59.999' : '00:00:00.000'}Z` : value);
    hint.textContent = Number.isNaN(d.getTime()) ? 'Not a date the viewer can read; the API will say why.'
      : `${dateOnly ? (name === 'rangeEnd' ? 'End of the UTC day: ' : 'Start of the UTC day: ') : ''}${localFormat.format(d)}`;
  }
}

$('preset').addEventListener('change', () => {
  const preset = $('preset').value;
  if (PRESETS[preset]) {
    $('rangeStart').value = '';
    $('rangeEnd').value = '';
    const start = new Date(Date.now() - PRESETS[preset]);
    $('rangeStart-hint').textContent = `From ${localFormat.format(start)} to now, computed when the search runs`;
    $('rangeEnd-hint').textContent = '';
  } else if (preset === '') {
    $('rangeStart').value = '';
    $('rangeEnd').value = '';
    describeRange();
  }
});
for (const name of ['rangeStart', 'rangeEnd']) {
  $(name).addEventListener('input', () => { $('preset').value = 'custom'; describeRange(); });
}

form.addEventListener('submit', (e) => {
  e.preventDefault();
  const params = formParams();
  if (Boolean(params.get('targetType')) !== Boolean(params.get('targetId'))) {
    showProblem(new Error('Target type and target id go together: fill both or neither.'), 'Search');
    $(params.get('targetType') ? 'targetId' : 'targetType').focus();
    return;
  }
  const query = params.toString();
  history.pushState(null, '', query ? `?${query}` : location.pathname);
  runSearch();
});

$('reset').addEventListener('click', () => {
  history.pushState(null, '', location.pathname);
  fillForm(new URLSearchParams());
  runSearch();
});

// Back and forward: a different search runs it; a fragment change (an event opened or
// closed) only opens or closes the detail.
window.addEventListener('popstate', () => {
  if (!search || location.search !== search.urlSearch) {
    fillForm(new URLSearchParams(location.search));
    runSearch();
  }
  route();
});
window.addEventListener('hashchange', route);

// ------------------------------------------------------------------ results

/** The search being shown: its API query, the next token, counters; replaced by each search. */
let search = null;

function status(message) {
  $('status').textContent = message;
}

function runSearch() {
  if (search) search.abort.abort();
  showProblem(null);
  const params = new URLSearchParams(location.search);
  search = {
    urlSearch: location.search,
    query: apiParams(params),
    correlationId: params.get('correlationId') || '',
    nextToken: null,
    hasMore: true,
    loading: false,
    shown: 0,
    read: 0,
    pages: 0,
    emptyRun: 0,
    abort: new AbortController(),
  };
  $('rows').replaceChildren();
  $('events').setAttribute('aria-busy', 'true');
  $('export-csv').disabled = $('export-ndjson').disabled = Boolean(search.correlationId);
  $('export-csv').title = $('export-ndjson').title = search.correlationId
    ? 'The correlation id is not an API filter: the export would not apply it' : '';
  loadMore();
}

async function loadMore() {
  const s = search;
  if (!s || s.loading || !s.hasMore) return;
  s.loading = true;
  $('more').hidden = true;
  status(s.pages === 0 ? 'Searching...' : `Loading more (${s.shown} shown)...`);
  try {
    const q = new URLSearchParams(s.query);
    if (s.nextToken) { q.set('nextToken', s.nextToken); q.delete('pageNumber'); }
    const page = await apiJson(`${API}?${q}`, { signal: s.abort.signal });
    if (s !== search) return;
    s.pages += 1;
    s.read += page.items.length;
    s.hasMore = Boolean(page.hasMore && page.nextToken);
    s.nextToken = page.nextToken || null;
    const items = s.correlationId ? page.items.filter((e) => e.correlationId === s.correlationId) : page.items;
    $('rows').append(...items.map(row));
    s.shown += items.length;
    s.emptyRun = items.length === 0 && s.hasMore ? s.emptyRun + 1 : 0;
    describeResults(s, page, items.length);
  } catch (e) {
    if (e.name === 'AbortError' || s !== search) return;
    s.hasMore = false;
    showProblem(e, 'Search');
    status(`${s.shown} event${s.shown === 1 ? '' : 's'} shown; the last request failed.`);
  } finally {
    s.loading = false;
    if (s === search) {
      $('events').setAttribute('aria-busy', 'false');
      $('more').hidden = !s.hasMore;
      // A partial page (fewer items than asked, even none, with more to come) is followed at
      // once while the end of the list is in view; a long run of empty ones waits for the reader.
      if (s.hasMore && s.emptyRun < MAX_EMPTY_RUN && sentinelVisible()) queueMicrotask(loadMore);
    }
  }
}

function describeResults(s, page, added) {
  const n = s.shown;
  let message = n === 0 && !s.hasMore ? 'No event matches this search.' : `${n} event${n === 1 ? '' : 's'} shown`;
  if (s.correlationId) message += ` with correlation id ${s.correlationId} (of ${s.read} read)`;
  if (s.hasMore) {
    message += '; more load as you scroll.';
    const asked = Number(s.query.get('pageSize') || 50);
    if (page.items.length < asked) {
      message += ` The last page was partial (${page.items.length} of ${asked}: the API stopped at its read budget or deadline); the next one continues where it stopped.`;
    }
    if (s.emptyRun >= MAX_EMPTY_RUN) message += ` ${s.emptyRun} pages in a row held nothing: use Load more to go on.`;
  } else if (n > 0) {
    message += added === 0 && s.pages > 1 ? '; that is all (the last page was empty).' : '; that is all.';
  }
  status(message);
}

function sentinelVisible() {
  const r = $('sentinel').getBoundingClientRect();
  return r.top < window.innerHeight + 200;
}

new IntersectionObserver((entries) => {
  if (entries.some((e) => e.isIntersecting) && search && search.emptyRun < MAX_EMPTY_RUN) loadMore();
}, { rootMargin: '0px 0px 200px 0px' }).observe($('sentinel'));
$('more').addEventListener('click', () => { if (search) search.emptyRun = 0; loadMore(); });

function eventHref(eventId) {
  return `${location.search}#event=${encodeURIComponent(eventId)}`;
}

/** One row of the table. */
function row(event) {
  const actor = event.actor || {};
  const target = event.target;
  return h('tr', { dataset: { eventId: event.eventId } },
    h('td', { 'data-label': 'When' }, when(event.occurredAt)),
    h('td', { 'data-label': 'Event' },
      h('a', { href: eventHref(event.eventId), class: 'event-link', title: `Open event ${event.eventId}` },
        event.eventTypeName || String(event.eventType)),
      h('span', { class: 'muted block' }, event.categoryName || '')),
    h('td', { 'data-label': 'Actor' }, actor.name || actor.id || actor.type || '',
      actor.name && actor.id ? h('span', { class: 'muted block' }, actor.id) : null),
    h('td', { 'data-label': 'Target' }, target ? `${target.type} ${target.name || target.id}` : ''),
    h('td', { 'data-label': 'Organization' }, event.organizationId || ''),
    h('td', { 'data-label': 'Outcome' }, event.outcome ? h('span', { class: `outcome ${event.outcome}` }, event.outcome) : ''),
    h('td', { 'data-label': 'Description' }, event.description || ''));
}

// Up and down arrows move between the rows' links.
$('rows').addEventListener('keydown', (e) => {
  if (e.key !== 'ArrowDown' && e.key !== 'ArrowUp') return;
  const links = Array.from($('rows').querySelectorAll('a.event-link'));
  const at = links.indexOf(document.activeElement);
  if (at < 0) return;
  const next = links[at + (e.key === 'ArrowDown' ? 1 : -1)];
  if (next) { e.preventDefault(); next.focus(); next.scrollIntoView({ block: 'nearest' }); }
  if (e.key === 'ArrowDown' && at >= links.length - 3) loadMore();
});

// ------------------------------------------------------------------ exports

let exporting = null;

async function exportSearch(format) {
  if (exporting) return;
  const q = apiParams(new URLSearchParams(location.search));
  q.delete('pageNumber');
  q.set('pageSize', '1000');
  q.set('format', format);
  exporting = new AbortController();
  $('export-cancel').hidden = false;
  const parts = [];
  let rows = 0;
  let token = null;
  try {
    for (;;) {
      const page = new URLSearchParams(q);
      if (token) page.set('nextToken', token);
      const response = await apiFetch(`${API}?${page}`, { signal: exporting.signal });
      let body = await response.text();
      if (format === 'csv' && parts.length > 0) { // one header: drop the next pages' own
        const end = body.indexOf('\r\n');
        body = end < 0 ? '' : body.slice(end + 2);
      }
      parts.push(body);
      rows += format === 'csv' ? Math.max(0, body.split('\r\n').length - (parts.length === 1 ? 2 : 1)) : body.split('\n').length - 1;
      status(`Exporting ${format.toUpperCase()}: ${rows} events so far...`);
      token = response.headers.get('X-Next-Token');
      if (response.headers.get('X-Has-More') !== 'true' || !token) break;
    }
    const type = format === 'csv' ? 'text/csv' : 'application/x-ndjson';
    const url = URL.createObjectURL(new Blob(parts, { type }));
    const a = h('a', { href: url, download: `audit-events.${format}` });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
    status(`Exported ${rows} events as ${format.toUpperCase()}.`);
  } catch (e) {
    if (e.name === 'AbortError') status('Export cancelled.');
    else showProblem(e, 'Export');
  } finally {
    exporting = null;
    $('export-cancel').hidden = true;
  }
}

$('export-csv').addEventListener('click', () => exportSearch('csv'));
$('export-ndjson').addEventListener('click', () => exportSearch('ndjson'));
$('export-cancel').addEventListener('click', () => exporting && exporting.abort());

// ------------------------------------------------------------------ event detail

const dialog = $('detail');
let opener = null;

function route() {
  const m = /^#event=(.+)$/.exec(location.hash);
  if (m) openEvent(decodeURIComponent(m[1]));
  else if (dialog.open) dialog.close();
}

dialog.addEventListener('close', () => {
  openedId = null;
  if (/^#event=/.test(location.hash)) history.pushState(null, '', `${location.pathname}${location.search}`);
  if (opener && document.contains(opener)) opener.focus();
});
$('detail-close').addEventListener('click', () => dialog.close());

/** A URL of the viewer searching by some filters. */
function searchLink(params, label) {
  return h('a', { href: `?${new URLSearchParams(params)}`, class: 'search-link' }, label);
}

function fieldRow(name, value, extra) {
  return [h('dt', {}, name), h('dd', {}, value, extra || null)];
}

let openedId = null;

async function openEvent(eventId) {
  if (dialog.open && openedId === eventId) return;
  openedId = eventId;
  if (!dialog.open) opener = document.activeElement; // where focus returns on close
  const body = $('detail-body');
  $('detail-title').textContent = `Event ${eventId}`;
  body.replaceChildren(h('p', { class: 'muted' }, 'Loading...'));
  if (!dialog.open) dialog.showModal();
  $('detail-title').focus();
  let event;
  try {
    event = await apiJson(`${API}/${encodeURIComponent(eventId)}`);
  } catch (e) {
    body.replaceChildren(problemBlock(e));
    return;
  }
  $('detail-title').textContent = `${event.eventTypeName || event.eventType} · ${event.eventId}`;
  const badge = h('div', { id: 'proof', class: 'proof', 'data-state': 'checking', role: 'status', 'aria-live': 'polite' });
  body.replaceChildren(badge, ...detailSections(event));
  checkProof(event, badge);
}

function problemBlock(e) {
  const b = e instanceof ApiError ? e.body : {};
  return h('div', { class: 'problem', role: 'alert' },
    h('p', { class: 'problem-title' }, e instanceof ApiError ? `${e.status} ${b.title || ''}` : 'Error'),
    h('p', {}, b.detail || b.message || e.message));
}

const KNOWN = ['eventId', 'tenantId', 'eventType', 'eventTypeName', 'category', 'categoryName', 'occurredAt',
  'recordedAt', 'actor', 'target', 'organizationId', 'outcome', 'description', 'changes', 'metadata', 'source',
  'correlationId', 'expiresAt'];

function detailSections(event) {
  const actor = event.actor || {};
  const target = event.target;
  const dl = h('dl', { class: 'fields' },
    fieldRow('Event id', h('code', {}, event.eventId)),
    fieldRow('Event type', `${event.eventTypeName} (${event.eventType})`),
    fieldRow('Category', `${event.categoryName} (${event.category})`),
    fieldRow('Occurred', when(event.occurredAt)),
    fieldRow('Recorded', when(event.recordedAt)),
    event.outcome ? fieldRow('Outcome', h('span', { class: `outcome ${event.outcome}` }, event.outcome)) : null,
    event.description ? fieldRow('Description', event.description) : null,
    fieldRow('Tenant', event.tenantId),
    event.organizationId ? fieldRow('Organization', event.organizationId) : null,
    event.source ? fieldRow('Source', event.source) : null,
    event.correlationId ? fieldRow('Correlation id', h('code', {}, event.correlationId)) : null,
    event.expiresAt !== undefined ? fieldRow('Expires', when(new Date(event.expiresAt * 1000).toISOString()), ` (${event.expiresAt})`) : null,
    ...Object.keys(event).filter((k) => !KNOWN.includes(k)).map((k) => fieldRow(k, text(event[k]))));
  const sections = [h('section', { 'aria-label': 'Fields' }, dl)];

  const actorRows = Object.entries(actor).map(([k, v]) => fieldRow(k, text(v)));
  sections.push(h('section', {}, h('h3', {}, 'Actor'), h('dl', { class: 'fields' }, actorRows)));
  if (target) {
    sections.push(h('section', {}, h('h3', {}, 'Target'),
      h('dl', { class: 'fields' }, Object.entries(target).map(([k, v]) => fieldRow(k, text(v))))));
  }
  if (Array.isArray(event.changes) && event.changes.length) {
    sections.push(h('section', {}, h('h3', { id: 'changes-title' }, 'Changes'),
      h('table', { class: 'changes', 'aria-labelledby': 'changes-title' },
        h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Field'), h('th', { scope: 'col' }, 'Before'), h('th', { scope: 'col' }, 'After'))),
        h('tbody', {}, event.changes.map((c) => h('tr', {},
          h('th', { scope: 'row' }, text(c.field)),
          h('td', { class: 'before' }, c.oldValue === undefined ? h('span', { class: 'muted' }, '(none)') : text(c.oldValue)),
          h('td', { class: 'after' }, c.newValue === undefined ? h('span', { class: 'muted' }, '(none)') : text(c.newValue))))))));
  }
  if (event.metadata && Object.keys(event.metadata).length) {
    sections.push(h('section', {}, h('h3', { id: 'metadata-title' }, 'Metadata'),
      h('table', { class: 'metadata', 'aria-labelledby': 'metadata-title' },
        h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Key'), h('th', { scope: 'col' }, 'Value'))),
        h('tbody', {}, Object.keys(event.metadata).sort().map((k) => h('tr', {}, h('th', { scope: 'row' }, k), h('td', {}, text(event.metadata[k]))))))));
  }
  const links = [];
  if (actor.id) links.push(searchLink({ actorId: actor.id }, `Everything by actor ${actor.id}`));
  if (target) links.push(searchLink({ targetType: target.type, targetId: target.id }, `Everything on ${target.type} ${target.id}`));
  if (event.correlationId) {
    const t = new Date(event.occurredAt).getTime();
    links.push(searchLink({
      rangeStart: new Date(t - 3600e3).toISOString(), rangeEnd: new Date(t + 3600e3).toISOString(),
      correlationId: event.correlationId,
    }, `Correlation id ${event.correlationId} (within an hour)`));
  }
  if (links.length) sections.push(h('section', {}, h('h3', {}, 'Related'), h('ul', { class: 'related' }, links.map((l) => h('li', {}, l)))));
  sections.push(h('details', { class: 'raw' }, h('summary', {}, 'The event as the API returned it (JSON)'),
    h('pre', {}, JSON.stringify(event, null, 2))));
  return sections;
}

// ------------------------------------------------------------------ the proof, checked here

let keysCache = null;

async function checkProof(event, badge) {
  const show = (state, title, ...rest) => {
    badge.dataset.state = state;
    badge.replaceChildren(h('p', { class: 'proof-title' }, title), ...rest);
  };
  show('checking', 'Checking the proof in this page...');
  let proof;
  try {
    const [p, k] = await Promise.all([
      apiJson(`${API}/${encodeURIComponent(event.eventId)}/proof`),
      keysCache || apiJson(`${API}/ledger/keys`),
    ]);
    proof = p;
    keysCache = k;
  } catch (e) {
    if (e instanceof ApiError && e.status === 409) {
      const seconds = Number(e.retryAfter) || 60;
      const at = new Date(Date.now() + seconds * 1000);
      const again = h('button', { type: 'button', onclick: () => checkProof(event, badge) }, 'Check again');
      show('unsealed', 'Not sealed yet',
        h('p', {}, `${e.body.detail || 'The event is stored but not in a signed checkpoint yet.'} `,
          `Look again after ${localFormat.format(at)} (in ${seconds} s).`), again);
      return;
    }
    show('error', 'Could not check the proof', h('p', {}, e instanceof ApiError ? `${e.status}: ${e.body.detail || e.body.message || e.message}` : e.message));
    return;
  }
  let result;
  try {
    result = await verifyEvent({ event, proof, keys: keysCache, pinnedKey: pinnedKey() || undefined });
  } catch (e) {
    show('error', 'Could not check the proof', h('p', {}, e.message));
    return;
  }
  const steps = h('ul', { class: 'steps' }, result.steps.map((s) => h('li', { class: s.ok ? 'ok' : (s.skipped ? 'skipped' : 'failed'), dataset: { step: s.step } },
    h('span', { class: 'mark', 'aria-hidden': 'true' }, s.ok ? '✓' : (s.skipped ? '–' : '✗')),
    h('strong', {}, `${stepName(s.step)}: `), s.ok ? 'checked. ' : (s.skipped ? 'not checked. ' : 'FAILED. '), h('span', { class: 'muted' }, s.detail))));
  const recheck = h('button', { type: 'button', id: 'proof-recheck', onclick: () => { openedId = null; openEvent(event.eventId); } }, 'Check again');
  if (result.ok) {
    show('verified', `Verified in this page: leaf ${result.leafIndex} of ${result.treeSize}, ${result.origin}`, steps,
      h('p', { class: 'muted' }, result.pinned ? 'Against the verifier key you pinned.'
        : 'Against the key this API serves: pin your own copy under Access to rule out a substituted key.'), recheck);
  } else {
    show('failed', `Verification FAILED at ${stepName(result.failedStep)}`, steps, recheck);
  }
}

// ------------------------------------------------------------------ start

showAccess();
fillForm(new URLSearchParams(location.search));
loadCatalog().then(() => { runSearch(); route(); });
