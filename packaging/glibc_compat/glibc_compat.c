/* Lets a shared object built against this system's glibc (2.36) load on
 * glibc 2.28, the manylinux_2_28 floor (RHEL 8, Debian 10, Ubuntu 20.04).
 *
 * The linker binds each call into glibc to the newest version of the
 * symbol: glibc 2.34 moved libpthread and libdl into libc under new
 * versions, 2.33 turned stat() from an inline into a function, 2.29 gave
 * exp/log/pow new versions, and libstdc++ reads __libc_single_threaded
 * (2.32) and calls pthread_cond_clockwait (2.30). The static archives in a
 * wheel (Debian's, and libstdc++.a) were compiled that way, so their
 * references are fixed at link time, not in the source.
 *
 * packaging/glibc_compat.cmake links with -Wl,--wrap=SYM for every
 * HP_COMPAT_* line below: the link then sends all references to SYM, in
 * every archive, to __wrap_SYM here, which either jumps to the older
 * version of the same function (same behaviour, same arguments) or, for
 * functions 2.28 lacks, does the same job with what 2.28 has.
 * auditwheel repair --plat manylinux_2_28_x86_64 checks that nothing newer
 * is left (packaging/dist.sh). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdint.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

/* __wrap_SYM: a tail jump to SYM@VERSION. Keeps every argument register as
 * it is, so one line serves any signature. */
#define HP_COMPAT_JUMP(sym, version)                                       \
  __asm__(".pushsection .text\n"                                           \
          ".symver hp_compat_old_" #sym ", " #sym "@" version "\n"        \
          ".globl __wrap_" #sym "\n"                                       \
          ".hidden __wrap_" #sym "\n"                                      \
          ".type __wrap_" #sym ", @function\n"                             \
          "__wrap_" #sym ":\n"                                             \
          "  jmp hp_compat_old_" #sym "@PLT\n"                             \
          ".size __wrap_" #sym ", .-__wrap_" #sym "\n"                     \
          ".popsection\n");

/* libpthread's functions, in libc since 2.34 */
HP_COMPAT_JUMP(pthread_attr_setstacksize, "GLIBC_2.2.5")
HP_COMPAT_JUMP(pthread_barrier_destroy, "GLIBC_2.2.5")
HP_COMPAT_JUMP(pthread_barrier_init, "GLIBC_2.2.5")
HP_COMPAT_JUMP(pthread_barrier_wait, "GLIBC_2.2.5")
HP_COMPAT_JUMP(pthread_condattr_setclock, "GLIBC_2.3.3")
HP_COMPAT_JUMP(__pthread_key_create, "GLIBC_2.2.5") /* libstdc++'s "are there threads" probe */
HP_COMPAT_JUMP(pthread_create, "GLIBC_2.2.5")
HP_COMPAT_JUMP(pthread_detach, "GLIBC_2.2.5")
HP_COMPAT_JUMP(pthread_getspecific, "GLIBC_2.2.5")
HP_COMPAT_JUMP(pthread_join, "GLIBC_2.2.5")
HP_COMPAT_JUMP(pthread_key_create, "GLIBC_2.2.5")
HP_COMPAT_JUMP(pthread_key_delete, "GLIBC_2.2.5")
HP_COMPAT_JUMP(pthread_kill, "GLIBC_2.2.5")
HP_COMPAT_JUMP(pthread_mutex_timedlock, "GLIBC_2.2.5")
HP_COMPAT_JUMP(pthread_mutex_trylock, "GLIBC_2.2.5")
HP_COMPAT_JUMP(pthread_mutexattr_destroy, "GLIBC_2.2.5")
HP_COMPAT_JUMP(pthread_mutexattr_init, "GLIBC_2.2.5")
HP_COMPAT_JUMP(pthread_mutexattr_settype, "GLIBC_2.2.5")
HP_COMPAT_JUMP(pthread_once, "GLIBC_2.2.5")
HP_COMPAT_JUMP(pthread_rwlock_destroy, "GLIBC_2.2.5")
HP_COMPAT_JUMP(pthread_rwlock_init, "GLIBC_2.2.5")
HP_COMPAT_JUMP(pthread_rwlock_rdlock, "GLIBC_2.2.5")
HP_COMPAT_JUMP(pthread_rwlock_timedrdlock, "GLIBC_2.2.5")
HP_COMPAT_JUMP(pthread_rwlock_timedwrlock, "GLIBC_2.2.5")
HP_COMPAT_JUMP(pthread_rwlock_tryrdlock, "GLIBC_2.2.5")
HP_COMPAT_JUMP(pthread_rwlock_trywrlock, "GLIBC_2.2.5")
HP_COMPAT_JUMP(pthread_rwlock_unlock, "GLIBC_2.2.5")
HP_COMPAT_JUMP(pthread_rwlock_wrlock, "GLIBC_2.2.5")
HP_COMPAT_JUMP(pthread_setspecific, "GLIBC_2.2.5")
HP_COMPAT_JUMP(pthread_sigmask, "GLIBC_2.2.5")
HP_COMPAT_JUMP(sem_destroy, "GLIBC_2.2.5")
HP_COMPAT_JUMP(sem_init, "GLIBC_2.2.5")
HP_COMPAT_JUMP(sem_post, "GLIBC_2.2.5")
HP_COMPAT_JUMP(sem_timedwait, "GLIBC_2.2.5")
HP_COMPAT_JUMP(sem_trywait, "GLIBC_2.2.5")
HP_COMPAT_JUMP(sem_wait, "GLIBC_2.2.5")
/* libdl's (SQLite's extension loading, libcrypto's DSO support) */
HP_COMPAT_JUMP(dladdr, "GLIBC_2.2.5")
HP_COMPAT_JUMP(dlclose, "GLIBC_2.2.5")
HP_COMPAT_JUMP(dlerror, "GLIBC_2.2.5")
HP_COMPAT_JUMP(dlopen, "GLIBC_2.2.5")
HP_COMPAT_JUMP(dlsym, "GLIBC_2.2.5")
/* libm's, given new versions in 2.29 (errno handling; same results) */
HP_COMPAT_JUMP(exp, "GLIBC_2.2.5")
HP_COMPAT_JUMP(log, "GLIBC_2.2.5")
HP_COMPAT_JUMP(pow, "GLIBC_2.2.5")

