#!/usr/bin/env node
// Writes libengine/src/ua/tables_data.cc, the long-tail tables of the ua
// parser, from package data: ua-parser-js 1.x's regular expressions (MIT)
// and isbot's pattern list (Unlicense).
// The output is committed, so builds without node_modules (pip install, the
// wheel) need none of these packages; tests/node/ua-tables.test.js re-runs
// this script and fails when the committed file is out of date.
//
//   node packaging/gen-ua-tables.js            write the file
//   node packaging/gen-ua-tables.js --stdout   print it instead
//
// ua-parser-js 1.x writes a few rules with lookarounds and one with a
// back-reference, which RE2 (linear time) cannot run. REWRITES below gives each of them as RE2 patterns with
// the same capture groups, plus where needed `unless`: a pattern that, when
// it matches at the start of a match, rejects that match (the parser then
// searches again one byte further), and `clear`: a capture that is dropped
// when it starts with the given pattern. Such a rule that is not listed
// stops the script, so a new ua-parser-js release cannot slip in
// untranslated.
'use strict';

const fs = require('fs');
const path = require('path');
const vm = require('vm');

const root = path.join(__dirname, '..');
const outFile = path.join(root, 'libengine/src/ua/tables_data.cc');

// The version of an installed package (some export no ./package.json).
function pkgVersion(name) {
  for (let dir = path.dirname(require.resolve(name)); dir !== path.dirname(dir); dir = path.dirname(dir)) {
    const file = path.join(dir, 'package.json');
    if (fs.existsSync(file)) {
      const pkg = JSON.parse(fs.readFileSync(file, 'utf8'));
      if (pkg.name === name) return pkg.version;
    }
  }
  throw new Error(`no package.json for ${name}`);
}

// ua-parser-js keeps its rules in a closure; run its source with the rules
// object also stored on the sandbox's global.
function uaParserRules() {
  const file = require.resolve('ua-parser-js/src/ua-parser.js');
  const marker = 'var regexes = {';
  const src = fs.readFileSync(file, 'utf8');
  if (!src.includes(marker)) throw new Error(`${file}: no "${marker}"`);
  const sandbox = {};
  vm.createContext(sandbox);
  vm.runInContext(src.replace(marker, 'var regexes = globalThis.__rules = {'), sandbox);
  return sandbox.__rules;
}

