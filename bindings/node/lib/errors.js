'use strict';

/**
 * Every error hotpath raises. `code` is the symbolic name of the C error
 * ('HP_ENOTFOUND', 'HP_EINVAL', ...), `errno` its negative number.
 */
class HotpathError extends Error {
  constructor(message, code, errno) {
    super(message);
    this.name = 'HotpathError';
    this.code = code;
    this.errno = errno;
  }
}

module.exports = { HotpathError };
