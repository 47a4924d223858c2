'use strict';
// The Perfload dashboard in a real browser (Debian's chromium, headless,
// driven by playwright-core): a machine client appears with its metrics,
// then turns offline when it is killed.
const test = require('node:test');
const assert = require('node:assert/strict');
const { launchChromium } = require('../support/browser');
const { hotpath } = require('../support/fixtures');
const { startServer, startClient, get, UI_TOKEN, UI_AUTH } = require('../support/perfload');

const hp = hotpath();
const launch = () => launchChromium();

test('the page shows a machine live with its metrics, then offline', { timeout: 90000 }, async (t) => {
  const workers = 2;
  const server = await startServer({ workers });
  const cleanups = [() => server.stop()];
  t.after(async () => {
    for (const fn of cleanups.reverse()) await fn();
  });
  const browser = await launch();
  cleanups.push(() => browser.close());
  const page = await browser.context.newPage();
  const errors = [];
  page.on('pageerror', (err) => errors.push(err.message));

  await page.goto(`${server.url}/#ui=${UI_TOKEN}`);
  assert.equal(await page.title(), 'Perfload');
  await page.waitForSelector('#status[data-state="connected"]', { timeout: 20000 });
  await page.waitForSelector('#machines[data-synced="yes"]', { state: 'attached', timeout: 20000 });
  const pageWorker = hp.sticky.pick('127.0.0.1', workers);
  assert.match(await page.textContent('#status'), new RegExp(`worker ${pageWorker} `));
  assert.equal(await page.isVisible('#empty'), true);

  // The client connects from an address that another worker owns, so what
  // the page shows crossed workers.
  const source = ['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5'].find(
    (ip) => hp.sticky.pick(ip, workers) !== pageWorker,
  );
  const client = startClient({ url: server.url, id: 'browser-machine', localAddress: source });
  cleanups.push(() => client.kill());

  const card = '.machine[data-id="browser-machine"]';
  await page.waitForSelector(`${card}[data-state="online"]`, { timeout: 20000 });
  // Wait for a full metrics message (the first update may precede layout).
  await page.waitForFunction(
    (sel) => /%$/.test(document.querySelector(`${sel} .cpu`).textContent),
    card,
    { timeout: 20000 },
  );
  const shown = await page.$eval(card, (el) => ({
    name: el.querySelector('.name').textContent,
    badge: el.querySelector('.badge').textContent,
    cpu: el.querySelector('.cpu').textContent,
    mem: el.querySelector('.mem').textContent,
    cores: el.querySelector('.cores').textContent,
    worker: el.querySelector('.worker').textContent,
    os: el.querySelector('.os').textContent,
  }));
  const host = hp.host.snapshot();
  assert.equal(shown.name, 'browser-machine');
  assert.equal(shown.badge, 'online');
  assert.match(shown.cpu, /^\d+(\.\d)? %$/);
  assert.match(shown.mem, /^\d+(\.\d)? %$/);
  assert.equal(shown.cores, String(host.numCores));
  assert.equal(shown.os, host.osType);
  assert.equal(shown.worker, String(hp.sticky.pick(source, workers)));
  assert.equal(await page.isVisible('#empty'), false);
  assert.equal((await get(server.port, '/machines', source, UI_AUTH)).body.length, 1);

  await client.kill();
  await page.waitForSelector(`${card}[data-state="offline"]`, { timeout: 20000 });
  assert.equal(await page.textContent(`${card} .badge`), 'offline');

  // A reload lists the machine no more: it is not online anywhere.
  await page.reload();
  await page.waitForSelector('#machines[data-synced="yes"]', { state: 'attached', timeout: 20000 });
  assert.equal(await page.$(card), null);
  assert.deepEqual(errors, []);
});
