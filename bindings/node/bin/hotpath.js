#!/usr/bin/env node
'use strict';
// The `hotpath` command of the npm package. The Python package's
// (`python -m hotpath`, bindings/python/hotpath/cli.py) takes the same verbs
// and prints the same lines: one JSON object each, keys in snake_case, null
// where a value is absent, bytes as hex. Exit status 0, 1 when something
// failed (message on stderr; the other items still run), 2 for a usage error.
const fs = require('fs');
const hotpath = require('../lib/index.js');

const USAGE = `usage: hotpath <command> ...
  geo lookup [--db FILE] IP...        the record of each address, a JSON line each (like mmdblookup)
  geo build CSV OUT.mmdb              write a .mmdb from a CSV: network,field,... (a.b names nest)
  ua parse                            user agents on stdin, one per line; a JSON line each
  blobs ls STORE [PREFIX]             the files whose name starts with PREFIX, every revision
  blobs put STORE NAME [FILE] [--content-type T]   store FILE (stdin when - or left out) as NAME
  blobs get STORE NAME                write NAME's latest revision to stdout
  blobs rm STORE NAME                 delete every revision of NAME
  blobs stat STORE NAME               the latest revision's metadata
  limits check SPEC KEY --rate N [--period-ms MS] [--burst N] [--cost N]
                                      one GCRA hit on KEY (SPEC: memory, sqlite:PATH, redis://HOST:PORT/DB)
  recipes stats FILE --key FIELD [--key-type int|string]
                                      load FILE (a JSON array, plain or gzip) and print its counters`;

const UA_FIELDS = ['browser', 'browser_version', 'engine', 'engine_version', 'os', 'os_version', 'device_type',
  'vendor', 'model', 'cpu', 'is_bot'];
const STAT_FIELDS = ['id', 'filename', 'revision', 'length', 'chunk_size', 'content_type', 'sha256',
  'upload_date_ms'];
const RATE_FIELDS = ['allowed', 'remaining', 'retry_after_ms', 'reset_after_ms'];
const RECIPE_FIELDS = ['size', 'items', 'skipped', 'duplicates', 'embedded_errors', 'rule_errors', 'file_bytes',
  'json_bytes'];

class UsageError extends Error {}

const snake = (name) => name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
const pick = (obj, fields) => Object.fromEntries(fields.map((f) => [f, obj[f] === undefined ? null : obj[f]]));
const snakeKeys = (obj) => Object.fromEntries(Object.entries(obj).map(([k, v]) => [snake(k), v]));

// The value as the JSON both commands print.
function plain(value) {
  if (typeof value === 'bigint') return value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : String(value);
  if (value instanceof Uint8Array) return Buffer.from(value).toString('hex');
  if (Array.isArray(value)) return value.map(plain);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
  }
  return value === undefined ? null : value;
}
const emit = (value) => process.stdout.write(`${JSON.stringify(plain(value))}\n`);

let failures = 0;
function report(command, err) {
  failures++;
  process.stderr.write(`hotpath ${command}: ${err.message}\n`);
}

// Splits argv into positionals and --name value options (all options take a value).
function parseArgs(argv, known) {
  const positional = [];
  const options = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--') || arg === '-') {
      positional.push(arg);
      continue;
    }
    const [name, inline] = arg.slice(2).split(/=(.*)/s);
    if (!known.includes(name)) throw new UsageError(`unknown option --${name}`);
    const value = inline !== undefined ? inline : argv[++i];
    if (value === undefined) throw new UsageError(`--${name} needs a value`);
    options[name] = value;
  }
  return { positional, options };
}

function count(options, name, fallback) {
  if (options[name] === undefined) {
    if (fallback === undefined) throw new UsageError(`--${name} is required`);
    return fallback;
  }
  const n = Number(options[name]);
  if (!Number.isInteger(n)) throw new UsageError(`--${name} must be an integer`);
  return n;
}

function csvRows(text) {
  // RFC 4180: quoted fields may hold commas, quotes ("") and newlines.
  const rows = [];
  let row = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') field += text[++i];
      else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else field += c;
  }
  if (field !== '' || row.length) rows.push([...row, field]);
  return rows.filter((r) => !(r.length === 1 && r[0] === ''));
}

function csvRecords(path) {
  const [header, ...rows] = csvRows(fs.readFileSync(path, 'utf8'));
  if (!header || header[0] !== 'network') throw new Error(`${path}: the first column must be 'network'`);
  return rows.map((row) => {
    const record = {};
    header.slice(1).forEach((name, i) => {
      const cell = row[i + 1];
      if (cell === undefined || cell === '') return;
      const parts = name.split('.');
      let node = record;
      for (const part of parts.slice(0, -1)) node = node[part] || (node[part] = {});
      node[parts[parts.length - 1]] = cell;
    });
    return [row[0], record];
  });
}

function blobStat(file) {
  const stat = pick(snakeKeys(file), STAT_FIELDS);
  stat.upload_date_ms = file.uploadDate instanceof Date ? file.uploadDate.getTime() : file.uploadDate;
  return { ...stat, metadata: file.metadata || {} };
}

