'use strict';
// A SpeedBox file server: the seed's HTTP contract on a hotpath blob store.
// Uploads are parsed as they arrive and piped straight into the store, so
// memory stays bounded whatever the file size; downloads are streamed from
// the store with Range and ETag support. Every server of a deployment opens
// the same store (one SQLite file, or Redis), so any of them can answer.
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');
const { pipeline } = require('node:stream');
// busboy: a streaming multipart parser that honours backpressure (it stops
// reading the request while the file stream is full), with no temporary
// files and no buffering of whole parts, which is what a bounded-memory
// upload needs; multer and formidable buffer to memory or disk.
const busboy = require('busboy');
// Conditional requests (If-None-Match, If-Modified-Since) and Range headers
// as express reads them.
const fresh = require('fresh');
const rangeParser = require('range-parser');
const { setupWorker, workerIndex } = require('hotpath/cluster');
const { releaseBuffer } = require('../..').blobs;
const { Staging } = require('./staging');

const UPLOAD_FIELD = 'filename';
// Content types a download is served with; any other is stored as
// application/octet-stream, so an upload cannot make the service answer a
// type of its choosing.
const ALLOWED_TYPES = new Set([
  'application/json', 'application/octet-stream', 'application/pdf', 'application/zip', 'application/gzip',
  'audio/mpeg', 'audio/ogg', 'image/gif', 'image/jpeg', 'image/png', 'image/webp', 'image/svg+xml',
  'text/csv', 'text/html', 'text/plain', 'video/mp4', 'video/webm',
]);
// Types a browser runs (script in the page): served as attachments.
const ACTIVE_TYPES = new Set(['text/html', 'image/svg+xml']);

function storedType(mimeType) {
  const type = String(mimeType || '').toLowerCase();
  return ALLOWED_TYPES.has(type) ? type : 'application/octet-stream';
}

/**
 * Upload limits and timeouts from the environment (defaults): SPEEDBOX_MAX_FILE_BYTES
 * (8 GiB), SPEEDBOX_MAX_PARTS (16), SPEEDBOX_MAX_FILES (4), SPEEDBOX_HEADERS_TIMEOUT_MS
 * (20000), SPEEDBOX_IDLE_TIMEOUT_MS (60000: a connection silent that long is closed).
 */
function limitsFromEnv(env) {
  const n = (name, def) => {
    const v = Number(env[name] || def);
    if (!Number.isSafeInteger(v) || v < 1) throw new RangeError(`${name} must be a positive integer`);
    return v;
  };
  return {
    fileSize: n('SPEEDBOX_MAX_FILE_BYTES', 8 * 1024 ** 3),
    parts: n('SPEEDBOX_MAX_PARTS', 16),
    files: n('SPEEDBOX_MAX_FILES', 4),
    headersTimeoutMs: n('SPEEDBOX_HEADERS_TIMEOUT_MS', 20000),
    idleTimeoutMs: n('SPEEDBOX_IDLE_TIMEOUT_MS', 60000),
  };
}

/** An http.Server that drops connections slow to send their headers or silent for too long. */
function guardedServer(handler, { headersTimeoutMs, idleTimeoutMs }) {
  const server = http.createServer({ connectionsCheckingInterval: Math.min(1000, headersTimeoutMs) }, handler);
  server.headersTimeout = headersTimeoutMs;
  // Large uploads may take longer than any request timeout; a stalled one is
  // caught by the idle timeout instead.
  server.requestTimeout = 0;
  server.setTimeout(idleTimeoutMs);
  return server;
}

// Network uploads arrive slower than the store takes them: the shallowest
// store buffer (2 default chunks: one filling while one is stored) keeps
// each upload's memory small.
const UPLOAD_BUFFER = 2 * 261120;
// The most bytes Node's HTTP parser hands over in one body piece (one
// socket read): the request pauses while the staging buffers (staging.js)
// have less room than that.
const BODY_PIECE_MAX = 64 * 1024;

/** Open the hotpath blob store named by `spec` ('sqlite:/path/store.db', 'redis://...'). */
function openStore(spec, options = {}) {
  return require('../..').blobs.open(spec, options);
}

// The store's files are readable by this user only: new files get mode 0600
// and the store's directory 0700.
function privateStoreDir(spec) {
  process.umask(0o077);
  const dir = spec.startsWith('sqlite:') ? path.dirname(spec.slice(7)) : spec.startsWith('dir:') ? spec.slice(4) : null;
  if (dir) require('node:fs').mkdirSync(dir, { recursive: true, mode: 0o700 });
}

