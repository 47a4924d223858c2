#include "recipes/source.h"

#include <fcntl.h>
#include <libdeflate.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <new>
#include <system_error>
#include <thread>

#if HP_HAVE_ISAL
#include <isa-l/igzip_lib.h>
#endif

#include "core/error.h"
#include "hotpath.h"

namespace hp::recipes {

void Buf::reserve(size_t n) {
  if (n <= cap_) return;
  size_t cap = cap_ ? cap_ : 4096;
  while (cap < n) cap *= 2;
  std::unique_ptr<char[]> next(new char[cap]);
  if (size_) std::memcpy(next.get(), data_.get(), size_);
  data_ = std::move(next);
  cap_ = cap;
}

void Buf::consume(size_t n) {
  if (n == 0) return;
  std::memmove(data_.get(), data_.get() + n, size_ - n);
  size_ -= n;
}

namespace {

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd &) = delete;
  Fd &operator=(const Fd &) = delete;
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

// Reads up to n bytes, retrying on EINTR. Returns bytes read or -errno.
int64_t read_some(int fd, char *dst, size_t n) {
  for (;;) {
    ssize_t r = ::read(fd, dst, n);
    if (r >= 0) return r;
    if (errno != EINTR) return -errno;
  }
}

// Also keeps the system error on this thread (core::Status::capture picks
// it up with the path the caller adds).
int io_error(std::string *error, const char *what, int err) {
  *error = std::string(what) + ": " + std::strerror(err);
  return core::set_sys_error(HP_EIO, err, what, "", *error);
}

class PlainSource final : public Source {
 public:
  explicit PlainSource(std::shared_ptr<Fd> fd) : fd_(std::move(fd)) {}
  int64_t read(Buf &buf, size_t want, std::string *error) override {
    size_t old = buf.size();
    buf.reserve(old + want);
    int64_t r = read_some(fd_->get(), buf.data() + old, want);
    if (r < 0) return io_error(error, "read", static_cast<int>(-r));
    buf.resize(old + static_cast<size_t>(r));
    return r;
  }

 private:
  std::shared_ptr<Fd> fd_;
};

// The whole content was placed in the buffer at open.
class WholeSource final : public Source {
 public:
  int64_t read(Buf &, size_t, std::string *) override { return 0; }
  bool whole() const override { return true; }
};

// The compressed side of a gzip stream, for either inflater: refills the
// input when it is used up and checks what follows a member.
class GzipInput {
 public:
  enum { kEnd = 0, kReady = 1, kNewMember = 2 };
  explicit GzipInput(std::shared_ptr<Fd> fd) : fd_(std::move(fd)), in_(new unsigned char[kIn]) {}
  // Returns kReady, kNewMember (the caller resets its inflater first),
  // kEnd, or a negative HP_E* code with *error set.
  template <class Ptr, class Count>
  int next(Ptr *next_in, Count *avail_in, std::string *error) {
    if (*avail_in == 0) {
      int64_t r = read_some(fd_->get(), reinterpret_cast<char *>(in_.get()), kIn);
      if (r < 0) return io_error(error, "read", static_cast<int>(-r));
      if (r == 0) {
        if (in_member) {
          *error = "gzip: the file ends in the middle of compressed data (byte " + std::to_string(consumed) + ")";
          return HP_ECORRUPT;
        }
        return kEnd;
      }
      *next_in = in_.get();
      *avail_in = static_cast<Count>(r);
    }
    if (in_member) return kReady;
    // Another gzip member follows (concatenated files), or padding.
    if ((*next_in)[0] != 0x1f) {
      *error = "gzip: unexpected bytes after the compressed data (byte " + std::to_string(consumed) + ")";
      return HP_ECORRUPT;
    }
    in_member = true;
    return kNewMember;
  }
  bool in_member = true;
  uint64_t consumed = 0;

