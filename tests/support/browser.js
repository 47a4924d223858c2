'use strict';
// Debian's chromium, headless, driven by playwright-core: a fresh profile per
// launch so no state leaks between runs.
const assert = require('node:assert/strict');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { chromium } = require('playwright-core');

const CHROMIUM = '/usr/bin/chromium';

// The browser gets node's environment without the sanitizer runtime that the
// ASan run preloads into node: chromium does not start with it.
function browserEnv() {
  const env = { ...process.env };
  delete env.LD_PRELOAD;
  delete env.ASAN_OPTIONS;
  return env;
}

/**
 * @param {object} [options] playwright context options (e.g. httpCredentials)
 * @returns {Promise<{context: import('playwright-core').BrowserContext, close: () => Promise<void>}>}
 */
async function launchChromium(options = {}) {
  assert.ok(fs.existsSync(CHROMIUM), `${CHROMIUM} is missing: run packaging/install-deps.sh`);
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'hotpath-chromium-'));
  // A persistent context is how playwright takes a user-data-dir.
  const context = await chromium.launchPersistentContext(profile, {
    ...options,
    executablePath: CHROMIUM,
    headless: true,
    env: browserEnv(),
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  return {
    context,
    close: async () => {
      await context.close();
      fs.rmSync(profile, { recursive: true, force: true });
    },
  };
}

module.exports = { launchChromium };
