'use strict';
// How start.js runs each server and the balancer (the tests and the bench
// start them the same way): plain node, no flags.
//
// MALLOC_ARENA_MAX=2: glibc otherwise gives every thread that allocates
// (libuv's pool runs the store's SQLite work) an arena of its own, and each
// keeps what it once held; two arenas cost a 1 GiB upload about 2 MB less
// peak memory and no measurable speed.
const NODE_ARGS = [];

function launchEnv(env = process.env) {
  return { MALLOC_ARENA_MAX: '2', ...env };
}

module.exports = { NODE_ARGS, launchEnv };
