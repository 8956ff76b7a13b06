// Takes the README's screenshots of the viewer against a running `make dev`: a search (the
// first contract example) and an event's detail with its proof verified in the page.
//   node tests/browser/screenshots.mjs [base URL, default http://127.0.0.1:$LOCAL_HTTP_PORT or :3000] [output dir, default docs/images]
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const base = process.argv[2] || `http://127.0.0.1:${process.env.LOCAL_HTTP_PORT || 3000}`;
const out = process.argv[3] || 'docs/images';
const query = 'category=100&rangeStart=2024-03-01T05:00:00.000Z';

const userDataDir = mkdtempSync(join(tmpdir(), 'viewer-screenshots-'));
const context = await chromium.launchPersistentContext(userDataDir, {
  executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  viewport: { width: 1280, height: 720 },
  timezoneId: 'Europe/Paris',
  locale: 'en-GB',
});
try {
  mkdirSync(out, { recursive: true });
  const page = context.pages()[0] || await context.newPage();
  await page.goto(`${base}/api/audit/ui/?${query}`);
  await page.waitForFunction(() => document.querySelectorAll('#rows tr').length > 0, null, { timeout: 30_000 });
  await page.screenshot({ path: join(out, 'viewer-search.png') });

  // The newest event of the search with changes, once it is sealed.
  const list = await (await fetch(`${base}/api/Audit?${query}`)).json();
  const event = list.items.find((e) => Array.isArray(e.changes) && e.changes.length > 0);
  if (!event) throw new Error('no event with changes in the search');
  const deadline = Date.now() + 150_000;
  while ((await fetch(`${base}/api/Audit/${event.eventId}/proof`)).status !== 200) {
    if (Date.now() > deadline) throw new Error(`${event.eventId} not sealed after 150 s`);
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
  // Taller, so that the detail shows its changes and metadata below the badge and fields.
  await page.setViewportSize({ width: 1280, height: 1240 });
  await page.goto(`${base}/api/audit/ui/?${query}#event=${event.eventId}`);
  await page.waitForFunction(() => document.getElementById('proof')?.dataset.state === 'verified', null, { timeout: 30_000 });
  await page.screenshot({ path: join(out, 'viewer-event.png') });
  console.log(`wrote ${join(out, 'viewer-search.png')} and ${join(out, 'viewer-event.png')} (event ${event.eventId})`);
} finally {
  await context.close();
  rmSync(userDataDir, { recursive: true, force: true });
}