/* C definitions that packaging/glibc_compat.cmake wraps as well. */
#define HP_COMPAT_WRAP(sym)

/* stat and friends: functions since 2.33; before, inlines calling __xstat64
 * and friends with the kernel struct's version (1 on x86-64), which every
 * glibc still exports. */
#define HP_STAT_VER 1
struct stat;
extern int __xstat64(int ver, const char *path, struct stat *buf);
extern int __lxstat64(int ver, const char *path, struct stat *buf);
extern int __fxstat64(int ver, int fd, struct stat *buf);
extern int __fxstatat64(int ver, int dirfd, const char *path, struct stat *buf, int flags);

#define HP_COMPAT_STAT(sym, xstat)                                                                   \
  __attribute__((visibility("hidden"))) int __wrap_##sym(const char *path, struct stat *buf) {       \
    return xstat(HP_STAT_VER, path, buf);                                                           \
  }
#define HP_COMPAT_FSTAT(sym)                                                                         \
  __attribute__((visibility("hidden"))) int __wrap_##sym(int fd, struct stat *buf) {                 \
    return __fxstat64(HP_STAT_VER, fd, buf);                                                        \
  }
#define HP_COMPAT_FSTATAT(sym)                                                                       \
  __attribute__((visibility("hidden"))) int __wrap_##sym(int dirfd, const char *path, struct stat *buf, \
                                                         int flags) {                               \
    return __fxstatat64(HP_STAT_VER, dirfd, path, buf, flags);                                      \
  }
HP_COMPAT_WRAP(stat)
HP_COMPAT_STAT(stat, __xstat64)
HP_COMPAT_WRAP(stat64)
HP_COMPAT_STAT(stat64, __xstat64)
HP_COMPAT_WRAP(lstat)
HP_COMPAT_STAT(lstat, __lxstat64)
HP_COMPAT_WRAP(lstat64)
HP_COMPAT_STAT(lstat64, __lxstat64)
HP_COMPAT_WRAP(fstat)
HP_COMPAT_FSTAT(fstat)
HP_COMPAT_WRAP(fstat64)
HP_COMPAT_FSTAT(fstat64)
HP_COMPAT_WRAP(fstatat)
HP_COMPAT_FSTATAT(fstatat)
HP_COMPAT_WRAP(fstatat64)
HP_COMPAT_FSTATAT(fstatat64)

/* The pthread_*_clock* functions (2.30) wait until a deadline on a given
 * clock; the timed ones of 2.28 take a CLOCK_REALTIME deadline. This turns
 * the one into the other: the time left on the caller's clock, from now on
 * the realtime clock. A waiter that wakes early or late by a clock step
 * sees what any timed wait may see (a timeout or a spurious wake-up), and
 * the callers (libstdc++'s waits) check their own clock and wait again. */
static struct timespec hp_realtime_deadline(clockid_t clock, const struct timespec *abstime) {
  struct timespec now_clock, now_real, out;
  clock_gettime(clock, &now_clock);
  clock_gettime(CLOCK_REALTIME, &now_real);
  long long left_ns = (long long)(abstime->tv_sec - now_clock.tv_sec) * 1000000000LL +
                      (abstime->tv_nsec - now_clock.tv_nsec);
  if (left_ns < 0) left_ns = 0;
  long long end_ns = (long long)now_real.tv_nsec + left_ns % 1000000000LL;
  out.tv_sec = now_real.tv_sec + (time_t)(left_ns / 1000000000LL) + (time_t)(end_ns / 1000000000LL);
  out.tv_nsec = (long)(end_ns % 1000000000LL);
  return out;
}

