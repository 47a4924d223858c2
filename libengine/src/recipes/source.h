// The bytes of a recipe file: plain, or gzip streamed with bounded memory
// (ISA-L, or zlib) on a read-ahead thread, or, without ISA-L, inflated in
// one buffer (libdeflate) when small enough.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

namespace hp::recipes {

// A growable byte buffer that does not zero what it allocates.
class Buf {
 public:
  char *data() { return data_.get(); }
  size_t size() const { return size_; }
  size_t capacity() const { return cap_; }
  void reserve(size_t n);
  void resize(size_t n) {
    reserve(n);
    size_ = n;
  }
  // Drops the first n bytes.
  void consume(size_t n);
  // Hands over the block (size() bytes of it filled); the buffer is empty.
  std::unique_ptr<char[]> release() {
    size_ = cap_ = 0;
    return std::move(data_);
  }
  // Takes ownership of a filled block.
  void adopt(std::unique_ptr<char[]> block, size_t size, size_t cap) {
    data_ = std::move(block);
    size_ = size;
    cap_ = cap;
  }

 private:
  std::unique_ptr<char[]> data_;
  size_t size_ = 0;
  size_t cap_ = 0;
};

// Identity of a file as the watch compares it.
struct FileSig {
  uint64_t size = 0;
  int64_t mtime_ns = 0;
  uint64_t ino = 0;
  bool operator==(const FileSig &o) const { return size == o.size && mtime_ns == o.mtime_ns && ino == o.ino; }
  bool operator!=(const FileSig &o) const { return !(*this == o); }
};

class Source {
 public:
  virtual ~Source() = default;
  // Appends up to `want` bytes to `buf`. Returns the count, 0 at the end,
  // or a negative HP_E* code with `*error` set.
  virtual int64_t read(Buf &buf, size_t want, std::string *error) = 0;
  // Whether the whole content is already in the buffer given at open.
  virtual bool whole() const { return false; }
};

struct OpenedFile {
  std::unique_ptr<Source> source;
  FileSig sig;
  bool gzip = false;
};

// Opens `path`. A plain file of at most `whole_inflate_max` bytes is read
// at once into `buf`, and so is (in builds without ISA-L) a gzip file whose
// uncompressed size is at most that; other files are read as they are
// parsed. Returns 0 or a negative HP_E* code with `*error` set.
int open_source(const std::string &path, uint64_t whole_inflate_max, Buf &buf, OpenedFile *out,
                std::string *error);

}  // namespace hp::recipes
