#include "redis/connection.h"

#include <arpa/inet.h>
#include <hiredis/adapters/libuv.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <netdb.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <memory>

#include "core/error.h"
#include "redis/sha1.h"

namespace hp::redis {

void append_header(std::string &out, char kind, size_t n) {
  char digits[24];
  auto [end, ec] = std::to_chars(digits, digits + sizeof digits, n);
  out.push_back(kind);
  out.append(digits, end);
  out.append("\r\n", 2);
}

void append_bulk(std::string &out, std::string_view arg) {
  append_header(out, '$', arg.size());
  out.append(arg);
  out.append("\r\n", 2);
}

std::string format_eval(const Script &script, size_t nkeys, const std::string_view *argv, size_t argc,
                        size_t *tail) {
  std::string cmd;
  size_t size = 64 + script.sha.size();
  for (size_t i = 0; i < argc; i++) size += argv[i].size() + 16;
  cmd.reserve(size);
  append_header(cmd, '*', 3 + argc);
  append_bulk(cmd, "EVALSHA");
  append_bulk(cmd, script.sha);
  *tail = cmd.size();
  char digits[24];
  auto [end, ec] = std::to_chars(digits, digits + sizeof digits, nkeys);
  append_bulk(cmd, std::string_view(digits, static_cast<size_t>(end - digits)));
  for (size_t i = 0; i < argc; i++) append_bulk(cmd, argv[i]);
  return cmd;
}

void Connection::PendingList::push(Request *r) {
  r->next = nullptr;
  r->prev = tail;
  if (tail)
    tail->next = r;
  else
    head = r;
  tail = r;
}

void Connection::PendingList::erase(Request *r) {
  (r->prev ? r->prev->next : head) = r->next;
  (r->next ? r->next->prev : tail) = r->prev;
  r->prev = r->next = nullptr;
}

Script::Script(std::string src) : source(std::move(src)), sha(sha1_hex(source)) {}

// A host name lookup on the thread pool; `conn` turns NULL when the
// connection no longer waits for it (it closed, or the attempt timed out).
struct Connection::Resolve {
  uv_getaddrinfo_t req;
  Connection *conn;
  int port;
};

Connection::Connection(core::Engine *engine, const Options &options)
    : engine_(engine), options_(options), backoff_ms_(options.reconnect_min_ms) {
  if (!options_.figures) options_.figures = std::make_shared<Figures>();
  char name[64];
  std::snprintf(name, sizeof name, "__hotpath:alive:%p", static_cast<void *>(this));
  keepalive_ = name;
}

Connection *Connection::open(core::Engine *engine, const Options &options) {
  auto *c = new Connection(engine, options);
  uv_loop_t *loop = engine->loop();
  for (uv_timer_t *t : {&c->state_timer_, &c->sweep_timer_, &c->ping_timer_, &c->defer_timer_}) {
    uv_timer_init(loop, t);
    t->data = c;
    c->open_handles_++;
  }
  uv_check_init(loop, &c->flush_check_);
  uv_prepare_init(loop, &c->flush_prepare_);
  c->flush_check_.data = c->flush_prepare_.data = c;
  c->open_handles_ += 2;
  c->connect();
  return c;
}

// One attempt: the connect timer covers the name lookup too.
void Connection::connect() {
  const Address &a = options_.address;
  // The loop's clock is cached: after a host that blocked its loop (Node
  // code that ran synchronously), a timer started on the stale time would
  // fire at once.
  uv_update_time(engine_->loop());
  uv_timer_start(&state_timer_, &Connection::on_state_timer, options_.connect_timeout_ms, 0);
  state_ = State::Connecting;
  if (!a.unix_path.empty()) {
    where_ = a.unix_path;
    redisAsyncContext *ac = redisAsyncConnectUnix(a.unix_path.c_str());
    return attach(ac);
  }
  Endpoint e{a.host, a.port};
  if (!a.seeds.empty()) e = a.seeds[seed_++ % a.seeds.size()];
  where_ = host_port(e.host, e.port);
  unsigned char buf[sizeof(in6_addr)];
  if (inet_pton(AF_INET, e.host.c_str(), buf) == 1 || inet_pton(AF_INET6, e.host.c_str(), buf) == 1)
    return connect_to(e.host, e.port);
  // A name: looked up on the thread pool, never on the loop.
  state_ = State::Resolving;
  auto *r = new Resolve{{}, this, e.port};
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  if (uv_getaddrinfo(engine_->loop(), &r->req, &Connection::on_resolved, e.host.c_str(), nullptr, &hints) != 0) {
    delete r;
    last_error_ = "cannot look up " + e.host;
    state_ = State::Down;
    return schedule_reconnect();
  }
  resolving_ = r;
}

void Connection::on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res) {
  std::unique_ptr<Resolve> r(reinterpret_cast<Resolve *>(req));
  Connection *c = r->conn;
  // IPv4 addresses first (a server bound to 127.0.0.1 is common), then
  // IPv6; successive attempts take them in turn.
  std::vector<std::string> ips;
  if (status == 0) {
    for (int family : {AF_INET, AF_INET6}) {
      for (addrinfo *ai = res; ai; ai = ai->ai_next) {
        if (ai->ai_family != family) continue;
        char text[INET6_ADDRSTRLEN] = "";
        const void *addr =
            family == AF_INET6 ? static_cast<const void *>(&reinterpret_cast<sockaddr_in6 *>(ai->ai_addr)->sin6_addr)
                               : static_cast<const void *>(&reinterpret_cast<sockaddr_in *>(ai->ai_addr)->sin_addr);
        if (uv_inet_ntop(family, addr, text, sizeof text) == 0 &&
            std::find(ips.begin(), ips.end(), text) == ips.end())
          ips.push_back(text);
      }
    }
  }
  uv_freeaddrinfo(res);
  if (!c) return;
  c->resolving_ = nullptr;
  std::string ip = ips.empty() ? std::string() : ips[c->attempts_++ % ips.size()];
  if (ip.empty()) {
    uv_timer_stop(&c->state_timer_);
    c->drop("redis: cannot resolve " + c->where_ + ": " + (status ? uv_strerror(status) : "no address"));
    return c->schedule_reconnect();
  }
  c->connect_to(ip, r->port);
}