const isRegExp = (x) => Object.prototype.toString.call(x) === '[object RegExp]';
const hasLookaround = (source) => /\(\?(?:=|!|<=|<!)/.test(source);
// lookarounds and back-references: what RE2 does not run
const needsRewrite = (source) => hasLookaround(source) || /\\[1-9]/.test(source);

// JS source of a ua-parser-js rule -> RE2 replacements (see the top).
const REWRITES = {
  // browser
  '(flock|rockmelt|midori|epiphany|silk|skyfire|ovibrowser|bolt|iron|vivaldi|iridium|phantomjs|bowser|qupzilla|falkon|rekonq|puffin|brave|whale(?!.+naver)|qqbrowserlite|duckduckgo|klar|helio|(?=comodo_)?dragon)\\/([-\\w\\.]+)':
    [{ re: '(flock|rockmelt|midori|epiphany|silk|skyfire|ovibrowser|bolt|iron|vivaldi|iridium|phantomjs|bowser|qupzilla|falkon|rekonq|puffin|brave|whale|qqbrowserlite|duckduckgo|klar|helio|dragon)\\/([-\\w\\.]+)', unless: 'whale.+naver' }],
  'm?(qqbrowser|2345(?=browser|chrome|explorer))\\w*[\\/ ]?v?([\\w\\.]+)': [
    { re: 'm?(qqbrowser)\\w*[\\/ ]?v?([\\w\\.]+)' },
    { re: 'm?(2345)(?:browser|chrome|explorer)\\w*[\\/ ]?v?([\\w\\.]+)' },
  ],
  '((?:fban\\/fbios|fb_iab\\/fb4a)(?!.+fbav)|;fbav\\/([\\w\\.]+);)': [
    { re: '((?:fban\\/fbios|fb_iab\\/fb4a)|;fbav\\/([\\w\\.]+);)', unless: '(?:fban/fbios|fb_iab/fb4a).+fbav' },
  ],
  // cpu
  '(ia32(?=;))': [{ re: '(ia32);' }],
  '\\b(avr32|ia64(?=;)|68k(?=\\))|\\barm(?=v([1-7]|[5-7]1)l?|;|eabi)|(irix|mips|sparc)(64)?\\b|pa-risc)': [
    { re: '\\b(avr32|(irix|mips|sparc)(64)?\\b|pa-risc)' },
    { re: '\\b(ia64);' },
    { re: '\\b(68k)\\)' },
    { re: '\\b(arm)(?:v(?:[1-7]|[5-7]1)l?|;|eabi)' },
  ],
  // device
  '\\b((?:s[cgp]h|gt|sm)-(?![lr])\\w+|sc[g-]?[\\d]+a?|galaxy nexus)': [
    { re: '\\b((?:s[cgp]h|gt|sm)-[0-9a-km-qs-z_]\\w*|sc[g-]?[\\d]+a?|galaxy nexus)' },
  ],
  // a back-reference (the model again after "Build/HM"): any word there
  '\\b; (\\w+) build\\/hm\\1': [{ re: '\\b; (\\w+) build\\/hm\\w' }],
  'samsung[- ]((?!sm-[lr])[-\\w]+)': [{ re: 'samsung[- ]([-\\w]+)', unless: 'samsung[- ]sm-[lr]' }],
  '\\b((?:ag[rs][2356]?k?|bah[234]?|bg[2o]|bt[kv]|cmr|cpn|db[ry]2?|jdn2|got|kob2?k?|mon|pce|scm|sht?|[tw]gr|vrd)-[ad]?[lw][0125][09]b?|605hw|bg2-u03|(?:gem|fdr|m2|ple|t1)-[7a]0[1-4][lu]|t1-a2[13][lw]|mediapad[\\w\\. ]*(?= bui|\\)))\\b(?!.+d\\/s)':
    [
      { re: '\\b((?:ag[rs][2356]?k?|bah[234]?|bg[2o]|bt[kv]|cmr|cpn|db[ry]2?|jdn2|got|kob2?k?|mon|pce|scm|sht?|[tw]gr|vrd)-[ad]?[lw][0125][09]b?|605hw|bg2-u03|(?:gem|fdr|m2|ple|t1)-[7a]0[1-4][lu]|t1-a2[13][lw])\\b', unless: '.+d/s' },
      { re: '\\b(mediapad(?:[\\w\\. ]*\\w)?)(?: bui|\\))', unless: '.+d/s' },
    ],
  '\\b(nexus 6p|\\w{2,4}e?-[atu]?[ln][\\dx][012359c][adn]?)\\b(?!.+d\\/s)': [
    { re: '\\b(nexus 6p|\\w{2,4}e?-[atu]?[ln][\\dx][012359c][adn]?)\\b', unless: '.+d/s' },
  ],
  '((?:moto(?! 360)[\\w\\(\\) ]+|xt\\d{3,4}|nexus 6)(?= bui|\\)))': [
    { re: '((?:moto[\\w\\(\\) ]+|xt\\d{3,4}|nexus 6))(?: bui|\\))', unless: 'moto 360' },
  ],
  '((?=lg)?[vl]k\\-?\\d{3}) bui| 3\\.[-\\w; ]{10}lg?-([06cv9]{3,4})': [
    { re: '([vl]k\\-?\\d{3}) bui| 3\\.[-\\w; ]{10}lg?-([06cv9]{3,4})' },
  ],
  '(lm(?:-?f100[nv]?|-[\\w\\.]+)(?= bui|\\))|nexus [45])': [
    { re: '(lm(?:-?f100[nv]?|-[\\w\\.]+))(?: bui|\\))' },
    { re: '(nexus [45])' },
  ],
  '\\blg[-e;\\/ ]+((?!browser|netcast|android tv|watch)\\w+)': [
    { re: '\\blg[-e;\\/ ]+(\\w+)', unless: 'lg[-e;\\/ ]+(?:browser|netcast|android tv|watch)' },
  ],
  'droid.+; (a?\\d[0-2]{2}so|[c-g]\\d{4}|so[-gl]\\w+|xq-a\\w[4-7][12])(?= bui|\\).+chrome\\/(?![1-6]{0,1}\\d\\.))': [
    { re: 'droid.+; (a?\\d[0-2]{2}so|[c-g]\\d{4}|so[-gl]\\w+|xq-a\\w[4-7][12])(?: bui|\\).+chrome\\/(?:[7-9]\\d|\\d{3}))' },
  ],
  '(kf[a-z]{2}wi|aeo(?!bc)\\w\\w)( bui|\\))': [
    { re: '(kf[a-z]{2}wi|aeo(?:[0-9ac-z_]\\w|b[0-9abd-z_]))( bui|\\))' },
  ],
  '(htc)[-;_ ]{1,2}([\\w ]+(?=\\)| bui)|\\w+)': [
    { re: '(htc)[-;_ ]{1,2}([\\w ]+)(?:\\)| bui)' },
    { re: '(htc)[-;_ ]{1,2}(\\w+)' },
  ],
  '(alcatel|geeksphone|nexian|panasonic(?!(?:;|\\.))|sony(?!-bra))[-_ ]?([-\\w]*)': [
    { re: '(alcatel|geeksphone|nexian|panasonic|sony)[-_ ]?([-\\w]*)', unless: 'panasonic[;.]|sony-bra' },
  ],
  '(blackberry|benq|palm(?=\\-)|sonyericsson|acer|asus(?! zenw)|dell|jolla|meizu|motorola|polytron|infinix|tecno|micromax|advan)[-_ ]?([-\\w]*)':
    [
      { re: '(blackberry|benq|palm|sonyericsson|acer|asus|dell|jolla|meizu|motorola|polytron|infinix|tecno|micromax|advan)[-_ ]?([-\\w]*)', unless: 'palm(?:[^-]|$)|asus zenw' },
    ],
  // the last occurrence of either word wins, so the lookahead never decides
  '(hp).+(touchpad(?!.+tablet)|tablet)': [{ re: '(hp).+(touchpad|tablet)' }],
  '((?:tegranote|shield t(?!.+d tv))[\\w- ]*?)(?: b|\\))': [
    { re: '((?:tegranote|shield t)[\\w- ]*?)(?: b|\\))', unless: 'shield t.+d tv' },
  ],
  '\\b(xbox(?: one)?(?!; xbox))[\\); ]': [{ re: '\\b(xbox(?: one)?)[\\); ]', unless: 'xbox; xbox' }],
  // " safari" never starts with " mobile": the lookahead always holds
  'droid .+?; ([^;]+?)(?: bui|\\) applew).+?(?! mobile) safari': [
    { re: 'droid .+?; ([^;]+?)(?: bui|\\) applew).+? safari' },
  ],
  '\\b((tablet|tab)[;\\/]|focus\\/\\d(?!.+mobile))': [
    { re: '\\b((tablet|tab)[;\\/]|focus\\/\\d)', unless: 'focus/\\d.+mobile' },
  ],
  // no capture is read: the lookahead may consume
  '(phone|mobile(?:[;\\/]| [ \\w\\/\\.]*safari)|pda(?=.+windows ce))': [
    { re: '(phone|mobile(?:[;\\/]| [ \\w\\/\\.]*safari)|pda.+windows ce)' },
  ],
  // engine: a version not starting "27", then the end of the version
  'webkit\\/537\\.36.+chrome\\/(?!27)([\\w\\.]+)': [
    { re: 'webkit\\/537\\.36.+chrome\\/([013-9a-z_\\.][\\w\\.]*|2(?:[0-68-9a-z_\\.][\\w\\.]*)?)(?:$|[^\\w\\.])' },
  ],
  // os
  'windows[\\/ ]([ntce\\d\\. ]+\\w)(?!.+xbox)': [{ re: 'windows[\\/ ]([ntce\\d\\. ]+\\w)', unless: 'windows[\\/ ].+xbox' }],
  '(?:win(?=3|9|n)|win 9x )([nt\\d\\.]+)': [{ re: 'win([39n][nt\\d\\.]*)' }, { re: 'win 9x ([nt\\d\\.]+)' }],
  '(macintosh|mac_powerpc\\b)(?!.+haiku)': [
    { re: '(macintosh|mac_powerpc\\b)', unless: '(?:macintosh|mac_powerpc\\b).+haiku' },
  ],
  '(?:symbian ?os|symbos|s60(?=;)|series ?60)[-\\/ ]?([\\w\\.]*)': [
    { re: '(?:(?:symbian ?os|symbos|series ?60)[-\\/ ]?([\\w\\.]*)|s60;)' },
  ],
  '([kxln]?ubuntu|debian|suse|opensuse|gentoo|arch(?= linux)|slackware|fedora|mandriva|centos|pclinuxos|red ?hat|zenwalk|linpus|raspbian|plan 9|minix|risc os|contiki|deepin|manjaro|elementary os|sabayon|linspire)(?: gnu\\/linux)?(?: enterprise)?(?:[- ]linux)?(?:-gnu)?[-\\/ ]?(?!chrom|package)([-\\w\\.]*)':
    [
      { re: '([kxln]?ubuntu|debian|suse|opensuse|gentoo|slackware|fedora|mandriva|centos|pclinuxos|red ?hat|zenwalk|linpus|raspbian|plan 9|minix|risc os|contiki|deepin|manjaro|elementary os|sabayon|linspire)(?: gnu\\/linux)?(?: enterprise)?(?:[- ]linux)?(?:-gnu)?[-\\/ ]?([-\\w\\.]*)', clear: [2, 'chrom|package'] },
      { re: '(arch) linux(?:-gnu)?[-\\/ ]?([-\\w\\.]*)', clear: [2, 'chrom|package'] },
    ],
  '\\b([-frentopcghs]{0,5}bsd|dragonfly)[\\/ ]?(?!amd|[ix346]{1,2}86)([\\w\\.]*)': [
    { re: '\\b([-frentopcghs]{0,5}bsd|dragonfly)[\\/ ]?([\\w\\.]*)', clear: [2, 'amd|[ix346]{1,2}86'] },
  ],
  // each repetition is a digit and the '.' the lookahead saw
  '(aix) ((\\d)(?=\\.|\\)| )[\\w\\.])*': [{ re: '(aix) ((\\d)\\.)*' }],
};

// isbot writes a few patterns with lookarounds of plain words at their
// edges. For a yes/no match these become consuming alternatives: "not
// followed by one of the words" is "end, or a byte that starts none of
// them, or a byte that does followed by the same test on the rest".
function literalAlternatives(body) {
  let s = body;
  if (s.startsWith('(?:') && s.endsWith(')')) s = s.slice(3, -1);
  return s.split('|').map((alt) => {
    const out = alt.replace(/\\(.)/g, '$1');
    if (/[\\()[\]{}.*+?^$|]/.test(out)) throw new Error(`isbot lookaround is not plain words: ${body}`);
    return out;
  });
}

function escapeChar(c) {
  return /[\w ]/.test(c) ? c : `\\${c}`;
}

// words read in the direction away from the anchor point
function notTrie(words, ahead) {
  const node = new Map();
  for (const w of words) {
    const c = w[0].toLowerCase();
    if (!node.has(c)) node.set(c, []);
    node.get(c).push(w.slice(1));
  }
  const edge = ahead ? '$' : '^';
  const alts = [edge, `[^${[...node.keys()].map(escapeChar).join('')}]`];
  for (const [c, rests] of node) {
    if (rests.some((r) => r === '')) continue; // a whole word ends here
    const inner = notTrie(rests, ahead);
    alts.push(ahead ? `${escapeChar(c)}${inner}` : `${inner}${escapeChar(c)}`);
  }
  return `(?:${alts.join('|')})`;
}

function botPatternToRe2(p) {
  let out = p.replace(/\(\?<!((?:[^()]|\((?:[^()])*\))*)\)/g, (_, body) =>
    notTrie(literalAlternatives(body).map((w) => [...w].reverse().join('')), false),
  );
  out = out.replace(/\(\?!((?:[^()]|\((?:[^()])*\))*)\)/g, (_, body) => notTrie(literalAlternatives(body), true));
  if (hasLookaround(out)) throw new Error(`isbot pattern with a lookaround left: ${p}`);
  return out;
}

const FIELDS = { name: 'F_NAME', version: 'F_VERSION', model: 'F_MODEL', vendor: 'F_VENDOR', type: 'F_TYPE', architecture: 'F_ARCH' };

function cstr(s) {
  if (s === undefined || s === null) return 'nullptr';
  let out = '"';
  for (const ch of Buffer.from(String(s), 'utf8')) {
    if (ch === 0x22) out += '\\"';
    else if (ch === 0x5c) out += '\\\\';
    else if (ch >= 0x20 && ch < 0x7f) out += String.fromCharCode(ch);
    else out += `\\${ch.toString(8).padStart(3, '0')}`;
  }
  return `${out}"`;
}

// JS replacement text ($1) -> RE2 rewrite text (\1).
function rewriteText(s) {
  if (/\$[^1-9]/.test(s)) throw new Error(`unsupported replacement ${s}`);
  return s.replace(/\\/g, '\\\\').replace(/\$([1-9])/g, '\\$1');
}

function generate() {
  const rules = uaParserRules();
  const maps = [];
  const mapIndex = new Map();
  const propArrays = [];
  const used = new Set();
  const out = [];
  const cats = {};

  function mapOf(obj) {
    if (mapIndex.has(obj)) return mapIndex.get(obj);
    const entries = [];
    for (const key in obj) {
      const needles = Array.isArray(obj[key]) ? obj[key] : [obj[key]];
      for (const needle of needles) entries.push([key === '?' ? null : key, needle]);
    }
    const fallback = Object.prototype.hasOwnProperty.call(obj, '*') ? obj['*'] : undefined;
    maps.push({ entries, fallback });
    mapIndex.set(obj, maps.length - 1);
    return maps.length - 1;
  }

  function propOf(p) {
    if (typeof p === 'string') return `{${FIELDS[p]}, OP_CAPTURE, 0, nullptr, nullptr}`;
    const field = FIELDS[p[0]];
    if (!field) throw new Error(`unknown field ${p[0]}`);
    if (p.length === 2 && typeof p[1] === 'function') {
      const op = { lowerize: 'OP_LOWER', trim: 'OP_TRIM' }[p[1].name];
      if (!op) throw new Error(`unknown function ${p[1].name}`);
      return `{${field}, ${op}, 0, nullptr, nullptr}`;
    }
    if (p.length === 2) return `{${field}, OP_CONST, 0, ${cstr(p[1])}, nullptr}`;
    if (p.length === 3 && typeof p[1] === 'function') {
      if (p[1].name !== 'strMapper') throw new Error(`unknown function ${p[1].name}`);
      return `{${field}, OP_MAP, ${mapOf(p[2])}, nullptr, nullptr}`;
    }
    if ((p.length === 3 || p.length === 4) && isRegExp(p[1])) {
      if (p.length === 4 && p[3].name !== 'lowerize') throw new Error(`unknown function ${p[3].name}`);
      const op = (p[1].global ? 'OP_REPLACE_ALL' : 'OP_REPLACE') + (p.length === 4 ? '_LOWER' : '');
      const re = (p[1].ignoreCase ? '(?i)' : '') + p[1].source;
      return `{${field}, ${op}, 0, ${cstr(re)}, ${cstr(rewriteText(p[2]))}}`;
    }
    throw new Error(`unsupported property ${JSON.stringify(p)}`);
  }

  for (const cat of ['browser', 'cpu', 'device', 'engine', 'os']) {
    const list = rules[cat];
    const rows = [];
    for (let i = 0; i < list.length; i += 2) {
      const props = list[i + 1];
      const pname = `k${cat[0].toUpperCase()}${cat.slice(1)}Props${i / 2}`;
      propArrays.push(`const Prop ${pname}[] = {${props.map(propOf).join(', ')}};`);
      for (const re of list[i]) {
        const flags = re.flags.replace('g', '');
        if (flags !== 'i' && flags !== '') throw new Error(`unsupported flags ${re.flags} on ${re.source}`);
        const pre = flags === 'i' ? '(?i)' : '';
        let variants = [{ re: re.source }];
        if (needsRewrite(re.source)) {
          if (!REWRITES[re.source]) throw new Error(`${cat} rule RE2 cannot run and no rewrite: ${re.source}`);
          variants = REWRITES[re.source];
          used.add(re.source);
        }
        for (const v of variants) {
          const clear = v.clear ? `${v.clear[0]}, ${cstr(`${pre}^(?:${v.clear[1]})`)}` : '0, nullptr';
          rows.push(`  {${cstr(pre + v.re)}, ${v.unless ? cstr(pre + v.unless) : 'nullptr'}, ${clear}, ${props.length}, ${pname}},`);
        }
      }
    }
    cats[cat] = rows;
  }
  for (const k of Object.keys(REWRITES)) if (!used.has(k)) throw new Error(`rewrite for a rule ua-parser-js no longer has: ${k}`);

  // isbot's list alone: crawler-user-agents is the corpus its recall is
  // measured on, and the few of its patterns isbot lacks name real
  // browsers too (an Android build id, Facebook's in-app browser).
  const bots = require('isbot').list.map((p) => `(?i)${botPatternToRe2(p)}`);

  const v = (n) => `${n} ${pkgVersion(n)}`;
  out.push(
    '// Generated by packaging/gen-ua-tables.js; do not edit. Data from:',
    `//   ${v('ua-parser-js')}: browser, cpu, device, engine and os rules (MIT)`,
    `//   ${v('isbot')}: bot patterns (Unlicense)`,
    '// Their notices are in libengine/src/ua/THIRD_PARTY_NOTICES.md.',
    '// clang-format off',
    '#include "ua/tables.h"',
    '',
    'namespace hp::ua::tables {',
    'namespace {',
    '',
  );
  maps.forEach((m, i) => {
    out.push(`const MapEntry kMap${i}Entries[] = {${m.entries.map(([k, n]) => `{${cstr(k)}, ${cstr(n)}}`).join(', ')}};`);
  });
  out.push(...propArrays, '');
  for (const cat of Object.keys(cats)) {
    out.push(`const Rule k${cat[0].toUpperCase()}${cat.slice(1)}Rules[] = {`, ...cats[cat], '};', '');
  }
  out.push(`const char *const kBotPatterns[] = {`, ...bots.map((b) => `  ${cstr(b)},`), '};', '', '}  // namespace', '');
  out.push(
    `const Map kMaps[] = {${maps.map((m, i) => `{kMap${i}Entries, ${m.entries.length}, ${cstr(m.fallback)}}`).join(', ')}};`,
  );
  for (const cat of Object.keys(cats)) {
    const C = cat[0].toUpperCase() + cat.slice(1);
    out.push(`const Category k${C} = {k${C}Rules, sizeof k${C}Rules / sizeof k${C}Rules[0]};`);
  }
  out.push('const Strings kBots = {kBotPatterns, sizeof kBotPatterns / sizeof kBotPatterns[0]};', '');
  out.push('}  // namespace hp::ua::tables', '');
  return out.join('\n');
}

module.exports = { generate, outFile };

if (require.main === module) {
  const text = generate();
  if (process.argv.includes('--stdout')) process.stdout.write(text);
  else {
    fs.writeFileSync(outFile, text);
    console.log(`wrote ${path.relative(root, outFile)}`);
  }
}
