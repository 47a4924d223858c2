// extern "C" definitions of the events subsystem.
#include <cstring>
#include <memory>
#include <string>

#include "core/engine.h"
#include "core/error.h"
#include "core/guard.h"
#include "core/handle.h"
#include "events/batcher.h"
#include "events/events.h"
#include "events/file_sink.h"
#include "events/redis_sink.h"
#include "redis/url.h"

using hp::core::set_error;
using hp::events::Batcher;

// The public handle. Its shutdown closes the batcher, which writes what is
// buffered and frees itself once its loop work is done; the close callback
// gets the final write's status.
struct hp_events final : hp::core::Handle {
  hp_events(hp::core::Engine *e, Batcher *b) : hp::core::Handle(e), batcher(b) {}
  Batcher *batcher;
  std::shared_ptr<hp::redis::Figures> redis;  // a Redis sink's client

 private:
  std::function<void(int)> done_;

  // Allocates nothing: a close must reach its callback when memory is short.
  void shutdown(std::function<void(int)> done) override {
    done_ = std::move(done);
    int rc = batcher->close([](int status, void *self) { static_cast<hp_events *>(self)->done_(status); }, this);
    if (rc != 0) done_(0);  // the engine closed it first (and wrote what was buffered)
  }
};

namespace {

using Call = hp::core::Handle::Call;

// The defaults of every option live here, once: 0 asks for them, so the
// bindings pass 0 for an option their caller left out.
void or_default(uint32_t *v, uint32_t def) {
  if (*v == 0) *v = def;
}

void with_defaults(hp_events_options *o) {
  or_default(&o->batch_events, 500);
  or_default(&o->batch_ms, 100);
  or_default(&o->max_pending, 1000000);
}

int closed() { return set_error(HP_ECLOSED, "events: the batcher is closed"); }

}  // namespace

