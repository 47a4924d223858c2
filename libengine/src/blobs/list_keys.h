// What both backends use to page through file names: the end of a prefix's
// range, and cursors that carry a name as hex (safe for any bytes).
#pragma once

#include <string>
#include <string_view>

namespace hp::blobs {

// The smallest string above every string that starts with `prefix`, or ""
// when there is none (the prefix is all 0xff bytes).
std::string prefix_end(std::string prefix);

// Lowercase hex of the bytes of `s`.
std::string to_hex(std::string_view s);

// The bytes of lowercase hex `s`; false (with `out` unspecified) for an odd
// length or a character that is not a lowercase hex digit.
bool from_hex(std::string_view s, std::string *out);

}  // namespace hp::blobs