const commands = {
  'geo lookup': async (argv) => {
    const { positional: ips, options } = parseArgs(argv, ['db']);
    if (!ips.length) throw new UsageError('geo lookup needs at least one IP');
    const db = options.db || process.env.HOTPATH_GEO_DB;
    if (!db) throw new Error('no database: pass --db FILE or set HOTPATH_GEO_DB');
    const reader = new hotpath.GeoReader(db);
    try {
      for (const ip of ips) {
        try {
          const [record, prefix] = reader.getWithPrefixLength(ip);
          emit({ ip, prefix_length: prefix, record });
        } catch (err) {
          report('geo lookup', err);
        }
      }
    } finally {
      reader.close();
    }
  },
  'geo build': async (argv) => {
    const { positional } = parseArgs(argv, []);
    if (positional.length !== 2) throw new UsageError('geo build needs CSV and OUT.mmdb');
    const entries = csvRecords(positional[0]);
    hotpath.writeGeoDatabase(positional[1], entries, { databaseType: 'hotpath-csv' });
    emit({ path: positional[1], networks: entries.length });
  },
  'ua parse': async (argv) => {
    parseArgs(argv, []);
    const lines = fs.readFileSync(0, 'utf8').split('\n');
    if (lines[lines.length - 1] === '') lines.pop();
    for (const line of lines) emit(pick(snakeKeys(hotpath.ua.parse(line.replace(/\r$/, ''))), UA_FIELDS));
  },
  blobs: async (action, argv) => {
    const { positional, options } = parseArgs(argv, action === 'put' ? ['content-type'] : []);
    const [spec, name, file] = positional;
    const wanted = { ls: [1, 2], put: [2, 3], get: [2, 2], rm: [2, 2], stat: [2, 2] }[action];
    if (!wanted) throw new UsageError(`unknown command blobs ${action}`);
    if (positional.length < wanted[0] || positional.length > wanted[1]) {
      throw new UsageError(`blobs ${action}: wrong number of arguments`);
    }
    const store = hotpath.blobs.open(spec);
    try {
      if (action === 'ls') {
        for await (const f of store.files({ prefix: name || '' })) emit(blobStat(f));
      } else if (action === 'put') {
        const data = file === undefined || file === '-' ? fs.readFileSync(0) : fs.readFileSync(file);
        const putOptions = options['content-type'] ? { contentType: options['content-type'] } : {};
        emit(blobStat(await store.put(name, data, putOptions)));
      } else if (action === 'get') {
        process.stdout.write(await store.get(name));
      } else if (action === 'rm') {
        emit({ deleted: await store.delete(name) });
      } else {
        const stat = await store.stat(name);
        if (!stat) throw new Error(`blobs: no file named '${name}'`);
        emit(blobStat(stat));
      }
    } finally {
      store.close();
    }
  },
  'limits check': async (argv) => {
    const { positional, options } = parseArgs(argv, ['rate', 'period-ms', 'burst', 'cost']);
    if (positional.length !== 2) throw new UsageError('limits check needs SPEC and KEY');
    const rate = { rate: count(options, 'rate'), periodMs: count(options, 'period-ms', 1000), cost: count(options, 'cost', 1) };
    if (options.burst !== undefined) rate.burst = count(options, 'burst');
    const limiter = new hotpath.Limiter(positional[0]);
    try {
      emit(pick(snakeKeys(await limiter.hit(positional[1], rate)), RATE_FIELDS));
    } finally {
      limiter.close();
    }
  },
  'recipes stats': async (argv) => {
    const { positional, options } = parseArgs(argv, ['key', 'key-type']);
    if (positional.length !== 1 || !options.key) throw new UsageError('recipes stats needs FILE and --key FIELD');
    const set = new hotpath.Recipes();
    try {
      const table = set.define('recipes', { key: options.key, keyType: options['key-type'] || 'int' });
      emit(pick(snakeKeys(await table.load(positional[0])), RECIPE_FIELDS));
    } finally {
      set.close();
    }
  },
};

async function main(argv) {
  if (!argv.length || argv[0] === '--help' || argv[0] === '-h') {
    process.stdout.write(`${USAGE}\n`);
    return argv.length ? 0 : 2;
  }
  const [group, action, ...rest] = argv;
  const command = `${group} ${action}`;
  if (rest.includes('--help') || rest.includes('-h') || action === '--help' || action === '-h') {
    const lines = USAGE.split('\n').filter((l) => l.startsWith(`  ${group} ${action === '--help' ? '' : action}`));
    process.stdout.write(`${lines.length ? `usage:\n${lines.join('\n')}` : USAGE}\n`);
    return 0;
  }
  const run = group === 'blobs' ? (args) => commands.blobs(action, args) : commands[command];
  if (!run) {
    process.stderr.write(`hotpath: unknown command '${command}'\n${USAGE}\n`);
    return 2;
  }
  try {
    await run(rest);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`hotpath ${command}: ${err.message}\n${USAGE}\n`);
      return 2;
    }
    report(command, err);
  }
  return failures ? 1 : 0;
}

main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
