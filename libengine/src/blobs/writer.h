// A streaming upload: bytes are cut into chunks on the loop thread; sealed
// chunks are hashed (the file's SHA-256) and then stored in batches on the
// thread pool (SQLite: one transaction per batch, which also takes each
// chunk's CRC32C) or pipelined to Redis (CRC32C taken while hashing); one
// batch hashes while the one before it is stored, and the next chunks fill
// meanwhile.
// On SQLite the last batch is written in the commit's own transaction, so a
// file of one chunk costs one transaction. At most `held` chunks (sealed,
// hashing, hashed or being stored) plus the one filling are held.
#pragma once

#include <atomic>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "blobs/sha256.h"
#include "blobs/store.h"
#include "core/guard.h"

namespace hp::blobs {

class Writer : public std::enable_shared_from_this<Writer> {
 public:
  struct Options {
    uint32_t chunk_size = HP_BLOBS_DEFAULT_CHUNK_SIZE;
    size_t held = 2;     // most chunks waiting, hashing or being stored
    bool sha256 = true;  // without, the file's stat has an empty sha256
  };

  Writer(std::shared_ptr<Store> store, std::string filename, std::string content_type, std::string metadata,
         const Options &options);

  const std::string &id() const { return upload_.id; }

  // The C API's calls; any thread. Each returns 0 (its callback will run on
  // the loop) or an error code with no callback.
  int write(const void *buf, size_t len, hp_blob_cb cb, void *data);
  int commit(hp_blob_stat_cb cb, void *data);
  int abort(hp_blob_cb cb, void *data);
  // The handle is gone: abort unless committing or done.
  void close();

 private:
  enum Phase { Open, Committing, Aborting };
  // The caller's bytes, borrowed until its callback: they are copied once,
  // straight into chunks.
  struct PendingWrite {
    const char *bytes;
    size_t len;
    size_t off = 0;
    hp_blob_cb cb;
    void *data;
  };
  // Chunks on their way to the backend, owned by the job that stores them.
  struct Batch {
    uint64_t first = 0;
    std::vector<std::string> chunks;
    std::vector<uint32_t> crcs;  // of the first chunks
    size_t sha_done = 0;         // the first chunks in the file's SHA-256 (with one)
    std::string why;             // a failed store's message
  };

  // Loop thread only from here on.
  void pump();        // moves pending writes into chunks, answers writes
  void dispatch();    // starts the hashing and storing stages where idle
  void hash_next();   // starts hashing the sealed chunks as one batch
  void store_next();  // starts storing the hashed batches as one
  std::shared_ptr<Batch> take_hashed();
  void batch_stored(int rc, const std::string &why);
  void finish();  // commit or clean up once nothing is in flight
  void publish(std::shared_ptr<Batch> last);
  void fail(int rc, std::string why);
  // Runs `fn` (loop work that may allocate); out of memory there fails the
  // upload with HP_ENOMEM through out_of_memory().
  template <class Fn>
  void guarded(Fn &&fn) {
    if (core::guard("blobs", [&] {
          fn();
          return 0;
        }) < 0)
      out_of_memory();
  }
  // Fails the upload and answers every callback it owes, without
  // allocating; what was stored stays for the collector (hp_blobs_gc).
  void out_of_memory();
  // Sets the thread's error to the upload's failure; never throws.
  void report_failure() const noexcept;
  std::shared_ptr<Batch> take_sealed(bool with_filling);
  // Pool thread. The file's SHA-256 over the chunks not yet in it (one batch
  // at a time, in order), and the CRC32C of the chunks without one.
  void sha(Batch &b);
  static void crc(Batch &b);
  std::string file_sha256() const;  // "" without a file hash
  // Chunk buffers are reused: a long upload allocates a handful, not one
  // per chunk.
  std::string fresh();
  void recycle(std::vector<std::string> &chunks);

  std::shared_ptr<Store> store_;
  FileInfo info_;
  std::atomic<int> phase_{Open};
  Upload upload_;
  std::unique_ptr<Sha256> sha_;  // null without a file hash
  const size_t held_;

  std::deque<PendingWrite> writes_;
  std::string filling_;
  std::deque<std::string> sealed_;
  std::deque<std::shared_ptr<Batch>> hashed_;  // waiting to be stored
  std::vector<std::string> spare_;             // emptied chunk buffers, capacity kept
  size_t in_flight_ = 0;                       // chunks hashing, hashed or being stored
  bool hashing_ = false;
  bool storing_ = false;
  uint64_t next_chunk_ = 0;
  int failed_ = 0;
  std::string fail_why_;
  bool finishing_ = false;
  hp_blob_stat_cb commit_cb_ = nullptr;
  void *commit_data_ = nullptr;
  hp_blob_cb abort_cb_ = nullptr;
  void *abort_data_ = nullptr;
  bool abort_requested_ = false;
};

}  // namespace hp::blobs
