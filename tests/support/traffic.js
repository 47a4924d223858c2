'use strict';
// Runs examples/traffic/server.js (or bench/traffic/server-js.js, the same
// service without hotpath) for the end-to-end tests
// and the bench on 127.0.0.1:<free port>, and writes recipe fixture files.
const fs = require('fs');
const http = require('http');
const path = require('path');
const zlib = require('zlib');
const { startService } = require('./service');

const dir = path.resolve(__dirname, '..', '..', 'examples', 'traffic');

/**
 * Starts the service; resolves once every worker listens.
 * @param {{impl?: 'hotpath'|'js', workers?: number, env?: object}} [opts]
 */
async function startTraffic({ impl = 'hotpath', workers = 1, env = {} } = {}) {
  const script = impl === 'js' ? path.join(__dirname, '..', '..', 'bench', 'traffic', 'server-js.js') : path.join(dir, 'server.js');
  return startService(script, { name: 'traffic', workers, env, ready: (text) => text.includes('traffic: health ') });
}

/** One HTTP request; resolves {status, headers, body}. A fresh connection each time. */
function request(url, { method = 'GET', headers = {}, body } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers, agent: false }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Writes rows as a gzip JSON array, replacing the file atomically. */
function writeRecipe(file, rows) {
  fs.writeFileSync(`${file}.tmp`, zlib.gzipSync(JSON.stringify(rows)));
  fs.renameSync(`${file}.tmp`, file);
}

module.exports = { startTraffic, request, writeRecipe };
