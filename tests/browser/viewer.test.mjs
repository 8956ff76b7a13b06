// Browser test of the auditor's viewer (/api/audit/ui/) on the local stack with its seeded
// events, in headless Chromium: the four contract examples through the form give the API's
// event ids; scrolling loads the second page; an event shows its changes and a verified
// proof badge; after the test edits that event's item in the local DynamoDB engine (AWS SDK
// for JavaScript), the badge turns to a failure naming the leaf; a fresh event not sealed
// yet says when to look again; an API error shows its detail; the export matches the API's
// CSV; a phone's width does not scroll sideways; every request stays on the stack's origin.
//
// Run by tests/browser/run.sh (from tests/e2e/run.sh), which passes E2E_HTTP_URL,
// E2E_INVOKE_URL, E2E_DYNAMODB_ENDPOINT, E2E_TABLE_NAME, E2E_TENANT and E2E_SEAL_INTERVAL.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { DynamoDBClient, GetItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';

const env = process.env;
const base = env.E2E_HTTP_URL;
const executablePath = env.CHROMIUM_PATH || '/usr/bin/chromium';
const tenant = env.E2E_TENANT || 'local';
const sealInterval = Number(env.E2E_SEAL_INTERVAL ?? 3);
const VIEWER = '/api/audit/ui/';

/** The contract's four examples (README, "A tour of the API"), as form input. */
const EXAMPLES = [
  { query: 'category=100&rangeStart=2024-03-01T05:00:00.000Z', form: { category: ['100'], rangeStart: '2024-03-01T05:00:00.000Z' } },
  { query: 'category=600&rangeStart=2023-10-18T05:00:00.000Z&rangeEnd=2023-10-22T04:59:00.000Z', form: { category: ['600'], rangeStart: '2023-10-18T05:00:00.000Z', rangeEnd: '2023-10-22T04:59:00.000Z' } },
  { query: 'eventType=202&rangeStart=2024-03-01T05:00:00.000Z', form: { eventType: ['202'], rangeStart: '2024-03-01T05:00:00.000Z' } },
  { query: 'eventType=202&rangeStart=2024-03-01T05:00:00.000Z&pageSize=50&pageNumber=1', form: { eventType: ['202'], rangeStart: '2024-03-01T05:00:00.000Z', pageSize: '' } },
];

let context;
let page;
let userDataDir;
const requests = [];
const pageErrors = [];
const cspViolations = [];

async function api(path, headers = {}) {
  const response = await fetch(`${base}${path}`, { headers });
  return { status: response.status, headers: response.headers, text: await response.text() };
}

async function apiJson(path) {
  const r = await api(path);
  assert.equal(r.status, 200, `${path}: ${r.text}`);
  return JSON.parse(r.text);
}

/** Records events through the Lambda Invoke API of the local stack (the ingest function). */
async function ingest(events) {
  const response = await fetch(`${env.E2E_INVOKE_URL}/2015-03-31/functions/IngestFunction/invocations`, {
    method: 'POST',
    body: JSON.stringify({ events: events.map((e) => ({ tenantId: tenant, actor: { id: 'u-viewer' }, ...e })) }),
  });
  const text = await response.text();
  assert.equal(response.status, 200, text);
  const { totals } = JSON.parse(text);
  assert.equal(totals.stored + totals.duplicate, events.length, text);
}

