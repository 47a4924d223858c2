'use strict';
// The co-traffic service without hotpath (maxmind, ua-parser-js, a Map of
// JSON strings + JSON.parse): examples/traffic/server.js on backend-js.js.
// bench.js runs it beside the hotpath service; the e2e tests run both.
require('../../examples/traffic/server').run('js', require('./backend-js').createBackend);
