// The one Redis client every subsystem shares: one Connection to one
// server, or, for a redis+cluster:// URL, a Redis Cluster client: the slot
// map from CLUSTER SLOTS, one connection per master, each command sent to
// the master of its first key's slot, MOVED (the map is refreshed, the
// command resent), ASK (ASKING, then the command) and TRYAGAIN (resent
// until the command timeout) handled here, so callers see one server.
// Callers choose hash tags so that the keys of one command share a slot.
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
#include "redis/connection.h"

namespace hp::redis {

// The Redis Cluster slot of a key (CRC16 of its hash tag, mod 16384).
int key_slot(std::string_view key);

class Client final : public core::Closable {
 public:
  // Starts connecting at once; the client lives until close().
  static Client *open(core::Engine *engine, const Options &options);

  bool cluster() const { return options_.address.cluster; }

  // Every command queued during one loop turn goes out in one write. On a
  // cluster the command goes to the master of args[1]'s slot.
  void command(std::vector<std::string> args, ReplyCb cb);
  // EVALSHA; on NOSCRIPT it sends the script with EVAL (which caches it).
  // `script` must outlive the reply (scripts are meant to be static). On a
  // cluster it goes to the master of the first key's slot.
  void eval(const Script &script, const std::vector<std::string> &keys, const std::vector<std::string> &args,
            ReplyCb cb);
  // The same with `argv` = keys then args, formatted straight into the
  // wire format once, and the reply handed over without a copy. `fn` runs
  // exactly once, never inside this call.
  void eval(const Script &script, size_t nkeys, const std::string_view *argv, size_t argc, RawReplyFn fn,
            void *ctx);
  // Runs `fn` once on this loop turn's flush, just before the write. false:
  // the client is closing and `fn` will not run.
  bool before_flush(std::function<void()> fn);
  // Puts this client in subscriber mode (on a cluster: one connection to
  // one of the nodes, which hear every PUBLISH); after a reconnect it
  // subscribes again and then runs `on_resubscribe`.
  void subscribe(const std::string &channel, MessageCb cb);
  void on_resubscribe(std::function<void()> fn);

  bool connected() const;
  uint64_t commands_sent() const;
  uint64_t reconnects() const;
  // Cluster: slot map refreshes so far, and redirects followed.
  uint64_t map_refreshes() const { return map_refreshes_; }
  uint64_t redirects() const { return redirects_; }

  // Fails pending commands with HP_ECLOSED, disconnects, then runs `done`
  // and frees the client once its connections have closed. A later close
  // adds its `done` to the first one's.
  void close(std::function<void()> done = {});
  void close_now() override { close(); }

 private:
  struct Routed;
  Client(core::Engine *engine, const Options &options);
  ~Client() = default;
  std::vector<Connection *> connections() const;
  Connection *node(const std::string &host, int port);
  Connection *route(int slot);
  void send(Routed *r, Connection *to, bool asking);
  static void on_routed(void *ctx, int status, const redisReply *reply);
  static void finish(Routed *r, int status, const redisReply *reply);
  void refresh_map();
  void apply_map(const Reply &r, const std::string &asked_host);
  uint64_t deadline();
  void retry_later(Routed *r);
  static void on_retry(uv_timer_t *t);
  void release();

  core::Engine *engine_;
  Options options_;
  bool closing_ = false;
  Connection *single_ = nullptr;      // one server
  Connection *seed_ = nullptr;        // cluster: until the map names the masters
  Connection *subscriber_ = nullptr;  // cluster: the pub/sub connection
  std::map<std::string, Connection *> nodes_;  // "host:port" of each master
  std::vector<Connection *> slots_;            // 16384 once a map came
  std::function<void()> on_resubscribe_;
  bool refreshing_ = false;
  uv_timer_t retry_timer_{};
  std::vector<Routed *> retry_;  // TRYAGAIN, CLUSTERDOWN: sent again shortly
  int open_ = 0;                 // connections and handles not yet closed
  std::function<void()> on_closed_;
  uint64_t map_refreshes_ = 0;
  uint64_t redirects_ = 0;
};

}  // namespace hp::redis
