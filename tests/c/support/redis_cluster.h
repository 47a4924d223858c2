// A real 3-master Redis Cluster on free loopback ports (three
// redis-server --cluster-enabled yes, joined by redis-cli --cluster create),
// started once per test binary, and a slot migration done the way
// redis-cli --cluster reshard does it, key by key.
#pragma once

#include <hiredis/hiredis.h>

#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "support/redis_server.h"

namespace hp_test {

class RedisCluster {
 public:
  // The binary's cluster, started on first use.
  static RedisCluster &shared() {
    static RedisCluster cluster;
    return cluster;
  }

  std::string url() const {
    std::string u = "redis+cluster://";
    for (size_t i = 0; i < nodes_.size(); i++) u += (i ? ",127.0.0.1:" : "127.0.0.1:") + std::to_string(port(i));
    return u;
  }
  int port(size_t i) const { return nodes_[i]->port(); }
  size_t size() const { return nodes_.size(); }
  bool ok() const { return ok_; }

  // A command on node i, its reply freed by the caller (freeReplyObject).
  redisReply *run(size_t i, const std::vector<std::string> &args) const {
    redisContext *c = redisConnect("127.0.0.1", port(i));
    if (!c || c->err) {
      if (c) redisFree(c);
      return nullptr;
    }
    std::vector<const char *> argv;
    std::vector<size_t> lens;
    for (auto &a : args) {
      argv.push_back(a.data());
      lens.push_back(a.size());
    }
    auto *r = static_cast<redisReply *>(redisCommandArgv(c, static_cast<int>(args.size()), argv.data(), lens.data()));
    redisFree(c);
    return r;
  }
  std::string text(size_t i, const std::vector<std::string> &args) const {
    redisReply *r = run(i, args);
    std::string s = r && (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS ||
                          r->type == REDIS_REPLY_ERROR)
                        ? std::string(r->str, r->len)
                        : r && r->type == REDIS_REPLY_INTEGER ? std::to_string(r->integer) : "";
    freeReplyObject(r);
    return s;
  }
  // The node that serves `slot`.
  size_t owner(int slot) const {
    for (size_t i = 0; i < size(); i++) {
      redisReply *r = run(i, {"CLUSTER", "SLOTS"});
      bool found = false;
      for (size_t k = 0; r && k < r->elements && !found; k++) {
        redisReply *range = r->element[k];
        long long from = range->element[0]->integer, to = range->element[1]->integer;
        redisReply *master = range->element[2];
        if (slot >= from && slot <= to && master->element[1]->integer == port(i)) found = true;
      }
      freeReplyObject(r);
      if (found) return i;
    }
    return 0;
  }
  // Moves `slot` to node `to`: IMPORTING/MIGRATING, then MIGRATE a few keys
  // at a time with `pause_ms` between batches, then SETSLOT NODE on every
  // node. Returns the number of keys moved, or -1.
  int migrate(int slot, size_t to, int pause_ms, int batch = 2) const {
    size_t from = owner(slot);
    if (from == to) return 0;
    std::string s = std::to_string(slot);
    std::string from_id = text(from, {"CLUSTER", "MYID"}), to_id = text(to, {"CLUSTER", "MYID"});
    if (text(to, {"CLUSTER", "SETSLOT", s, "IMPORTING", from_id}) != "OK") return -1;
    if (text(from, {"CLUSTER", "SETSLOT", s, "MIGRATING", to_id}) != "OK") return -1;
    int moved = 0;
    for (;;) {
      redisReply *keys = run(from, {"CLUSTER", "GETKEYSINSLOT", s, std::to_string(batch)});
      if (!keys || keys->elements == 0) {
        freeReplyObject(keys);
        break;
      }
      std::vector<std::string> args = {"MIGRATE", "127.0.0.1", std::to_string(port(to)), "", "0", "5000", "KEYS"};
      for (size_t k = 0; k < keys->elements; k++) args.emplace_back(keys->element[k]->str, keys->element[k]->len);
      moved += static_cast<int>(keys->elements);
      freeReplyObject(keys);
      std::string answer = text(from, args);
      if (answer != "OK" && answer != "NOKEY") return -1;
      std::this_thread::sleep_for(std::chrono::milliseconds(pause_ms));
    }
    text(to, {"CLUSTER", "SETSLOT", s, "NODE", to_id});
    text(from, {"CLUSTER", "SETSLOT", s, "NODE", to_id});
    for (size_t i = 0; i < size(); i++)
      if (i != to && i != from) text(i, {"CLUSTER", "SETSLOT", s, "NODE", to_id});
    return moved;
  }

  ~RedisCluster() {
    nodes_.clear();  // SIGKILL each
    for (auto &f : files_) std::remove(f.c_str());
  }

 private:
  RedisCluster() {
    for (int i = 0; i < 3; i++) {
      int bus = free_port();
      std::string conf = "hp-cluster-" + std::to_string(getpid()) + "-" + std::to_string(bus) + ".conf";
      files_.push_back("/tmp/" + conf);
      nodes_.push_back(std::make_unique<RedisServer>(std::vector<std::string>{
          "--cluster-enabled", "yes", "--cluster-config-file", conf, "--cluster-port", std::to_string(bus),
          "--cluster-node-timeout", "3000"}));
    }
    std::vector<std::string> args = {"redis-cli", "--cluster", "create"};
    for (size_t i = 0; i < size(); i++) args.push_back("127.0.0.1:" + std::to_string(port(i)));
    args.insert(args.end(), {"--cluster-replicas", "0", "--cluster-yes"});
    int status = -1;
    if (pid_t pid = spawn_quiet(args, true); pid > 0) waitpid(pid, &status, 0);
    // Every node must see every slot served before the tests start.
    for (int attempt = 0; attempt < 400 && !ok_; attempt++) {
      ok_ = status == 0;
      for (size_t i = 0; i < size() && ok_; i++)
        ok_ = text(i, {"CLUSTER", "INFO"}).find("cluster_state:ok") != std::string::npos;
      if (!ok_) std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
  }

  std::vector<std::unique_ptr<RedisServer>> nodes_;
  std::vector<std::string> files_;
  bool ok_ = false;
};

}  // namespace hp_test
