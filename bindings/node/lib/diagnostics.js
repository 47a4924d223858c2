'use strict';

// The engine's background events, published on diagnostics_channel
// (docs/observability.md). A message is built only when the channel has a
// subscriber, so an unobserved process pays nothing but the native call.
const dc = require('diagnostics_channel');
const native = require('./native');
const { HotpathError } = require('./errors');

const channels = Object.freeze({
  geoReload: 'hotpath:geo:reload',
  recipesReload: 'hotpath:recipes:reload',
  redisDisconnect: 'hotpath:redis:disconnect',
  redisReconnect: 'hotpath:redis:reconnect',
  error: 'hotpath:error',
});

const geoReload = dc.channel(channels.geoReload);
const recipesReload = dc.channel(channels.recipesReload);
const redisDisconnect = dc.channel(channels.redisDisconnect);
const redisReconnect = dc.channel(channels.redisReconnect);
const error = dc.channel(channels.error);

// The channel of each event kind, besides hotpath:error for failures.
function channelOf(kind, handle) {
  if (kind === 'reload' || kind === 'reload_failed') return handle === 'geo' ? geoReload : recipesReload;
  if (kind === 'redis_disconnect') return redisDisconnect;
  if (kind === 'redis_reconnect') return redisReconnect;
  return null;
}

function onEvent(kind, handle, status, code, message, source) {
  const own = channelOf(kind, handle);
  const failed = status < 0;
  if (!own?.hasSubscribers && !(failed && error.hasSubscribers)) return;
  const event = {
    kind,
    handle,
    ok: !failed,
    code,
    message,
    source,
    error: failed ? new HotpathError(message, code, status) : null,
  };
  if (own?.hasSubscribers) own.publish(event);
  if (failed && error.hasSubscribers) error.publish(event);
}

native.setEventHandler(onEvent);

module.exports = { channels };
