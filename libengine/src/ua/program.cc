#include "ua/program.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <tuple>

namespace hp::ua {

namespace {

// OP_RUN: a repeated class, as many bytes of it as can be, then fewer
// (or the least, then more, when lazy) on the way back.
enum Op : uint8_t { OP_CLASS, OP_SPLIT, OP_JMP, OP_SAVE, OP_ASSERT, OP_RUN, OP_MATCH };
constexpr uint16_t kNoMax = 0xffff;
enum Assertion : uint8_t { A_BEGIN, A_END, A_WORD_BOUNDARY, A_NOT_WORD_BOUNDARY };

// Beyond this many instructions a pattern stays with RE2 (targets are 16
// bits, and a big program is a slow one).
constexpr size_t kMaxInsts = 4000;
// Literal sets larger than this make more work for the literal pass than
// they save.
constexpr size_t kMaxLeads = 64;
// A class of more bytes than this (case folded) is no literal.
constexpr size_t kMaxClassLead = 4;

// A backtracking stack, one a thread: pushes stay inline, the memory grows
// (rarely) out of line and is kept from run to run.
template <class T>
class Stack {
 public:
  void clear() { n_ = 0; }
  bool empty() const { return n_ == 0; }
  T &back() { return items_[n_ - 1]; }
  void pop_back() { n_--; }
  void push_back(const T &item) {
    if (n_ == items_.size()) grow();
    items_[n_++] = item;
  }

 private:
  [[gnu::noinline]] void grow() { items_.resize(items_.empty() ? 64 : 2 * items_.size()); }
  std::vector<T> items_;
  size_t n_ = 0;
};

bool word(uint8_t c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

}  // namespace

struct Program::Node {
  enum Kind { EMPTY, CLASS, ASSERT, CONCAT, ALT, REPEAT, GROUP } kind = EMPTY;
  Class cls{};
  uint8_t assertion = 0;
  int min = 0, max = 0;  // REPEAT; max -1: no bound
  bool greedy = true;
  int group = -1;  // GROUP: capture index, -1 when not capturing
  std::vector<Node> kids;
};

namespace {

using Node = Program::Node;

// RE2 syntax, the subset the tables use; `ok` turns false at anything else.
class Parser {
 public:
  Parser(const char *p, bool icase, int *groups) : p_(p), icase_(icase), groups_(groups) {}
  bool ok = true;

  Node alternation() {
    Node first = concatenation();
    if (*p_ != '|') return first;
    Node alt;
    alt.kind = Node::ALT;
    alt.kids.push_back(std::move(first));
    while (ok && *p_ == '|') {
      p_++;
      alt.kids.push_back(concatenation());
    }
    return alt;
  }

  bool at_end() const { return *p_ == 0; }

 private:
  using Bits = uint64_t[2];

  static void set(Node &n, uint8_t c) { n.cls.bits[c >> 6] |= uint64_t{1} << (c & 63); }
  static bool has(const Node &n, uint8_t c) { return (n.cls.bits[c >> 6] >> (c & 63)) & 1; }
  void fold(Node &n) const {
    if (!icase_) return;
    for (int c = 'a'; c <= 'z'; c++)
      if (has(n, static_cast<uint8_t>(c)) || has(n, static_cast<uint8_t>(c - 32))) {
        set(n, static_cast<uint8_t>(c));
        set(n, static_cast<uint8_t>(c - 32));
      }
  }
  static Node char_class() {
    Node n;
    n.kind = Node::CLASS;
    return n;
  }
  static void add_range(Node &n, int from, int to) {
    for (int c = from; c <= to; c++) set(n, static_cast<uint8_t>(c));
  }
  // \d \w \s and their negations into n; false for another letter.
  static bool perl_class(Node &n, char e) {
    Node pos = char_class();
    switch (e | 0x20) {
      case 'd':
        add_range(pos, '0', '9');
        break;
      case 'w':
        add_range(pos, '0', '9'), add_range(pos, 'a', 'z'), add_range(pos, 'A', 'Z'), set(pos, '_');
        break;
      case 's':
        for (char c : {'\t', '\n', '\f', '\r', ' '}) set(pos, static_cast<uint8_t>(c));
        break;
      default:
        return false;
    }
    const bool negated = e >= 'A' && e <= 'Z';
    for (int w = 0; w < 2; w++) n.cls.bits[w] |= negated ? ~pos.cls.bits[w] : pos.cls.bits[w];
    return true;
  }
  // The byte an escape stands for, or -1 when it is not a plain byte.
  static int escaped_byte(char e) {
    switch (e) {
      case 'n':
        return '\n';
      case 't':
        return '\t';
      case 'r':
        return '\r';
      case 'f':
        return '\f';
      case 'v':
        return '\v';
      default:
        break;
    }
    const uint8_t u = static_cast<uint8_t>(e);
    if (u >= 0x80 || u == 0 || word(u)) return -1;
    return u;
  }

