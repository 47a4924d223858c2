'use strict';
// A real S3-compatible server for the tests: moto's server mode (PyPI
// `moto[server]`) on 127.0.0.1:<free port>, and an @aws-sdk/client-s3
// client for it.
const { spawn } = require('child_process');
const http = require('http');
const { freePort } = require('./redis');

/** The variables the AWS SDK reads, for a process that talks to `endpoint`. */
const s3Env = (endpoint) => ({
  S3_ENDPOINT: endpoint,
  AWS_ACCESS_KEY_ID: 'testing',
  AWS_SECRET_ACCESS_KEY: 'testing',
  AWS_REGION: 'us-east-1',
});

const answers = (url) =>
  new Promise((resolve) => {
    http
      .get(url, (res) => {
        res.resume();
        resolve(true);
      })
      .on('error', () => resolve(false));
  });

/** Starts moto_server; resolves {endpoint, env, client, stop()} once it answers. */
async function startS3() {
  const port = await freePort();
  const python = process.env.PYTHON || 'python3';
  const proc = spawn(python, ['-m', 'moto.server', '-H', '127.0.0.1', '-p', String(port)], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  proc.stderr.on('data', (c) => (stderr += c));
  const endpoint = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30000;
  while (!(await answers(`${endpoint}/`))) {
    if (proc.exitCode !== null) throw new Error(`moto_server exited (${proc.exitCode}): ${stderr}`);
    if (Date.now() > deadline) {
      proc.kill();
      throw new Error(`moto_server did not answer on ${endpoint} within 30 s: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const env = s3Env(endpoint);
  const { S3Client } = require('@aws-sdk/client-s3');
  const client = new S3Client({
    region: env.AWS_REGION,
    endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY },
  });
  const stop = () =>
    new Promise((resolve) => {
      client.destroy();
      if (proc.exitCode !== null) return resolve();
      proc.once('exit', () => resolve());
      proc.kill('SIGTERM');
    });
  return { endpoint, env, client, stop };
}

/**
 * A pass-through proxy to `endpoint` on 127.0.0.1 that, while `cut` is set,
 * answers GETs of keys matching `cut` with half of the body's first chunk
 * and then closes the connection: a download cut off.
 */
async function startCuttingProxy(endpoint) {
  const target = new URL(endpoint);
  const proxy = { cut: null };
  const server = http.createServer((req, res) => {
    const up = http.request(
      { host: target.hostname, port: target.port, path: req.url, method: req.method, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode, answer.headers);
        if (!(proxy.cut && req.method === 'GET' && proxy.cut.test(req.url))) return answer.pipe(res);
        answer.once('data', (chunk) => {
          res.write(chunk.subarray(0, chunk.length >> 1));
          res.socket.destroy();
          answer.destroy();
        });
      },
    );
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  proxy.endpoint = `http://127.0.0.1:${server.address().port}`;
  proxy.close = () => new Promise((r) => server.close(r).closeAllConnections());
  return proxy;
}

module.exports = { startS3, startCuttingProxy };
