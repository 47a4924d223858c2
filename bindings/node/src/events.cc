// Tracker events: client IP selection, the consumer message, and EventLog,
// a batcher with a log-file sink (one ObjectWrap per hp_events).
#include <memory>
#include <string>

#include "addon.h"
#include "observe.h"

namespace hp_node {

namespace {

// A JS string read as UTF-8 into a fixed buffer. `too_long` is set when it
// did not fit; the length then exceeds every limit the C API accepts.
template <size_t N>
struct Text {
  char buf[N];
  size_t len = 0;
  void read(napi_env env, napi_value v) {
    napi_valuetype t;
    napi_typeof(env, v, &t);
    if (t != napi_string) {
      len = 0;
      return;
    }
    napi_get_value_string_utf8(env, v, buf, N, &len);
    if (len + 4 >= N) len = N;  // maybe cut: report as over any limit
  }
  const char *data() const { return len ? buf : nullptr; }
  size_t size() const { return len < N ? len : N - 1; }
  bool over() const { return len >= N; }
};

// Fields of one event, read from positional arguments starting at `at`:
// eventType, query, host, ip, userAgent, country, city, receivedMs, processedMs.
struct EventArgs {
  Text<HP_EVENTS_MAX_TYPE + 8> type;
  Text<HP_EVENTS_MAX_QUERY + 8> query;
  Text<1100> host;
  Text<128> ip;
  Text<HP_UA_MAX_LEN + 8> ua;
  Text<80> country;
  Text<300> city;
  hp_event ev = HP_EVENT_INIT;

  void read(const Napi::CallbackInfo &info, size_t at) {
    napi_env env = info.Env();
    type.read(env, info[at]);
    query.read(env, info[at + 1]);
    host.read(env, info[at + 2]);
    ip.read(env, info[at + 3]);
    ua.read(env, info[at + 4]);
    country.read(env, info[at + 5]);
    city.read(env, info[at + 6]);
    ev.event_type = type.data();
    ev.event_type_len = type.over() ? HP_EVENTS_MAX_TYPE + 1 : type.size();
    ev.query = query.data();
    ev.query_len = query.over() ? HP_EVENTS_MAX_QUERY + 1 : query.size();
    ev.host = host.data();
    ev.host_len = host.size();
    ev.ip = ip.data();
    ev.ip_len = ip.size();
    ev.user_agent = ua.data();
    ev.user_agent_len = ua.size();
    ev.country = country.data();
    ev.country_len = country.size();
    ev.city = city.data();
    ev.city_len = city.size();
    ev.received_ms = static_cast<int64_t>(info[at + 7].As<Napi::Number>().DoubleValue());
    ev.processed_ms = static_cast<int64_t>(info[at + 8].As<Napi::Number>().DoubleValue());
  }
};

// One cached UA parser per environment for the formatter.
struct EventsState {
  hp_ua *parser = nullptr;
};

EventsState *State(const Napi::CallbackInfo &info) { return static_cast<EventsState *>(info.Data()); }

Napi::Value ClientIp(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  Text<1100> push, xff, real, remote;
  push.read(env, info[0]);
  xff.read(env, info[1]);
  real.read(env, info[2]);
  remote.read(env, info[3]);
  hp_events_request r = HP_EVENTS_REQUEST_INIT;
  r.push_ip = push.data();
  r.push_ip_len = push.size();
  r.forwarded_for = xff.data();
  r.forwarded_for_len = xff.size();
  r.real_ip = real.data();
  r.real_ip_len = real.size();
  r.remote_addr = remote.data();
  r.remote_addr_len = remote.size();
  const char *out = nullptr;
  size_t len = 0;
  Check(env, hp_events_client_ip(&out, &len, &r));
  if (!out) return env.Undefined();
  return Napi::String::New(env, out, len);
}

Napi::Value IpHex(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  Text<128> ip;
  ip.read(env, info[0]);
  char out[HP_EVENTS_IP_HEX_MAX];
  int n = Check(env, hp_events_ip_hex(out, sizeof out, ip.buf, ip.over() ? 127 : ip.size()));
  return Napi::String::New(env, out, static_cast<size_t>(n));
}

Napi::Value Format(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  static thread_local EventArgs args;
  args.read(info, 0);
  static thread_local char out[HP_EVENTS_MAX_MESSAGE];
  int n = Check(env, hp_events_format(out, sizeof out, &args.ev, State(info)->parser));
  return Napi::String::New(env, out, static_cast<size_t>(n));
}

class EventLog : public Napi::ObjectWrap<EventLog> {
 public:
  static Napi::Function Define(Napi::Env env, EventsState *st) {
    return DefineClass(env, "EventLog",
                       {InstanceMethod<&EventLog::Push>("push"), InstanceMethod<&EventLog::Append>("append"),
                        InstanceMethod<&EventLog::Flush>("flush"), InstanceMethod<&EventLog::Stats>("stats"),
                        InstanceMethod<&EventLog::Close>("close")},
                       st);
  }