HP_COMPAT_WRAP(pthread_cond_clockwait)
__attribute__((visibility("hidden"))) int __wrap_pthread_cond_clockwait(pthread_cond_t *cond,
                                                                        pthread_mutex_t *mutex,
                                                                        clockid_t clock,
                                                                        const struct timespec *abstime) {
  if (clock != CLOCK_REALTIME && clock != CLOCK_MONOTONIC) return EINVAL;
  struct timespec deadline = hp_realtime_deadline(clock, abstime);
  return pthread_cond_timedwait(cond, mutex, &deadline);
}
/* A pthread lock's clocked form, from its timed one. */
#define HP_COMPAT_CLOCKED_LOCK(sym, timed, type)                                                    \
  __attribute__((visibility("hidden"))) int __wrap_##sym(type *lock, clockid_t clock,              \
                                                         const struct timespec *abstime) {         \
    if (clock != CLOCK_REALTIME && clock != CLOCK_MONOTONIC) return EINVAL;                        \
    struct timespec deadline = hp_realtime_deadline(clock, abstime);                               \
    return timed(lock, &deadline);                                                                 \
  }
HP_COMPAT_WRAP(pthread_mutex_clocklock)
HP_COMPAT_CLOCKED_LOCK(pthread_mutex_clocklock, pthread_mutex_timedlock, pthread_mutex_t)
HP_COMPAT_WRAP(pthread_rwlock_clockrdlock)
HP_COMPAT_CLOCKED_LOCK(pthread_rwlock_clockrdlock, pthread_rwlock_timedrdlock, pthread_rwlock_t)
HP_COMPAT_WRAP(pthread_rwlock_clockwrlock)
HP_COMPAT_CLOCKED_LOCK(pthread_rwlock_clockwrlock, pthread_rwlock_timedwrlock, pthread_rwlock_t)
HP_COMPAT_WRAP(sem_clockwait)
__attribute__((visibility("hidden"))) int __wrap_sem_clockwait(sem_t *sem, clockid_t clock,
                                                               const struct timespec *abstime) {
  if (clock != CLOCK_REALTIME && clock != CLOCK_MONOTONIC) {
    errno = EINVAL;
    return -1;
  }
  struct timespec deadline = hp_realtime_deadline(clock, abstime);
  return sem_timedwait(sem, &deadline);
}

/* arc4random (2.36): std::random_device's fallback in libstdc++. The
 * kernel's getrandom (glibc 2.25), or /dev/urandom where the kernel lacks it. */
HP_COMPAT_WRAP(arc4random)
__attribute__((visibility("hidden"))) uint32_t __wrap_arc4random(void) {
  uint32_t v = 0;
  for (;;) {
    ssize_t n = getrandom(&v, sizeof v, 0);
    if (n == (ssize_t)sizeof v) return v;
    if (n < 0 && errno == EINTR) continue;
    break;
  }
  int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    size_t got = 0;
    while (got < sizeof v) {
      ssize_t n = read(fd, (char *)&v + got, sizeof v - got);
      if (n > 0) got += (size_t)n;
      else if (n < 0 && errno == EINTR) continue;
      else break;
    }
    close(fd);
  }
  return v;
}

/* _dl_find_object (2.35): how the C++ unwinder in libgcc_eh (gcc 12) finds
 * the .eh_frame_hdr of the object holding a return address, with no
 * fallback when it fails. This finds the same with dl_iterate_phdr, which
 * is how the unwinder did it before glibc 2.35. Only the fields libgcc
 * reads on x86-64 are set: the mapping and the eh_frame_hdr address. */
struct hp_find_object {
  uintptr_t pc;
  struct dl_find_object *out;
  int found;
};

static int hp_find_object_in(struct dl_phdr_info *info, size_t size, void *data) {
  struct hp_find_object *f = data;
  (void)size;
  uintptr_t lo = UINTPTR_MAX, hi = 0;
  int holds = 0;
  const void *eh_frame = NULL;
  for (int i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr) *p = &info->dlpi_phdr[i];
    uintptr_t start = info->dlpi_addr + p->p_vaddr;
    if (p->p_type == PT_LOAD) {
      if (f->pc >= start && f->pc < start + p->p_memsz) holds = 1;
      if (start < lo) lo = start;
      if (start + p->p_memsz > hi) hi = start + p->p_memsz;
    } else if (p->p_type == PT_GNU_EH_FRAME) {
      eh_frame = (const void *)start;
    }
  }
  if (!holds) return 0;
  f->out->dlfo_flags = 0;
  f->out->dlfo_map_start = (void *)lo;
  f->out->dlfo_map_end = (void *)hi;
  f->out->dlfo_link_map = NULL;
  f->out->dlfo_eh_frame = (void *)eh_frame;
  f->found = 1;
  return 1;
}

HP_COMPAT_WRAP(_dl_find_object)
__attribute__((visibility("hidden"))) int __wrap__dl_find_object(void *pc, struct dl_find_object *out) {
  struct hp_find_object f = {(uintptr_t)pc, out, 0};
  dl_iterate_phdr(hp_find_object_in, &f);
  return f.found ? 0 : -1;
}

/* libstdc++ reads this (2.32) to skip atomic reference counting in a
 * single-threaded process. This object's own copy, never set, makes it
 * always take the atomic path, which is right in any process. */
__attribute__((visibility("hidden"))) char __libc_single_threaded = 0;
