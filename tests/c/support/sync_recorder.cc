// Both pwrite and pwrite64 are defined here under their own names, which
// a 64-bit off_t would fold into one.
#undef _FILE_OFFSET_BITS
#include "support/sync_recorder.h"

#include <dlfcn.h>
#include <sys/types.h>
#include <unistd.h>

#include <atomic>
#include <mutex>

namespace hp_test::sync_recorder {

namespace {

std::atomic<bool> on{false};
std::mutex mu;
std::vector<Event> recorded;

std::string fd_path(int fd) {
  char link[64], target[4096];
  snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  ssize_t n = readlink(link, target, sizeof target - 1);
  return n > 0 ? std::string(target, static_cast<size_t>(n)) : std::string();
}

void note(Event::Kind kind, int fd, long rc) {
  if (!on.load() || rc < 0) return;
  std::string path = fd_path(fd);
  std::lock_guard<std::mutex> lock(mu);
  recorded.push_back({kind, std::move(path)});
}

template <class F>
F next(const char *name) {
  return reinterpret_cast<F>(dlsym(RTLD_NEXT, name));
}

}  // namespace

void record(bool start) {
  std::lock_guard<std::mutex> lock(mu);
  if (start) recorded.clear();
  on.store(start);
}

std::vector<Event> events() {
  std::lock_guard<std::mutex> lock(mu);
  return recorded;
}

}  // namespace hp_test::sync_recorder

using hp_test::sync_recorder::Event;
using hp_test::sync_recorder::next;
using hp_test::sync_recorder::note;

// Default visibility (the build hides symbols), so the binary exports them.
#define HP_TEST_EXPORT __attribute__((visibility("default")))

extern "C" {

HP_TEST_EXPORT int fsync(int fd) {
  static auto real = next<int (*)(int)>("fsync");
  int rc = real(fd);
  note(Event::kSync, fd, rc);
  return rc;
}

HP_TEST_EXPORT int fdatasync(int fd) {
  static auto real = next<int (*)(int)>("fdatasync");
  int rc = real(fd);
  note(Event::kDataSync, fd, rc);
  return rc;
}

HP_TEST_EXPORT ssize_t pwrite(int fd, const void *buf, size_t n, off_t off) {
  static auto real = next<ssize_t (*)(int, const void *, size_t, off_t)>("pwrite");
  ssize_t rc = real(fd, buf, n, off);
  note(Event::kWrite, fd, rc);
  return rc;
}

HP_TEST_EXPORT ssize_t pwrite64(int fd, const void *buf, size_t n, off64_t off) {
  static auto real = next<ssize_t (*)(int, const void *, size_t, off64_t)>("pwrite64");
  ssize_t rc = real(fd, buf, n, off);
  note(Event::kWrite, fd, rc);
  return rc;
}

}  // extern "C"
