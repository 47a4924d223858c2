'use strict';
// Starts a whole SpeedBox deployment on this host: SERVERS file servers on
// ports FIRST_SERVER_PORT.. sharing one store, and the load balancer on PORT,
// each a worker of one hotpath/cluster supervisor (the seed ran them under
// pm2). A worker that dies is forked again in its slot (at once when it was
// serving, with a growing delay while it keeps failing at start-up); SIGTERM
// lets each answer the requests in progress, then stops them all.
const cluster = require('node:cluster');

// Each process loads only what its role needs (memory: a server that took a
// 1 GiB upload stays under 64 MB).
function primary(env) {
  const { setupPrimary } = require('hotpath/cluster');
  const { processEnv, storeSpecFromEnv, privateStoreDir } = require('./server');
  const { serversFromEnv } = require('./load-balancer');
  const count = Number(env.SERVERS || 3);
  if (!Number.isInteger(count) || count < 1 || count > 1000) throw new RangeError('SERVERS must be an integer in 1..1000');
  const first = Number(env.FIRST_SERVER_PORT || 8001);
  const spec = storeSpecFromEnv(env);
  privateStoreDir(spec);
  const balancer = { SPEEDBOX_ROLE: 'balancer', PORT: env.PORT || '3000', SPEEDBOX_SERVERS: serversFromEnv(env).join(',') };
  const roleOf = (index) => (index < count ? `server-${index + 1}` : 'load-balancer');
  const supervisor = setupPrimary({
    mode: 'plain',
    workers: count + 1,
    env: (index) =>
      processEnv({
        ...env,
        ...(index < count ? { SPEEDBOX_ROLE: 'server', SERVER_PORT: String(first + index), SPEEDBOX_STORE: spec } : balancer),
      }),
  });
  supervisor.on('exit', ({ index, code, signal, restart }) => {
    if (restart) console.log(`${roleOf(index)} exited (${signal || code}); starting it again`);
  });
  console.log(`speedbox: ${count} servers on ports ${first}..${first + count - 1}, store ${spec}`);
}

if (cluster.isPrimary) primary(process.env);
else if (process.env.SPEEDBOX_ROLE === 'balancer') require('./load-balancer').main();
else require('./server').main();