/** Waits until the event has a proof (its minute ended and was sealed). */
async function sealed(eventId, within = 150_000) {
  assert.ok(sealInterval > 0, 'the stack seals nothing (LOCAL_SEAL_INTERVAL=0)');
  const deadline = Date.now() + within;
  for (;;) {
    const r = await api(`/api/Audit/${eventId}/proof`);
    if (r.status === 200) return JSON.parse(r.text);
    assert.equal(r.status, 409, r.text);
    assert.ok(Date.now() < deadline, `${eventId} not sealed after ${within / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

async function openViewer(query = '') {
  await page.goto(`${base}${VIEWER}${query ? `?${query}` : ''}`);
  await page.locator('#category option').first().waitFor({ state: 'attached' });
  await settled();
}

/** Waits until the listing is not loading. */
async function settled() {
  await page.waitForFunction(() => {
    const s = document.getElementById('status').textContent;
    return s && !s.startsWith('Searching') && !s.startsWith('Loading') && document.getElementById('events').getAttribute('aria-busy') === 'false';
  }, null, { timeout: 30_000 });
}

async function shownIds() {
  return page.locator('#rows tr').evaluateAll((rows) => rows.map((r) => r.dataset.eventId));
}

async function fillForm(form) {
  await page.locator('#reset').click();
  await settled();
  for (const name of ['category', 'eventType']) {
    if (form[name]) await page.locator(`#${name}`).selectOption(form[name]);
  }
  for (const name of ['rangeStart', 'rangeEnd', 'actorId', 'targetType', 'targetId', 'organizationId']) {
    if (form[name] !== undefined) await page.locator(`#${name}`).fill(form[name]);
  }
  if (form.pageSize !== undefined) await page.locator('#pageSize').selectOption(form.pageSize);
  await page.getByRole('button', { name: 'Search', exact: true }).click();
  await settled();
}

before(async () => {
  assert.ok(base, 'E2E_HTTP_URL is not set: run through tests/e2e/run.sh');
  userDataDir = mkdtempSync(join(tmpdir(), 'viewer-chromium-'));
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1280, height: 720 },
    acceptDownloads: true,
    timezoneId: 'America/New_York',
  });
  context.on('request', (r) => requests.push(r.url()));
  page = context.pages()[0] || await context.newPage();
  page.on('pageerror', (e) => pageErrors.push(e.message));
  page.on('console', (m) => {
    if (/Content.Security.Policy|Trusted Type/i.test(m.text())) cspViolations.push(m.text());
  });
});

after(async () => {
  if (context) await context.close();
  if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
});

test('the page is served with its policy and loads from this origin only', async () => {
  const response = await page.goto(`${base}${VIEWER}`);
  assert.equal(response.status(), 200);
  const csp = response.headers()['content-security-policy'];
  assert.match(csp, /default-src 'none'/);
  assert.match(csp, /connect-src 'self'/);
  await page.locator('#category option').first().waitFor({ state: 'attached' });
  await settled();
  assert.ok((await shownIds()).length > 0, 'the default search shows events');
  // Every control has a label.
  const unlabelled = await page.evaluate(() => Array.from(document.querySelectorAll('input, select, textarea'))
    .filter((el) => !el.labels || el.labels.length === 0).map((el) => el.id || el.name));
  assert.deepEqual(unlabelled, []);
});

test('each contract example through the form shows the event ids the API returns, in its URL', async () => {
  // The seed spreads one event in 25 over the examples' historical windows, by chance of
  // type; two events per window make sure that every example answers something.
  await ingest([
    { eventId: 'viewer-example-600-a', eventType: 'FlowManualRun', occurredAt: '2023-10-19T10:00:00.000Z' },
    { eventId: 'viewer-example-600-b', eventType: 'FlowEndpointScheduleRun', occurredAt: '2023-10-21T23:59:59.000Z' },
    { eventId: 'viewer-example-202-a', eventType: 'LoginFailed', occurredAt: '2024-03-02T08:00:00.000Z' },
  ]);
  await openViewer();
  for (const { query, form } of EXAMPLES) {
    const expected = (await apiJson(`/api/Audit?${query}`)).items.map((e) => e.eventId);
    assert.ok(expected.length > 0, `the seed has events for ${query}`);
    await fillForm(form);
    const ids = await shownIds();
    assert.deepEqual(ids.slice(0, expected.length), expected, query);
    // The URL holds the search: opening it again shows the same events.
    const url = page.url();
    for (const [name, value] of new URLSearchParams(query)) {
      if (name === 'pageNumber' || (name === 'pageSize' && value === '50')) continue;
      assert.equal(new URL(url).searchParams.get(name), value, `${name} in ${url}`);
    }
    await page.goto(url);
    await settled();
    assert.deepEqual((await shownIds()).slice(0, expected.length), expected, `${query} from the URL`);
  }
});

