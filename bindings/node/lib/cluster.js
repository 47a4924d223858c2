'use strict';

// One supervisor for a Node cluster. The primary forks a fixed number of
// workers, each in a slot (0 .. workers-1) that keeps its index across
// restarts, re-forks a worker that dies (with a growing delay while it keeps
// dying before it is ready), relays messages, and on SIGTERM/SIGINT stops
// the workers (SIGKILL after a timeout). Two ways to share the port:
//
// - 'plain': no routing. Workers listen on the port themselves and node's
//   cluster scheduling spreads the connections; or each worker listens on a
//   port of its own (leave `port` out and call server.listen() before
//   setupWorker()). A SpeedBox deployment would run its file servers this
//   way: workers: SERVERS, each listening on FIRST_SERVER_PORT + workerIndex(),
//   in place of examples/speedbox/start.js's spawned, hand-restarted children.
// - 'modulo' / 'jump' (sticky sessions): the primary accepts every connection
//   itself, asks hotpath which worker owns the client address (the choice is
//   made in C by hp_sticky_pick) and hands the socket to that worker, which
//   re-emits it on its HTTP server. Only Node can pass sockets between
//   processes, so this glue lives in the binding.

const cluster = require('cluster');
const { EventEmitter } = require('events');
const net = require('net');
const os = require('os');
const { pick } = require('./sticky');

/** Environment variable that tells a worker its slot, 0 .. workers-1. */
const INDEX_ENV = 'HOTPATH_WORKER_INDEX';
/** Environment variable that tells a worker how many slots there are. */
const COUNT_ENV = 'HOTPATH_WORKER_COUNT';
/** Environment variable the default worker count is read from. */
const WORKERS_ENV = 'WORKERS';
// Plain mode: where setupWorker() listens, and the mode itself.
const LISTEN_ENV = 'HOTPATH_LISTEN';
const MODE_ENV = 'HOTPATH_CLUSTER_MODE';

const MSG_CONNECTION = 'hotpath:sticky:connection';
const MSG_READY = 'hotpath:sticky:ready';
const MSG_ACK = 'hotpath:sticky:ack';
const MSG_FAILED = 'hotpath:cluster:failed';
// askAll(): a worker's question, the primary's copy to each worker, each
// worker's answer, and the gathered answers back to the asker.
const MSG_ASK = 'hotpath:cluster:ask';
const MSG_QUESTION = 'hotpath:cluster:question';
const MSG_ANSWER = 'hotpath:cluster:answer';
const MSG_ANSWERS = 'hotpath:cluster:answers';

const MODES = new Set(['plain', 'modulo', 'jump']);

/** The worker count named by the WORKERS variable, else one per CPU. */
function workersFromEnv(env = process.env) {
  const raw = env[WORKERS_ENV];
  if (raw === undefined || raw === '') return (os.availableParallelism ? os.availableParallelism() : os.cpus().length) || 1;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 1024) {
    throw new RangeError(`${WORKERS_ENV} must be an integer in 1..1024, not '${raw}'`);
  }
  return n;
}

function checkOptions(options) {
  if (options === null || typeof options !== 'object') {
    throw new TypeError('setupPrimary: options must be an object');
  }
  const {
    port,
    host = '127.0.0.1',
    mode = 'modulo',
    onWorkerExit,
    maxPending = 1024,
    killTimeoutMs = 5000,
    env = {},
    signals = true,
  } = options;
  const workers = options.workers === undefined ? workersFromEnv() : options.workers;
  const portless = mode === 'plain' && port === undefined;
  if (!portless && (!Number.isInteger(port) || port < 0 || port > 65535)) {
    throw new RangeError('setupPrimary: port must be an integer in 0..65535');
  }
  if (typeof host !== 'string' || host === '') throw new TypeError('setupPrimary: host must be a non-empty string');
  if (!Number.isInteger(workers) || workers < 1 || workers > 1024) {
    throw new RangeError('setupPrimary: workers must be an integer in 1..1024');
  }
  if (!MODES.has(mode)) {
    throw new RangeError(`setupPrimary: mode must be 'plain', 'modulo' or 'jump', not ${String(mode)}`);
  }
  if (onWorkerExit !== undefined && typeof onWorkerExit !== 'function') {
    throw new TypeError('setupPrimary: onWorkerExit must be a function');
  }
  if (!Number.isInteger(maxPending) || maxPending < 0) {
    throw new RangeError('setupPrimary: maxPending must be a non-negative integer');
  }
  if (!Number.isInteger(killTimeoutMs) || killTimeoutMs < 0) {
    throw new RangeError('setupPrimary: killTimeoutMs must be a non-negative integer');
  }
  if (env === null || (typeof env !== 'object' && typeof env !== 'function')) {
    throw new TypeError('setupPrimary: env must be an object or a function');
  }
  if (typeof signals !== 'boolean') throw new TypeError('setupPrimary: signals must be a boolean');
  return { port, host, workers, mode, onWorkerExit, maxPending, killTimeoutMs, env, signals };
}

