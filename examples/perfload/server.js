'use strict';
// Perfload server: a cluster primary with one worker per CPU. The primary
// owns the public port and hands every connection to the worker that
// hotpath picks for the client address (sticky sessions, so socket.io's
// long-polling requests all reach the worker that holds the session).
// Workers run the HTTP routes and socket.io (see app.js).
//
// Env: PORT (8000), HOST (127.0.0.1), WORKERS (CPU count), REDIS_URL (unset:
// broadcast between workers through the cluster adapter; set: through Redis),
// PERFLOAD_TOKEN (machines) and PERFLOAD_UI_TOKEN (dashboards; unset: the
// primary makes them and prints them), STICKY_MODE (modulo).
const cluster = require('cluster');
const crypto = require('crypto');
const os = require('os');
// `hotpath/cluster` resolves to this checkout (the package refers to itself).
const sticky = require('hotpath/cluster');

const port = Number(process.env.PORT ?? 8000);
const host = process.env.HOST || '127.0.0.1';
const workers = Number(process.env.WORKERS || os.cpus().length || 1);
const redisUrl = process.env.REDIS_URL || '';

if (cluster.isPrimary) {
  // Tokens made here reach the workers through the environment.
  const made = [];
  for (const name of ['PERFLOAD_TOKEN', 'PERFLOAD_UI_TOKEN']) {
    if (process.env[name]) continue;
    process.env[name] = crypto.randomBytes(18).toString('base64url');
    made.push(name);
  }
  if (!redisUrl) require('@socket.io/cluster-adapter').setupPrimary();
  const primary = sticky.setupPrimary({
    port,
    host,
    workers,
    mode: process.env.STICKY_MODE || 'modulo',
    onWorkerExit: ({ index, worker, code, signal }) => {
      console.error(`perfload: worker ${index} (pid ${worker.process.pid}) exited (${signal || code}); restarting it`);
    },
  });
  primary.ready.then(
    (addr) => {
      const shown = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
      console.log(
        `perfload: ${workers} workers, adapter ${redisUrl ? 'redis' : 'cluster'}, primary pid ${process.pid}\n` +
          `perfload: open http://${shown}:${addr.port}/${made.includes('PERFLOAD_UI_TOKEN') ? `#ui=${process.env.PERFLOAD_UI_TOKEN}` : '#ui=<PERFLOAD_UI_TOKEN>'} ` +
          `in a browser, then run ` +
          `${made.includes('PERFLOAD_TOKEN') ? `PERFLOAD_TOKEN=${process.env.PERFLOAD_TOKEN} ` : ''}` +
          `PERFLOAD_URL=http://${shown}:${addr.port} node examples/perfload/client.js`,
      );
    },
    (err) => {
      console.error(`perfload: cannot listen on ${host}:${port}: ${err.message}`);
      process.exitCode = 1;
    },
  );
  const stop = () => primary.close().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
} else {
  require('./app')
    .start({ redisUrl, token: process.env.PERFLOAD_TOKEN, uiToken: process.env.PERFLOAD_UI_TOKEN })
    .then((server) => sticky.setupWorker(server))
    .catch((err) => {
      console.error(`perfload: worker ${sticky.workerIndex()} failed to start: ${err.message}`);
      process.exit(1);
    });
}