 private:
  static constexpr size_t kIn = 1 << 20;
  std::shared_ptr<Fd> fd_;
  std::unique_ptr<unsigned char[]> in_;
};

#if !HP_HAVE_ISAL
class GzipStream final : public Source {
 public:
  explicit GzipStream(std::shared_ptr<Fd> fd) : input_(std::move(fd)) {
    std::memset(&zs_, 0, sizeof zs_);
    ok_ = inflateInit2(&zs_, 15 + 16) == Z_OK;
  }
  ~GzipStream() override {
    if (ok_) inflateEnd(&zs_);
  }
  int64_t read(Buf &buf, size_t want, std::string *error) override {
    if (!ok_) {
      *error = "zlib: inflateInit2 failed";
      return HP_ENOMEM;
    }
    size_t old = buf.size();
    buf.reserve(old + want);
    zs_.next_out = reinterpret_cast<Bytef *>(buf.data() + old);
    zs_.avail_out = static_cast<uInt>(want);
    while (zs_.avail_out > 0 && !done_) {
      int step = input_.next(&zs_.next_in, &zs_.avail_in, error);
      if (step < 0) return step;
      if (step == GzipInput::kEnd) {
        done_ = true;
        break;
      }
      if (step == GzipInput::kNewMember) inflateReset(&zs_);
      uInt before = zs_.avail_in;
      int rc = inflate(&zs_, Z_NO_FLUSH);
      input_.consumed += before - zs_.avail_in;
      if (rc == Z_STREAM_END) {
        input_.in_member = false;
      } else if (rc == Z_BUF_ERROR) {
        continue;
      } else if (rc != Z_OK) {
        *error = std::string("gzip: ") + (zs_.msg ? zs_.msg : "corrupt data") + " (compressed byte " +
                 std::to_string(input_.consumed) + ")";
        return rc == Z_MEM_ERROR ? HP_ENOMEM : HP_ECORRUPT;
      }
    }
    size_t got = want - zs_.avail_out;
    buf.resize(old + got);
    return static_cast<int64_t>(got);
  }

 private:
  GzipInput input_;
  z_stream zs_;
  bool ok_ = false;
  bool done_ = false;
};

#endif

#if HP_HAVE_ISAL
// The gzip stream through ISA-L: several times zlib's inflate speed, so a
// streamed load costs about what a whole-buffer libdeflate inflate does.
// Same contract and messages as GzipStream (concatenated members, nothing
// but another member after one).
class IsalStream final : public Source {
 public:
  explicit IsalStream(std::shared_ptr<Fd> fd) : input_(std::move(fd)) { start_member(); }
  int64_t read(Buf &buf, size_t want, std::string *error) override {
    size_t old = buf.size();
    buf.reserve(old + want);
    st_.next_out = reinterpret_cast<uint8_t *>(buf.data() + old);
    st_.avail_out = static_cast<uint32_t>(want);
    int idle = 0;  // calls in a row that moved nothing: a guard, never expected
    while (st_.avail_out > 0 && !done_) {
      int step = input_.next(&st_.next_in, &st_.avail_in, error);
      if (step < 0) return step;
      if (step == GzipInput::kEnd) {
        done_ = true;
        break;
      }
      if (step == GzipInput::kNewMember) start_member();
      uint32_t in_before = st_.avail_in, out_before = st_.avail_out;
      int rc = isal_inflate(&st_);
      input_.consumed += in_before - st_.avail_in;
      if (rc < 0 || rc == ISAL_NEED_DICT) {
        *error = std::string("gzip: ") + reason(rc) + " (compressed byte " + std::to_string(input_.consumed) + ")";
        return HP_ECORRUPT;
      }
      if (st_.block_state == ISAL_BLOCK_FINISH) {
        input_.in_member = false;
      } else if (st_.avail_in == in_before && st_.avail_out == out_before && st_.avail_in > 0 && ++idle > 2) {
        *error = "gzip: the compressed data is corrupt (compressed byte " + std::to_string(input_.consumed) + ")";
        return HP_ECORRUPT;
      }
    }
    size_t got = want - st_.avail_out;
    buf.resize(old + got);
    return static_cast<int64_t>(got);
  }