  // new EventLog(0, path, batchEvents, batchMs, maxPending, fsync, fsyncMs, rotateBytes, keepFiles)
  // new EventLog(1, url, batchEvents, batchMs, maxPending, key, maxInflight, connectTimeoutMs, commandTimeoutMs)
  explicit EventLog(const Napi::CallbackInfo &info) : Napi::ObjectWrap<EventLog>(info) {
    Napi::Env env = info.Env();
    state_ = static_cast<EventsState *>(info.Data());
    int kind = info[0].As<Napi::Number>().Int32Value();
    redis_ = kind == 1;
    std::string target = info[1].As<Napi::String>().Utf8Value();
    hp_events_options o = HP_EVENTS_OPTIONS_INIT;
    o.batch_events = info[2].As<Napi::Number>().Uint32Value();
    o.batch_ms = info[3].As<Napi::Number>().Uint32Value();
    o.max_pending = info[4].As<Napi::Number>().Uint32Value();
    if (kind == 0) {
      hp_events_file_options f = HP_EVENTS_FILE_OPTIONS_INIT;
      f.fsync = info[5].As<Napi::Number>().Int32Value();
      f.fsync_ms = info[6].As<Napi::Number>().Uint32Value();
      f.rotate_bytes = static_cast<uint64_t>(info[7].As<Napi::Number>().DoubleValue());
      f.keep_files = info[8].As<Napi::Number>().Uint32Value();
      Check(env, hp_events_open_file(&b_, GetAddon(env).engine, target.c_str(), &f, &o));
    } else {
      std::string key = info[5].As<Napi::String>().Utf8Value();
      hp_events_redis_options r = HP_EVENTS_REDIS_OPTIONS_INIT;
      r.key = key.c_str();
      r.max_inflight = info[6].As<Napi::Number>().Uint32Value();
      r.connect_timeout_ms = info[7].As<Napi::Number>().Uint32Value();
      r.command_timeout_ms = info[8].As<Napi::Number>().Uint32Value();
      Check(env, hp_events_open_redis(&b_, GetAddon(env).engine, target.c_str(), &r, &o));
    }
  }

  ~EventLog() override {
    // Garbage-collected without close(): close now; what is buffered is
    // still written.
    if (b_) hp_events_close(b_, nullptr, nullptr);
  }

 private:
  hp_events *Get(Napi::Env env) {
    if (!b_) ThrowError(env, HP_ECLOSED);
    return b_;
  }

  Napi::Value Push(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    hp_events *b = Get(env);
    static thread_local Text<HP_EVENTS_MAX_MESSAGE> msg;
    msg.read(env, info[0]);
    if (msg.over()) throw Napi::RangeError::New(env, "EventLog.push: the message is longer than the limit");
    Check(env, hp_events_push(b, msg.buf, msg.size()));
    return env.Undefined();
  }

  Napi::Value Append(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    hp_events *b = Get(env);
    static thread_local EventArgs args;
    args.read(info, 0);
    int n = Check(env, hp_events_append(b, &args.ev, state_->parser));
    return Napi::Number::New(env, n);
  }

  Napi::Value Flush(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    hp_events *b = Get(env);
    return StartPromise(env, "hotpath.events.flush",
                        [&](Pending *p) { return hp_events_flush(b, SettleVoid, p); });
  }

  Napi::Value Stats(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    hp_events_stats s = HP_EVENTS_STATS_INIT;
    Check(env, hp_events_stats_get(&s, Get(env)));
    auto o = Napi::Object::New(env);
    o.Set("appended", Napi::Number::New(env, static_cast<double>(s.appended)));
    o.Set("written", Napi::Number::New(env, static_cast<double>(s.written)));
    o.Set("dropped", Napi::Number::New(env, static_cast<double>(s.dropped)));
    o.Set("pending", Napi::Number::New(env, static_cast<double>(s.pending)));
    o.Set("batches", Napi::Number::New(env, static_cast<double>(s.batches)));
    o.Set("errors", Napi::Number::New(env, static_cast<double>(s.errors)));
    o.Set("rotations", Napi::Number::New(env, static_cast<double>(s.rotations)));
    o.Set("redis", RedisStatsObject(env, s.redis, redis_));
    return o;
  }

  Napi::Value Close(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    hp_events *b = Get(env);
    b_ = nullptr;  // freed by the library once closed
    return StartPromise(env, "hotpath.events.close",
                        [&](Pending *p) { return hp_events_close(b, SettleVoid, p); });
  }

  EventsState *state_ = nullptr;
  hp_events *b_ = nullptr;
  bool redis_ = false;  // a Redis list sink: stats() has its client's figures
};

}  // namespace

void InitEvents(Napi::Env env, Napi::Object exports) {
  auto *st = new EventsState();
  hp_ua_options uo = HP_UA_OPTIONS_INIT;
  uo.cache_entries = 1024;
  int rc = hp_ua_new(&st->parser, &uo);
  if (rc != 0) {
    delete st;
    ThrowError(env, rc);
  }
  napi_add_env_cleanup_hook(
      env,
      [](void *arg) {
        auto *s = static_cast<EventsState *>(arg);
        hp_ua_close(s->parser, nullptr, nullptr);
        delete s;
      },
      st);
  exports.Set("eventsClientIp", Napi::Function::New(env, ClientIp, "eventsClientIp", st));
  exports.Set("eventsIpHex", Napi::Function::New(env, IpHex, "eventsIpHex", st));
  exports.Set("eventsFormat", Napi::Function::New(env, Format, "eventsFormat", st));
  exports.Set("EventLog", EventLog::Define(env, st));
  exports.Set("EVENTS_FSYNC_NONE", Napi::Number::New(env, HP_EVENTS_FSYNC_NONE));
  exports.Set("EVENTS_FSYNC_BATCH", Napi::Number::New(env, HP_EVENTS_FSYNC_BATCH));
  exports.Set("EVENTS_FSYNC_INTERVAL", Napi::Number::New(env, HP_EVENTS_FSYNC_INTERVAL));
}

}  // namespace hp_node
