// Browser test: headless Chromium opens the Swagger UI served by the local gateway, finds
// GET /api/Audit, runs "Try it out" with a contract example, sees a 200 and saves a
// screenshot under target/. Run by tests/browser/run.sh, which passes E2E_HTTP_URL.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { chromium } from 'playwright-core';

const base = process.env.E2E_HTTP_URL;
const executablePath = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

test('the Swagger UI lists GET /api/Audit and "Try it out" gets a 200', async () => {
  assert.ok(base, 'E2E_HTTP_URL is not set: run through tests/e2e/run.sh');
  const browser = await chromium.launch({
    executablePath,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1800 } });
    const failures = [];
    page.on('pageerror', (e) => failures.push(e.message));
    const cspViolations = [];
    page.on('console', (m) => { if (/Content Security Policy/i.test(m.text())) cspViolations.push(m.text()); });

    const response = await page.goto(`${base}/api/audit/swagger/`);
    assert.equal(response.status(), 200);
    const operation = page.locator('.opblock-get', { hasText: '/api/Audit' }).filter({
      has: page.locator('.opblock-summary-path', { hasText: /^\/api\/Audit$/ }),
    });
    await operation.first().waitFor({ timeout: 30_000 });
    await operation.first().locator('.opblock-summary').click();
    await operation.first().locator('button.try-out__btn').click();
    // Fill the first contract example into the parameters.
    const setParam = async (name, value) => {
      const row = operation.first().locator(`tr[data-param-name="${name}"]`);
      await row.locator('input').first().fill(value);
    };
    await setParam('category', '100');
    await setParam('rangeStart', '2024-03-01T05:00:00.000Z');
    const [apiResponse] = await Promise.all([
      page.waitForResponse((r) => r.url().includes('/api/Audit?') && r.request().method() === 'GET'),
      operation.first().locator('button.execute').click(),
    ]);
    assert.equal(apiResponse.status(), 200, await apiResponse.text());
    const status = operation.first().locator('.live-responses-table tr.response .response-col_status').first();
    await status.waitFor({ timeout: 30_000 });
    assert.match((await status.innerText()).trim(), /^200/);
    mkdirSync('target/screenshots', { recursive: true });
    await page.screenshot({ path: 'target/screenshots/swagger-try-it-out.png', fullPage: false });
    assert.deepEqual(failures, [], 'no script errors on the page');
    assert.deepEqual(cspViolations, [], 'the page runs within its Content-Security-Policy');
  } finally {
    await browser.close();
  }
});
