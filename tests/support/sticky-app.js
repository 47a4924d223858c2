'use strict';
// A tiny sticky cluster for tests/node/cluster.test.js. The primary prints
// one JSON line per event on stdout: {"event":"ready","port":P},
// {"event":"exit","index":I,"pid":P}. Workers answer every HTTP request with
// {"index": I, "pid": P}. Env: WORKERS (default 3), MODE (default modulo).
const cluster = require('cluster');
const http = require('http');
const path = require('path');
const sticky = require(path.resolve(__dirname, '..', '..', 'bindings', 'node', 'lib', 'cluster.js'));

if (cluster.isPrimary) {
  const primary = sticky.setupPrimary({
    port: 0,
    workers: Number(process.env.WORKERS || 3),
    mode: process.env.MODE || 'modulo',
    onWorkerExit: ({ index, worker }) =>
      console.log(JSON.stringify({ event: 'exit', index, pid: worker.process.pid })),
  });
  primary.ready.then((addr) => console.log(JSON.stringify({ event: 'ready', port: addr.port })));
  process.on('SIGTERM', () => primary.close().then(() => process.exit(0)));
} else {
  const server = http.createServer((req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ index: sticky.workerIndex(), pid: process.pid, remote: req.socket.remoteAddress }));
  });
  sticky.setupWorker(server);
}
