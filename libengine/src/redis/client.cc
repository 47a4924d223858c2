#include "redis/client.h"

#include <hiredis/adapters/libuv.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <memory>

#include "core/error.h"
#include "redis/sha1.h"

namespace hp::redis {

namespace {

// The Redis wire format (RESP) of a command, appended to `out`.
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

}  // namespace

void Client::PendingList::push(Request *r) {
  r->next = nullptr;
  r->prev = tail;
  if (tail)
    tail->next = r;
  else
    head = r;
  tail = r;
}

void Client::PendingList::erase(Request *r) {
  (r->prev ? r->prev->next : head) = r->next;
  (r->next ? r->next->prev : tail) = r->prev;
  r->prev = r->next = nullptr;
}

Script::Script(std::string src) : source(std::move(src)), sha(sha1_hex(source)) {}

Client::Client(core::Engine *engine, const Options &options)
    : engine_(engine), options_(options), backoff_ms_(options.reconnect_min_ms) {}

Client *Client::open(core::Engine *engine, const Options &options) {
  auto *c = new Client(engine, options);
  uv_loop_t *loop = engine->loop();
  for (uv_timer_t *t : {&c->state_timer_, &c->sweep_timer_, &c->defer_timer_}) {
    uv_timer_init(loop, t);
    t->data = c;
    c->open_handles_++;
  }
  uv_check_init(loop, &c->flush_check_);
  uv_prepare_init(loop, &c->flush_prepare_);
  c->flush_check_.data = c->flush_prepare_.data = c;
  c->open_handles_ += 2;
  engine->add(c);
  c->connect();
  return c;
}

void Client::connect() {
  state_ = State::Connecting;
  redisAsyncContext *ac = redisAsyncConnect(options_.address.host.c_str(), options_.address.port);
  if (!ac || ac->err) {
    last_error_ = ac ? ac->errstr : "out of memory";
    if (ac) redisAsyncFree(ac);
    state_ = State::Down;
    schedule_reconnect();
    return;
  }
  if (redisLibuvAttach(ac, engine_->loop()) != REDIS_OK) {
    redisAsyncFree(ac);
    last_error_ = "cannot attach to the loop";
    state_ = State::Down;
    schedule_reconnect();
    return;
  }
  ac->data = this;
  ac_ = ac;
  redisAsyncSetConnectCallback(ac, &Client::on_connect);
  redisAsyncSetDisconnectCallback(ac, &Client::on_disconnect);
  uv_timer_start(&state_timer_, &Client::on_state_timer, options_.connect_timeout_ms, 0);
  // Queued ahead of everything else on the connection.
  if (!options_.address.password.empty()) {
    command({"AUTH", options_.address.password}, [this](int status, Reply r) {
      if (status == 0 && r.is_error()) drop("AUTH failed: " + r.str);
    });
  }
  if (options_.address.db != 0) {
    command({"SELECT", std::to_string(options_.address.db)}, [this](int status, Reply r) {
      if (status == 0 && r.is_error()) drop("SELECT failed: " + r.str);
    });
  }
}

void Client::on_connect(const redisAsyncContext *ac, int status) {
  auto *c = static_cast<Client *>(ac->data);
  if (!c || c->ac_ != ac) return;
  uv_timer_stop(&c->state_timer_);
  if (status != REDIS_OK) {
    // hiredis frees the context after this callback.
    c->last_error_ = ac->errstr;
    c->ac_ = nullptr;
    c->state_ = State::Down;
    c->fail_all(HP_EUNAVAILABLE, "redis: cannot connect to " + c->options_.address.host + ":" +
                                     std::to_string(c->options_.address.port) + ": " + c->last_error_);
    c->schedule_reconnect();
    return;
  }
  c->state_ = State::Connected;
  c->backoff_ms_ = c->options_.reconnect_min_ms;
  c->resubscribe();
}

void Client::on_disconnect(const redisAsyncContext *ac, int) {
  auto *c = static_cast<Client *>(ac->data);
  if (!c || c->ac_ != ac) return;
  c->last_error_ = ac->err ? ac->errstr : "connection closed";
  c->ac_ = nullptr;
  c->state_ = State::Down;
  c->fail_all(HP_EUNAVAILABLE, "redis: connection lost: " + c->last_error_);
  c->schedule_reconnect();
}

void Client::schedule_reconnect() {
  if (state_ == State::Closing) return;
  reconnects_++;
  uv_timer_start(&state_timer_, &Client::on_state_timer, backoff_ms_, 0);
  backoff_ms_ = std::min(backoff_ms_ * 2, options_.reconnect_max_ms);
}

void Client::on_state_timer(uv_timer_t *t) {
  auto *c = static_cast<Client *>(t->data);
  if (c->state_ == State::Connecting) {
    c->drop("redis: connect to " + c->options_.address.host + ":" + std::to_string(c->options_.address.port) +
            " timed out after " + std::to_string(c->options_.connect_timeout_ms) + " ms");
    c->schedule_reconnect();
  } else if (c->state_ == State::Down) {
    c->connect();
  }
}

// Lets go of the connection; hiredis answers its pending callbacks with a
// NULL reply, which fail_all has already settled.
void Client::drop(const std::string &why, int status) {
  last_error_ = why;
  fail_all(status, why);
  if (ac_) {
    redisAsyncContext *ac = ac_;
    ac_ = nullptr;
    ac->data = nullptr;
    redisAsyncFree(ac);
  }
  if (state_ != State::Closing) state_ = State::Down;
}

// hiredis still owns the failed requests: it frees them through on_reply
// (with a NULL reply) when the context goes.
void Client::fail_all(int status, const std::string &why) {
  PendingList failing = pending_;
  pending_ = PendingList{};
  for (Request *r = failing.head; r;) {
    Request *next = r->next;
    r->done = true;
    core::set_error_text(status, why);
    deliver(r, status, nullptr);
    r = next;
  }
  if (pending_.empty()) uv_timer_stop(&sweep_timer_);
}

void Client::deliver(Request *req, int status, const redisReply *reply) {
  if (req->raw)
    req->raw(req->ctx, status, reply);
  else
    req->cb(status, reply ? Reply::from(reply) : Reply{});
}

// For a request hiredis never took: delivered on the next loop turn, then freed.
void Client::fail_later(Request *req, int status, std::string why) {
  deferred_.push_back({req, status, std::move(why)});
  if (!uv_is_active(reinterpret_cast<uv_handle_t *>(&defer_timer_)))
    uv_timer_start(&defer_timer_, &Client::on_defer, 0, 0);
}

void Client::on_defer(uv_timer_t *t) {
  auto *c = static_cast<Client *>(t->data);
  std::vector<Deferred> batch;
  batch.swap(c->deferred_);
  for (auto &d : batch) {
    std::unique_ptr<Request> req(d.req);
    core::set_error_text(d.status, d.why);
    deliver(req.get(), d.status, nullptr);
  }
}

std::string Client::not_connected() const {
  return "redis: not connected to " + options_.address.host + ":" + std::to_string(options_.address.port) + " (" +
         last_error_ + ")";
}

void Client::command(std::vector<std::string> args, ReplyCb cb) {
  auto *req = new Request;
  req->client = this;
  req->cb = std::move(cb);
  if (state_ == State::Closing) return fail_later(req, HP_ECLOSED, "redis: client closed");
  if (!ac_) return fail_later(req, HP_EUNAVAILABLE, not_connected());
  scratch_.clear();
  append_header(scratch_, '*', args.size());
  for (const auto &a : args) append_bulk(scratch_, a);
  send(req, scratch_);
}

void Client::eval(const Script &script, const std::vector<std::string> &keys, const std::vector<std::string> &args,
                  ReplyCb cb) {
  std::vector<std::string_view> argv;
  argv.reserve(keys.size() + args.size());
  argv.insert(argv.end(), keys.begin(), keys.end());
  argv.insert(argv.end(), args.begin(), args.end());
  auto *req = new Request;
  req->client = this;
  req->cb = std::move(cb);
  req->script = &script;
  if (state_ == State::Closing) return fail_later(req, HP_ECLOSED, "redis: client closed");
  if (!ac_) return fail_later(req, HP_EUNAVAILABLE, not_connected());
  append_header(req->cmd, '*', 3 + argv.size());
  append_bulk(req->cmd, "EVALSHA");
  append_bulk(req->cmd, script.sha);
  req->tail = req->cmd.size();
  append_bulk(req->cmd, std::to_string(keys.size()));
  for (auto a : argv) append_bulk(req->cmd, a);
  send(req, req->cmd);
}

void Client::eval(const Script &script, size_t nkeys, const std::string_view *argv, size_t argc, RawReplyFn fn,
                  void *ctx) {
  auto *req = new Request;
  req->client = this;
  req->raw = fn;
  req->ctx = ctx;
  req->script = &script;
  if (state_ == State::Closing) return fail_later(req, HP_ECLOSED, "redis: client closed");
  if (!ac_) return fail_later(req, HP_EUNAVAILABLE, not_connected());
  size_t size = 64 + script.sha.size();
  for (size_t i = 0; i < argc; i++) size += argv[i].size() + 16;
  req->cmd.reserve(size);
  append_header(req->cmd, '*', 3 + argc);
  append_bulk(req->cmd, "EVALSHA");
  append_bulk(req->cmd, script.sha);
  req->tail = req->cmd.size();
  char digits[24];
  auto [end, ec] = std::to_chars(digits, digits + sizeof digits, nkeys);
  append_bulk(req->cmd, std::string_view(digits, static_cast<size_t>(end - digits)));
  for (size_t i = 0; i < argc; i++) append_bulk(req->cmd, argv[i]);
  send(req, req->cmd);
}

bool Client::queue(Request *req, const std::string &cmd) {
  if (redisAsyncFormattedCommand(ac_, &Client::on_reply, req, cmd.data(), cmd.size()) != REDIS_OK) return false;
  commands_sent_++;
  want_flush();
  req->done = false;
  req->deadline = uv_now(engine_->loop()) + options_.command_timeout_ms;
  pending_.push(req);
  arm_sweep();
  return true;
}

void Client::send(Request *req, const std::string &cmd) {
  if (!queue(req, cmd)) fail_later(req, HP_EUNAVAILABLE, "redis: cannot queue the command");
}

// The server lost the script (restart, SCRIPT FLUSH): the same command with
// the source in place of the SHA, which also caches it again.
void Client::resend_as_eval(Request *req) {
  std::string eval;
  std::string_view args = std::string_view(req->cmd).substr(req->tail);
  size_t argc = std::strtoul(req->cmd.c_str() + 1, nullptr, 10);
  append_header(eval, '*', argc);
  append_bulk(eval, "EVAL");
  append_bulk(eval, req->script->source);
  eval.append(args);
  req->script = nullptr;  // once: a second NOSCRIPT is the caller's answer
  req->cmd.clear();
  if (!ac_) return fail_later(req, HP_EUNAVAILABLE, not_connected());
  send(req, eval);
}

void Client::on_reply(redisAsyncContext *, void *reply, void *privdata) {
  std::unique_ptr<Request> req(static_cast<Request *>(privdata));
  if (req->done) return;
  Client *c = req->client;
  c->pending_.erase(req.get());
  req->done = true;
  auto *r = static_cast<const redisReply *>(reply);
  if (!r) {
    core::set_error_text(HP_EUNAVAILABLE, "redis: connection lost: " + c->last_error_);
    deliver(req.get(), HP_EUNAVAILABLE, nullptr);
    return;
  }
  if (req->script && is_error(r, "NOSCRIPT")) return c->resend_as_eval(req.release());
  deliver(req.get(), 0, r);
}

void Client::want_flush() {
  if (uv_is_active(reinterpret_cast<uv_handle_t *>(&flush_check_))) return;
  uv_check_start(&flush_check_, [](uv_check_t *h) { static_cast<Client *>(h->data)->flush(); });
  uv_prepare_start(&flush_prepare_, [](uv_prepare_t *h) { static_cast<Client *>(h->data)->flush(); });
}

bool Client::before_flush(std::function<void()> fn) {
  if (state_ == State::Closing) return false;
  before_flush_.push_back(std::move(fn));
  want_flush();
  return true;
}

void Client::run_before_flush() {
  while (!before_flush_.empty()) {
    std::vector<std::function<void()>> hooks;
    hooks.swap(before_flush_);
    for (auto &fn : hooks) fn();
  }
}

void Client::flush() {
  run_before_flush();  // first: what it queues goes out in this write
  uv_check_stop(&flush_check_);
  uv_prepare_stop(&flush_prepare_);
  // Before the connection is up, hiredis writes when it comes up.
  if (state_ == State::Connected && ac_ && ac_->c.obuf && sdslen(ac_->c.obuf) > 0) redisAsyncHandleWrite(ac_);
}

void Client::arm_sweep() {
  if (uv_is_active(reinterpret_cast<uv_handle_t *>(&sweep_timer_))) return;
  uint64_t tick = std::max<uint64_t>(5, options_.command_timeout_ms / 4);
  uv_timer_start(&sweep_timer_, &Client::on_sweep, tick, tick);
}

// Replies come in order, so the oldest command decides: if it is overdue,
// the server is stuck or gone, and every command behind it fails too.
void Client::on_sweep(uv_timer_t *t) {
  auto *c = static_cast<Client *>(t->data);
  if (c->pending_.empty()) {
    uv_timer_stop(t);
    return;
  }
  if (uv_now(c->engine_->loop()) < c->pending_.head->deadline) return;
  c->drop("redis: no reply from " + c->options_.address.host + ":" + std::to_string(c->options_.address.port) +
          " within " + std::to_string(c->options_.command_timeout_ms) + " ms");
  c->schedule_reconnect();
}

void Client::subscribe(const std::string &channel, MessageCb cb) {
  channels_[channel] = std::move(cb);
  if (state_ == State::Connected)
    redisAsyncCommand(ac_, &Client::on_message, this, "SUBSCRIBE %b", channel.data(), channel.size());
}

void Client::resubscribe() {
  for (auto &[channel, cb] : channels_)
    redisAsyncCommand(ac_, &Client::on_message, this, "SUBSCRIBE %b", channel.data(), channel.size());
}

void Client::on_message(redisAsyncContext *, void *reply, void *privdata) {
  std::string_view channel_text, payload;
  if (!pubsub_message(static_cast<redisReply *>(reply), &channel_text, &payload)) return;
  auto *c = static_cast<Client *>(privdata);
  std::string channel(channel_text);
  auto it = c->channels_.find(channel);
  if (it != c->channels_.end()) it->second(channel, std::string(payload));
}

void Client::close(std::function<void()> done) {
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
  drop("redis: client closed", HP_ECLOSED);
  for (auto &d : deferred_) d.status = HP_ECLOSED;
  on_defer(&defer_timer_);
  channels_.clear();
  auto closed = [](uv_handle_t *h) {
    auto *c = static_cast<Client *>(h->data);
    if (--c->open_handles_ > 0) return;
    c->engine_->remove(c);
    if (c->on_closed_) c->on_closed_();
    delete c;
  };
  for (uv_timer_t *t : {&state_timer_, &sweep_timer_, &defer_timer_}) uv_close(reinterpret_cast<uv_handle_t *>(t), closed);
  uv_close(reinterpret_cast<uv_handle_t *>(&flush_check_), closed);
  uv_close(reinterpret_cast<uv_handle_t *>(&flush_prepare_), closed);
}

}  // namespace hp::redis
