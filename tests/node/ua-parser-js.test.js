'use strict';
// require('hotpath/ua-parser-js') against ua-parser-js 1.x itself: the same
// interface (with and without new, getters, setUA/getUA, enums) and the same
// results, fields undefined where ua-parser-js leaves them so.
const test = require('node:test');
const assert = require('node:assert/strict');
const { readCorpus, libraries } = require('./ua-compare');

const UAParser = require('hotpath/ua-parser-js');
const libs = libraries();
const Real = libs.UAParser;

const CHROME = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.6099.109 Safari/537.36';

test('UAParser works with and without new, like ua-parser-js', () => {
  const plain = UAParser(CHROME);
  assert.deepEqual(Object.keys(plain), ['ua', 'browser', 'engine', 'os', 'device', 'cpu']);
  assert.deepEqual(plain.browser, { name: 'Chrome', version: '120.0.6099.109', major: '120' });
  assert.deepEqual(plain.engine, { name: 'Blink', version: '120.0.6099.109' });
  assert.deepEqual(plain.os, { name: 'Windows', version: '10' });
  assert.deepEqual(plain.device, { vendor: undefined, model: undefined, type: undefined });
  assert.deepEqual(plain.cpu, { architecture: 'amd64' });
  const p = new UAParser(CHROME);
  assert.deepEqual(p.getResult(), plain);
  assert.deepEqual(p.getBrowser(), plain.browser);
  assert.deepEqual(p.getEngine(), plain.engine);
  assert.deepEqual(p.getOS(), plain.os);
  assert.deepEqual(p.getDevice(), plain.device);
  assert.deepEqual(p.getCPU(), plain.cpu);
  assert.equal(p.getUA(), CHROME);
  assert.equal(UAParser.UAParser, UAParser);
  assert.equal(UAParser.DEVICE.MOBILE, 'mobile');
  assert.equal(UAParser.BROWSER.MAJOR, 'major');
  assert.equal(UAParser.CPU.ARCHITECTURE, 'architecture');
  assert.equal(UAParser.OS.NAME, 'name');
});

test('setUA re-parses and cuts long strings as ua-parser-js does', () => {
  const p = new UAParser();
  assert.equal(p.getUA(), '');
  assert.equal(p.getBrowser().name, undefined);
  const iphone = 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1';
  assert.equal(p.setUA(iphone), p);
  assert.deepEqual(p.getDevice(), { vendor: 'Apple', model: 'iPhone', type: 'mobile' });
  const long = '   ' + CHROME + ' x'.repeat(400);
  p.setUA(long);
  assert.equal(p.getUA().length, 500);
  assert.ok(p.getUA().startsWith('Mozilla'));
  if (Real) assert.equal(p.getUA(), new Real(long).getUA());
  assert.equal(p.getBrowser().name, 'Chrome');
  assert.throws(() => new UAParser(CHROME, { browser: [] }), TypeError);
});

test('isBot follows isbot', () => {
  assert.equal(UAParser.isBot('Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)'), true);
  assert.equal(UAParser.isBot('curl/8.4.0'), true);
  assert.equal(UAParser.isBot(CHROME), false);
  assert.equal(UAParser.isBot(undefined), false);
});

test('results equal ua-parser-js 1.x field by field on the corpora', { skip: !Real }, () => {
  const strings = [...readCorpus('user-agents'), ...readCorpus('fake-ua'), ...readCorpus('extra'), ...readCorpus('crawlers')];
  let same = 0;
  const diffs = [];
  for (const ua of strings) {
    const ours = UAParser(ua);
    const theirs = Real(ua);
    // hotpath answers bots' device type as none (bots have no ua-parser-js type here)
    if (ours.device.type === undefined && UAParser.isBot(ua)) theirs.device.type = undefined;
    if (JSON.stringify(ours) === JSON.stringify(theirs)) same++;
    else if (diffs.length < 5) diffs.push({ ua, ours, theirs });
    // the same fields, undefined in the same places
    for (const part of ['browser', 'engine', 'os', 'device', 'cpu']) {
      assert.deepEqual(Object.keys(ours[part]), Object.keys(theirs[part]), part);
    }
  }
  console.log(`hotpath/ua-parser-js: ${same} of ${strings.length} results equal ua-parser-js ${Real.VERSION}'s`);
  for (const d of diffs) console.log(JSON.stringify(d));
  assert.ok(same / strings.length >= 0.99, `${same} of ${strings.length}`);
});

test('ESM import gives the same function', async () => {
  const mod = await import('hotpath/ua-parser-js');
  assert.equal(mod.default, UAParser);
  assert.equal(mod.UAParser, UAParser);
  assert.equal(mod.isBot, UAParser.isBot);
});