void Connection::connect_to(const std::string &ip, int port) {
  state_ = State::Connecting;
  attach(redisAsyncConnect(ip.c_str(), port));
}

void Connection::attach(redisAsyncContext *ac) {
  if (!ac || ac->err || redisLibuvAttach(ac, engine_->loop()) != REDIS_OK) {
    std::string why = !ac ? "out of memory" : ac->err ? ac->errstr : "cannot attach to the loop";
    // hiredis 0.14's adapter sets its cleanup hook before it allocates its
    // state: when that allocation fails, the hook would run on NULL.
    if (ac && !ac->ev.data) ac->ev.cleanup = nullptr;
    if (ac) redisAsyncFree(ac);
    uv_timer_stop(&state_timer_);
    drop("redis: cannot connect to " + where_ + ": " + why);
    return schedule_reconnect();
  }
  ac->data = this;
  ac_ = ac;
  redisAsyncSetConnectCallback(ac, &Connection::on_connect);
  redisAsyncSetDisconnectCallback(ac, &Connection::on_disconnect);
  // hiredis learns that the connect finished when the socket turns
  // writable, which it watches only once a command is queued: a connection
  // with nothing to send yet (a cluster node, a subscriber) must ask.
  if (ac->ev.addWrite) ac->ev.addWrite(ac->ev.data);
  handshake();
  // What came while the name resolved, after the handshake.
  std::vector<std::pair<Request *, std::string>> waiting;
  waiting.swap(waiting_);
  for (auto &[req, cmd] : waiting) send(req, cmd);
}

