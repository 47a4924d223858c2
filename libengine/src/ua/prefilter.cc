#include "ua/prefilter.h"

#include <re2/filtered_re2.h>

#include <algorithm>
#include <bit>
#include <cstring>

#include "ua/text.h"

namespace hp::ua {

namespace {

// Literals are looked for by at most their first this many bytes.
constexpr size_t kMaxAtomLen = 8;

// A prefilter over more literals than this is not expanded (2^n probes).
constexpr size_t kMaxExpanded = 12;

// Scratch of one candidates() call, kept per thread.
struct Scratch {
  std::vector<uint64_t> seen;   // by atom, a bit each
  std::vector<uint8_t> passed;  // by pattern
};

// A single letter, digit or separator is in nearly every User-Agent: as a
// literal it filters nothing and costs work each time it occurs, so it is
// taken to be always there.
bool common(const std::string &literal) {
  return literal.size() == 1 && (is_word(literal[0]) || std::strchr(" ()-./;:,", literal[0]));
}

using Sets = std::vector<std::vector<uint32_t>>;

// The prefilter's literals, each at least min_len bytes (shorter ones count
// as always there, and so do common() ones), into *literals; the minimal
// sets of them it passes (indices into *literals) into *sets; both empty
// when it passes every string. False when there are too many literals to
// expand (*literals still filled).
bool expand(const std::string &pattern, const RE2::Options &options, int min_len,
            std::vector<std::string> *literals, Sets *sets) {
  re2::FilteredRE2 one(min_len);
  int unused = 0;
  one.Add(pattern, options, &unused);
  std::vector<std::string> all;
  one.Compile(&all);
  literals->clear();
  sets->clear();
  std::vector<int> assumed, index;  // filter atom indices: common ones, the others
  for (size_t i = 0; i < all.size(); i++) {
    if (common(all[i])) {
      assumed.push_back(static_cast<int>(i));
    } else {
      index.push_back(static_cast<int>(i));
      literals->push_back(all[i]);
    }
  }
  const uint32_t n = static_cast<uint32_t>(literals->size());
  std::vector<int> set, passed;
  if (n > kMaxExpanded) {
    // Not expanded: each literal alone will pass it, which holds only when
    // the common bytes alone do not.
    one.AllPotentials(assumed, &passed);
    if (passed.empty()) return false;
    literals->clear();
    return true;
  }
  // Smallest sets first: one that holds a smaller passing set is not
  // minimal; one the prefilter passes is.
  std::vector<uint32_t> masks;
  for (uint32_t m = 0; m < (1u << n); m++) masks.push_back(m);
  std::stable_sort(masks.begin(), masks.end(),
                   [](uint32_t a, uint32_t b) { return std::popcount(a) < std::popcount(b); });
  std::vector<uint32_t> minimal;
  for (uint32_t m : masks) {
    if (std::any_of(minimal.begin(), minimal.end(), [m](uint32_t k) { return (m & k) == k; })) continue;
    set = assumed;
    for (uint32_t i = 0; i < n; i++)
      if (m & (1u << i)) set.push_back(index[i]);
    std::sort(set.begin(), set.end());
    one.AllPotentials(set, &passed);
    if (passed.empty()) continue;
    if (m == 0) {  // passes on common bytes alone
      literals->clear();
      return true;
    }
    minimal.push_back(m);
    sets->emplace_back();
    for (uint32_t i = 0; i < n; i++)
      if (m & (1u << i)) sets->back().push_back(i);
  }
  return true;
}

}  // namespace

bool Prefilter::add(const std::string &pattern, const RE2::Options &options) {
  const uint32_t id = patterns_++;
  if (!RE2(pattern, options).ok()) return false;
  // Single bytes make the tightest filter ("|" or "@" are rare in a
  // User-Agent); a pattern with too many of them is expanded over longer
  // literals instead, and with too many of those each literal alone passes
  // it (looser, but it never drops a string the pattern matches).
  std::vector<std::string> literals;
  Sets sets;
  bool exact = false;
  for (int min_len = 1; min_len <= 3 && !exact; min_len++)
    exact = expand(pattern, options, min_len, &literals, &sets);
  if (!exact)
    for (uint32_t i = 0; i < literals.size(); i++) sets.push_back({i});
  if (literals.empty()) {
    always_.push_back(static_cast<int>(id));
    return true;
  }
  std::vector<uint32_t> atom(literals.size());
  // Any part of a literal is in every string the literal is in; its last
  // kMaxAtomLen bytes are compared in one word. The last, not the first:
  // a long literal tends to start with a word every User-Agent has
  // ("android " of "android x86") and end with what sets it apart.
  for (size_t i = 0; i < literals.size(); i++) {
    const size_t n = literals[i].size();
    atom[i] = atoms_.add(literals[i].substr(n > kMaxAtomLen ? n - kMaxAtomLen : 0));
  }
  for (const std::vector<uint32_t> &set : sets) {
    Minterm t{id, static_cast<uint32_t>(literals_.size()), 0};
    uint32_t trigger = set[0];
    for (uint32_t i : set) {
      literals_.push_back(atom[i]);
      if (literals[i].size() > literals[trigger].size()) trigger = i;
    }
    t.end = static_cast<uint32_t>(literals_.size());
    minterms_.push_back(t);
    if (by_atom_.size() <= atom[trigger]) by_atom_.resize(atom[trigger] + 1);
    by_atom_[atom[trigger]].push_back(static_cast<uint32_t>(minterms_.size() - 1));
  }
  return true;
}

void Prefilter::anchor(uint32_t key, const std::string &literal, int lo, int hi) {
  const uint32_t atom = atoms_.add(literal.substr(0, kMaxAtomLen));
  if (leads_by_key_.size() <= key) leads_by_key_.resize(key + 1);
  leads_by_key_[key].push_back(Lead{atom, lo, hi});
}

namespace {

// Lists by id, flattened into one array and the offsets of each id's.
template <class T>
void flatten(std::vector<std::vector<T>> *lists, size_t ids, std::vector<uint32_t> *begin,
             std::vector<T> *items) {
  lists->resize(ids);
  begin->assign(1, 0);
  items->clear();
  for (const auto &list : *lists) {
    items->insert(items->end(), list.begin(), list.end());
    begin->push_back(static_cast<uint32_t>(items->size()));
  }
  lists->clear();
  lists->shrink_to_fit();
}

}  // namespace

bool Prefilter::build() {
  const bool ok = atoms_.build();
  flatten(&by_atom_, atoms_.size(), &atom_begin_, &atom_minterms_);
  lead_atom_.assign(atoms_.size(), 0);
  for (const auto &leads : leads_by_key_)
    for (const Lead &l : leads) lead_atom_[l.atom] = 1;
  flatten(&leads_by_key_, leads_by_key_.size(), &lead_begin_, &lead_list_);
  return ok;
}

bool Prefilter::any_literal(const char *text, uint32_t len, uint32_t min_len) const {
  bool any = false;
  atoms_.scan(text, len, [&](uint32_t atom, uint32_t) { any = any || atoms_.length(atom) >= min_len; });
  return any;
}

size_t Prefilter::memory() const {
  return atoms_.memory() + sizeof(Minterm) * minterms_.size() +
         sizeof(uint32_t) *
             (literals_.size() + atom_begin_.size() + atom_minterms_.size() + lead_begin_.size()) +
         sizeof(Lead) * lead_list_.size() + lead_atom_.size();
}

void Prefilter::Found::clear() {
  for (uint32_t atom : atoms_) head_[atom] = kEnd;
  atoms_.clear();
  next_.clear();
  at_.clear();
}

void Prefilter::candidates(const char *text, uint32_t len, std::vector<int> *out, Found *found) const {
  static thread_local Scratch scratch;
  Scratch &sc = scratch;
  const size_t words = (atoms_.size() + 63) / 64;
  if (sc.seen.size() < words) sc.seen.assign(words, 0);
  if (sc.passed.size() < patterns_) sc.passed.assign(patterns_, 0);
  uint64_t *seen = sc.seen.data();
  auto has = [seen](uint32_t atom) { return (seen[atom >> 6] >> (atom & 63)) & 1; };
  if (found) {
    found->clear();
    if (found->head_.size() < atoms_.size()) found->head_.assign(atoms_.size(), Found::kEnd);
  }
  const uint8_t *lead = found ? lead_atom_.data() : nullptr;
  atoms_.scan(text, len, [this, seen, found, lead](uint32_t atom, uint32_t end) {
    seen[atom >> 6] |= uint64_t{1} << (atom & 63);
    if (!lead || !lead[atom]) return;
    uint32_t &head = found->head_[atom];
    if (head == Found::kEnd) found->atoms_.push_back(atom);
    found->next_.push_back(head);
    head = static_cast<uint32_t>(found->at_.size());
    found->at_.push_back(end - atoms_.length(atom));
  });
  out->assign(always_.begin(), always_.end());
  for (size_t w = 0; w < words; w++)
    for (uint64_t bits = seen[w]; bits; bits &= bits - 1) {
      const uint32_t atom = static_cast<uint32_t>(w * 64 + std::countr_zero(bits));
      for (uint32_t k = atom_begin_[atom]; k < atom_begin_[atom + 1]; k++) {
        const Minterm &t = minterms_[atom_minterms_[k]];
        if (sc.passed[t.pattern]) continue;
        bool all = true;
        for (uint32_t i = t.begin; i < t.end && all; i++) all = has(literals_[i]);
        if (!all) continue;
        sc.passed[t.pattern] = 1;
        out->push_back(static_cast<int>(t.pattern));
      }
    }
  std::fill(seen, seen + words, 0);
  for (int p : *out) sc.passed[p] = 0;
  std::sort(out->begin(), out->end());
}

void Prefilter::starts(const Found &found, uint32_t key, std::vector<uint32_t> *out) const {
  out->clear();
  if (key + 1 >= lead_begin_.size()) return;
  for (uint32_t k = lead_begin_[key]; k < lead_begin_[key + 1]; k++) {
    const Lead &lead = lead_list_[k];
    if (lead.atom >= found.head_.size()) continue;
    for (uint32_t i = found.head_[lead.atom]; i != Found::kEnd; i = found.next_[i]) {
      const int at = static_cast<int>(found.at_[i]);
      for (int start = std::max(0, at - lead.hi); start <= at - lead.lo; start++)
        out->push_back(static_cast<uint32_t>(start));
    }
  }
  std::sort(out->begin(), out->end());
  out->erase(std::unique(out->begin(), out->end()), out->end());
}

}  // namespace hp::ua
