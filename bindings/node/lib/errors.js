'use strict';

/**
 * Every error hotpath raises. `code` is the symbolic name of the C error
 * ('HP_ENOTFOUND', 'HP_EINVAL', ...), `errno` its negative number. An I/O
 * error from a system call looks like an `fs` error instead: `code` is the
 * system's ('ENOENT', 'EACCES', ...), `errno` libuv's negative number,
 * `syscall` the call ('open') and `path` the file. `hpCode` is always
 * hotpath's own code ('HP_EIO').
 */
class HotpathError extends Error {
  constructor(message, code, errno, syscall, path, hpCode) {
    super(message);
    this.name = 'HotpathError';
    this.code = code;
    this.errno = errno;
    if (syscall !== undefined) {
      this.syscall = syscall;
      this.path = path;
    }
    this.hpCode = hpCode ?? code;
  }
}

module.exports = { HotpathError };