// Queued ahead of everything else on the connection.
void Connection::handshake() {
  const Address &a = options_.address;
  if (!a.password.empty()) {
    std::vector<std::string> auth = {"AUTH"};
    if (!a.user.empty()) auth.push_back(a.user);
    auth.push_back(a.password);
    command(auth, [this](int status, Reply r) {
      // Redis's reply names the user at most, never the password.
      if (status == 0 && r.is_error()) drop("redis: AUTH failed on " + where_ + ": " + r.str);
    });
  }
  if (a.db != 0) {
    command({"SELECT", std::to_string(a.db)}, [this](int status, Reply r) {
      if (status == 0 && r.is_error()) drop("redis: SELECT failed on " + where_ + ": " + r.str);
    });
  }
}

void Connection::on_connect(const redisAsyncContext *ac, int status) {
  auto *c = static_cast<Connection *>(ac->data);
  if (!c || c->ac_ != ac) return;
  uv_timer_stop(&c->state_timer_);
  if (status != REDIS_OK) {
    // hiredis frees the context after this callback.
    c->last_error_ = ac->errstr;
    c->ac_ = nullptr;
    c->state_ = State::Down;
    c->fail_all(HP_EUNAVAILABLE, "redis: cannot connect to " + c->where_ + ": " + c->last_error_);
    c->schedule_reconnect();
    return;
  }
  // Notices a peer that vanished without a word (on TCP; a Unix socket
  // has no such thing).
  if (c->options_.address.unix_path.empty()) redisEnableKeepAlive(const_cast<redisContext *>(&ac->c));
  c->state_ = State::Connected;
  c->backoff_ms_ = c->options_.reconnect_min_ms;
  c->went_up();
  c->resubscribe();
}

void Connection::on_disconnect(const redisAsyncContext *ac, int) {
  auto *c = static_cast<Connection *>(ac->data);
  if (!c || c->ac_ != ac) return;
  c->last_error_ = ac->err ? ac->errstr : "connection closed";
  c->ac_ = nullptr;
  c->went_down("redis: connection to " + c->where_ + " lost: " + c->last_error_);
  c->state_ = State::Down;
  c->fail_all(HP_EUNAVAILABLE, "redis: connection to " + c->where_ + " lost: " + c->last_error_);
  c->schedule_reconnect();
}

void Connection::schedule_reconnect() {
  if (state_ == State::Closing) return;
  reconnects_++;
  uv_timer_stop(&ping_timer_);
  uv_timer_start(&state_timer_, &Connection::on_state_timer, backoff_ms_, 0);
  backoff_ms_ = std::min(backoff_ms_ * 2, options_.reconnect_max_ms);
}

void Connection::on_state_timer(uv_timer_t *t) {
  auto *c = static_cast<Connection *>(t->data);
  if (c->state_ == State::Connecting || c->state_ == State::Resolving) {
    c->timed_out();
    c->drop("redis: connect to " + c->where_ + " timed out after " + std::to_string(c->options_.connect_timeout_ms) +
            " ms");
    c->schedule_reconnect();
  } else if (c->state_ == State::Down) {
    c->connect();
  }
}

// Lets go of the connection; hiredis answers its pending callbacks with a
// NULL reply, which fail_all has already settled.
void Connection::drop(const std::string &why, int status) {
  // What follows must happen also without memory: a close that stopped
  // here would leave the connection open and its requests waiting.
  try {
    last_error_ = why;
  } catch (const std::bad_alloc &) {
    last_error_.clear();
  }
  went_down(why);
  if (resolving_) {
    resolving_->conn = nullptr;
    resolving_ = nullptr;
  }
  fail_all(status, why);
  if (ac_) {
    redisAsyncContext *ac = ac_;
    ac_ = nullptr;
    ac->data = nullptr;
    redisAsyncFree(ac);
  }
  awaiting_pong_ = false;
  uv_timer_stop(&ping_timer_);
  if (state_ != State::Closing) state_ = State::Down;
}

