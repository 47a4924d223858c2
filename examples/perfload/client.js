'use strict';
// Perfload machine client: sends this host's metrics (hotpath.host.sample)
// to the Perfload server every second over socket.io, reconnecting on its own.
//
// Env: PERFLOAD_URL (http://127.0.0.1:8000), PERFLOAD_TOKEN (required: the
// machine token the server was given or printed), MACHINE_ID (default: the MAC
// address of the first network interface, else the host name), INTERVAL_MS
// (1000), LOCAL_ADDRESS (source address to connect from; unset: the system's
// choice), TRANSPORTS (polling,websocket).
const http = require('http');
const os = require('os');
const { io } = require('socket.io-client');
const hotpath = require('../..');

const url = process.env.PERFLOAD_URL || 'http://127.0.0.1:8000';
const token = process.env.PERFLOAD_TOKEN;
if (!token) {
  console.error('perfload client: set PERFLOAD_TOKEN to the machine token the server printed');
  process.exit(2);
}
const intervalMs = Number(process.env.INTERVAL_MS || 1000);
const transports = (process.env.TRANSPORTS || 'polling,websocket').split(',').filter(Boolean);
const localAddress = process.env.LOCAL_ADDRESS || undefined;

async function metrics() {
  const info = await hotpath.host.sample();
  return { ...info, id: process.env.MACHINE_ID || info.macA || os.hostname() };
}

const socket = io(url, {
  auth: { role: 'machine', token },
  transports,
  agent: localAddress ? new http.Agent({ keepAlive: true, localAddress }) : undefined,
  reconnectionDelayMax: 5000,
});

let timer = null;
let sending = false;
async function send(event) {
  if (sending) return;
  sending = true;
  try {
    const data = await metrics();
    if (socket.connected) socket.emit(event, data);
  } catch (err) {
    console.error(`perfload client: reading metrics: ${err.message}`);
  } finally {
    sending = false;
  }
}

socket.on('welcome', ({ worker, pid }) => {
  console.log(`perfload client: connected to ${url}, worker ${worker} (pid ${pid})`);
});
socket.on('connect', () => {
  send('initPerfData');
  clearInterval(timer);
  timer = setInterval(() => send('perfData'), intervalMs);
});
socket.on('disconnect', (reason) => {
  clearInterval(timer);
  timer = null;
  console.log(`perfload client: disconnected (${reason}), reconnecting`);
});
socket.on('connect_error', (err) => {
  console.error(`perfload client: cannot connect to ${url}: ${err.message}`);
  // A refused token is final: socket.io does not retry after a middleware error.
  if (err.message === 'unauthorized') process.exit(1);
});

const stop = () => {
  clearInterval(timer);
  socket.close();
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
