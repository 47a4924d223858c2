'use strict';
// The tracker's live viewer in a real browser (Debian's chromium, headless,
// driven by playwright-core): basic auth, events from every worker appearing
// as they are tracked, ?filter, and a wrong password refused.
const test = require('node:test');
const assert = require('node:assert/strict');
const { launchChromium } = require('../support/browser');
const { startTracker, request, LIVE_USER, LIVE_PASSWORD } = require('../support/tracker');

const launch = (httpCredentials) => launchChromium({ httpCredentials });

const rowsOf = (page) =>
  page.$$eval('#events tr.event', (trs) =>
    trs.map((tr) => ({ type: tr.dataset.type, query: tr.dataset.query, meta: tr.querySelector('.meta').textContent })),
  );

// Tracks `n` calls of each type, each on a fresh connection (so the workers share them).
async function track(port, types, n, tag) {
  for (let i = 0; i < n; i++) {
    for (const type of types) {
      const res = await request(port, `/t/${type}?tag=${tag}&i=${i}`, { headers: { 'x-push-ip': '81.2.69.160' } });
      assert.equal(res.status, 200);
    }
  }
}

test('/live shows tracked events as they arrive, filtered with ?filter, behind basic auth', { timeout: 120000 }, async (t) => {
  const tracker = await startTracker({ workers: 2 });
  const cleanups = [() => tracker.cleanup()];
  t.after(async () => {
    for (const fn of cleanups.reverse()) await fn();
  });

  // Without credentials, or with the wrong password: 401.
  {
    const browser = await launch({ username: LIVE_USER, password: 'wrong-password' });
    cleanups.push(() => browser.close());
    const page = await browser.context.newPage();
    const res = await page.goto(`${tracker.url}/live`);
    assert.equal(res.status(), 401);
    assert.equal(await page.$('#events'), null);
    assert.equal((await request(tracker.port, '/live')).status, 401);
  }

  const browser = await launch({ username: LIVE_USER, password: LIVE_PASSWORD });
  cleanups.push(() => browser.close());
  const errors = [];

  // Everything.
  const all = await browser.context.newPage();
  all.on('pageerror', (err) => errors.push(err.message));
  const res = await all.goto(`${tracker.url}/live`);
  assert.equal(res.status(), 200);
  assert.equal(await all.title(), 'Tracker live');
  await all.waitForSelector('#status[data-state="connected"]', { timeout: 20000 });

  // Only 'purchase'.
  const filtered = await browser.context.newPage();
  filtered.on('pageerror', (err) => errors.push(err.message));
  await filtered.goto(`${tracker.url}/live?filter=purchase`);
  await filtered.waitForSelector('#status[data-state="connected"]', { timeout: 20000 });
  assert.match(await filtered.textContent('#status'), /'purchase' only/);

  await track(tracker.port, ['app_open', 'purchase', 'view'], 6, 'b1');
  await all.waitForFunction(() => document.querySelectorAll('#events tr.event').length === 18, null, { timeout: 20000 });
  await filtered.waitForFunction(() => document.querySelectorAll('#events tr.event').length === 6, null, { timeout: 20000 });

  const everything = await rowsOf(all);
  assert.deepEqual(
    everything.map((r) => `${r.type} ${r.query}`).sort(),
    ['app_open', 'purchase', 'view'].flatMap((type) => Array.from({ length: 6 }, (_, i) => `${type} tag=b1&i=${i}`)).sort(),
  );
  for (const r of everything) assert.match(r.meta, /^type=Desktop&.*&ip=510245a0&klag=\d+&country=GB&city=London$/);
  const onlyPurchases = await rowsOf(filtered);
  assert.deepEqual(onlyPurchases.map((r) => r.type), Array(6).fill('purchase'));
  assert.deepEqual(onlyPurchases.map((r) => r.query).sort(), Array.from({ length: 6 }, (_, i) => `tag=b1&i=${i}`).sort());

  // Newest first; a second round appends only matching events to the filtered page.
  await track(tracker.port, ['view', 'purchase'], 1, 'b2');
  await all.waitForFunction(() => document.querySelectorAll('#events tr.event').length === 20, null, { timeout: 20000 });
  await filtered.waitForFunction(() => document.querySelectorAll('#events tr.event').length === 7, null, { timeout: 20000 });
  assert.equal((await rowsOf(filtered))[0].query, 'tag=b2&i=0');
  assert.equal(await filtered.getAttribute('#count', 'data-count'), '7');
  assert.deepEqual(errors, []);
});