  Node concatenation() {
    Node seq;
    seq.kind = Node::CONCAT;
    while (ok && *p_ && *p_ != '|' && *p_ != ')') {
      Node a = atom();
      if (!ok) break;
      seq.kids.push_back(quantified(std::move(a)));
    }
    return seq;
  }

  Node quantified(Node a) {
    int min, max;
    switch (*p_) {
      case '*':
        min = 0, max = -1, p_++;
        break;
      case '+':
        min = 1, max = -1, p_++;
        break;
      case '?':
        min = 0, max = 1, p_++;
        break;
      case '{': {
        const char *q = p_ + 1;
        auto number = [&q](int *v) {
          if (*q < '0' || *q > '9') return false;
          *v = 0;
          while (*q >= '0' && *q <= '9' && *v < 1000) *v = *v * 10 + (*q++ - '0');
          return *v < 1000;
        };
        if (!number(&min)) return fail();
        max = min;
        if (*q == ',') {
          q++;
          max = -1;
          if (*q != '}' && !number(&max)) return fail();
        }
        if (*q != '}' || (max >= 0 && max < min)) return fail();
        p_ = q + 1;
        break;
      }
      default:
        return a;
    }
    Node r;
    r.kind = Node::REPEAT;
    r.min = min, r.max = max;
    if (*p_ == '?') r.greedy = false, p_++;
    if (*p_ == '*' || *p_ == '+' || *p_ == '?' || *p_ == '{') return fail();
    r.kids.push_back(std::move(a));
    return r;
  }

  Node fail() {
    ok = false;
    return Node{};
  }

  Node atom() {
    const uint8_t c = static_cast<uint8_t>(*p_++);
    switch (c) {
      case '(': {
        Node g;
        g.kind = Node::GROUP;
        if (*p_ == '?') {
          if (p_[1] != ':') return fail();
          p_ += 2;
        } else {
          g.group = (*groups_)++;
        }
        g.kids.push_back(alternation());
        if (*p_ != ')') return fail();
        p_++;
        return g;
      }
      case '[':
        return bracket();
      case '.': {
        Node n = char_class();
        add_range(n, 0, 127);
        n.cls.bits[0] &= ~(uint64_t{1} << '\n');
        return n;
      }
      case '^':
      case '$': {
        Node n;
        n.kind = Node::ASSERT;
        n.assertion = c == '^' ? A_BEGIN : A_END;
        return n;
      }
      case '\\': {
        const char e = *p_++;
        if (e == 'b' || e == 'B') {
          Node n;
          n.kind = Node::ASSERT;
          n.assertion = e == 'b' ? A_WORD_BOUNDARY : A_NOT_WORD_BOUNDARY;
          return n;
        }
        Node n = char_class();
        if (perl_class(n, e)) return n;
        const int b = escaped_byte(e);
        if (b < 0) return fail();
        set(n, static_cast<uint8_t>(b));
        fold(n);
        return n;
      }
      case '*':
      case '+':
      case '?':
      case '{':
      case ')':
      case '|':
        return fail();
      default: {
        if (c >= 0x80) return fail();
        Node n = char_class();
        set(n, c);
        fold(n);
        return n;
      }
    }
  }

