// The one Redis client every subsystem shares: hiredis on the engine's
// loop through hiredis's libuv adapter, pipelined, with hotpath's own
// connect and command timers (a dead Redis answers HP_EUNAVAILABLE within
// the configured time), reconnect with backoff, EVALSHA with a fallback to
// EVAL on NOSCRIPT, and pub/sub that resubscribes after a reconnect.
//
// Every method is for the loop thread only. Reply callbacks run exactly
// once, never synchronously inside the call that queued them.
#pragma once

#include <uv.h>

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/engine.h"
#include "redis/reply.h"
#include "redis/url.h"

struct redisAsyncContext;
struct redisReply;

namespace hp::redis {

struct Options {
  Address address;
  uint32_t connect_timeout_ms = 200;
  uint32_t command_timeout_ms = 200;
  uint32_t reconnect_min_ms = 25;
  uint32_t reconnect_max_ms = 1000;
};

// status 0: `reply` is Redis's answer (which may be an Error reply);
// HP_EUNAVAILABLE: not connected, timed out or dropped (hp_last_error() has
// the detail while the callback runs); HP_ECLOSED: the client closed.
using ReplyCb = std::function<void(int status, Reply reply)>;
using MessageCb = std::function<void(const std::string &channel, const std::string &message)>;
// The allocation-free form of ReplyCb for hot paths: `reply` is hiredis's
// own, valid only during the call; NULL when status < 0.
using RawReplyFn = void (*)(void *ctx, int status, const redisReply *reply);

// A Lua script, named by its SHA-1 for EVALSHA.
struct Script {
  explicit Script(std::string src);
  std::string source;
  std::string sha;
};

class Client final : public core::Closable {
 public:
  // Starts connecting at once; the client lives until close().
  static Client *open(core::Engine *engine, const Options &options);

  // Every command queued during one loop turn goes out in one write.
  void command(std::vector<std::string> args, ReplyCb cb);
  // EVALSHA; on NOSCRIPT it sends the script with EVAL (which caches it).
  // `script` must outlive the reply (scripts are meant to be static).
  void eval(const Script &script, const std::vector<std::string> &keys, const std::vector<std::string> &args,
            ReplyCb cb);
  // The same with `argv` = keys then args, formatted straight into the
  // wire format once (the bytes are kept for the NOSCRIPT resend), and the
  // reply handed over without a copy. `fn` runs exactly once, never inside
  // this call.
  void eval(const Script &script, size_t nkeys, const std::string_view *argv, size_t argc, RawReplyFn fn,
            void *ctx);
  // Runs `fn` once on this loop turn's flush, just before the write (or
  // when the client closes, before its pending commands fail), so a caller
  // can gather the calls of one turn into one command. false: the client
  // is closing and `fn` will not run.
  bool before_flush(std::function<void()> fn);
  // Puts this client in subscriber mode; after a reconnect it subscribes
  // again to every channel.
  void subscribe(const std::string &channel, MessageCb cb);

  bool connected() const { return state_ == State::Connected; }
  uint64_t commands_sent() const { return commands_sent_; }
  uint64_t reconnects() const { return reconnects_; }

  // Fails pending commands with HP_ECLOSED, disconnects, then runs `done`
  // and frees the client once its handles have closed. A later close adds
  // its `done` to the first one's.
  void close(std::function<void()> done = {});
  void close_now() override { close(); }

 private:
  enum class State { Down, Connecting, Connected, Closing };
  struct Request {
    Client *client = nullptr;
    ReplyCb cb;                // or
    RawReplyFn raw = nullptr;  // with
    void *ctx = nullptr;
    uint64_t deadline = 0;
    bool done = false;
    Request *prev = nullptr;  // in pending_, oldest first
    Request *next = nullptr;
    // EVALSHA only: the script, the formatted command and where the
    // arguments after the SHA start in it, for the NOSCRIPT resend.
    const Script *script = nullptr;
    std::string cmd;
    size_t tail = 0;
  };
  // Requests hiredis holds, oldest first (replies come in order).
  struct PendingList {
    Request *head = nullptr;
    Request *tail = nullptr;
    bool empty() const { return head == nullptr; }
    void push(Request *r);
    void erase(Request *r);
  };

  Client(core::Engine *engine, const Options &options);
  ~Client() = default;
  void connect();
  bool queue(Request *req, const std::string &cmd);  // false: not queued, `req` is still ours
  void send(Request *req, const std::string &cmd);
  void resend_as_eval(Request *req);
  static void deliver(Request *req, int status, const redisReply *reply);
  void drop(const std::string &why, int status = HP_EUNAVAILABLE);
  void fail_all(int status, const std::string &why);
  void fail_later(Request *req, int status, std::string why);
  std::string not_connected() const;
  void schedule_reconnect();
  void arm_sweep();
  void resubscribe();

  static void on_connect(const redisAsyncContext *ac, int status);
  static void on_disconnect(const redisAsyncContext *ac, int status);
  static void on_reply(redisAsyncContext *ac, void *reply, void *privdata);
  static void on_message(redisAsyncContext *ac, void *reply, void *privdata);
  static void on_state_timer(uv_timer_t *t);
  static void on_sweep(uv_timer_t *t);
  static void on_defer(uv_timer_t *t);
  // Writes what this loop turn queued right after the poll phase (or
  // before the loop blocks) instead of one more turn later, when the
  // socket reports writable.
  void want_flush();
  void flush();
  void run_before_flush();

  core::Engine *engine_;
  Options options_;
  State state_ = State::Down;
  redisAsyncContext *ac_ = nullptr;
  uv_timer_t state_timer_{};  // connect timeout or reconnect backoff
  uv_timer_t sweep_timer_{};  // command timeouts
  uv_timer_t defer_timer_{};  // failures delivered on the next loop turn
  uv_check_t flush_check_{};
  uv_prepare_t flush_prepare_{};
  int open_handles_ = 0;
  uint32_t backoff_ms_;
  std::string last_error_;
  PendingList pending_;
  std::string scratch_;  // formatting buffer of command()
  struct Deferred {
    Request *req;
    int status;
    std::string why;
  };
  std::vector<Deferred> deferred_;
  std::vector<std::function<void()>> before_flush_;
  std::map<std::string, MessageCb> channels_;
  std::function<void()> on_closed_;
  uint64_t commands_sent_ = 0;
  uint64_t reconnects_ = 0;
};

}  // namespace hp::redis