// BLOBS_DURABLE=1: a SQLite store whose commits survive a power loss
// (chunk files and the WAL synced before an upload's 200); docs/blobs.md
// gives the cost. Redis stores are as durable as the server's appendfsync.
function storeOptionsFromEnv(env) {
  return env.BLOBS_DURABLE === '1' ? { durable: true } : {};
}

function storeSpecFromEnv(env) {
  if (env.SPEEDBOX_STORE) return env.SPEEDBOX_STORE;
  if (env.REDIS_URL) return env.REDIS_URL;
  return `sqlite:${env.SPEEDBOX_DB || path.join(os.tmpdir(), 'speedbox', 'speedbox.db')}`;
}

// Answers `obj` as JSON. Given a request whose body is still arriving, the
// response ends only once that body is read: node closes the connection of
// a response that ends first, and the reset of a socket with the body still
// arriving can overtake the answer on its way through a proxy.
function json(res, status, obj, req = null) {
  const body = JSON.stringify(obj);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
  });
  if (!req || req.complete) return res.end(body);
  res.write(body);
  req.once('end', () => res.end());
}

// The one range of a `length`-byte file that a Range header asks for:
// {start, end} (inclusive), 'unsatisfiable', or null to send it all (no
// header, a malformed one, or several ranges, which RFC 9110 lets a server
// ignore).
function rangeOf(header, length) {
  if (!header) return null;
  const ranges = rangeParser(length, header, { combine: true });
  // range-parser refuses a suffix longer than the file, which RFC 9110
  // 14.1.2 answers with the whole file.
  if (ranges === -1 && length > 0 && /^bytes=\s*-\s*0*[1-9]\d*\s*$/.test(header)) return { start: 0, end: length - 1 };
  if (ranges === -1) return 'unsatisfiable';
  if (ranges === -2 || ranges.type !== 'bytes' || ranges.length !== 1) return null;
  return ranges[0];
}

function statusOf(err) {
  if (err.status) return err.status;
  if (err.code === 'HP_EUNAVAILABLE') return 503;
  if (err.code === 'HP_EINVAL' || err instanceof RangeError || err instanceof TypeError) return 400;
  return 500;
}

// Whether any of these streams has bytes buffered.
function holdsBytes(streams) {
  for (const s of streams) if (s.readableLength > 0) return true;
  return false;
}

