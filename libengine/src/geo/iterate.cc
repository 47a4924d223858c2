#include "geo/iterate.h"

#include "core/error.h"

namespace hp::geo {

Walk::Walk(const Database &db) : db_(db), width_(db.ip_version() == 6 ? 128 : 32) {
  stack_.push_back(Item{0, 0, 0});
}

int Walk::next(uint8_t address[16], unsigned *prefix, Hit *hit) {
  const Tree &t = db_.tree();
  while (!stack_.empty()) {
    Item it = stack_.back();
    stack_.pop_back();
    // IPv6 databases alias parts of the space (::ffff:0:0/96, 2002::/16)
    // to the IPv4 subtree; it is listed once, under ::/96.
    if (it.bits != 0 && it.node == db_.ipv4_start() && width_ == 128) continue;
    if (it.node >= t.node_count) {
      int rc = db_.resolve(it.node, it.depth, hit);
      if (rc < 0) return rc;
      if (rc == 0) continue;
      unsigned __int128 full = it.depth < width_ ? it.bits << (width_ - it.depth) : it.bits;
      unsigned n = width_ / 8;
      for (unsigned i = 0; i < n; i++) address[i] = static_cast<uint8_t>(full >> (8 * (n - 1 - i)));
      *prefix = it.depth;
      return 1;
    }
    // A valid tree reaches each node once; a damaged one may share or loop
    // nodes, which would make the walk exponential.
    if (it.depth >= width_ || ++visits_ > uint64_t(t.node_count))
      return core::set_error(HP_ECORRUPT, "geo: '", db_.path(), "': the search tree loops or is deeper than its addresses");
    stack_.push_back(Item{t.child(it.node, 1), it.depth + 1, it.bits << 1 | 1});
    stack_.push_back(Item{t.child(it.node, 0), it.depth + 1, it.bits << 1});
  }
  return 0;
}

}  // namespace hp::geo