// hiredis still owns the failed requests: it frees them through on_reply
// (with a NULL reply) when the context goes. Waiting ones are ours.
void Connection::fail_all(int status, const std::string &why) {
  PendingList failing = pending_;
  pending_ = PendingList{};
  for (Request *r = failing.head; r;) {
    Request *next = r->next;
    r->done = true;
    core::set_error_text(status, why);
    deliver(r, status, nullptr);
    r = next;
  }
  std::vector<std::pair<Request *, std::string>> waiting;
  waiting.swap(waiting_);
  for (auto &w : waiting) {
    std::unique_ptr<Request> req(w.first);
    core::set_error_text(status, why);
    deliver(req.get(), status, nullptr);
  }
  if (pending_.empty()) uv_timer_stop(&sweep_timer_);
}

void Connection::deliver(Request *req, int status, const redisReply *reply) {
  req->in_flight.done();
  if (req->raw)
    req->raw(req->ctx, status, reply);
  else
    req->cb(status, reply ? Reply::from(reply) : Reply{});
}

// For a request hiredis never took: delivered on the next loop turn, then freed.
void Connection::fail_later(Request *req, int status, std::string why) {
  deferred_.push_back({req, status, std::move(why)});
  if (!uv_is_active(reinterpret_cast<uv_handle_t *>(&defer_timer_)))
    uv_timer_start(&defer_timer_, &Connection::on_defer, 0, 0);
}

void Connection::on_defer(uv_timer_t *t) {
  auto *c = static_cast<Connection *>(t->data);
  std::vector<Deferred> batch;
  batch.swap(c->deferred_);
  for (auto &d : batch) {
    std::unique_ptr<Request> req(d.req);
    core::set_error_text(d.status, d.why);
    deliver(req.get(), d.status, nullptr);
  }
}

std::string Connection::not_connected() const {
  return "redis: not connected to " + (where_.empty() ? options_.address.where() : where_) + " (" + last_error_ +
         ")";
}

void Connection::command(const std::vector<std::string> &args, ReplyCb cb) {
  auto *req = new Request;
  req->conn = this;
  req->cb = std::move(cb);
  std::string cmd;
  append_header(cmd, '*', args.size());
  for (const auto &a : args) append_bulk(cmd, a);
  send(req, cmd);
}

void Connection::formatted(std::string cmd, const Script *script, size_t tail, bool asking, RawReplyFn fn,
                           void *ctx) {
  if (asking) send_asking();
  auto *req = new Request;
  req->conn = this;
  req->raw = fn;
  req->ctx = ctx;
  req->script = script;
  req->tail = tail;
  req->asking = asking;
  if (script) {
    req->cmd = std::move(cmd);
    send(req, req->cmd);
  } else {
    send(req, cmd);
  }
}

// Lets the next command reach a slot this node is importing (ASK).
void Connection::send_asking() {
  if (state_ == State::Closing || (!ac_ && state_ != State::Resolving)) return;
  std::string ask;
  append_header(ask, '*', 1);
  append_bulk(ask, "ASKING");
  auto *a = new Request;
  a->conn = this;
  a->cb = [](int, Reply) {};
  send(a, ask);
}

bool Connection::queue(Request *req, const std::string &cmd) {
  if (redisAsyncFormattedCommand(ac_, &Connection::on_reply, req, cmd.data(), cmd.size()) != REDIS_OK)
    return false;
  commands_sent_++;
  options_.figures->bump(options_.figures->commands);
  want_flush();
  req->done = false;
  uv_update_time(engine_->loop());  // a stale clock would cut the deadline short
  req->deadline = uv_now(engine_->loop()) + options_.command_timeout_ms;
  pending_.push(req);
  arm_sweep();
  return true;
}

void Connection::send(Request *req, const std::string &cmd) {
  req->in_flight.count(options_.figures);
  if (state_ == State::Closing) return fail_later(req, HP_ECLOSED, "redis: client closed");
  if (state_ == State::Resolving && !ac_) {
    waiting_.emplace_back(req, cmd);
    return;
  }
  if (!ac_) return fail_later(req, HP_EUNAVAILABLE, not_connected());
  if (!queue(req, cmd)) fail_later(req, HP_EUNAVAILABLE, "redis: cannot queue the command");
}

