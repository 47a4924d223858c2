// The Redis backend: chunks under fresh keys while an upload runs, then one
// script publishes the file atomically. Loop thread only; every completion
// runs on the loop, never inside the call.
#pragma once

#include <memory>
#include <string>

#include "blobs/types.h"
#include "redis/client.h"

namespace hp::blobs {

class RedisBackend {
 public:
  RedisBackend(core::Engine *engine, const redis::Options &options, const std::string &prefix,
               uint32_t lease_ms)
      : engine_(engine), options_(options), base_("{" + prefix + "}:"), lease_ms_(lease_ms) {}

  void start();  // opens the client
  void close();  // closes it; pending calls finish with HP_ECLOSED

  void put_chunk(Upload &u, uint64_t n, const std::string &data, uint32_t crc, Done done);
  void commit(const Upload &u, FileInfo info, InfoDone done);
  void abort(const Upload &u, Done done);
  // `attempt`: reads of the keys' names so far (see scripts.h, HPSTALE).
  void find(const Query &q, InfoDone done, int attempt = 0);
  void get_chunks(const FileInfo &f, uint64_t first, uint64_t count, ChunksDone done);
  void list(const ListQuery &q, ListDone done);
  void remove(const std::string &id, const std::string &name, Done done, int attempt = 0);
  void gc(Done done);

 private:
  // Reads of the keys' names before a script gives up on a store that
  // keeps changing under it.
  static constexpr int kMaxStale = 8;
  struct Listing {
    ListQuery q;
    ListDone done;
    std::string min, max, last;
    ListPage page;
  };
  void list_batch(std::shared_ptr<Listing> st);
  // Deletes `ids` (each with its chunk count) of filename `name`; `expect`
  // is the number of files the name must still have ("" for any), else
  // `retry` runs.
  void remove_files(const std::string &name, const std::vector<std::string> &ids,
                    const std::vector<uint64_t> &chunks, const std::string &expect, Done done,
                    std::function<void(int, Done)> retry);
  static int not_found(const Query &q);
  static int stale(const char *what);
  // Calls `fn(client)` unless the client is gone; then fails `fail`.
  bool usable(const std::function<void(int)> &fail);
  // A transport failure or an error reply as an HP_E* code (message set).
  static int failed(int status, const redis::Reply &r);
  std::string chunk_key(const std::string &id, uint64_t n) const;

  core::Engine *engine_;
  redis::Options options_;
  std::string base_;
  uint32_t lease_ms_;
  redis::Client *client_ = nullptr;
};

}  // namespace hp::blobs