function createHandler(store, { port, limits = limitsFromEnv({}) } = {}) {
  async function upload(req, res) {
    let parser;
    try {
      parser = busboy({
        headers: req.headers,
        // busboy calls a file that reaches fileSize too large: one byte more is.
        limits: { fileSize: limits.fileSize + 1, parts: limits.parts, files: limits.files, fields: limits.parts, fieldSize: 64 * 1024 },
      });
    } catch (err) {
      return json(res, 400, { message: err.message });
    }
    let writer = null;
    let stored = null; // resolves when the file is committed
    const parts = new Set(); // file streams busboy made (stored or skipped) not ended yet
    let staging = null;
    let draining = false; // the upload failed: the rest of the body goes into the void
    // The store failed or refused the file before the form ended: answer at
    // once, stop parsing, and read the rest of the body into the void.
    const failEarly = (err) => {
      if (res.headersSent) return;
      json(res, statusOf(err), { message: err.message }, req);
      draining = true;
      if (staging) staging.onRoom = null;
      req.resume();
      parser.destroy(err);
    };
    // Parts that are skipped are drained; a parser destroyed meanwhile
    // fails them with an error nobody needs to hear.
    const skip = (file) => file.on('error', () => {}).resume();
    // busboy reports a limit from inside its parse loop: the upload stops
    // once that returns, or when the form ends first.
    let limitError = null;
    const refuse = () => {
      if (writer) writer.destroy(limitError);
      failEarly(limitError);
    };
    const tooLarge = (what) => {
      if (limitError) return;
      limitError = Object.assign(new RangeError(what), { status: 413 });
      setImmediate(refuse);
    };
    parser.on('partsLimit', () => tooLarge(`more than ${limits.parts} parts`));
    parser.on('filesLimit', () => tooLarge(`more than ${limits.files} files`));
    parser.on('file', (field, file, info) => {
      parts.add(file);
      file.once('end', () => parts.delete(file)).once('close', () => parts.delete(file));
      if (field !== UPLOAD_FIELD || writer || !info.filename) return skip(file);
      try {
        writer = store.createWriteStream(info.filename, {
          contentType: storedType(info.mimeType),
          bufferBytes: UPLOAD_BUFFER,
        });
      } catch (err) {
        // A name the store refuses (too long, NUL inside).
        writer = { destroy() {} };
        stored = Promise.reject(err);
        stored.catch(() => {});
        skip(file);
        return failEarly(err);
      }
      file.on('limit', () => tooLarge(`file over ${limits.fileSize} bytes`));
      staging = new Staging(writer);
      // Copied out as they are parsed: the file stream never holds a piece.
      file.on('data', (piece) => staging.push(piece));
      stored = new Promise((resolve, reject) => {
        // A destroyed parser or a store failure: the writer aborts the
        // upload, and nothing becomes visible.
        writer.on('error', reject);
        file.on('error', (err) => {
          writer.destroy(err);
          reject(err);
        });
        file.on('end', () => {
          if (limitError || file.truncated) return; // refuse() answers
          staging.end((err) => (err ? reject(err) : resolve()));
        });
      });
      stored.catch((err) => {
        if (!parser.writableFinished) failEarly(err);
      });
    });
    // Read by hand rather than piped: each body piece is released once
    // parsed, with its file bytes copied out (staging.js), and the request
    // pauses while the store is behind. A failed upload must not destroy
    // the request (see failEarly); a client that goes away still fails the
    // parser.
    req.on('data', (piece) => {
      const parsing = !draining && !parser.destroyed;
      if (parsing) parser.write(piece);
      // Nothing of it is left in the parser or in a file stream (a view
      // of it emptied there would break the stream's count of bytes).
      if (!parsing || (parser.writableLength === 0 && !holdsBytes(parts))) {
        releaseBuffer(piece);
      }
      if (staging && !draining && staging.room() < BODY_PIECE_MAX) {
        req.pause();
        staging.onRoom = () => {
          if (staging.room() < BODY_PIECE_MAX) return;
          staging.onRoom = null;
          req.resume();
        };
      }
    });
    req.on('end', () => {
      if (!draining && !parser.destroyed) parser.end();
    });
    req.on('error', (err) => parser.destroy(err));
    req.on('close', () => {
      if (!req.complete) parser.destroy(new Error('the client went away mid-upload'));
    });
    let settled = false;
    const formDone = (err) => {
      if (settled) return;
      settled = true;
      onFormDone(err);
    };
    parser.on('error', formDone);
    parser.on('finish', () => formDone());
    const onFormDone = async (err) => {
      if (limitError) return refuse();
      // A client that went away, or a malformed form, destroys the parser,
      // which destroys the file stream and the writer: the store aborts the
      // upload and nothing becomes visible.
      if (err) {
        if (writer) writer.destroy(err);
        if (!res.headersSent && !req.destroyed) json(res, 400, { message: err.message });
        return;
      }
      if (!writer) return json(res, 400, { message: `No file in field "${UPLOAD_FIELD}"` });
      try {
        await stored;
        json(res, 200, { message: 'Success' });
      } catch (e) {
        if (!res.headersSent) json(res, statusOf(e), { message: e.message });
      }
    };
  }

  async function download(req, res, url) {
    const name = url.searchParams.get('filename');
    // A name no store could hold (too long, NUL inside) names no file either.
    const file = name ? await store.stat(name).catch((err) => (err instanceof RangeError ? null : Promise.reject(err))) : null;
    if (!file) return json(res, 400, { message: 'File not found' });
    const etag = `"${file.sha256}"`;
    const type = storedType(file.contentType);
    const headers = {
      'content-type': type,
      'x-content-type-options': 'nosniff',
      etag,
      'accept-ranges': 'bytes',
      'last-modified': new Date(file.uploadDate).toUTCString(),
    };
    if (ACTIVE_TYPES.has(type)) headers['content-disposition'] = `attachment; filename*=UTF-8''${encodeURIComponent(file.filename)}`;
    if (fresh(req.headers, headers)) {
      res.writeHead(304, headers);
      return res.end();
    }
    const ifRange = req.headers['if-range'];
    const range = ifRange && ifRange !== etag ? null : rangeOf(req.headers.range, file.length);
    if (range === 'unsatisfiable') {
      res.writeHead(416, { ...headers, 'content-range': `bytes */${file.length}` });
      return res.end();
    }
    let status = 200;
    let opts = {};
    headers['content-length'] = file.length;
    if (range) {
      status = 206;
      opts = { start: range.start, end: range.end };
      headers['content-length'] = range.end - range.start + 1;
      headers['content-range'] = `bytes ${range.start}-${range.end}/${file.length}`;
    }
    res.writeHead(status, headers);
    if (req.method === 'HEAD' || headers['content-length'] === 0) return res.end();
    // By id, so a new revision committed meanwhile does not change the bytes
    // of this response.
    const body = store.createReadStream({ id: file.id }, opts);
    pipeline(body, res, (err) => {
      if (err && !res.destroyed) res.destroy(err);
    });
  }

  async function files(res) {
    const names = new Set();
    let cursor = null;
    do {
      const page = await store.list({ cursor, limit: 1000, latestOnly: true });
      for (const f of page.files) names.add(f.filename);
      cursor = page.cursor;
    } while (cursor);
    json(res, 200, { files: [...names] });
  }

  return async function handle(req, res) {
    const url = new URL(req.url, 'http://localhost');
    try {
      if (req.method === 'POST' && url.pathname === '/upload') return await upload(req, res);
      if ((req.method === 'GET' || req.method === 'HEAD') && url.pathname === '/download') {
        return await download(req, res, url);
      }
      if (req.method === 'GET' && url.pathname === '/files') return await files(res);
      if (req.method === 'GET' && url.pathname === '/health') return json(res, 200, { status: 'ok' });
      if (req.method === 'GET' && url.pathname === '/') {
        return json(res, 200, { msg: `resp from server listening at port : ${port}` });
      }
      json(res, 404, { message: 'Not found' });
    } catch (err) {
      if (res.headersSent) return res.destroy(err);
      json(res, statusOf(err), { message: err.message });
    }
  };
}

