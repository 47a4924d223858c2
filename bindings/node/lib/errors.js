'use strict';

/**
 * Every error hotpath raises. `code` is the symbolic name of the C error
 * ('HP_ENOTFOUND', 'HP_EINVAL', ...), `errno` and `number` its negative
 * number, `detail` the C library's text of the failure (hp_last_error), the
 * same attributes as Python's hotpath.errors.Error. An I/O error from a
 * system call looks like an `fs` error instead: `code` is the system's
 * ('ENOENT', 'EACCES', ...), `errno` libuv's negative number, `syscall` the
 * call ('open') and `path` the file; `hpCode` and `number` stay hotpath's
 * ('HP_EIO', -4).
 */
class HotpathError extends Error {
  constructor(message, code, errno, syscall, path, hpCode, number, detail) {
    super(message);
    this.name = 'HotpathError';
    this.code = code;
    this.errno = errno;
    if (syscall !== undefined) {
      this.syscall = syscall;
      this.path = path;
    }
    this.hpCode = hpCode ?? code;
    this.number = number ?? errno;
    this.detail = detail ?? message;
  }
}

module.exports = { HotpathError };
