// Where the SQLite store keeps the bytes of large files: one plain file per
// upload, "<database>-chunks/<upload key>", chunk n at n * chunk size. The
// database keeps each chunk's row with its CRC32C (and an empty blob), so a
// file still becomes visible only with its commit, and a damaged byte is
// still caught on read. Written once, by pwrite, instead of twice through
// the WAL and its checkpoint. A file appears only after its upload's row
// committed, and goes after the rows that name it, so an orphan is always
// safe to delete (gc does, on the next open at the latest).
//
// Durable (HP_BLOBS_DURABLE): write() returns only once the bytes are on
// the disk (fdatasync), and once a new file's name is (fsync of the
// directory), so the transaction that names them can commit after it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace hp::blobs {

class ChunkFiles {
 public:
  ChunkFiles(std::string dir, bool durable) : dir_(std::move(dir)), durable_(durable) {}

  // Writes chunks first.. of upload `ukey` (synced when durable); 0 or an
  // HP_E* code.
  int write(int64_t ukey, uint64_t first, uint32_t chunk_size, const std::vector<std::string> &chunks);

  // An open upload file for reading chunks; HP_ENOTFOUND if it is gone.
  class Reader {
   public:
    ~Reader();
    // Chunk n, `len` bytes, to `out`: 0, or HP_ECORRUPT when the file
    // ends early, or HP_EIO.
    int read(uint64_t n, uint32_t chunk_size, size_t len, char *out);
    bool is_open() const { return fd_ >= 0; }

   private:
    friend class ChunkFiles;
    int fd_ = -1;
  };
  int open(int64_t ukey, Reader *out) const;

  void remove(int64_t ukey) const;
  // The upload keys that have a file.
  std::vector<int64_t> list() const;

 private:
  std::string path(int64_t ukey) const { return dir_ + "/" + std::to_string(ukey); }
  // fsync of a directory, so that the names just made in it last.
  int sync_dir(const std::string &dir) const;

  std::string dir_;
  bool durable_;
  bool made_ = false;
};

}  // namespace hp::blobs
