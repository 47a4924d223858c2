'use strict';
// A tiny cluster for tests/node/cluster.test.js. The primary prints one JSON
// line per event on stdout: {"event":"ready","port":P},
// {"event":"worker","index":I,"pid":P}, {"event":"exit","index":I,"pid":P,
// "signal":S}, {"event":"failed","message":M}; a stopping worker prints
// {"event":"closed","pid":P}. Workers answer GET / with {"index": I, "pid": P,
// "remote": A}, /slow?ms=N after N ms, /hang never, /ask?m=M&t=T the
// answers of askAll(M) (onAsk answers {pid, index}; 'boom' throws; 'slow'
// takes a second on worker 1). Env: WORKERS (default 3),
// MODE (default modulo; 'plain'), PORT (0), KILL_MS, DRAIN_MS; SLOT_ENV=1:
// each slot gets SLOT_NAME=slot-I through env(index), answered as "name".
const cluster = require('cluster');
const http = require('http');
const path = require('path');
const sticky = require(path.resolve(__dirname, '..', '..', 'bindings', 'node', 'lib', 'cluster.js'));

const print = (obj) => process.stdout.write(`${JSON.stringify(obj)}\n`);
const env = (name, def) => (process.env[name] ? Number(process.env[name]) : def);

if (cluster.isPrimary) {
  const primary = sticky.setupPrimary({
    port: env('PORT', 0),
    mode: process.env.MODE || 'modulo',
    killTimeoutMs: env('KILL_MS', 5000),
    env: process.env.SLOT_ENV === '1' ? (index) => ({ SLOT_NAME: `slot-${index}` }) : {},
    onWorkerExit: ({ index, worker, signal }) => print({ event: 'exit', index, pid: worker.process.pid, signal }),
  });
  primary.on('worker', ({ index, worker }) => print({ event: 'worker', index, pid: worker.process.pid }));
  primary.ready.then(
    (addr) => print({ event: 'ready', port: addr.port }),
    (err) => {
      print({ event: 'failed', message: err.message });
      process.exitCode = 1;
    },
  );
} else {
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://x');
    const answer = () => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({
          index: sticky.workerIndex(),
          pid: process.pid,
          remote: req.socket.remoteAddress,
          name: process.env.SLOT_NAME || null,
        }),);
    };
    if (url.pathname === '/slow') {
      print({ event: 'request', pid: process.pid });
      setTimeout(answer, Number(url.searchParams.get('ms')));
    } else if (url.pathname === '/hang') {
      print({ event: 'request', pid: process.pid });
    } else if (url.pathname === '/ask') {
      // askAll(m) with timeoutMs=t; answers {answers} or {error}.
      const timeoutMs = Number(url.searchParams.get('t') || 5000);
      sticky.askAll(url.searchParams.get('m'), { timeoutMs }).then(
        (answers) => res.end(JSON.stringify({ answers })),
        (err) => res.end(JSON.stringify({ error: err.message })),
      );
    } else {
      answer();
    }
  });
  sticky.setupWorker(server, {
    drainTimeoutMs: env('DRAIN_MS', 5000),
    close: () => print({ event: 'closed', pid: process.pid }),
    onAsk: async (m) => {
      if (m === 'boom') throw new Error(`no, says ${process.pid}`);
      if (m === 'slow' && sticky.workerIndex() === 1) await new Promise((r) => setTimeout(r, 1000));
      return { pid: process.pid, index: sticky.workerIndex() };
    },
  });
}