// The server lost the script (restart, SCRIPT FLUSH, another cluster
// node): the same command with the source in place of the SHA, which also
// caches it again.
void Connection::resend_as_eval(Request *req) {
  std::string eval;
  std::string_view args = std::string_view(req->cmd).substr(req->tail);
  size_t argc = std::strtoul(req->cmd.c_str() + 1, nullptr, 10);
  append_header(eval, '*', argc);
  append_bulk(eval, "EVAL");
  append_bulk(eval, req->script->source);
  eval.append(args);
  req->script = nullptr;  // once: a second NOSCRIPT is the caller's answer
  req->cmd.clear();
  if (req->asking) send_asking();
  send(req, eval);
}

void Connection::on_reply(redisAsyncContext *, void *reply, void *privdata) {
  std::unique_ptr<Request> req(static_cast<Request *>(privdata));
  if (req->done) return;
  Connection *c = req->conn;
  c->pending_.erase(req.get());
  req->done = true;
  auto *r = static_cast<const redisReply *>(reply);
  if (!r) {
    core::set_error_text(HP_EUNAVAILABLE, "redis: connection to " + c->where_ + " lost: " + c->last_error_);
    deliver(req.get(), HP_EUNAVAILABLE, nullptr);
    return;
  }
  if (req->script && is_error(r, "NOSCRIPT")) return c->resend_as_eval(req.release());
  deliver(req.get(), 0, r);
}

void Connection::want_flush() {
  if (uv_is_active(reinterpret_cast<uv_handle_t *>(&flush_check_))) return;
  uv_check_start(&flush_check_, [](uv_check_t *h) { static_cast<Connection *>(h->data)->flush(); });
  uv_prepare_start(&flush_prepare_, [](uv_prepare_t *h) { static_cast<Connection *>(h->data)->flush(); });
}

bool Connection::before_flush(std::function<void()> fn) {
  if (state_ == State::Closing) return false;
  before_flush_.push_back(std::move(fn));
  want_flush();
  return true;
}

void Connection::run_before_flush() {
  while (!before_flush_.empty()) {
    std::vector<std::function<void()>> hooks;
    hooks.swap(before_flush_);
    for (auto &fn : hooks) fn();
  }
}

void Connection::flush() {
  run_before_flush();  // first: what it queues goes out in this write
  uv_check_stop(&flush_check_);
  uv_prepare_stop(&flush_prepare_);
  // Before the connection is up, hiredis writes when it comes up.
  if (state_ == State::Connected && ac_ && ac_->c.obuf && sdslen(ac_->c.obuf) > 0) redisAsyncHandleWrite(ac_);
}

// The timer fires when the oldest command is due, not on a coarse tick, so
// a silent server is reported within the timeout plus a loop turn.
void Connection::arm_sweep() {
  if (pending_.empty()) return;
  uint64_t now = uv_now(engine_->loop());
  uint64_t due = pending_.head->deadline;
  uv_timer_start(&sweep_timer_, &Connection::on_sweep, due > now ? due - now : 0, 0);
}

// Replies come in order, so the oldest command decides: if it is overdue,
// the server is stuck or gone, and every command behind it fails too.
void Connection::on_sweep(uv_timer_t *t) {
  auto *c = static_cast<Connection *>(t->data);
  if (c->pending_.empty()) return;
  if (uv_now(c->engine_->loop()) < c->pending_.head->deadline) return c->arm_sweep();
  c->timed_out();
  c->drop("redis: no reply from " + c->where_ + " within " + std::to_string(c->options_.command_timeout_ms) + " ms");
  c->schedule_reconnect();
}

void Connection::subscribe(const std::string &channel, MessageCb cb) {
  channels_[channel] = std::move(cb);
  if (state_ == State::Connected)
    redisAsyncCommand(ac_, &Connection::on_message, this, "SUBSCRIBE %b", channel.data(), channel.size());
}