  Node bracket() {
    Node n = char_class();
    const bool negated = *p_ == '^';
    if (negated) p_++;
    bool first = true;
    while (ok && *p_ && (*p_ != ']' || first)) {
      first = false;
      int lo;
      if (*p_ == '\\') {
        const char e = p_[1];
        p_ += 2;
        if (perl_class(n, e)) continue;
        lo = escaped_byte(e);
      } else if (*p_ == '[') {
        return fail();  // [:alpha:] and the like
      } else {
        lo = static_cast<uint8_t>(*p_++);
      }
      if (lo < 0 || lo >= 0x80) return fail();
      int hi = lo;
      if (*p_ == '-' && p_[1] && p_[1] != ']') {
        p_++;
        if (*p_ == '\\') {
          hi = escaped_byte(p_[1]);
          p_ += 2;
        } else {
          hi = static_cast<uint8_t>(*p_++);
        }
        if (hi < lo || hi >= 0x80) return fail();
      }
      add_range(n, lo, hi);
    }
    if (*p_ != ']') return fail();
    p_++;
    fold(n);
    if (negated) {
      n.cls.bits[0] = ~n.cls.bits[0];
      n.cls.bits[1] = ~n.cls.bits[1];
    }
    return n;
  }

  const char *p_;
  bool icase_;
  int *groups_;
};

bool nullable(const Node &n) {
  switch (n.kind) {
    case Node::CLASS:
      return false;
    case Node::CONCAT:
      return std::all_of(n.kids.begin(), n.kids.end(), nullable);
    case Node::ALT:
      return std::any_of(n.kids.begin(), n.kids.end(), nullable);
    case Node::REPEAT:
      return n.min == 0 || nullable(n.kids[0]);
    case Node::GROUP:
      return nullable(n.kids[0]);
    default:
      return true;
  }
}

// The bytes a node's match may take: false when there is no bound.
bool width(const Node &n, int *min, int *max) {
  switch (n.kind) {
    case Node::CLASS:
      *min = *max = 1;
      return true;
    case Node::GROUP:
      return width(n.kids[0], min, max);
    case Node::CONCAT:
    case Node::ALT: {
      const bool concat = n.kind == Node::CONCAT;
      *min = concat ? 0 : INT32_MAX;
      *max = 0;
      for (const Node &k : n.kids) {
        int a, b;
        if (!width(k, &a, &b)) return false;
        *min = concat ? *min + a : std::min(*min, a);
        *max = concat ? *max + b : std::max(*max, b);
      }
      if (n.kids.empty()) *min = 0;
      return true;
    }
    case Node::REPEAT: {
      int a, b;
      if (n.max < 0 || !width(n.kids[0], &a, &b)) return false;
      *min = a * n.min, *max = b * n.max;
      return true;
    }
    default:
      *min = *max = 0;
      return true;
  }
}

// The leads every match of a node has; `exact` when each lead's text runs
// to the end of the node's match (so what follows may extend it).
struct Leads {
  bool known = false;
  bool exact = false;
  std::vector<Program::Lead> s;
};

Leads leads_of(const Node &n) {
  Leads out;
  switch (n.kind) {
    case Node::EMPTY:
    case Node::ASSERT:
      return Leads{true, true, {{}}};
    case Node::CLASS: {
      out = Leads{true, true, {}};
      for (int c = 0; c < 128; c++) {
        const bool in = (n.cls.bits[c >> 6] >> (c & 63)) & 1;
        const char l = (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : static_cast<char>(c);
        if (in &&
            std::none_of(out.s.begin(), out.s.end(), [l](const Program::Lead &x) { return x.text[0] == l; }))
          out.s.push_back({std::string(1, l), 0, 0});
      }
      if (out.s.size() > kMaxClassLead) return Leads{};
      return out;
    }
    case Node::GROUP:
      return leads_of(n.kids[0]);
    case Node::ALT: {
      out = Leads{true, true, {}};
      for (const Node &k : n.kids) {
        Leads l = leads_of(k);
        if (!l.known) return Leads{};
        out.exact = out.exact && l.exact;
        out.s.insert(out.s.end(), l.s.begin(), l.s.end());
      }
      return out.s.size() > kMaxLeads ? Leads{} : out;
    }
    case Node::REPEAT: {
      out = leads_of(n.kids[0]);
      if (!out.known) return out;
      if (n.min == 0) out.s.push_back({});
      if (n.max != 1) out.exact = false;
      return out;
    }
    case Node::CONCAT: {
      out = Leads{true, true, {{}}};
      for (const Node &k : n.kids) {
        if (!out.exact) break;
        const bool no_text =
            std::all_of(out.s.begin(), out.s.end(), [](const Program::Lead &x) { return x.text.empty(); });
        Leads l = leads_of(k);
        int a, b;
        if (!l.known && no_text && width(k, &a, &b)) {
          // no literal yet: what follows starts a bounded width further on
          for (Program::Lead &x : out.s) x.lo += a, x.hi += b;
          continue;
        }
        const bool shifted =
            std::any_of(l.s.begin(), l.s.end(), [](const Program::Lead &x) { return x.hi > 0; });
        if (!l.known || out.s.size() * l.s.size() > kMaxLeads || (shifted && !no_text)) {
          out.exact = false;
          break;
        }
        std::vector<Program::Lead> next;
        bool cut = false;
        for (const Program::Lead &x : out.s)
          for (const Program::Lead &y : l.s) {
            Program::Lead xy{x.text + y.text, x.lo + y.lo, x.hi + y.hi};
            if (xy.text.size() >= Program::kMaxLead) xy.text.resize(Program::kMaxLead), cut = true;
            next.push_back(xy);
          }
        out.s = std::move(next);
        out.exact = l.exact && !cut;
      }
      return out;
    }
  }
  return out;
}

}  // namespace

bool Program::first_bytes(uint32_t pc, Class *out, std::vector<uint8_t> *seen) const {
  if ((*seen)[pc]) return true;
  (*seen)[pc] = 1;
  const Inst &in = code_[pc];
  switch (in.op) {
    case OP_CLASS:
    case OP_RUN:
      out->bits[0] |= classes_[in.arg].bits[0];
      out->bits[1] |= classes_[in.arg].bits[1];
      return in.op == OP_CLASS || in.x > 0 || first_bytes(pc + 1, out, seen);
    case OP_SPLIT:
      return first_bytes(in.x, out, seen) && first_bytes(in.y, out, seen);
    case OP_JMP:
      return first_bytes(in.x, out, seen);
    case OP_MATCH:
      return false;  // the end of the text, or any byte
    default:
      return first_bytes(pc + 1, out, seen);
  }
}

int Program::emit(const Node &n) {
  const int at = static_cast<int>(code_.size());
  auto put = [this](uint8_t op, uint8_t arg = 0, int x = 0, int y = 0) {
    code_.push_back(Inst{op, arg, 0, 0, static_cast<uint16_t>(x), static_cast<uint16_t>(y)});
    return static_cast<int>(code_.size() - 1);
  };
  if (code_.size() > kMaxInsts || classes_.size() > 255) {
    too_big_ = true;
    return at;
  }
  switch (n.kind) {
    case Node::EMPTY:
      break;
    case Node::CLASS:
      classes_.push_back(n.cls);
      put(OP_CLASS, static_cast<uint8_t>(classes_.size() - 1));
      break;
    case Node::ASSERT:
      put(OP_ASSERT, n.assertion);
      break;
    case Node::CONCAT:
      for (const Node &k : n.kids) emit(k);
      break;
    case Node::GROUP:
      if (n.group >= 0) put(OP_SAVE, static_cast<uint8_t>(2 * n.group));
      emit(n.kids[0]);
      if (n.group >= 0) put(OP_SAVE, static_cast<uint8_t>(2 * n.group + 1));
      break;
    case Node::ALT: {
      // SPLIT next-alternative; alternative; JMP end; ...
      std::vector<int> jumps;
      for (size_t i = 0; i < n.kids.size(); i++) {
        int split = -1;
        if (i + 1 < n.kids.size()) split = put(OP_SPLIT);
        if (split >= 0) code_[split].x = static_cast<uint16_t>(split + 1);
        emit(n.kids[i]);
        if (i + 1 < n.kids.size()) {
          jumps.push_back(put(OP_JMP));
          code_[split].y = static_cast<uint16_t>(code_.size());
        }
      }
      for (int j : jumps) code_[j].x = static_cast<uint16_t>(code_.size());
      break;
    }
    case Node::REPEAT: {
      const Node &k = n.kids[0];
      if (k.kind == Node::CLASS && n.max < static_cast<int>(kNoMax)) {
        classes_.push_back(k.cls);
        const int run =
            put(OP_RUN, static_cast<uint8_t>(classes_.size() - 1), n.min, n.max < 0 ? kNoMax : n.max);
        code_[run].greedy = n.greedy;
        break;
      }
      auto branch = [&](int split, int body, int skip) {
        code_[split].x = static_cast<uint16_t>(n.greedy ? body : skip);
        code_[split].y = static_cast<uint16_t>(n.greedy ? skip : body);
      };
      for (int i = 0; i < n.min; i++) emit(k);
      if (n.max < 0) {
        const int split = put(OP_SPLIT);
        emit(k);
        put(OP_JMP, 0, split);
        branch(split, split + 1, static_cast<int>(code_.size()));
      } else {
        std::vector<int> splits;
        for (int i = n.min; i < n.max && !too_big_; i++) {
          splits.push_back(put(OP_SPLIT));
          emit(k);
        }
        for (int s : splits) branch(s, s + 1, static_cast<int>(code_.size()));
      }
      break;
    }
  }
  if (code_.size() > kMaxInsts) too_big_ = true;
  return at;
}

bool Program::compile(const char *pattern) {
  code_.clear();
  classes_.clear();
  leads_.clear();
  ngroups_ = 1;
  too_big_ = false;
  bool icase = false;
  if (std::strncmp(pattern, "(?i)", 4) == 0) icase = true, pattern += 4;
  Parser parser(pattern, icase, &ngroups_);
  Node root = parser.alternation();
  if (!parser.ok || !parser.at_end() || ngroups_ > kMaxGroups) return false;
  // A repetition of what can match empty is where backtracking and RE2
  // part ways.
  bool empty_loop = false;
  auto check = [&empty_loop](const Node &n, auto &&self) -> void {
    if (n.kind == Node::REPEAT && n.max != 1 && nullable(n.kids[0])) empty_loop = true;
    for (const Node &k : n.kids) self(k, self);
  };
  check(root, check);
  if (empty_loop) return false;
  lead_literals(root);
  if (leads_.empty()) return false;
  code_.push_back(Inst{OP_SAVE, 0, 0, 0, 0, 0});
  emit(root);
  code_.push_back(Inst{OP_SAVE, 1, 0, 0, 0, 0});
  code_.push_back(Inst{OP_MATCH, 0, 0, 0, 0, 0});
  // A run tries only the ends where what follows it can go on.
  for (size_t i = 0; i + 1 < code_.size(); i++) {
    if (code_[i].op != OP_RUN) continue;
    Class next{};
    std::vector<uint8_t> seen(code_.size(), 0);
    if (!first_bytes(static_cast<uint32_t>(i + 1), &next, &seen) || classes_.size() >= 255) continue;
    classes_.push_back(next);
    code_[i].follow = static_cast<uint8_t>(classes_.size());
  }
  if (too_big_ || code_.size() > kMaxInsts) {
    leads_.clear();
    return false;
  }
  return true;
}

void Program::lead_literals(const Node &root) {
  Leads l = leads_of(root);
  leads_.clear();
  if (!l.known) return;
  for (const Lead &x : l.s)
    if (x.text.empty() || x.hi - x.lo >= kMaxSpread) return;
  // A lead another one starts with, at the same place, adds nothing.
  std::sort(l.s.begin(), l.s.end(), [](const Lead &x, const Lead &y) {
    return std::tie(x.lo, x.hi, x.text) < std::tie(y.lo, y.hi, y.text);
  });
  for (const Lead &x : l.s) {
    const Lead *last = leads_.empty() ? nullptr : &leads_.back();
    if (last && last->lo == x.lo && last->hi == x.hi && x.text.compare(0, last->text.size(), last->text) == 0)
      continue;
    leads_.push_back(x);
  }
}

size_t Program::memory() const {
  return sizeof(Inst) * code_.capacity() + sizeof(Class) * classes_.capacity() + sizeof(leads_) + [this] {
    size_t n = 0;
    for (const Lead &x : leads_) n += x.text.capacity() + sizeof x;
    return n;
  }();
}

Program::Outcome Program::run(const char *text, uint32_t len, uint32_t start, int32_t *caps,
                              int64_t *steps) const {
  enum : int32_t { kChoice = -1, kRunBack = -2, kRunOn = -3 };
  // A choice to come back to (kind kChoice), a run's next end to try
  // (kRunBack, kRunOn: `pos` was tried last, `bound` is the last to try),
  // or a capture to restore (kind >= 0: the slot).
  struct Frame {
    uint32_t pc;
    int32_t pos;
    int32_t kind;
    int32_t bound;
  };
  static thread_local Stack<Frame> stack;
  stack.clear();
  for (int i = 0; i < 2 * ngroups_; i++) caps[i] = -1;
  const uint8_t *t = reinterpret_cast<const uint8_t *>(text);
  uint32_t pc = 0;
  int32_t pos = static_cast<int32_t>(start);
  int64_t left = *steps;
  // The first end of a run from `from` on towards `bound` (step +1 or -1)
  // that what follows it can go on from, or -1.
  auto run_end = [&](const Inst &in, int32_t from, int32_t bound, int step) -> int32_t {
    for (int32_t e = from; step > 0 ? e <= bound : e >= bound; e += step) {
      left--;
      if (in.follow && !(static_cast<uint32_t>(e) < len && classes_[in.follow - 1].has(t[e]))) continue;
      return e;
    }
    return -1;
  };
  for (;;) {
    if (--left < 0) break;
    const Inst &in = code_[pc];
    bool fail = false;
    switch (in.op) {
      case OP_CLASS:
        if (static_cast<uint32_t>(pos) < len && classes_[in.arg].has(t[pos]))
          pos++, pc++;
        else
          fail = true;
        break;
      case OP_SPLIT:
        stack.push_back(Frame{in.y, pos, kChoice, 0});
        pc = in.x;
        break;
      case OP_JMP:
        pc = in.x;
        break;
      case OP_SAVE:
        stack.push_back(Frame{0, caps[in.arg], in.arg, 0});
        caps[in.arg] = pos;
        pc++;
        break;
      case OP_ASSERT: {
        const uint32_t p = static_cast<uint32_t>(pos);
        bool holds;
        if (in.arg == A_BEGIN) {
          holds = p == 0;
        } else if (in.arg == A_END) {
          holds = p == len;
        } else {
          const bool before = p > 0 && word(t[p - 1]);
          const bool after = p < len && word(t[p]);
          holds = (before != after) == (in.arg == A_WORD_BOUNDARY);
        }
        if (holds)
          pc++;
        else
          fail = true;
        break;
      }
      case OP_RUN: {
        const Class &cls = classes_[in.arg];
        const uint32_t most = in.y == kNoMax ? len - pos : std::min<uint32_t>(in.y, len - pos);
        uint32_t n = 0;
        while (n < most && cls.has(t[pos + n])) n++;
        left -= n;
        if (n < in.x) {
          fail = true;
          break;
        }
        const int32_t least = pos + in.x, most_end = pos + static_cast<int32_t>(n);
        const int32_t e = in.greedy ? run_end(in, most_end, least, -1) : run_end(in, least, most_end, 1);
        if (e < 0) {
          fail = true;
          break;
        }
        stack.push_back(Frame{pc + 1, e, in.greedy ? kRunBack : kRunOn, in.greedy ? least : most_end});
        pc++;
        pos = e;
        break;
      }
      case OP_MATCH:
        *steps = left;
        return MATCHED;
    }
    if (!fail) continue;
    // Back to the latest choice, undoing the captures made since.
    bool resumed = false;
    while (!stack.empty() && !resumed) {
      Frame &f = stack.back();
      if (f.kind >= 0) {
        caps[f.kind] = f.pos;
        stack.pop_back();
      } else if (f.kind == kChoice) {
        pc = f.pc;
        pos = f.pos;
        stack.pop_back();
        resumed = true;
      } else {
        const Inst &run = code_[f.pc - 1];
        const int32_t e =
            f.kind == kRunBack ? run_end(run, f.pos - 1, f.bound, -1) : run_end(run, f.pos + 1, f.bound, 1);
        if (e < 0) {
          stack.pop_back();
          continue;
        }
        f.pos = e;
        pc = f.pc;
        pos = e;
        resumed = true;
      }
    }
    if (!resumed) break;
  }
  if (left < 0) {
    *steps = 0;
    return OUT_OF_STEPS;
  }
  *steps = left;
  return NO_MATCH;
}

}  // namespace hp::ua