// The extra environment of each slot: `env` itself, or what env(index)
// returns, asked once per slot here so that a bad value fails setupPrimary
// and a re-forked worker gets what its slot had.
function slotEnvs(env, n) {
  return Array.from({ length: n }, (_, index) => {
    const e = typeof env === 'function' ? env(index) : env;
    if (e === null || typeof e !== 'object') throw new TypeError(`setupPrimary: env(${index}) must return an object`);
    return e;
  });
}

// A worker that dies before it is ready is re-forked with a growing delay
// (up to 5 s), so a crash at start-up does not spin the CPU; one that was
// serving comes back at once.
const restartDelay = (failures) => (failures === 0 ? 0 : Math.min(5000, 50 * 2 ** (failures - 1)));

/**
 * Runs in the cluster primary: forks `workers` workers and keeps them
 * running. In a sticky mode it listens on host:port and hands each
 * connection to the worker that hotpath.sticky.pick(remoteAddress, workers,
 * mode) names; connections for a slot whose worker is (re)starting wait,
 * paused, until the worker calls setupWorker() (at most `maxPending` per
 * slot; more are closed). In 'plain' mode the workers listen themselves.
 * A worker that dies is re-forked in the same slot.
 *
 * Events: 'worker' ({index, worker, address}) when a worker is ready,
 * 'ready' (address) once every worker is, 'exit' ({index, worker, code,
 * signal, restart}) when one exits (restart: it is forked again), 'message' (msg, {index, worker}) for a worker's
 * own process.send() messages, 'close' once close() is done.
 *
 * @param {object} options
 * @param {number} [options.port]  TCP port; 0 picks a free one (see `ready`). Plain mode without it: each worker listens where it likes.
 * @param {string} [options.host='127.0.0.1']
 * @param {number} [options.workers]  default: the WORKERS variable, else one per CPU
 * @param {'plain'|'modulo'|'jump'} [options.mode='modulo']
 * @param {(info: {index: number, worker: import('cluster').Worker, code: number|null, signal: string|null, restart: boolean}) => void} [options.onWorkerExit]
 * @param {number} [options.maxPending=1024]
 * @param {number} [options.killTimeoutMs=5000]  close(): SIGTERM, then SIGKILL after this long
 * @param {Record<string, string> | ((index: number) => Record<string, string>)} [options.env]  extra environment
 *   for the workers; a function gives each slot its own (called once per slot, by setupPrimary)
 * @param {boolean} [options.signals=true]  SIGTERM/SIGINT: close(), then exit the primary
 * @returns {import('../cluster').Primary}
 */
