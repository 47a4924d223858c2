// One connection to one Redis server: hiredis on the engine's loop through
// hiredis's libuv adapter, pipelined, with hotpath's own connect and
// command timers (a dead or silent Redis answers HP_EUNAVAILABLE within the
// command timeout), host names resolved with uv_getaddrinfo (the loop never
// blocks on DNS), TCP keepalive, reconnect with backoff (rotating through
// the seed nodes when there are several), AUTH [user] password, EVALSHA
// with a fallback to EVAL on NOSCRIPT, and pub/sub that PINGs to notice a
// half-open connection and resubscribes after a reconnect.
//
// Every method is for the loop thread only. Reply callbacks run exactly
// once, never synchronously inside the call that queued them.
#pragma once

#include <uv.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/engine.h"
#include "redis/figures.h"
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
  // Subscribers PING this often and reconnect when no answer comes within
  // the command timeout; 0: never.
  uint32_t ping_interval_ms = 1000;
  // Shared by the client's connections and read by the owner's stats;
  // made by the connection when the owner gives none.
  std::shared_ptr<Figures> figures;
  // The hp_handle_kind that owns the client, named in engine events.
  int owner = 0;
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

// The Redis wire format (RESP): a header ("*3", "$5") and a bulk string.
void append_header(std::string &out, char kind, size_t n);
void append_bulk(std::string &out, std::string_view arg);
// EVALSHA with keys then args, formatted; *tail is where the arguments
// after the SHA start (for the NOSCRIPT resend).
std::string format_eval(const Script &script, size_t nkeys, const std::string_view *argv, size_t argc,
                        size_t *tail);

class Connection {
 public:
  // Starts connecting at once; the connection lives until close().
  static Connection *open(core::Engine *engine, const Options &options);

  // Every command queued during one loop turn goes out in one write.
  void command(const std::vector<std::string> &args, ReplyCb cb);
  // A command already in the wire format; `script` and `tail` (from
  // format_eval) make it an EVALSHA that falls back to EVAL on NOSCRIPT.
  // `asking`: an ASKING goes just before it (a Redis Cluster ASK redirect).
  void formatted(std::string cmd, const Script *script, size_t tail, bool asking, RawReplyFn fn, void *ctx);
  // Runs `fn` once on this loop turn's flush, just before the write (or
  // when the connection closes, before its pending commands fail), so a
  // caller can gather the calls of one turn into one command. false: the
  // connection is closing and `fn` will not run.
  bool before_flush(std::function<void()> fn);
  // Puts this connection in subscriber mode; after a reconnect it
  // subscribes again to every channel and then runs the resubscribe hook.
  void subscribe(const std::string &channel, MessageCb cb);
  void on_resubscribe(std::function<void()> fn) { on_resubscribe_ = std::move(fn); }

  bool connected() const { return state_ == State::Connected; }
  uint64_t commands_sent() const { return commands_sent_; }
  uint64_t reconnects() const { return reconnects_; }
  const Options &options() const { return options_; }

  // Fails pending commands with HP_ECLOSED, disconnects, then runs `done`
  // and frees the connection once its handles have closed. A later close
  // adds its `done` to the first one's.
  void close(std::function<void()> done = {});

 private:
  enum class State { Down, Resolving, Connecting, Connected, Closing };
  struct Request {
    Connection *conn = nullptr;
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
    bool asking = false;  // the resend needs its ASKING too
    InFlight in_flight;   // from the first send until freed
  };
  // Requests hiredis holds, oldest first (replies come in order).
  struct PendingList {
    Request *head = nullptr;
    Request *tail = nullptr;
    bool empty() const { return head == nullptr; }
    void push(Request *r);
    void erase(Request *r);
  };
  struct Resolve;

  Connection(core::Engine *engine, const Options &options);
  ~Connection() = default;
  void connect();
  void connect_to(const std::string &ip, int port);
  void attach(redisAsyncContext *ac);
  static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res);
  void handshake();
  bool queue(Request *req, const std::string &cmd);  // false: not queued, `req` is still ours
  void send_asking();
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
  void send_ping();
  // Figures and engine events (redis/figures.cc).
  void went_up();
  void went_down(const std::string &why);
  void timed_out();

  static void on_connect(const redisAsyncContext *ac, int status);
  static void on_disconnect(const redisAsyncContext *ac, int status);
  static void on_reply(redisAsyncContext *ac, void *reply, void *privdata);
  static void on_message(redisAsyncContext *ac, void *reply, void *privdata);
  static void on_alive(redisAsyncContext *ac, void *reply, void *privdata);
  static void on_state_timer(uv_timer_t *t);
  static void on_sweep(uv_timer_t *t);
  static void on_ping(uv_timer_t *t);
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
  Resolve *resolving_ = nullptr;
  size_t seed_ = 0;           // the seed this attempt goes to
  size_t attempts_ = 0;       // picks among a name's addresses
  std::string where_;         // host:port or socket of this attempt
  uv_timer_t state_timer_{};  // connect timeout or reconnect backoff
  uv_timer_t sweep_timer_{};  // command deadlines
  uv_timer_t ping_timer_{};   // subscriber liveness
  uv_timer_t defer_timer_{};  // failures delivered on the next loop turn
  uv_check_t flush_check_{};
  uv_prepare_t flush_prepare_{};
  int open_handles_ = 0;
  uint32_t backoff_ms_;
  std::string last_error_;
  PendingList pending_;
  // Commands queued while the host name resolves, sent once connecting.
  std::vector<std::pair<Request *, std::string>> waiting_;
  struct Deferred {
    Request *req;
    int status;
    std::string why;
  };
  std::vector<Deferred> deferred_;
  std::vector<std::function<void()>> before_flush_;
  std::map<std::string, MessageCb> channels_;
  std::function<void()> on_resubscribe_;
  bool subscribed_before_ = false;
  std::string keepalive_;  // the pattern PINGs name, so their answers find us
  bool awaiting_pong_ = false;
  uint64_t ping_sent_ = 0;
  std::function<void()> on_closed_;
  uint64_t commands_sent_ = 0;
  uint64_t reconnects_ = 0;
  bool up_ = false;      // counted in figures.connected
  bool was_up_ = false;  // came up at least once: the next up is a reconnect
};

}  // namespace hp::redis