test('scrolling loads the next page by nextToken', async () => {
  const first = await apiJson('/api/Audit?pageSize=25');
  assert.ok(first.hasMore, 'the seed has more than 25 events');
  const second = await apiJson(`/api/Audit?pageSize=25&nextToken=${encodeURIComponent(first.nextToken)}`);
  await openViewer('pageSize=25');
  assert.deepEqual(await shownIds(), first.items.map((e) => e.eventId));
  await page.locator('#sentinel').scrollIntoViewIfNeeded();
  await page.waitForFunction(() => document.querySelectorAll('#rows tr').length >= 50, null, { timeout: 30_000 });
  await settled();
  const ids = await shownIds();
  assert.deepEqual(ids.slice(0, 50), [...first.items, ...second.items].map((e) => e.eventId));
  assert.ok(requests.some((u) => u.includes('/api/Audit?') && u.includes('nextToken=')), 'the second page was asked by nextToken');
  // Dates in the reader's time zone, UTC on hover.
  const title = await page.locator('#rows time').first().getAttribute('title');
  assert.match(title, / UTC$/);
});

test('an API error is shown with its detail and every bad parameter', async () => {
  await openViewer();
  await fillForm({ category: ['600'], rangeStart: '2024-03-01T05:00:00.000Z', rangeEnd: '2023-10-23T04:59:00.000Z' });
  const problem = page.locator('#problem');
  await problem.waitFor();
  const text = await problem.innerText();
  assert.match(text, /400/);
  assert.match(text, /2 query parameters are invalid\./);
  assert.match(text, /rangeStart/);
  assert.match(text, /rangeEnd/);
});

