// The compact form a record is kept in: a byte tape of its JSON tokens, with
// member names and short repeated strings interned once per table part
// (Dict) and canonical integers stored binary. Writing the tape back gives
// the record's minified JSON text byte for byte: strings keep their escaped
// text, other numbers their text, members their order.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace hp::recipes {

// A quick hash of short text (names, strings, rule contents).
uint64_t hash_text(std::string_view s);

// Interned member names and string values of one load (or one part of it,
// parsed on its own thread). Grows while records are encoded; immutable
// once the records that use it are published.
class Dict {
 public:
  // Past these many entries of a kind, names or strings stay inline.
  static constexpr uint32_t kMaxEntries = 1u << 16;
  // Longest name (escaped text) interned; longer ones stay inline.
  static constexpr size_t kMaxName = 64;
  // Longest string value interned, and only once seen twice.
  static constexpr size_t kMaxString = 40;

  // The id of `raw` (a name's escaped text), adding it; -1 when full.
  // `after` is the id + 1 of the name before it on the tape (0: none):
  // records repeat their names in one order, so the name that followed it
  // last time is tried first, without a hash.
  int64_t name_id(std::string_view raw, uint32_t after);
  // The id of string value `raw` when it was seen before; -1 otherwise.
  int64_t string_id(std::string_view raw);

  // An entry's JSON text: "name": or "value".
  std::string_view name(uint64_t id) const { return text(names_, id); }
  std::string_view string(uint64_t id) const { return text(strings_, id); }

  // Drops what only encoding needs; the entries stay.
  void seal();
  uint64_t bytes() const;

 private:
  struct Kind {
    std::vector<uint64_t> spans;   // offset << 16 | length into bytes_
    std::vector<uint32_t> slots;   // open addressing: id + 1, 0 empty
    std::vector<uint64_t> hashes;  // by id, while encoding
  };
  int64_t intern(Kind &k, std::string_view raw, uint64_t hash, std::string_view suffix);
  std::string_view text(const Kind &k, uint64_t id) const {
    uint64_t s = k.spans[id];
    return std::string_view(bytes_.data() + (s >> 16), s & 0xffff);
  }

  Kind names_, strings_;
  std::vector<uint32_t> next_name_;  // by a name's id + 1: id + 1 of the name that followed it
  std::string bytes_;
  std::vector<uint64_t> seen_;  // hashes of strings seen once (lossy)
};

// Where an encoding stood, to go back to it.
struct TapeMark {
  size_t bytes;
  uint64_t text_len;
};

// Encodes JSON tokens, already validated, onto a tape. `dict` may be null:
// everything then stays inline.
class TapeWriter {
 public:
  explicit TapeWriter(Dict *dict = nullptr) : dict_(dict) {}

  void clear() {
    tape_.clear();
    text_len_ = 0;
    last_name_ = 0;
  }
  void set_dict(Dict *dict) { dict_ = dict; }
  const Dict *dict() const { return dict_; }

  void begin_object() { op(kObj, 1); }
  void begin_array() { op(kArr, 1); }
  void end_object() { op(kEnd, 1); }
  void end_array() { op(kEnd, 1); }
  // A ',' between members or items: the tape leaves it implied.
  void separator() { text_len_++; }
  void literal(std::string_view word);
  // `raw` is the text between the quotes, escapes as written.
  void name(std::string_view raw);
  void string(std::string_view raw);
  void number(std::string_view text);

  TapeMark mark() const { return {tape_.size(), text_len_}; }
  void rewind(TapeMark m) {
    tape_.resize(m.bytes);
    text_len_ = m.text_len;
  }
  const std::string &tape() const { return tape_; }
  uint64_t text_len() const { return text_len_; }

  // Tags. 0x10-0xFF carry a small value in their low bits.
  enum : uint8_t {
    kEnd = 0x00,
    kObj = 0x01,
    kArr = 0x02,
    kTrue = 0x03,
    kFalse = 0x04,
    kNull = 0x05,
    kNumText = 0x06,  // + varint length + text
    kStrText = 0x07,  // + varint length + escaped text
    kStrRefVar = 0x08,
    kNameText = 0x09,
    kNameRefVar = 0x0A,
    kIntVar = 0x0B,    // + zigzag varint
    kNumShort = 0x10,  // 0x10-0x1F: number text of 0-15 bytes follows
    kIntSmall = 0x20,  // 0x20-0x3F: the integer 0-31
    kNameRef = 0x40,   // 0x40-0x7F: name id 0-63
    kStrRef = 0x80,    // 0x80-0xBF: string id 0-63
    kStrShort = 0xC0,  // 0xC0-0xFF: escaped text of 0-63 bytes follows
  };

 private:
  void op(uint8_t tag, uint64_t text) {
    tape_.push_back(static_cast<char>(tag));
    text_len_ += text;
  }
  void varint(uint64_t v);
  void bytes(std::string_view s) { tape_.append(s.data(), s.size()); }

  Dict *dict_;
  std::string tape_;
  uint64_t text_len_ = 0;
  uint32_t last_name_ = 0;  // id + 1 of the last name interned, 0 for none
};

// Writes the JSON text of the value at `tape` to `out` (room for its whole
// text: the record's json_len). Returns the end of the value on the tape.
const uint8_t *write_json(const uint8_t *tape, const Dict *dict, char *out, char **out_end);

// The JSON text of the value at `tape`, `len` bytes long, into `out`.
void tape_text(const uint8_t *tape, const Dict *dict, uint64_t len, std::string *out);

}  // namespace hp::recipes
