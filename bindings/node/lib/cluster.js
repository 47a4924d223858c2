'use strict';

// Sticky sessions for a Node cluster: the primary accepts every connection
// itself, asks hotpath which worker owns the client address (the choice is
// made in C by hp_sticky_pick) and hands the socket to that worker, which
// re-emits it on its HTTP server. Only Node can pass sockets between
// processes, so this glue lives in the binding.

const cluster = require('cluster');
const net = require('net');
const os = require('os');
const { pick } = require('./sticky');

/** Environment variable that tells a worker its slot, 0 .. workers-1. */
const INDEX_ENV = 'HOTPATH_WORKER_INDEX';
/** Environment variable that tells a worker how many slots there are. */
const COUNT_ENV = 'HOTPATH_WORKER_COUNT';

const MSG_CONNECTION = 'hotpath:sticky:connection';
const MSG_READY = 'hotpath:sticky:ready';
const MSG_ACK = 'hotpath:sticky:ack';

const MODES = new Set(['modulo', 'jump']);

function checkOptions(options) {
  if (options === null || typeof options !== 'object') {
    throw new TypeError('setupPrimary: options must be an object');
  }
  const {
    port,
    host = '127.0.0.1',
    workers = os.cpus().length || 1,
    mode = 'modulo',
    onWorkerExit,
    maxPending = 1024,
    killTimeoutMs = 5000,
    env = {},
  } = options;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new RangeError('setupPrimary: port must be an integer in 0..65535');
  }
  if (typeof host !== 'string' || host === '') throw new TypeError('setupPrimary: host must be a non-empty string');
  if (!Number.isInteger(workers) || workers < 1 || workers > 1024) {
    throw new RangeError('setupPrimary: workers must be an integer in 1..1024');
  }
  if (!MODES.has(mode)) throw new RangeError(`setupPrimary: mode must be 'modulo' or 'jump', not ${String(mode)}`);
  if (onWorkerExit !== undefined && typeof onWorkerExit !== 'function') {
    throw new TypeError('setupPrimary: onWorkerExit must be a function');
  }
  if (!Number.isInteger(maxPending) || maxPending < 0) {
    throw new RangeError('setupPrimary: maxPending must be a non-negative integer');
  }
  if (!Number.isInteger(killTimeoutMs) || killTimeoutMs < 0) {
    throw new RangeError('setupPrimary: killTimeoutMs must be a non-negative integer');
  }
  if (env === null || typeof env !== 'object') throw new TypeError('setupPrimary: env must be an object');
  return { port, host, workers, mode, onWorkerExit, maxPending, killTimeoutMs, env };
}

/**
 * Runs in the cluster primary: forks `workers` workers, listens on
 * host:port, and hands each connection to the worker that
 * hotpath.sticky.pick(remoteAddress, workers, mode) names. A worker that
 * dies is re-forked in the same slot, so a client keeps its worker index.
 * Connections for a slot whose worker is (re)starting wait, paused, until
 * the worker calls setupWorker() (at most `maxPending` per slot; more are
 * closed).
 *
 * @param {object} options
 * @param {number} options.port  TCP port; 0 picks a free one (see `ready`).
 * @param {string} [options.host='127.0.0.1']
 * @param {number} [options.workers=os.cpus().length]
 * @param {'modulo'|'jump'} [options.mode='modulo']
 * @param {(info: {index: number, worker: import('cluster').Worker, code: number|null, signal: string|null}) => void} [options.onWorkerExit]
 * @param {number} [options.maxPending=1024]
 * @param {number} [options.killTimeoutMs=5000]  close(): SIGTERM, then SIGKILL after this long
 * @param {Record<string, string>} [options.env]  extra environment for the workers
 * @returns {import('../cluster').StickyPrimary}
 */
