'use strict';
// Field-by-field agreement of hotpath's ua with ua-parser-js 1.x (2.x
// reported beside it) and of its bot flag with isbot, over the committed
// corpora (tests/fixtures/ua-gen-corpora.js). Used by
// tests/node/ua-agreement.test.js (which holds the floors) and bench/ua.
const fs = require('fs');
const path = require('path');
const { heldOut } = require('../fixtures/ua-gen-corpora');

const fixtures = path.join(__dirname, '..', 'fixtures');

const CORPORA = {
  'user-agents': 'ua-corpus-user-agents.txt',
  'fake-ua': 'ua-corpus-fake-ua.txt',
  extra: 'ua-extra.txt',
  crawlers: 'ua-corpus-crawlers.txt',
};

function readCorpus(name) {
  return fs
    .readFileSync(path.join(fixtures, CORPORA[name]), 'utf8')
    .split('\n')
    .filter((l) => l && !l.startsWith('#'));
}

function load(name) {
  try {
    return require(name);
  } catch {
    return null;
  }
}

// The fields compared: what ua-parser-js's result and hotpath's say.
const FIELDS = {
  browser: { theirs: (r) => r.browser.name, ours: (r) => r.browser },
  os: { theirs: (r) => r.os.name, ours: (r) => r.os },
  device: { theirs: (r) => r.device.type || 'desktop', ours: (r) => r.deviceType, skipBots: true },
  engine: { theirs: (r) => r.engine.name, ours: (r) => r.engine },
  vendor: { theirs: (r) => r.device.vendor, ours: (r) => r.vendor, skipBots: true },
  model: { theirs: (r) => r.device.model, ours: (r) => r.model, skipBots: true },
  cpu: { theirs: (r) => r.cpu.architecture, ours: (r) => r.cpu },
};

const norm = (v) => (v === undefined || v === null ? '' : String(v));

// Agreement over one list of strings: per field, the share equal to 1.x,
// equal to 2.x, and equal to either; the disagreements with 1.x grouped by
// (field, theirs, ours), most frequent first.
function agreement(hp, strings, libs) {
  const { UAParser, UAParser2, isbot } = libs;
  const stats = {};
  for (const f of Object.keys(FIELDS)) stats[f] = { n: 0, v1: 0, v2: 0, either: 0 };
  const patterns = new Map();
  for (const ua of strings) {
    const ours = hp.ua.parse(ua);
    const a = UAParser(ua);
    const b = UAParser2 ? UAParser2(ua) : null;
    const bot = isbot ? isbot(ua) : false;
    for (const [f, get] of Object.entries(FIELDS)) {
      if (get.skipBots && bot) continue;
      const mine = norm(get.ours(ours));
      const one = norm(get.theirs(a));
      const two = b ? norm(get.theirs(b)) : null;
      const s = stats[f];
      s.n++;
      if (mine === one) s.v1++;
      if (mine === two) s.v2++;
      if (mine === one || mine === two) s.either++;
      else {
        const key = `${f}\tua-parser-js=${one}\thotpath=${mine}`;
        const p = patterns.get(key) || { key, count: 0, example: ua };
        p.count++;
        patterns.set(key, p);
      }
    }
  }
  const top = [...patterns.values()].sort((x, y) => y.count - x.count);
  return { stats, top };
}

// isbot's and hotpath's bot flags over a list.
function botRates(hp, strings, isbot) {
  let ours = 0;
  let theirs = 0;
  let oursOnly = 0;
  let notTheirs = 0;
  for (const ua of strings) {
    const o = hp.ua.parse(ua).isBot;
    const t = isbot ? isbot(ua) : false;
    if (o) ours++;
    if (t) theirs++;
    if (!t) {
      notTheirs++;
      if (o) oursOnly++;
    }
  }
  return { n: strings.length, ours: ours / strings.length, isbot: theirs / strings.length,
    falsePositives: notTheirs ? oursOnly / notTheirs : 0 };
}

function libraries() {
  const UAParser = load('ua-parser-js');
  const two = load('ua-parser-js-2');
  const isbotPkg = load('isbot');
  return {
    UAParser,
    UAParser2: two ? (ua) => two.UAParser(ua) : null,
    isbot: isbotPkg ? isbotPkg.isbot : null,
    version1: UAParser && UAParser.VERSION,
    version2: two && two.UAParser.VERSION,
  };
}

const pct = (x, n) => (n ? ((100 * x) / n).toFixed(2) : '-');

// Every corpus whole and its held-out fifth, as rows for printing.
function report(hp, libs = libraries()) {
  const rows = [];
  const disagreements = {};
  for (const name of Object.keys(CORPORA)) {
    const all = readCorpus(name);
    for (const part of ['all', 'held-out']) {
      const strings = part === 'all' ? all : all.filter(heldOut);
      const { stats, top } = agreement(hp, strings, libs);
      rows.push({ corpus: name, part, strings: strings.length, stats });
      if (part === 'all') disagreements[name] = top;
    }
  }
  const crawlers = readCorpus('crawlers');
  const browsers = [...readCorpus('user-agents'), ...readCorpus('fake-ua')];
  const bots = {
    crawlers: botRates(hp, crawlers, libs.isbot),
    crawlersHeldOut: botRates(hp, crawlers.filter(heldOut), libs.isbot),
    browsers: botRates(hp, browsers, libs.isbot),
  };
  return { rows, disagreements, bots, versions: { v1: libs.version1, v2: libs.version2 } };
}

function format(r, topN = 8) {
  const lines = [`ua agreement: hotpath vs ua-parser-js ${r.versions.v1} (2.x: ${r.versions.v2}), ` +
    '% of strings equal to 1.x / to 2.x / to either (device, vendor, model: isbot\'s bots left out)'];
  const cols = (cells) => cells.map((c, i) => String(c).padEnd(i < 3 ? 12 : 22)).join('').trimEnd();
  lines.push(cols(['corpus', 'part', 'strings', ...Object.keys(FIELDS)]));
  for (const row of r.rows) {
    lines.push(cols([row.corpus, row.part, row.strings,
      ...Object.keys(FIELDS).map((f) => {
        const s = row.stats[f];
        return `${pct(s.v1, s.n)}/${pct(s.v2, s.n)}/${pct(s.either, s.n)}`;
      })]));
  }
  const b = r.bots;
  lines.push(`bots: crawler-user-agents recall hotpath ${pct(b.crawlers.ours, 1)}% (held-out ${pct(b.crawlersHeldOut.ours, 1)}%), ` +
    `isbot ${pct(b.crawlers.isbot, 1)}%; browser strings flagged where isbot does not: ` +
    `${pct(b.browsers.falsePositives, 1)}% of ${b.browsers.n}`);
  for (const [name, top] of Object.entries(r.disagreements)) {
    if (!top.length) continue;
    lines.push(`top disagreements with 1.x, ${name}:`);
    for (const p of top.slice(0, topN)) lines.push(`  ${p.count}  ${p.key.replace(/\t/g, '  ')}  e.g. ${p.example}`);
  }
  return lines.join('\n');
}

module.exports = { CORPORA, FIELDS, readCorpus, agreement, botRates, libraries, report, format };
