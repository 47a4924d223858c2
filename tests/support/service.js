'use strict';
// Runs an example's server for the end-to-end tests and the benches on
// 127.0.0.1:<free port> (PORT, HOST and WORKERS in its environment), with
// its stdout and stderr collected.
const { spawn } = require('child_process');
const { freePort } = require('./redis');

/** Collects the process's stdout and stderr into `out.text`. */
function collect(proc) {
  const out = { text: '' };
  for (const s of [proc.stdout, proc.stderr]) {
    s.setEncoding('utf8');
    s.on('data', (c) => (out.text += c));
  }
  return out;
}

/** SIGTERM (or `signal`) unless it exited already; resolves its exit code. */
function stopProcess(proc, signal = 'SIGTERM') {
  return new Promise((resolve) => {
    if (proc.exitCode !== null || proc.signalCode !== null) return resolve(proc.exitCode);
    proc.once('exit', (code) => resolve(code));
    proc.kill(signal);
  });
}

/**
 * Starts `script`; resolves once `ready(output so far, url)` holds after
 * some output on stdout, rejects if it exits first.
 * @param {string} script
 * @param {{name: string, workers: number, env?: object, ready: (text: string, url: string) => boolean}} opts
 */
async function startService(script, { name, workers, env = {}, ready }) {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const proc = spawn(process.execPath, [script], {
    env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', WORKERS: String(workers), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const out = collect(proc);
  await new Promise((resolve, reject) => {
    const onData = () => {
      if (ready(out.text, url)) done(resolve);
    };
    const onExit = (code) => done(() => reject(new Error(`${name} exited (${code}):\n${out.text}`)));
    const done = (fn) => {
      proc.stdout.off('data', onData);
      proc.off('exit', onExit);
      fn();
    };
    proc.stdout.on('data', onData);
    proc.once('exit', onExit);
  });
  return { port, url, proc, out, stop: () => stopProcess(proc) };
}

module.exports = { startService, collect, stopProcess };