function setupPrimary(options) {
  if (!cluster.isPrimary) throw new Error('setupPrimary: call it in the cluster primary');
  const opts = checkOptions(options);
  const n = opts.workers;
  const slots = Array.from({ length: n }, () => ({
    worker: null,
    ready: false,
    pending: [], // sockets waiting for the slot's worker
    inflight: new Map(), // id -> socket sent but not yet acknowledged
    failures: 0,
    timer: null,
  }));
  let closing = false;
  let nextId = 0;

  const flush = (slot) => {
    const queued = slot.pending;
    slot.pending = [];
    for (const socket of queued) handOver(slot, socket);
  };

  // The primary keeps its copy of a socket until the worker acknowledges
  // it, so a worker that dies with sockets in flight loses none of them:
  // they go to its replacement.
  const handOver = (slot, socket) => {
    if (socket.destroyed) return;
    if (!slot.ready || !slot.worker.isConnected()) {
      if (slot.pending.length >= opts.maxPending) {
        socket.destroy();
        return;
      }
      slot.pending.push(socket);
      return;
    }
    const id = ++nextId;
    slot.inflight.set(id, socket);
    slot.worker.send({ type: MSG_CONNECTION, id }, socket, { keepOpen: true }, () => {
      // On a send error the socket stays in flight and is handed to the
      // next worker of the slot when this one exits.
    });
  };

  const fork = (index) => {
    const slot = slots[index];
    slot.timer = null;
    slot.ready = false;
    const worker = cluster.fork({ ...opts.env, [INDEX_ENV]: String(index), [COUNT_ENV]: String(n) });
    slot.worker = worker;
    let readyOnce = false;
    worker.on('message', (msg) => {
      if (!msg || slot.worker !== worker) return;
      if (msg.type === MSG_ACK) {
        const socket = slot.inflight.get(msg.id);
        slot.inflight.delete(msg.id);
        // Closes only the primary's descriptor; the worker owns the connection.
        if (socket) socket.destroy();
      } else if (msg.type === MSG_READY) {
        slot.ready = true;
        readyOnce = true;
        maybeReady();
        flush(slot);
      }
    });
    worker.on('disconnect', () => {
      if (slot.worker === worker) slot.ready = false;
    });
    worker.on('exit', (code, signal) => {
      if (slot.worker !== worker) return;
      const wasReady = readyOnce;
      slot.ready = false;
      slot.worker = null;
      // Sockets the dead worker never acknowledged go first in the queue.
      slot.pending = [...slot.inflight.values(), ...slot.pending];
      slot.inflight.clear();
      if (opts.onWorkerExit) opts.onWorkerExit({ index, worker, code, signal });
      if (closing) {
        for (const s of slot.pending) s.destroy();
        slot.pending = [];
        return;
      }
      // A worker that dies before it is ready is re-forked with a growing
      // delay (up to 5 s), so a crash at start-up does not spin the CPU.
      slot.failures = wasReady ? 0 : slot.failures + 1;
      const delay = slot.failures === 0 ? 0 : Math.min(5000, 50 * 2 ** (slot.failures - 1));
      slot.timer = setTimeout(() => fork(index), delay);
    });
  };

  const server = net.createServer({ pauseOnConnect: true }, (socket) => {
    const address = socket.remoteAddress;
    if (closing || typeof address !== 'string') {
      socket.destroy();
      return;
    }
    // A socket reset while it waits in a queue must not crash the primary.
    socket.on('error', () => socket.destroy());
    socket.once('close', () => {
      for (const slot of slots) {
        const at = slot.pending.indexOf(socket);
        if (at >= 0) slot.pending.splice(at, 1);
      }
    });
    handOver(slots[pick(address, n, opts.mode)], socket);
  });

  let resolveReady;
  let rejectReady;
  const ready = new Promise((resolve, reject) => {
    resolveReady = resolve;
    rejectReady = reject;
  });
  // Callers that never look at `ready` must not get an unhandled rejection.
  ready.catch(() => {});
  let listening = false;
  function maybeReady() {
    if (listening && slots.every((s) => s.ready)) resolveReady(server.address());
  }
  server.once('error', (err) => {
    if (!listening) {
      rejectReady(err);
      close();
    }
  });
  server.listen(opts.port, opts.host, () => {
    listening = true;
    maybeReady();
  });
  for (let i = 0; i < n; i++) fork(i);

  function close() {
    if (closing) return closed;
    closing = true;
    closed = new Promise((resolve) => {
      const exits = [];
      for (const slot of slots) {
        if (slot.timer) clearTimeout(slot.timer);
        for (const s of [...slot.pending, ...slot.inflight.values()]) s.destroy();
        slot.pending = [];
        slot.inflight.clear();
        const w = slot.worker;
        if (w && !w.isDead()) {
          exits.push(
            new Promise((r) => {
              // SIGTERM at once (a worker busy with its own I/O may never act
              // on an IPC disconnect request), SIGKILL if it lingers.
              const force = setTimeout(() => w.process.kill('SIGKILL'), opts.killTimeoutMs);
              w.once('exit', () => {
                clearTimeout(force);
                r();
              });
              w.process.kill('SIGTERM');
            }),
          );
        }
      }
      const serverClosed = new Promise((r) => (listening ? server.close(() => r()) : r()));
      Promise.all([serverClosed, ...exits]).then(() => resolve());
    });
    return closed;
  }
  let closed;

  return {
    server,
    ready,
    get workers() {
      return slots.map((s) => s.worker);
    },
    indexOf: (address) => pick(address, n, opts.mode),
    close,
  };
}

/**
 * Runs in a worker: takes the connections the primary hands over and emits
 * them on `httpServer` (which need not listen), then tells the primary this
 * worker is ready. Call it once the server's routes and socket.io are set up.
 * @param {import('net').Server} httpServer  an http/https/net server
 * @returns {{index: number, workers: number}}
 */
function setupWorker(httpServer) {
  if (!cluster.isWorker || typeof process.send !== 'function') {
    throw new Error('setupWorker: call it in a worker forked by setupPrimary');
  }
  if (!(httpServer instanceof net.Server)) throw new TypeError('setupWorker: httpServer must be a net.Server');
  process.on('message', (msg, socket) => {
    if (!msg || msg.type !== MSG_CONNECTION || !socket) return;
    httpServer.emit('connection', socket);
    socket.resume();
    process.send({ type: MSG_ACK, id: msg.id });
  });
  process.send({ type: MSG_READY });
  return { index: workerIndex(), workers: Number(process.env[COUNT_ENV]) };
}

/**
 * This worker's slot (0 .. workers-1), or null outside a setupPrimary worker.
 * @returns {number | null}
 */
function workerIndex() {
  const v = process.env[INDEX_ENV];
  return v === undefined || !/^\d+$/.test(v) ? null : Number(v);
}

module.exports = { setupPrimary, setupWorker, workerIndex, INDEX_ENV, COUNT_ENV };