test('an event shows its changes, its proof verified, and a failure once its item is edited', async () => {
  const example = await apiJson(`/api/Audit?${EXAMPLES[0].query}`);
  const event = example.items.find((e) => Array.isArray(e.changes) && e.changes.length > 0);
  assert.ok(event, 'a configuration event with changes');
  await sealed(event.eventId);

  await openViewer(EXAMPLES[0].query);
  // Keyboard: focus the event's link and open it with Enter.
  const link = page.locator(`#rows tr[data-event-id="${event.eventId}"] a.event-link`);
  await link.focus();
  await page.keyboard.press('Enter');
  const dialog = page.locator('#detail');
  await dialog.waitFor({ state: 'visible' });
  assert.match(page.url(), new RegExp(`#event=${event.eventId}$`));
  const changes = dialog.locator('table.changes tbody tr');
  await changes.first().waitFor();
  assert.equal(await changes.count(), event.changes.length);
  const first = await changes.first().locator('th, td').allInnerTexts();
  const show = (v) => (typeof v === 'string' ? v : JSON.stringify(v));
  assert.deepEqual(first, [event.changes[0].field, show(event.changes[0].oldValue), show(event.changes[0].newValue)]);
  for (const label of ['Event id', 'Occurred', 'Recorded', 'Tenant', 'Correlation id']) {
    assert.ok(await dialog.locator('dt', { hasText: label }).count(), label);
  }
  assert.ok(await dialog.locator('a.search-link', { hasText: `actor ${event.actor.id}` }).count());

  const badge = dialog.locator('#proof');
  await page.waitForFunction(() => ['verified', 'failed', 'error'].includes(document.getElementById('proof')?.dataset.state), null, { timeout: 30_000 });
  assert.equal(await badge.getAttribute('data-state'), 'verified', await badge.innerText());
  const verified = await badge.innerText();
  for (const step of ['leaf recomputed from the event as shown', 'inclusion', 'signature', 'verifier key']) {
    assert.match(verified, new RegExp(step), verified);
  }
  mkdirSync('target/screenshots', { recursive: true });
  await page.screenshot({ path: 'target/screenshots/viewer-event.png' });

  // Edit the stored item behind the service's back.
  const db = new DynamoDBClient({
    endpoint: env.E2E_DYNAMODB_ENDPOINT, region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  const Key = { pk: { S: `TENANT#${tenant}#EVENT#${event.eventId}` } };
  const stored = await db.send(new GetItemCommand({ TableName: env.E2E_TABLE_NAME, Key }));
  assert.ok(stored.Item, `item ${Key.pk.S} in ${env.E2E_TABLE_NAME}`);
  const original = stored.Item.description;
  try {
    await db.send(new UpdateItemCommand({
      TableName: env.E2E_TABLE_NAME, Key,
      UpdateExpression: 'SET description = :d',
      ExpressionAttributeValues: { ':d': { S: 'Nothing happened here.' } },
    }));
    assert.equal((await apiJson(`/api/Audit/${event.eventId}`)).description, 'Nothing happened here.');
    await dialog.locator('#proof-recheck').click();
    await page.waitForFunction(() => document.getElementById('proof')?.dataset.state === 'failed', null, { timeout: 30_000 });
    const failed = await badge.innerText();
    assert.match(failed, /FAILED at leaf recomputed from the event as shown/, failed);
    assert.match(await dialog.locator('dd', { hasText: 'Nothing happened here.' }).innerText(), /Nothing happened/);
    await page.screenshot({ path: 'target/screenshots/viewer-event-tampered.png' });
  } finally {
    await db.send(new UpdateItemCommand(original
      ? { TableName: env.E2E_TABLE_NAME, Key, UpdateExpression: 'SET description = :d', ExpressionAttributeValues: { ':d': original } }
      : { TableName: env.E2E_TABLE_NAME, Key, UpdateExpression: 'REMOVE description' }));
    db.destroy();
  }
  await page.keyboard.press('Escape');
  await dialog.waitFor({ state: 'hidden' });
  assert.equal(await page.evaluate(() => document.activeElement?.dataset?.eventId
    ?? document.activeElement?.closest('tr')?.dataset.eventId), event.eventId, 'focus returns to the row');
});

test('an event not sealed yet says when to look again', { skip: !env.E2E_INVOKE_URL && 'E2E_INVOKE_URL is not set' }, async () => {
  // Early enough in the minute that the sealer cannot seal it before the page asks.
  while (new Date().getSeconds() > 40) await new Promise((resolve) => setTimeout(resolve, 1000));
  const eventId = `viewer-unsealed-${Date.now()}`;
  await ingest([{ eventId, eventType: 'LoginSuccess', occurredAt: new Date().toISOString() }]);
  await openViewer(`actorId=u-viewer#event=${eventId}`);
  await page.waitForFunction(() => document.getElementById('proof')?.dataset.state === 'unsealed', null, { timeout: 30_000 });
  const text = await page.locator('#proof').innerText();
  assert.match(text, /Not sealed yet/);
  assert.match(text, /Look again after .* \(in \d+ s\)/);
});

test('the export is the API\'s CSV of the whole search', async () => {
  const query = EXAMPLES[0].query;
  await openViewer(query);
  const [download] = await Promise.all([page.waitForEvent('download'), page.locator('#export-csv').click()]);
  const path = await download.path();
  const csv = readFileSync(path, 'utf8');
  // The API's pages of the same search, by X-Next-Token, as one CSV with one header.
  const pages = async (format) => {
    const bodies = [];
    let next = null;
    do {
      const r = await api(`/api/Audit?${query}&pageSize=1000&format=${format}${next ? `&nextToken=${encodeURIComponent(next)}` : ''}`);
      assert.equal(r.status, 200, r.text);
      bodies.push(bodies.length && format === 'csv' ? r.text.slice(r.text.indexOf('\r\n') + 2) : r.text);
      next = r.headers.get('x-has-more') === 'true' ? r.headers.get('x-next-token') : null;
    } while (next);
    return bodies.join('');
  };
  assert.equal(csv, await pages('csv'));
  const [ndjson] = await Promise.all([page.waitForEvent('download'), page.locator('#export-ndjson').click()]);
  assert.equal(readFileSync(await ndjson.path(), 'utf8'), await pages('ndjson'));
});

test('a phone\'s width shows the results as cards without sideways scrolling', async () => {
  await page.setViewportSize({ width: 390, height: 844 });
  try {
    await openViewer(EXAMPLES[0].query);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    assert.ok(overflow <= 0, `${overflow}px of sideways scrolling`);
    mkdirSync('target/screenshots', { recursive: true });
    await page.screenshot({ path: 'target/screenshots/viewer-phone.png' });
  } finally {
    await page.setViewportSize({ width: 1280, height: 720 });
  }
});

test('every request went to the stack\'s origin, with no script error or policy violation', () => {
  const origin = new URL(base).origin;
  assert.ok(requests.length > 20, `${requests.length} requests recorded`);
  const elsewhere = requests.filter((u) => new URL(u).origin !== origin);
  assert.deepEqual(elsewhere, []);
  assert.deepEqual(pageErrors, []);
  assert.deepEqual(cspViolations, []);
});