function setupPrimary(options) {
  if (!cluster.isPrimary) throw new Error('setupPrimary: call it in the cluster primary');
  const opts = checkOptions(options);
  const n = opts.workers;
  const sticky = opts.mode !== 'plain';
  const envs = slotEnvs(opts.env, n);
  const slots = Array.from({ length: n }, () => ({
    worker: null,
    ready: false,
    pending: [], // sockets waiting for the slot's worker
    inflight: new Map(), // id -> socket sent but not yet acknowledged
    failures: 0,
    timer: null,
  }));
  const primary = new EventEmitter();
  let closing = false;
  let nextId = 0;
  let address = null;

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

  // One askAll() round: the question goes to every connected worker; the
  // asker gets their answers once all answered, or an error after timeoutMs.
  const rounds = new Map(); // id -> {answer(index, msg)}
  const relayQuestion = (asker, { id, message, timeoutMs }) => {
    const key = `${asker.id}:${id}`;
    const answers = [];
    const want = slots.filter((s) => s.worker && s.worker.isConnected()).length;
    const finish = (error) => {
      clearTimeout(timer);
      rounds.delete(key);
      if (asker.isConnected()) asker.send({ type: MSG_ANSWERS, id, answers, error });
    };
    const timer = setTimeout(() => finish(`${answers.length} of ${want} workers answered within ${timeoutMs} ms`), timeoutMs);
    rounds.set(key, {
      answer(index, msg) {
        answers.push({ index, reply: msg.reply, error: msg.error });
        if (answers.length === want) finish();
      },
    });
    for (const s of slots) if (s.worker && s.worker.isConnected()) s.worker.send({ type: MSG_QUESTION, id: key, message });
  };

  const workerEnv = (index) => {
    const env = { ...envs[index], [INDEX_ENV]: String(index), [COUNT_ENV]: String(n), [MODE_ENV]: opts.mode };
    if (!sticky && opts.port !== undefined) env[LISTEN_ENV] = JSON.stringify({ port: opts.port, host: opts.host });
    return env;
  };

  const fork = (index) => {
    const slot = slots[index];
    slot.timer = null;
    slot.ready = false;
    const worker = cluster.fork(workerEnv(index));
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
        if (!sticky && !address) address = msg.address || null;
        primary.emit('worker', { index, worker, address: sticky ? address : msg.address || null });
        maybeReady();
        flush(slot);
      } else if (msg.type === MSG_FAILED) {
        fail(new Error(msg.message));
      } else if (msg.type === MSG_ASK) {
        relayQuestion(worker, msg);
      } else if (msg.type === MSG_ANSWER) {
        const round = rounds.get(msg.id);
        if (round) round.answer(index, msg);
      } else {
        primary.emit('message', msg, { index, worker });
      }
    });
    worker.on('disconnect', () => {
      if (slot.worker === worker) slot.ready = false;
    });
    worker.on('exit', (code, signal) => {
      if (slot.worker !== worker) return;
      slot.ready = false;
      slot.worker = null;
      // Sockets the dead worker never acknowledged go first in the queue.
      slot.pending = [...slot.inflight.values(), ...slot.pending];
      slot.inflight.clear();
      const info = { index, worker, code, signal, restart: !closing };
      if (opts.onWorkerExit) opts.onWorkerExit(info);
      primary.emit('exit', info);
      if (closing) {
        for (const s of slot.pending) s.destroy();
        slot.pending = [];
        return;
      }
      slot.failures = readyOnce ? 0 : slot.failures + 1;
      slot.timer = setTimeout(() => fork(index), restartDelay(slot.failures));
    });
  };

  let resolveReady;
  let rejectReady;
  const ready = new Promise((resolve, reject) => {
    resolveReady = resolve;
    rejectReady = reject;
  });
  // Callers that never look at `ready` must not get an unhandled rejection.
  ready.catch(() => {});
  let listening = !sticky;
  let isReady = false;
  function maybeReady() {
    if (isReady || !listening || !slots.every((s) => s.ready)) return;
    isReady = true;
    resolveReady(address);
    primary.emit('ready', address);
  }
  // Before it is ready, a port that cannot be opened stops the whole cluster.
  function fail(err) {
    if (isReady || closing) return;
    rejectReady(err);
    close();
  }

  let server = null;
  if (sticky) {
    server = net.createServer({ pauseOnConnect: true }, (socket) => {
      const remote = socket.remoteAddress;
      if (closing || typeof remote !== 'string') {
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
      handOver(slots[pick(remote, n, opts.mode)], socket);
    });
    server.once('error', (err) => {
      if (!server.listening) fail(err);
    });
    server.listen(opts.port, opts.host, () => {
      listening = true;
      address = server.address();
      maybeReady();
    });
  }
  for (let i = 0; i < n; i++) fork(i);

  let closed;
  function close() {
    if (closed) return closed;
    closing = true;
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
    const serverClosed = new Promise((r) => (server && server.listening ? server.close(() => r()) : r()));
    closed = Promise.all([serverClosed, ...exits]).then(() => {
      primary.emit('close');
    });
    return closed;
  }

  if (opts.signals) {
    const stop = () => close().then(() => process.exit(0));
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  }

  const live = () => slots.filter((s) => s.worker && s.worker.isConnected()).map((s) => s.worker);
  return Object.assign(primary, {
    mode: opts.mode,
    server,
    ready,
    get workers() {
      return slots.map((s) => s.worker);
    },
    indexOf(remote) {
      if (!sticky) throw new Error("indexOf: a 'plain' cluster does not route by address");
      return pick(remote, n, opts.mode);
    },
    /** Sends `msg` to the worker of slot `index`; false when none is connected. */
    send(index, msg) {
      const w = slots[index] && slots[index].worker;
      if (!w || !w.isConnected()) return false;
      w.send(msg);
      return true;
    },
    /** Sends `msg` to every connected worker; returns how many. */
    broadcast(msg) {
      const ws = live();
      for (const w of ws) w.send(msg);
      return ws.length;
    },
    close,
  });
}