extern "C" {

int hp_events_client_ip(const char **out, size_t *out_len, const hp_events_request *req) {
  if (!out || !out_len || !req) return set_error(HP_EINVAL, "events_client_ip: a pointer is NULL");
  if (req->version != HP_EVENTS_REQUEST_VERSION)
    return set_error(HP_EINVAL, "events_client_ip: unknown hp_events_request version ",
                     std::to_string(req->version));
  hp::events::client_ip(*req, out, out_len);
  return 0;
}

int hp_events_ip_hex(char *out, size_t cap, const char *ip, size_t len) {
  if (!out || (!ip && len)) return set_error(HP_EINVAL, "events_ip_hex: a pointer is NULL");
  if (cap < HP_EVENTS_IP_HEX_MAX) return set_error(HP_EINVAL, "events_ip_hex: cap is under HP_EVENTS_IP_HEX_MAX");
  size_t n = 0;
  if (!ip || !hp::events::ip_hex(ip, len, out, &n)) {
    out[0] = 0;
    return set_error(HP_EINVAL, "events_ip_hex: '", std::string(ip ? ip : "", ip ? (len > 64 ? 64 : len) : 0),
                     "' is not an IP address");
  }
  return static_cast<int>(n);
}

int hp_events_format(char *out, size_t cap, const hp_event *ev, hp_ua *ua) {
  if (!out || !ev) return set_error(HP_EINVAL, "events_format: out or ev is NULL");
  return hp::events::format(out, cap, *ev, ua);
}

int hp_events_open_file(hp_events **out, hp_engine *e, const char *path, const hp_events_file_options *fopts,
                        const hp_events_options *opts) {
  if (!out || !e || !path) return set_error(HP_EINVAL, "events_open_file: out, engine or path is NULL");
  *out = nullptr;
  hp_events_file_options f = HP_EVENTS_FILE_OPTIONS_INIT;
  hp_events_options o = HP_EVENTS_OPTIONS_INIT;
  if (fopts) {
    if (fopts->version != HP_EVENTS_FILE_OPTIONS_VERSION)
      return set_error(HP_EINVAL, "events_open_file: unknown hp_events_file_options version ",
                       std::to_string(fopts->version));
    f = *fopts;
  }
  if (opts) {
    if (opts->version != HP_EVENTS_OPTIONS_VERSION)
      return set_error(HP_EINVAL, "events_open_file: unknown hp_events_options version ",
                       std::to_string(opts->version));
    o = *opts;
  }
  if (!path[0]) return set_error(HP_EINVAL, "events_open_file: path is empty");
  if (f.fsync < HP_EVENTS_FSYNC_NONE || f.fsync > HP_EVENTS_FSYNC_INTERVAL)
    return set_error(HP_EINVAL, "events_open_file: unknown fsync policy ", std::to_string(f.fsync));
  with_defaults(&o);
  or_default(&f.fsync_ms, 1000);
  auto *engine = hp::core::Engine::from_c(e);
  if (engine->closing()) return set_error(HP_ECLOSED, "events_open_file: the engine is closing");
  return hp::core::guard("events_open_file", [&] {
    auto sink = std::make_unique<hp::events::FileSink>(path, f, o.batch_ms);
    // The handle first: once the batcher runs, nothing may fail before the
    // handle that closes it exists.
    auto h = std::make_unique<hp_events>(engine, nullptr);
    int rc = Batcher::open(&h->batcher, engine, std::move(sink), o);
    if (rc < 0) return rc;
    *out = h.release();
    return 0;
  });
}

int hp_events_open_redis(hp_events **out, hp_engine *e, const char *url, const hp_events_redis_options *ropts,
                         const hp_events_options *opts) {
  if (!out || !e || !url) return set_error(HP_EINVAL, "events_open_redis: out, engine or url is NULL");
  *out = nullptr;
  hp_events_redis_options r = HP_EVENTS_REDIS_OPTIONS_INIT;
  hp_events_options o = HP_EVENTS_OPTIONS_INIT;
  if (ropts) {
    if (ropts->version != HP_EVENTS_REDIS_OPTIONS_VERSION)
      return set_error(HP_EINVAL, "events_open_redis: unknown hp_events_redis_options version ",
                       std::to_string(ropts->version));
    r = *ropts;
  }
  if (opts) {
    if (opts->version != HP_EVENTS_OPTIONS_VERSION)
      return set_error(HP_EINVAL, "events_open_redis: unknown hp_events_options version ",
                       std::to_string(opts->version));
    o = *opts;
  }
  with_defaults(&o);
  or_default(&r.max_inflight, 16);
  or_default(&r.connect_timeout_ms, 500);
  or_default(&r.command_timeout_ms, 2000);
  auto *engine = hp::core::Engine::from_c(e);
  if (engine->closing()) return set_error(HP_ECLOSED, "events_open_redis: the engine is closing");
  return hp::core::guard("events_open_redis", [&] {
    hp::redis::Options ro;
    int rc = hp::redis::parse_url(url, &ro.address);
    if (rc < 0) return rc;
    ro.connect_timeout_ms = r.connect_timeout_ms;
    ro.command_timeout_ms = r.command_timeout_ms;
    auto figures = ro.figures = std::make_shared<hp::redis::Figures>();
    ro.owner = HP_HANDLE_EVENTS;
    std::string key = r.key && r.key[0] ? r.key : "hotpath:events";
    auto sink = std::make_unique<hp::events::RedisSink>(ro, key, r.max_inflight);
    auto h = std::make_unique<hp_events>(engine, nullptr);  // first: see hp_events_open_file
    h->redis = figures;
    rc = Batcher::open(&h->batcher, engine, std::move(sink), o);
    if (rc < 0) return rc;
    *out = h.release();
    return 0;
  });
}

int hp_events_push(hp_events *b, const char *msg, size_t len) {
  if (!b || !msg || len == 0) return set_error(HP_EINVAL, "events_push: batcher or message is NULL or empty");
  if (std::memchr(msg, '\n', len)) return set_error(HP_EINVAL, "events_push: the message contains a newline");
  Call call(b);
  if (!call) return closed();
  return hp::core::guard("events_push", [&] { return b->batcher->push(msg, len); });
}

int hp_events_append(hp_events *b, const hp_event *ev, hp_ua *ua) {
  if (!b || !ev) return set_error(HP_EINVAL, "events_append: batcher or event is NULL");
  char msg[HP_EVENTS_MAX_MESSAGE];
  int n = hp::events::format(msg, sizeof msg, *ev, ua);
  if (n < 0) return n;
  Call call(b);
  if (!call) return closed();
  int rc = hp::core::guard("events_append", [&] { return b->batcher->push(msg, static_cast<size_t>(n)); });
  return rc < 0 ? rc : n;
}

int hp_events_flush(hp_events *b, hp_events_cb cb, void *data) {
  if (!b || !cb) return set_error(HP_EINVAL, "events_flush: batcher or cb is NULL");
  Call call(b);
  if (!call) return closed();
  return hp::core::guard("events_flush", [&] { return b->batcher->flush(cb, data); });
}

int hp_events_stats_get(hp_events_stats *out, const hp_events *b) {
  if (!out || !b) return set_error(HP_EINVAL, "events_stats_get: out or batcher is NULL");
  if (out->version < 1 || out->version > HP_EVENTS_STATS_VERSION)
    return set_error(HP_EINVAL, "events_stats_get: unknown hp_events_stats version ",
                     std::to_string(out->version));
  Call call(const_cast<hp_events *>(b));
  if (!call) return closed();
  b->batcher->stats(out);
  if (out->version >= 2) hp::redis::Figures::fill(b->redis.get(), &out->redis);
  return 0;
}

int hp_events_close(hp_events *b, hp_close_cb cb, void *data) { return b ? b->close(cb, data) : 0; }

}  // extern "C"
