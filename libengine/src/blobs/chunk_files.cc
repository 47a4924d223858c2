#include "blobs/chunk_files.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "core/error.h"

namespace hp::blobs {

using core::set_error;

namespace {

int io_error(const char *what, const std::string &path, const char *syscall) {
  int err = errno;
  return core::set_sys_error(HP_EIO, err, syscall, path, "blobs: ", what, " ", path, ": ", std::strerror(err));
}

}  // namespace

int ChunkFiles::write(int64_t ukey, uint64_t first, uint32_t chunk_size,
                      const std::vector<std::string> &chunks) {
  if (!made_) {
    if (mkdir(dir_.c_str(), 0755) == 0) {
      if (durable_) {
        std::string parent = dir_.substr(0, dir_.rfind('/') + 1);
        int rc = sync_dir(parent.empty() ? "." : parent);
        if (rc != 0) return rc;
      }
    } else if (errno != EEXIST) {
      return io_error("cannot create", dir_, "mkdir");
    }
    made_ = true;
  }
  std::string p = path(ukey);
  // Durable: told apart from an existing file, so that only a new name
  // costs a directory sync.
  bool created = false;
  int fd = durable_ ? ::open(p.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644) : -1;
  if (fd >= 0) created = true;
  if (fd < 0 && (!durable_ || errno == EEXIST)) fd = ::open(p.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return io_error("cannot open", p, "open");
  for (size_t i = 0; i < chunks.size(); i++) {
    const char *at = chunks[i].data();
    size_t left = chunks[i].size();
    auto off = static_cast<off_t>((first + i) * chunk_size);
    while (left > 0) {
      ssize_t n = pwrite(fd, at, left, off);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        int rc = io_error("cannot write", p, "write");
        ::close(fd);
        return rc;
      }
      at += n;
      left -= static_cast<size_t>(n);
      off += n;
    }
  }
  if (durable_ && fdatasync(fd) != 0) {
    int rc = io_error("cannot sync", p, "fdatasync");
    ::close(fd);
    return rc;
  }
  if (::close(fd) != 0) return io_error("cannot write", p, "write");
  return created ? sync_dir(dir_) : 0;
}

int ChunkFiles::sync_dir(const std::string &dir) const {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return io_error("cannot open", dir, "open");
  int rc = fsync(fd) == 0 ? 0 : io_error("cannot sync", dir, "fsync");
  ::close(fd);
  return rc;
}

ChunkFiles::Reader::~Reader() {
  if (fd_ >= 0) ::close(fd_);
}

int ChunkFiles::Reader::read(uint64_t n, uint32_t chunk_size, size_t len, char *out) {
  size_t got = 0;
  auto off = static_cast<off_t>(n * chunk_size);
  while (got < len) {
    ssize_t r = pread(fd_, out + got, len - got, off + static_cast<off_t>(got));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) {
      int err = errno;
      return core::set_sys_error(HP_EIO, err, "read", "", "blobs: cannot read a chunk file: ", std::strerror(err));
    }
    if (r == 0) return HP_ECORRUPT;  // the caller names file and chunk
    got += static_cast<size_t>(r);
  }
  return 0;
}

int ChunkFiles::open(int64_t ukey, Reader *out) const {
  std::string p = path(ukey);
  out->fd_ = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
  if (out->fd_ >= 0) return 0;
  if (errno == ENOENT) return set_error(HP_ENOTFOUND, "blobs: no chunk file ", p);
  return io_error("cannot open", p, "open");
}

void ChunkFiles::remove(int64_t ukey) const {
  unlink(path(ukey).c_str());
}

std::vector<int64_t> ChunkFiles::list() const {
  std::vector<int64_t> keys;
  DIR *d = opendir(dir_.c_str());
  if (!d) return keys;
  while (dirent *e = readdir(d)) {
    char *end = nullptr;
    long long k = std::strtoll(e->d_name, &end, 10);
    if (end != e->d_name && *end == '\0' && k > 0) keys.push_back(k);
  }
  closedir(d);
  return keys;
}

}  // namespace hp::blobs