/**
 * Start one file server.
 * @returns {Promise<{server: http.Server, store: object, close: () => Promise<void>}>}
 */
async function startServer({ port, host = '127.0.0.1', spec, store, storeOptions, limits = limitsFromEnv({}) }) {
  store = store || openStore(spec, storeOptions);
  const server = guardedServer(createHandler(store, { port, limits }), limits);
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    // exclusive: in a cluster worker too, this server's own socket.
    server.listen({ port, host, exclusive: true }, resolve);
  });
  const close = () =>
    new Promise((resolve) => {
      server.close(() => {
        store.close();
        resolve();
      });
      server.closeAllConnections?.();
    });
  return { server, store, close, port: server.address().port };
}

// How every SpeedBox process is run (start.js's workers; the tests and the
// bench start them the same way): plain node, no flags. MALLOC_ARENA_MAX=1:
// glibc otherwise gives every thread that allocates (libuv's pool runs the
// store's SQLite work) an arena of its own, and each keeps what it once
// held; one arena costs a 1 GiB upload about 3 MB less peak memory than
// glibc's default (1 MB less than two) and no measurable speed.
const processEnv = (env) => ({ MALLOC_ARENA_MAX: '1', ...env });

/**
 * Runs a server or balancer being started (`starting`), as `name` at
 * `where`, until it is told to stop; one that cannot start exits 1. As a
 * hotpath/cluster worker (start.js), SIGTERM stops it gracefully: no new
 * connections, the requests in progress are answered, then `release(started)`
 * runs. Run alone, SIGTERM and SIGINT close it at once.
 */
function runUntilStopped(name, starting, release, where) {
  starting.then(
    (started) => {
      console.log(`${name} on ${where}`);
      if (workerIndex() !== null) return setupWorker(started.server, { close: () => release(started) });
      const stop = () => started.close().then(() => process.exit(0));
      process.once('SIGTERM', stop);
      process.once('SIGINT', stop);
    },
    (err) => {
      console.error(`${name}: ${err.message}`);
      process.exit(1);
    },
  );
}

/**
 * Run one server as the environment says (SERVER_PORT, HOST, the store and
 * limit variables), on `store` when given (bench/blobs/dir-server.js gives
 * the plain-directory baseline).
 */
function main(store) {
  const port = Number(process.env.SERVER_PORT || process.env.PORT || 8001);
  const host = process.env.HOST || '127.0.0.1';
  const spec = storeSpecFromEnv(process.env);
  privateStoreDir(spec);
  const storeOptions = storeOptionsFromEnv(process.env);
  const starting = startServer({ port, host, spec, storeOptions, store: store && store(spec), limits: limitsFromEnv(process.env) });
  const where = `http://${host}:${port}, store ${spec}${storeOptions.durable ? ' (durable)' : ''}`;
  runUntilStopped('speedbox server', starting, (started) => started.store.close(), where);
}

if (require.main === module) main();

module.exports = {
  main, startServer, createHandler, openStore, storeSpecFromEnv, storeOptionsFromEnv, privateStoreDir, limitsFromEnv, guardedServer, rangeOf,
  runUntilStopped, processEnv,
};
