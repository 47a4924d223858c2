#include "failing_alloc.h"

#include <dlfcn.h>
#include <link.h>

#include <atomic>
#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <new>

namespace {

using MallocFn = void *(*)(size_t);
using CallocFn = void *(*)(size_t, size_t);
using ReallocFn = void *(*)(void *, size_t);
using FreeFn = void (*)(void *);
using MemalignFn = int (*)(void **, size_t, size_t);

MallocFn real_malloc;
CallocFn real_calloc;
ReallocFn real_realloc;
FreeFn real_free;
MemalignFn real_memalign;

std::atomic<bool> armed{false};
std::atomic<bool> hit{false};
std::atomic<uint64_t> counted{0};
std::atomic<uint64_t> fail_at{0};

// dlsym() may allocate while the real functions are being looked up: those
// few blocks come from here and are never given back.
alignas(std::max_align_t) char boot[8192];
size_t boot_used;
bool resolving;

void *boot_alloc(size_t n) {
  n = (n + alignof(std::max_align_t) - 1) & ~(alignof(std::max_align_t) - 1);
  if (boot_used + n > sizeof boot) return nullptr;
  void *p = boot + boot_used;
  boot_used += n;
  return p;
}

bool from_boot(const void *p) {
  return static_cast<const char *>(p) >= boot && static_cast<const char *>(p) < boot + sizeof boot;
}

// Code whose own allocations are never failed:
// - libc's: a sanitizer's runtime starts each thread with
//   pthread_getattr_np(), which allocates and must not fail; the calls of
//   libc that the engine makes (strdup, fopen) are few and the sanitizers
//   intercept most of them anyway.
// - libhiredis's: Debian's hiredis 0.14 aborts the process when an
//   allocation inside redisAsyncConnect() fails (it has no way to report
//   it), so no test can get past that; the engine's own allocations around
//   each Redis connection are still failed one by one.
struct Range {
  uintptr_t lo = 0, hi = 0;
  bool has(uintptr_t at) const { return at >= lo && at < hi; }
};
Range libc_code, hiredis_code;

void add_code_of(const dl_phdr_info *info, Range *r) {
  for (int i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr) &ph = info->dlpi_phdr[i];
    if (ph.p_type != PT_LOAD || !(ph.p_flags & PF_X)) continue;
    uintptr_t lo = info->dlpi_addr + ph.p_vaddr;
    if (!r->lo || lo < r->lo) r->lo = lo;
    if (lo + ph.p_memsz > r->hi) r->hi = lo + ph.p_memsz;
  }
}

int find_spared(dl_phdr_info *info, size_t, void *) {
  if (!info->dlpi_name) return 0;
  if (std::strstr(info->dlpi_name, "/libc.so")) add_code_of(info, &libc_code);
  if (std::strstr(info->dlpi_name, "/libhiredis.so")) add_code_of(info, &hiredis_code);
  return 0;
}

bool resolve() {
  if (real_free) return true;
  if (resolving) return false;
  resolving = true;
  dl_iterate_phdr(&find_spared, nullptr);
  real_malloc = reinterpret_cast<MallocFn>(dlsym(RTLD_NEXT, "malloc"));
  real_calloc = reinterpret_cast<CallocFn>(dlsym(RTLD_NEXT, "calloc"));
  real_realloc = reinterpret_cast<ReallocFn>(dlsym(RTLD_NEXT, "realloc"));
  real_memalign = reinterpret_cast<MemalignFn>(dlsym(RTLD_NEXT, "posix_memalign"));
  real_free = reinterpret_cast<FreeFn>(dlsym(RTLD_NEXT, "free"));
  resolving = false;
  return real_free != nullptr;
}

// Whether this allocation, made from `caller`, is the one to fail.
bool fail_now(const void *caller) {
  if (!armed.load(std::memory_order_acquire)) return false;
  auto at = reinterpret_cast<uintptr_t>(caller);
  if (libc_code.has(at) || hiredis_code.has(at)) return false;
  if (counted.fetch_add(1) + 1 != fail_at.load()) return false;
  hit = true;
  errno = ENOMEM;
  return true;
}

void *new_or_throw(size_t n) {
  void *p = malloc(n ? n : 1);
  if (!p) throw std::bad_alloc();
  return p;
}

void *aligned_new(size_t n, std::align_val_t a) {
  void *p = nullptr;
  if (fail_now(__builtin_return_address(0)) || !resolve() || real_memalign(&p, static_cast<size_t>(a), n ? n : 1) != 0) throw std::bad_alloc();
  return p;
}

}  // namespace

namespace hp_test::failing_alloc {

void arm(uint64_t n) {
  counted = 0;
  hit = false;
  fail_at = n;
  armed.store(true, std::memory_order_release);
}

uint64_t disarm() {
  armed.store(false, std::memory_order_release);
  return counted.load();
}

bool failed() { return hit.load(); }

}  // namespace hp_test::failing_alloc

extern "C" {

void *malloc(size_t n) {
  if (!resolve()) return boot_alloc(n);
  return fail_now(__builtin_return_address(0)) ? nullptr : real_malloc(n);
}

void *calloc(size_t count, size_t n) {
  if (!resolve()) return boot_alloc(count * n);  // boot is zeroed, never reused
  return fail_now(__builtin_return_address(0)) ? nullptr : real_calloc(count, n);
}

void *realloc(void *p, size_t n) {
  if (p && from_boot(p)) {
    void *q = malloc(n);
    if (q) std::memcpy(q, p, std::min(n, static_cast<size_t>(boot + sizeof boot - static_cast<char *>(p))));
    return q;
  }
  if (!resolve()) return nullptr;
  return fail_now(__builtin_return_address(0)) ? nullptr : real_realloc(p, n);
}

void free(void *p) {
  if (!p || from_boot(p)) return;
  if (resolve()) real_free(p);
}

}  // extern "C"

void *operator new(size_t n) { return new_or_throw(n); }
void *operator new[](size_t n) { return new_or_throw(n); }
void *operator new(size_t n, const std::nothrow_t &) noexcept { return malloc(n ? n : 1); }
void *operator new[](size_t n, const std::nothrow_t &) noexcept { return malloc(n ? n : 1); }
void *operator new(size_t n, std::align_val_t a) { return aligned_new(n, a); }
void *operator new[](size_t n, std::align_val_t a) { return aligned_new(n, a); }
void operator delete(void *p) noexcept { free(p); }
void operator delete[](void *p) noexcept { free(p); }
void operator delete(void *p, size_t) noexcept { free(p); }
void operator delete[](void *p, size_t) noexcept { free(p); }
void operator delete(void *p, const std::nothrow_t &) noexcept { free(p); }
void operator delete[](void *p, const std::nothrow_t &) noexcept { free(p); }
void operator delete(void *p, std::align_val_t) noexcept { free(p); }
void operator delete[](void *p, std::align_val_t) noexcept { free(p); }
void operator delete(void *p, size_t, std::align_val_t) noexcept { free(p); }
void operator delete[](void *p, size_t, std::align_val_t) noexcept { free(p); }