 private:
  void start_member() {
    // Keeps the input not yet consumed across the reset.
    uint8_t *next = st_.next_in;
    uint32_t avail = st_.avail_in;
    isal_inflate_init(&st_);
    st_.crc_flag = ISAL_GZIP;
    st_.next_in = next;
    st_.avail_in = avail;
  }
  static const char *reason(int rc) {
    switch (rc) {
      case ISAL_INVALID_WRAPPER: return "not a valid gzip header";
      case ISAL_UNSUPPORTED_METHOD: return "unsupported compression method";
      case ISAL_INCORRECT_CHECKSUM: return "incorrect data check";
      case ISAL_INVALID_LOOKBACK: return "invalid distance too far back";
      case ISAL_INVALID_SYMBOL: return "invalid code";
      default: return "invalid block";
    }
  }
  GzipInput input_;
  inflate_state st_{};
  bool done_ = false;
};
#endif

// Runs another source on a thread of its own, one chunk ahead of the
// parser: inflating the next chunk overlaps parsing this one, and no more
// than two chunks of input are held at a time.
class ReadAhead final : public Source {
 public:
  ReadAhead(std::unique_ptr<Source> &inner, size_t chunk) : chunk_(chunk) {
    thread_ = std::thread([this] { run(); });  // waits for inner_ under mu_
    std::lock_guard<std::mutex> lock(mu_);
    inner_ = std::move(inner);
    cv_.notify_all();
  }
  ~ReadAhead() override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  int64_t read(Buf &buf, size_t, std::string *error) override {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] { return full_; });
    if (result_ < 0) {
      *error = error_;
      return result_;
    }
    size_t n = ready_.size();
    if (n) {
      size_t old = buf.size();
      buf.resize(old + n);
      std::memcpy(buf.data() + old, ready_.data(), n);
    }
    if (result_ > 0) {
      ready_.resize(0);
      full_ = false;
      cv_.notify_all();
    }
    return static_cast<int64_t>(n);
  }

 private:
  void run() {
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [this] { return inner_ || stop_; });
      if (stop_) return;
    }
    Buf next;
    for (;;) {
      int64_t r;
      std::string error;
      next.resize(0);
      try {
        r = inner_->read(next, chunk_, &error);
      } catch (const std::bad_alloc &) {
        r = HP_ENOMEM;
        error = "out of memory";
      }
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [this] { return !full_ || stop_; });
      if (stop_) return;
      std::swap(ready_, next);
      result_ = r;
      error_ = std::move(error);
      full_ = true;
      cv_.notify_all();
      if (r <= 0) return;  // the end, or an error: it stays ready for every later read
    }
  }

  std::unique_ptr<Source> inner_;
  size_t chunk_;
  std::mutex mu_;
  std::condition_variable cv_;
  Buf ready_;            // the chunk the parser takes next
  bool full_ = false;    // ready_ holds a result
  int64_t result_ = 0;   // of the read that filled ready_
  std::string error_;
  bool stop_ = false;
  std::thread thread_;
};

// A source behind a read-ahead thread, or on its own when no thread starts.
std::unique_ptr<Source> ahead(std::unique_ptr<Source> inner) {
  constexpr size_t kAheadChunk = 1 << 20;
  try {
    return std::make_unique<ReadAhead>(inner, kAheadChunk);
  } catch (const std::system_error &) {
    return inner;  // still ours: the thread did not start
  }
}

bool read_full(int fd, char *dst, size_t n, std::string *error) {
  size_t got = 0;
  while (got < n) {
    int64_t r = read_some(fd, dst + got, n - got);
    if (r < 0) {
      io_error(error, "read", static_cast<int>(-r));
      return false;
    }
    if (r == 0) {
      *error = "read: the file shrank while being read";
      return false;
    }
    got += static_cast<size_t>(r);
  }
  return true;
}