void Connection::resubscribe() {
  if (channels_.empty()) return;
  for (auto &[channel, cb] : channels_)
    redisAsyncCommand(ac_, &Connection::on_message, this, "SUBSCRIBE %b", channel.data(), channel.size());
  if (options_.ping_interval_ms) {
    // PING's answer on a subscribed connection is ["pong", argument]; hiredis
    // routes it by that argument as it routes a pattern's messages.
    redisAsyncCommand(ac_, &Connection::on_alive, this, "PSUBSCRIBE %b", keepalive_.data(), keepalive_.size());
    uv_timer_start(&ping_timer_, &Connection::on_ping, options_.ping_interval_ms, options_.ping_interval_ms);
  }
  bool again = subscribed_before_;
  subscribed_before_ = true;
  // Messages published while the connection was down are lost: the owner
  // resyncs from its source.
  if (again && on_resubscribe_) on_resubscribe_();
}

void Connection::on_message(redisAsyncContext *, void *reply, void *privdata) {
  auto *c = static_cast<Connection *>(privdata);
  if (reply) c->awaiting_pong_ = false;
  std::string_view channel_text, payload;
  if (!pubsub_message(static_cast<redisReply *>(reply), &channel_text, &payload)) return;
  std::string channel(channel_text);
  auto it = c->channels_.find(channel);
  if (it != c->channels_.end()) it->second(channel, std::string(payload));
}

void Connection::on_alive(redisAsyncContext *, void *reply, void *privdata) {
  if (reply) static_cast<Connection *>(privdata)->awaiting_pong_ = false;
}

// Sent without a callback of its own: hiredis would keep one per PING on a
// subscribed connection until it closes. The answer comes to on_alive.
void Connection::send_ping() {
  std::string ping;
  append_header(ping, '*', 2);
  append_bulk(ping, "PING");
  append_bulk(ping, keepalive_);
  if (redisAppendFormattedCommand(&ac_->c, ping.data(), ping.size()) != REDIS_OK) return;
  awaiting_pong_ = true;
  ping_sent_ = uv_now(engine_->loop());
  want_flush();
}

void Connection::on_ping(uv_timer_t *t) {
  auto *c = static_cast<Connection *>(t->data);
  if (c->state_ != State::Connected || !c->ac_) return;
  uint64_t now = uv_now(c->engine_->loop());
  if (c->awaiting_pong_) {
    if (now - c->ping_sent_ < c->options_.command_timeout_ms) return;
    c->timed_out();
    c->drop("redis: no answer to PING from " + c->where_ + " within " +
            std::to_string(c->options_.command_timeout_ms) + " ms");
    return c->schedule_reconnect();
  }
  c->send_ping();
}

namespace {
// Made once, at load: closing must not need memory.
const std::string kClientClosed = "redis: client closed";
}  // namespace

void Connection::close(std::function<void()> done) {
  if (state_ == State::Closing) {
    // Closed already (say by the engine): `done` still runs when it is gone.
    if (done) {
      on_closed_ = [first = std::move(on_closed_), then = std::move(done)] {
        if (first) first();
        then();
      };
    }
    return;
  }
  run_before_flush();  // gathered calls are queued, then fail below
  state_ = State::Closing;
  on_closed_ = std::move(done);
  drop(kClientClosed, HP_ECLOSED);
  for (auto &d : deferred_) d.status = HP_ECLOSED;
  on_defer(&defer_timer_);
  channels_.clear();
  auto closed = [](uv_handle_t *h) {
    auto *c = static_cast<Connection *>(h->data);
    if (--c->open_handles_ > 0) return;
    if (c->on_closed_) c->on_closed_();
    delete c;
  };
  for (uv_timer_t *t : {&state_timer_, &sweep_timer_, &ping_timer_, &defer_timer_})
    uv_close(reinterpret_cast<uv_handle_t *>(t), closed);
  uv_close(reinterpret_cast<uv_handle_t *>(&flush_check_), closed);
  uv_close(reinterpret_cast<uv_handle_t *>(&flush_prepare_), closed);
}

}  // namespace hp::redis
