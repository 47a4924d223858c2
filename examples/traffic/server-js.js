'use strict';
// The same co-traffic service without hotpath (maxmind, ua-parser-js, a Map
// of JSON strings + JSON.parse): bench/traffic runs it beside server.js.
process.env.TRAFFIC_IMPL = 'js';
require('./server');
