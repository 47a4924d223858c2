// Byte-string helpers of the parser: spans into the input, case-insensitive
// comparison against lower-case literals, and bounded copies into the
// fixed-size fields of hp_ua_result.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

namespace hp::ua {

struct Span {
  const char *p = nullptr;
  uint32_t n = 0;
  bool empty() const { return n == 0; }
};

inline char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }
inline bool is_digit(char c) { return c >= '0' && c <= '9'; }
inline bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
inline bool is_word(char c) { return is_digit(c) || is_alpha(c) || c == '_'; }

// `lit` is lower case; compares the first n bytes of p with it.
inline bool ieq_n(const char *p, const char *lit, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (lower(p[i]) != lit[i]) return false;
  return true;
}

template <size_t N>
inline bool ieq(Span s, const char (&lit)[N]) {
  return s.n == N - 1 && ieq_n(s.p, lit, N - 1);
}

template <size_t N>
inline bool istarts(Span s, const char (&lit)[N]) {
  return s.n >= N - 1 && ieq_n(s.p, lit, N - 1);
}

// Position of `lit` (lower case) in s, or -1. Linear in s for the short
// literals used here.
inline int ifind(Span s, const char *lit, size_t n) {
  if (n == 0 || s.n < n) return -1;
  const char first = lit[0];
  for (uint32_t i = 0; i + n <= s.n; i++)
    if (lower(s.p[i]) == first && ieq_n(s.p + i, lit, n)) return static_cast<int>(i);
  return -1;
}

template <size_t N>
inline int ifind(Span s, const char (&lit)[N]) {
  return ifind(s, lit, N - 1);
}

template <size_t N>
inline bool icontains(Span s, const char (&lit)[N]) {
  return ifind(s, lit, N - 1) >= 0;
}

inline Span sub(Span s, uint32_t from, uint32_t len = UINT32_MAX) {
  if (from > s.n) from = s.n;
  if (len > s.n - from) len = s.n - from;
  return Span{s.p + from, len};
}

inline Span trim(Span s) {
  while (s.n && (s.p[0] == ' ' || s.p[0] == '\t')) s.p++, s.n--;
  while (s.n && (s.p[s.n - 1] == ' ' || s.p[s.n - 1] == '\t')) s.n--;
  return s;
}

// The leading run of [A-Za-z0-9_.] (a "\w\." run), e.g. a version.
inline Span version_run(Span s) {
  uint32_t i = 0;
  while (i < s.n && (is_word(s.p[i]) || s.p[i] == '.')) i++;
  return Span{s.p, i};
}

// The leading run of digits and dots.
inline Span digits_run(Span s) {
  uint32_t i = 0;
  while (i < s.n && (is_digit(s.p[i]) || s.p[i] == '.')) i++;
  return Span{s.p, i};
}

// Copies into a fixed field, cut to fit, always NUL-terminated; `underscore`
// turns '_' into '.' (iOS and macOS versions).
template <size_t N>
inline void put(char (&dst)[N], Span s, bool underscore = false) {
  size_t n = s.n < N - 1 ? s.n : N - 1;
  for (size_t i = 0; i < n; i++) {
    char c = s.p[i];
    dst[i] = (underscore && c == '_') ? '.' : c;
  }
  dst[n] = 0;
}

template <size_t N, size_t M>
inline void put(char (&dst)[N], const char (&lit)[M]) {
  static_assert(M <= N, "literal longer than the field");
  std::memcpy(dst, lit, M);
}


}  // namespace hp::ua
