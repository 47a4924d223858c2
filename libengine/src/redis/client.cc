#include "redis/client.h"

#include <hiredis/hiredis.h>

#include <array>
#include <memory>

#include "core/error.h"

namespace hp::redis {

namespace {

constexpr int kSlots = 16384;
constexpr int kMaxRedirects = 5;
constexpr uint64_t kRetryMs = 10;

// CRC16-CCITT (XMODEM), as Redis Cluster hashes keys.
constexpr std::array<uint16_t, 256> make_crc16_table() {
  std::array<uint16_t, 256> t{};
  for (int i = 0; i < 256; i++) {
    uint16_t c = static_cast<uint16_t>(i << 8);
    for (int b = 0; b < 8; b++) c = static_cast<uint16_t>(c & 0x8000 ? (c << 1) ^ 0x1021 : c << 1);
    t[i] = c;
  }
  return t;
}
constexpr auto kCrc16 = make_crc16_table();

uint16_t crc16(std::string_view s) {
  uint16_t crc = 0;
  for (unsigned char ch : s) crc = static_cast<uint16_t>((crc << 8) ^ kCrc16[((crc >> 8) ^ ch) & 0xff]);
  return crc;
}

// "MOVED 3999 127.0.0.1:6381" into slot, host and port.
bool parse_redirect(std::string_view text, int *slot, std::string *host, int *port) {
  auto sp1 = text.find(' ');
  auto sp2 = text.find(' ', sp1 + 1);
  if (sp1 == std::string_view::npos || sp2 == std::string_view::npos) return false;
  std::string_view where = text.substr(sp2 + 1);
  auto colon = where.rfind(':');
  if (colon == std::string_view::npos) return false;
  *slot = std::atoi(std::string(text.substr(sp1 + 1, sp2 - sp1 - 1)).c_str());
  *host = std::string(where.substr(0, colon));
  *port = std::atoi(std::string(where.substr(colon + 1)).c_str());
  return *slot >= 0 && *slot < kSlots && *port > 0 && *port < 65536;
}

bool error_starts(const redisReply *r, std::string_view code) {
  return r && r->type == REDIS_REPLY_ERROR && std::string_view(r->str, r->len).substr(0, code.size()) == code;
}

}  // namespace

int key_slot(std::string_view key) {
  auto open = key.find('{');
  if (open != std::string_view::npos) {
    auto close = key.find('}', open + 1);
    if (close != std::string_view::npos && close > open + 1) key = key.substr(open + 1, close - open - 1);
  }
  return crc16(key) & (kSlots - 1);
}

// A cluster command until its final reply: kept to be sent again after a
// redirect or a TRYAGAIN.
struct Client::Routed {
  explicit Routed(Client *c) : client(c) {}
  Client *client;
  std::string cmd;
  const Script *script = nullptr;
  size_t tail = 0;
  int slot = -1;  // -1: no key, any node
  int redirects = 0;
  Connection *ask = nullptr;  // a retry goes there with ASKING
  uint64_t deadline = 0;      // of redirects and retries
  ReplyCb cb;             // or
  RawReplyFn raw = nullptr;
  void *ctx = nullptr;
};

Client::Client(core::Engine *engine, const Options &options) : engine_(engine), options_(options) {}

Client *Client::open(core::Engine *engine, const Options &options) {
  auto *c = new Client(engine, options);
  engine->add(c);
  try {
    // The seed rotates through the addresses of a cluster.
    (options.address.cluster ? c->seed_ : c->single_) = Connection::open(engine, options);
  } catch (...) {
    engine->remove(c);
    delete c;
    throw;
  }
  c->open_ = 1;
  if (!options.address.cluster) return c;
  uv_timer_init(engine->loop(), &c->retry_timer_);
  c->retry_timer_.data = c;
  try {
    c->refresh_map();
  } catch (const std::bad_alloc &) {
    // Commands go to the seed until a MOVED asks for the map again.
  }
  return c;
}

std::vector<Connection *> Client::connections() const {
  std::vector<Connection *> all;
  for (Connection *c : {single_, seed_, subscriber_})
    if (c) all.push_back(c);
  for (auto &[name, c] : nodes_) all.push_back(c);
  return all;
}

bool Client::connected() const {
  if (single_) return single_->connected();
  for (Connection *c : connections())
    if (c != subscriber_ && c->connected()) return true;
  return false;
}

uint64_t Client::commands_sent() const {
  uint64_t n = 0;
  for (Connection *c : connections()) n += c->commands_sent();
  return n;
}

uint64_t Client::reconnects() const {
  uint64_t n = 0;
  for (Connection *c : connections()) n += c->reconnects();
  return n;
}

// The connection to a master, made on first use (it keeps the seeds'
// credentials; a cluster has database 0 only).
Connection *Client::node(const std::string &host, int port) {
  std::string name = host + ":" + std::to_string(port);
  auto it = nodes_.find(name);
  if (it != nodes_.end()) return it->second;
  Options o = options_;
  o.address.seeds.clear();
  o.address.host = host;
  o.address.port = port;
  Connection *c = Connection::open(engine_, o);
  nodes_[name] = c;
  open_++;
  return c;
}

Connection *Client::route(int slot) {
  if (slot >= 0 && !slots_.empty() && slots_[slot]) return slots_[slot];
  // No map yet (or no key): any master, else the seed; MOVED corrects it.
  if (slot < 0 && !nodes_.empty()) return nodes_.begin()->second;
  return seed_;
}

void Client::refresh_map() {
  if (refreshing_ || closing_) return;
  refreshing_ = true;
  map_refreshes_++;
  // Asked of a master that is up, else of the seed connection.
  Connection *to = seed_;
  for (auto &[name, c] : nodes_)
    if (c->connected()) to = c;
  try {
    std::string host = to->options().address.host;
    to->command({"CLUSTER", "SLOTS"}, [this, host](int status, Reply r) {
      refreshing_ = false;
      if (status == 0 && r.type == Reply::Array) apply_map(r, host);
    });
  } catch (...) {
    refreshing_ = false;  // a later MOVED asks again
    throw;
  }
}

// CLUSTER SLOTS: {start, end, {host, port, id}, replicas...} per range.
void Client::apply_map(const Reply &r, const std::string &asked_host) {
  if (closing_) return;
  std::vector<Connection *> slots(kSlots, nullptr);
  for (const Reply &range : r.elements) {
    if (range.type != Reply::Array || range.elements.size() < 3) continue;
    const Reply &master = range.elements[2];
    if (master.type != Reply::Array || master.elements.size() < 2) continue;
    int64_t from = range.elements[0].integer, to = range.elements[1].integer;
    if (from < 0 || to >= kSlots || from > to) continue;
    // An empty host means "the node you asked".
    std::string host = master.elements[0].str.empty() ? asked_host : master.elements[0].str;
    Connection *c = node(host, static_cast<int>(master.elements[1].integer));
    for (int64_t s = from; s <= to; s++) slots[s] = c;
  }
  slots_.swap(slots);
}

void Client::send(Routed *r, Connection *to, bool asking) {
  to->formatted(r->cmd, r->script, r->tail, asking, &Client::on_routed, r);
}

void Client::finish(Routed *r, int status, const redisReply *reply) {
  std::unique_ptr<Routed> owned(r);
  if (r->raw)
    r->raw(r->ctx, status, reply);
  else
    r->cb(status, reply ? Reply::from(reply) : Reply{});
}

void Client::on_routed(void *ctx, int status, const redisReply *reply) {
  auto *r = static_cast<Routed *>(ctx);
  Client *c = r->client;
  if (status < 0 || c->closing_ || c->single_ || reply->type != REDIS_REPLY_ERROR) {
    // A node that went away may mean a failover: ask for the map again.
    if (status == HP_EUNAVAILABLE && !c->closing_ && !c->single_) c->refresh_map();
    return finish(r, status, reply);
  }
  // Redirects and retries go on until the command's time is up; a
  // migration can bounce a command between its two nodes (ASK, then
  // TRYAGAIN) until it ends.
  bool in_time = uv_now(c->engine_->loop()) < r->deadline;
  bool moved = error_starts(reply, "MOVED "), ask = error_starts(reply, "ASK ");
  int slot, port;
  std::string host;
  if ((moved || ask) && in_time && parse_redirect(std::string_view(reply->str, reply->len), &slot, &host, &port)) {
    r->redirects++;
    c->redirects_++;
    Connection *to = c->node(host, port);
    if (moved) {
      if (c->slots_.empty()) c->slots_.assign(kSlots, nullptr);
      c->slots_[slot] = to;
      c->refresh_map();
    }
    // Past a few hops (nodes that disagree while a move settles), wait a
    // little between them.
    if (r->redirects <= kMaxRedirects) return c->send(r, to, ask);
    r->ask = ask ? to : nullptr;
    return c->retry_later(r);
  }
  // The slot is moving (TRYAGAIN) or the cluster is electing (CLUSTERDOWN).
  if ((error_starts(reply, "TRYAGAIN") || error_starts(reply, "CLUSTERDOWN")) && in_time) {
    r->ask = nullptr;
    return c->retry_later(r);
  }
  finish(r, status, reply);
}

void Client::retry_later(Routed *r) {
  retry_.push_back(r);
  if (!uv_is_active(reinterpret_cast<uv_handle_t *>(&retry_timer_)))
    uv_timer_start(&retry_timer_, &Client::on_retry, kRetryMs, 0);
}

void Client::on_retry(uv_timer_t *t) {
  auto *c = static_cast<Client *>(t->data);
  std::vector<Routed *> batch;
  batch.swap(c->retry_);
  for (Routed *r : batch) c->send(r, r->ask ? r->ask : c->route(r->slot), r->ask != nullptr);
}

uint64_t Client::deadline() {
  uv_update_time(engine_->loop());  // the loop's cached clock may be stale
  return uv_now(engine_->loop()) + options_.command_timeout_ms;
}

void Client::command(std::vector<std::string> args, ReplyCb cb) {
  if (single_) return single_->command(args, std::move(cb));
  auto *r = new Routed(this);
  append_header(r->cmd, '*', args.size());
  for (const auto &a : args) append_bulk(r->cmd, a);
  r->slot = args.size() > 1 ? key_slot(args[1]) : -1;
  r->deadline = deadline();
  r->cb = std::move(cb);
  if (closing_) return finish(r, HP_ECLOSED, nullptr);  // never here: subsystems check first
  send(r, route(r->slot), false);
}

void Client::eval(const Script &script, const std::vector<std::string> &keys, const std::vector<std::string> &args,
                  ReplyCb cb) {
  std::vector<std::string_view> argv;
  argv.reserve(keys.size() + args.size());
  argv.insert(argv.end(), keys.begin(), keys.end());
  argv.insert(argv.end(), args.begin(), args.end());
  auto *r = new Routed(this);
  r->script = &script;
  r->cmd = format_eval(script, keys.size(), argv.data(), argv.size(), &r->tail);
  r->slot = !keys.empty() && cluster() ? key_slot(keys[0]) : -1;
  r->deadline = deadline();
  r->cb = std::move(cb);
  Connection *to = single_ ? single_ : route(r->slot);
  if (single_) {
    // One server: no redirects to follow.
    auto cmd = std::move(r->cmd);
    size_t tail = r->tail;
    return to->formatted(std::move(cmd), &script, tail, false, &Client::on_routed, r);
  }
  send(r, to, false);
}

void Client::eval(const Script &script, size_t nkeys, const std::string_view *argv, size_t argc, RawReplyFn fn,
                  void *ctx) {
  size_t tail = 0;
  std::string cmd = format_eval(script, nkeys, argv, argc, &tail);
  if (single_) return single_->formatted(std::move(cmd), &script, tail, false, fn, ctx);
  auto *r = new Routed(this);
  r->cmd = std::move(cmd);
  r->script = &script;
  r->tail = tail;
  r->slot = nkeys > 0 ? key_slot(argv[0]) : -1;
  r->deadline = deadline();
  r->raw = fn;
  r->ctx = ctx;
  send(r, route(r->slot), false);
}

bool Client::before_flush(std::function<void()> fn) {
  if (closing_) return false;
  return (single_ ? single_ : seed_)->before_flush(std::move(fn));
}

void Client::subscribe(const std::string &channel, MessageCb cb) {
  if (single_) return single_->subscribe(channel, std::move(cb));
  if (!subscriber_) {
    subscriber_ = Connection::open(engine_, options_);
    open_++;
    if (on_resubscribe_) subscriber_->on_resubscribe(on_resubscribe_);
  }
  subscriber_->subscribe(channel, std::move(cb));
}

void Client::on_resubscribe(std::function<void()> fn) {
  on_resubscribe_ = fn;
  if (Connection *c = single_ ? single_ : subscriber_) c->on_resubscribe(std::move(fn));
}

void Client::close(std::function<void()> done) {
  if (closing_) {
    if (done) {
      on_closed_ = [first = std::move(on_closed_), then = std::move(done)] {
        if (first) first();
        then();
      };
    }
    return;
  }
  closing_ = true;
  on_closed_ = std::move(done);
  std::vector<Routed *> waiting;
  waiting.swap(retry_);
  for (Routed *r : waiting) {
    core::set_error_text(HP_ECLOSED, "redis: client closed");
    finish(r, HP_ECLOSED, nullptr);
  }
  if (cluster()) {
    open_++;
    uv_close(reinterpret_cast<uv_handle_t *>(&retry_timer_),
             [](uv_handle_t *h) { static_cast<Client *>(h->data)->release(); });
  }
  // Without a list of them: closing must not need memory.
  for (Connection *c : {single_, seed_, subscriber_})
    if (c) c->close([this] { release(); });
  for (auto &[name, c] : nodes_) c->close([this] { release(); });
}

// One connection or handle fewer; the client goes with the last.
void Client::release() {
  if (--open_ > 0) return;
  engine_->remove(this);
  if (on_closed_) on_closed_();
  delete this;
}

}  // namespace hp::redis