// Counts the requests a server is answering, so a stopping worker can wait
// for them. Resolves `idle()` once none is left.
function trackRequests(server) {
  let active = 0;
  let waiters = [];
  server.on('request', (req, res) => {
    active++;
    res.once('close', () => {
      active--;
      if (active === 0) for (const w of waiters.splice(0)) w();
    });
  });
  return () => new Promise((resolve) => (active === 0 ? resolve() : waiters.push(resolve)));
}

/**
 * Runs in a worker: tells the primary this worker is ready, and stops it
 * gracefully on SIGTERM/SIGINT or when the primary goes away: no new
 * connections, the requests in progress are answered, then `options.close()`
 * runs (flush buffers, close handles) and the process exits 0 (1 if close
 * throws). In a sticky mode it emits the handed-over connections on
 * `httpServer` (which need not listen). In 'plain' mode it listens on the
 * primary's port unless `httpServer` listens already. Call it once the
 * server's routes (and socket.io) are set up.
 * @param {import('net').Server} httpServer  an http/https/net server
 * @param {{close?: () => unknown, drainTimeoutMs?: number, onAsk?: (message: unknown) => unknown}} [options]
 *   drainTimeoutMs (5000): how long requests in progress are waited for;
 *   onAsk: answers the questions of askAll()
 * @returns {{index: number, workers: number}}
 */