#if !HP_HAVE_ISAL
// Inflates a single-member gzip file whose size the trailer gives. Returns
// 1 when done, 0 to fall back to streaming, < 0 on error.
int inflate_whole(int fd, uint64_t file_size, uint64_t whole_max, Buf &buf, std::string *error) {
  if (file_size < 18) return 0;
  unsigned char trailer[4];
  if (::pread(fd, trailer, 4, static_cast<off_t>(file_size - 4)) != 4) return 0;
  uint64_t isize = uint64_t(trailer[0]) | uint64_t(trailer[1]) << 8 | uint64_t(trailer[2]) << 16 |
                   uint64_t(trailer[3]) << 24;
  if (isize > whole_max) return 0;
  std::unique_ptr<char[]> in(new char[file_size]);
  if (!read_full(fd, in.get(), file_size, error)) return HP_EIO;
  size_t cap = isize + 64;
  std::unique_ptr<char[]> out(new char[cap]);
  libdeflate_decompressor *d = libdeflate_alloc_decompressor();
  if (!d) {
    *error = "libdeflate: out of memory";
    return HP_ENOMEM;
  }
  size_t in_used = 0, out_len = 0;
  libdeflate_result r = libdeflate_gzip_decompress_ex(d, in.get(), file_size, out.get(), cap, &in_used, &out_len);
  libdeflate_free_decompressor(d);
  if (r == LIBDEFLATE_BAD_DATA) {
    *error = "gzip: the compressed data is corrupt";
    return HP_ECORRUPT;
  }
  // Larger than 4 GiB (the trailer wraps), or several members: stream it.
  if (r != LIBDEFLATE_SUCCESS || in_used != file_size) {
    if (::lseek(fd, 0, SEEK_SET) != 0) return io_error(error, "lseek", errno);
    return 0;
  }
  buf.adopt(std::move(out), out_len, cap);
  return 1;
}

#endif

}  // namespace

int open_source(const std::string &path, uint64_t whole_inflate_max, Buf &buf, OpenedFile *out,
                std::string *error) {
  int raw = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (raw < 0) return io_error(error, "open", errno);
  auto fd = std::make_shared<Fd>(raw);
  struct stat st;
  if (::fstat(raw, &st) != 0) return io_error(error, "fstat", errno);
  if (!S_ISREG(st.st_mode)) {
    *error = "not a regular file";
    return HP_EIO;
  }
  out->sig.size = static_cast<uint64_t>(st.st_size);
  out->sig.mtime_ns = int64_t(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  out->sig.ino = static_cast<uint64_t>(st.st_ino);
  unsigned char magic[2] = {0, 0};
  ssize_t m = ::pread(raw, magic, 2, 0);
  out->gzip = m == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
  if (!out->gzip) {
    if (out->sig.size > 0 && out->sig.size <= whole_inflate_max) {
      // Small enough for one buffer: lets the parser split it across threads.
      buf.resize(out->sig.size);
      if (!read_full(raw, buf.data(), out->sig.size, error)) return HP_EIO;
      out->source = std::make_unique<WholeSource>();
      return 0;
    }
    out->source = std::make_unique<PlainSource>(fd);
    return 0;
  }
#if HP_HAVE_ISAL
  // Streamed, inflating on its own thread: as fast as inflating the whole
  // file at once, without the inflated copy in memory.
  (void)whole_inflate_max;
  out->source = ahead(std::make_unique<IsalStream>(fd));
  return 0;
#else
  int w = inflate_whole(raw, out->sig.size, whole_inflate_max, buf, error);
  if (w < 0) return w;
  if (w == 1) {
    out->source = std::make_unique<WholeSource>();
    return 0;
  }
  out->source = ahead(std::make_unique<GzipStream>(fd));
  return 0;
#endif
}

}  // namespace hp::recipes
