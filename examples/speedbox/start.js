'use strict';
// Starts a whole SpeedBox deployment on this host: SERVERS file servers on
// ports FIRST_SERVER_PORT.. sharing one store, and the load balancer on PORT,
// each in its own process (the seed ran them under pm2; any process manager
// will do the same). A server that exits is started again.
const { spawn } = require('node:child_process');
const path = require('node:path');
const { NODE_ARGS, launchEnv } = require('./launch');
const { storeSpecFromEnv, privateStoreDir, serversFromEnv } = {
  ...require('./server'),
  ...require('./load-balancer'),
};

const count = Number(process.env.SERVERS || 3);
const first = Number(process.env.FIRST_SERVER_PORT || 8001);
const spec = storeSpecFromEnv(process.env);
privateStoreDir(spec);

const children = new Set();
let stopping = false;

function run(script, env, name) {
  const child = spawn(process.execPath, [...NODE_ARGS, path.join(__dirname, script)], {
    env: launchEnv({ ...process.env, ...env }),
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  children.add(child);
  child.on('exit', (code, signal) => {
    children.delete(child);
    if (stopping) return;
    console.log(`${name} exited (${signal || code}); starting it again`);
    setTimeout(() => run(script, env, name), 500);
  });
}

console.log(`speedbox: ${count} servers on ports ${first}..${first + count - 1}, store ${spec}`);
for (let i = 0; i < count; i++) {
  run('server.js', { SERVER_PORT: String(first + i), SPEEDBOX_STORE: spec }, `server-${i + 1}`);
}
const balancer = { PORT: process.env.PORT || '3000', SPEEDBOX_SERVERS: serversFromEnv(process.env).join(',') };
run('load-balancer.js', balancer, 'load-balancer');

const stop = () => {
  stopping = true;
  for (const c of children) c.kill('SIGTERM');
  setTimeout(() => process.exit(0), 2000).unref();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
