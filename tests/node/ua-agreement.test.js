'use strict';
// Agreement of ua.parse with ua-parser-js 1.x (2.x reported beside it) field
// by field, and of its bot flag with isbot, over the committed corpora
// (tests/fixtures/ua-gen-corpora.js): every corpus whole and its held-out
// fifth must reach the floors below. Prints the table and the most frequent
// disagreements.
const test = require('node:test');
const assert = require('node:assert/strict');
const { hotpath } = require('../support/fixtures');
const { report, format, libraries } = require('./ua-compare');

const hp = hotpath();
const libs = libraries();

// Floors of issue 15, against ua-parser-js 1.x alone.
const FLOORS = { browser: 0.97, os: 0.97, device: 0.93 };
const BOT_RECALL = 0.99;
const BOT_FALSE_POSITIVES = 0.005;

test('ua agrees with ua-parser-js 1.x and isbot on every corpus', { skip: !libs.UAParser || !libs.isbot }, () => {
  const r = report(hp, libs);
  console.log(format(r));
  for (const row of r.rows) {
    for (const [field, floor] of Object.entries(FLOORS)) {
      const s = row.stats[field];
      if (s.n === 0) continue;
      assert.ok(s.v1 / s.n >= floor, `${row.corpus} (${row.part}) ${field}: ${s.v1} of ${s.n} agree with 1.x`);
    }
  }
  assert.ok(r.rows.every((row) => row.strings > 0), 'every corpus and held-out part has strings');
  assert.ok(r.bots.crawlers.ours >= BOT_RECALL, `bot recall ${r.bots.crawlers.ours}`);
  assert.ok(r.bots.crawlersHeldOut.ours >= BOT_RECALL, `held-out bot recall ${r.bots.crawlersHeldOut.ours}`);
  assert.ok(r.bots.browsers.falsePositives <= BOT_FALSE_POSITIVES, `false positives ${r.bots.browsers.falsePositives}`);
});
