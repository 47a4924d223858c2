'use strict';
// Agreement of ua.parse with ua-parser-js over the most common User-Agent
// strings of the `user-agents` package's corpus: browser name, OS name and
// device type (ua-parser-js leaves desktops untyped: read as 'desktop'), and
// bot detection against ua-parser-js 2's isBot. Prints the figures and
// writes every disagreement to tests/node/ua-disagreements.txt.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const path = require('path');
const { hotpath, root } = require('../support/fixtures');

const hp = hotpath();
const TOP = 10000;
const FLOOR = 0.97;

function load(name) {
  try {
    return require(name);
  } catch {
    return null;
  }
}

// The corpus ships as dist/user-agents.json next to the package's entry.
function corpus() {
  const entry = require.resolve('user-agents');
  const file = path.join(path.dirname(entry), 'user-agents.json');
  const all = JSON.parse(fs.readFileSync(file, 'utf8'));
  // Most common first (by the corpus's weight; ties keep corpus order).
  return all
    .map((e, i) => ({ ua: e.userAgent, weight: e.weight, i }))
    .sort((a, b) => b.weight - a.weight || a.i - b.i)
    .slice(0, TOP);
}

function extra() {
  return fs
    .readFileSync(path.join(root, 'tests', 'fixtures', 'ua-extra.txt'), 'utf8')
    .split('\n')
    .filter((l) => l && !l.startsWith('#'));
}

const UAParser = load('ua-parser-js');
const bots = load('ua-parser-js-2/helpers');
const haveCorpus = load('user-agents') !== null;

test('ua agrees with ua-parser-js on browser, OS and device type (>= 97%)', { skip: !UAParser || !haveCorpus }, () => {
  const entries = corpus();
  assert.equal(entries.length, TOP);
  const fields = ['browser', 'os', 'device'];
  const agree = { browser: 0, os: 0, device: 0 };
  const agreeUnique = { browser: 0, os: 0, device: 0 };
  const lines = [];
  const seen = new Set();
  for (const { ua } of entries) {
    const theirs = UAParser(ua);
    const ours = hp.ua.parse(ua);
    const pairs = {
      browser: [theirs.browser.name ?? '', ours.browser ?? ''],
      os: [theirs.os.name ?? '', ours.os ?? ''],
      device: [theirs.device.type ?? 'desktop', ours.deviceType],
    };
    const first = !seen.has(ua);
    seen.add(ua);
    for (const f of fields) {
      const [a, b] = pairs[f];
      if (a === b) {
        agree[f]++;
        if (first) agreeUnique[f]++;
      } else if (first) {
        lines.push(`${f}\tua-parser-js=${a}\thotpath=${b}\t${ua}`);
      }
    }
  }
  const report = [];
  for (const f of fields) {
    report.push(
      `${f}: ${((100 * agree[f]) / entries.length).toFixed(2)}% of ${entries.length} entries, ` +
        `${((100 * agreeUnique[f]) / seen.size).toFixed(2)}% of ${seen.size} distinct strings`,
    );
  }
  const out = path.join(__dirname, 'ua-disagreements.txt');
  fs.writeFileSync(
    out,
    [`# ua vs ua-parser-js ${UAParser.VERSION}, user-agents corpus top ${TOP}`, ...report.map((r) => `# ${r}`),
      '# field\tua-parser-js\thotpath\tuser agent', ...lines].join('\n') + '\n',
  );
  console.log(report.join('\n'));
  console.log(`${lines.length} disagreements written to ${path.relative(root, out)}`);
  for (const f of fields) {
    assert.ok(agree[f] / entries.length >= FLOOR, `${f}: ${agree[f]} of ${entries.length}`);
    assert.ok(agreeUnique[f] / seen.size >= FLOOR, `${f}: ${agreeUnique[f]} of ${seen.size} distinct`);
  }
});

test('ua bot detection agrees with ua-parser-js isBot (>= 97%)', { skip: !bots || !haveCorpus }, () => {
  const strings = [...new Set([...corpus().map((e) => e.ua), ...extra()])];
  let agree = 0;
  let flagged = 0;
  const lines = [];
  for (const ua of strings) {
    const theirs = bots.isBot(ua);
    const ours = hp.ua.parse(ua).isBot;
    if (theirs) flagged++;
    if (theirs === ours) agree++;
    else lines.push(`bot\tua-parser-js=${theirs}\thotpath=${ours}\t${ua}`);
  }
  console.log(`bots: ${((100 * agree) / strings.length).toFixed(2)}% of ${strings.length} strings (${flagged} bots)`);
  const out = path.join(__dirname, 'ua-disagreements.txt');
  if (lines.length) fs.appendFileSync(out, lines.join('\n') + '\n');
  assert.ok(flagged >= 20, 'the extra fixtures hold bots');
  assert.ok(agree / strings.length >= FLOOR);
});