function setupWorker(httpServer, options = {}) {
  if (!cluster.isWorker || typeof process.send !== 'function' || workerIndex() === null) {
    throw new Error('setupWorker: call it in a worker forked by setupPrimary');
  }
  if (!(httpServer instanceof net.Server)) throw new TypeError('setupWorker: httpServer must be a net.Server');
  if (options === null || typeof options !== 'object') throw new TypeError('setupWorker: options must be an object');
  for (const name of ['close', 'onAsk']) {
    if (options[name] !== undefined && typeof options[name] !== 'function') {
      throw new TypeError(`setupWorker: options.${name} must be a function`);
    }
  }
  const { drainTimeoutMs = 5000 } = options;
  if (!Number.isInteger(drainTimeoutMs) || drainTimeoutMs < 0) {
    throw new RangeError('setupWorker: options.drainTimeoutMs must be a non-negative integer');
  }
  const index = workerIndex();
  const idle = trackRequests(httpServer);
  const tell = (msg) => process.connected && process.send(msg);

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    if (httpServer.listening) httpServer.close();
    if (httpServer.closeIdleConnections) httpServer.closeIdleConnections();
    let code = 0;
    try {
      // Requests still running after drainTimeoutMs are cut off.
      await new Promise((resolve) => {
        setTimeout(resolve, drainTimeoutMs).unref();
        idle().then(resolve);
      });
      if (options.close) await options.close();
    } catch (err) {
      console.error(`hotpath/cluster: worker ${index}: ${err && err.message}`);
      code = 1;
    }
    process.exit(code);
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  process.once('disconnect', stop);

  process.on('message', (msg) => {
    if (msg && msg.type === MSG_QUESTION) answerQuestion(msg, options.onAsk);
    else if (msg && msg.type === MSG_ANSWERS) settleAsk(msg);
  });
  if (process.env[MODE_ENV] !== 'plain') {
    process.on('message', (msg, socket) => {
      if (!msg || msg.type !== MSG_CONNECTION || !socket) return;
      if (stopping) return socket.destroy(); // unacknowledged: the primary drops it
      httpServer.emit('connection', socket);
      socket.resume();
      tell({ type: MSG_ACK, id: msg.id });
    });
    tell({ type: MSG_READY });
  } else {
    const readyNow = () => tell({ type: MSG_READY, address: httpServer.address() });
    const where = process.env[LISTEN_ENV];
    if (httpServer.listening || !where) {
      if (httpServer.listening) readyNow();
      else httpServer.once('listening', readyNow);
    } else {
      const { port, host } = JSON.parse(where);
      httpServer.once('error', (err) => {
        const message = `cannot listen on ${host}:${port}: ${err.message}`;
        console.error(`hotpath/cluster: worker ${index} ${message}`);
        // Exit once the primary has the reason.
        process.send({ type: MSG_FAILED, message }, () => process.exit(1));
      });
      httpServer.listen(port, host, readyNow);
    }
  }
  return { index, workers: Number(process.env[COUNT_ENV]) };
}

// A question from askAll(): answered with what onAsk returns (or resolves).
async function answerQuestion({ id, message }, onAsk) {
  let answer;
  try {
    if (!onAsk) throw new Error('this worker takes no questions (setupWorker without onAsk)');
    answer = { reply: await onAsk(message) };
  } catch (err) {
    answer = { error: String((err && err.message) || err) };
  }
  if (process.connected) process.send({ type: MSG_ANSWER, id, ...answer });
}

const asks = new Map(); // id -> {resolve, reject}
let askSeq = 0;

function settleAsk({ id, answers, error }) {
  const ask = asks.get(id);
  if (!ask) return;
  asks.delete(id);
  if (error) ask.reject(new Error(error));
  else ask.resolve(answers.sort((a, b) => a.index - b.index));
}

/**
 * Runs in a worker after setupWorker(): sends `message` to every worker
 * (this one included), whose `onAsk(message)` answers it. Resolves with
 * [{index, reply, error}] in slot order once every worker answered (error:
 * the text of what its onAsk threw); rejects when some did not answer
 * within `timeoutMs` (a worker that died meanwhile never does).
 * @param {unknown} message  anything process.send can carry
 * @param {{timeoutMs?: number}} [options]
 * @returns {Promise<Array<{index: number, reply?: unknown, error?: string}>>}
 */
function askAll(message, { timeoutMs = 5000 } = {}) {
  if (!cluster.isWorker || workerIndex() === null || !process.connected) {
    return Promise.reject(new Error('askAll: call it in a worker forked by setupPrimary'));
  }
  if (!Number.isInteger(timeoutMs) || timeoutMs < 1) {
    return Promise.reject(new RangeError('askAll: timeoutMs must be a positive integer'));
  }
  const id = ++askSeq;
  return new Promise((resolve, reject) => {
    asks.set(id, { resolve, reject });
    process.send({ type: MSG_ASK, id, message, timeoutMs });
  });
}

/**
 * This worker's slot (0 .. workers-1), or null outside a setupPrimary worker.
 * @returns {number | null}
 */
function workerIndex() {
  const v = process.env[INDEX_ENV];
  return v === undefined || !/^\d+$/.test(v) ? null : Number(v);
}

module.exports = { setupPrimary, setupWorker, askAll, workerIndex, workersFromEnv, INDEX_ENV, COUNT_ENV, WORKERS_ENV };
