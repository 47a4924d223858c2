#include "recipes/loader.h"

#include <chrono>
#include <cstring>
#include <thread>
#include <vector>

#include "hotpath.h"
#include "recipes/value_end.h"

namespace hp::recipes {

namespace {

constexpr size_t kChunk = 4 << 20;

inline bool ws(char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }

}  // namespace

namespace {

// Copies a parsed item into `arena` as a record, reusing the version of an
// identical record in `previous`.
Rec *make_rec(Arena &arena, std::vector<std::unique_ptr<Rules>> &rules, const Base *previous, bool key_is_str,
              Item *item, int64_t timestamp) {
  size_t key_len = key_is_str ? item->str_key.size() : 0;
  auto *rec = static_cast<Rec *>(arena.alloc(Rec::size_for(key_len, item->json.size())));
  rec->timestamp = timestamp;
  rec->num = item->num;
  rec->key_len = static_cast<uint32_t>(key_len);
  rec->tombstone = 0;
  rec->json_len = item->json.size();
  char *kb = reinterpret_cast<char *>(rec + 1);
  if (key_len) std::memcpy(kb, item->str_key.data(), key_len);
  std::memcpy(kb + key_len, item->json.data(), item->json.size());
  rec->rules = item->rules.get();
  if (item->rules) rules.push_back(std::move(item->rules));
  Key k = rec->key(key_is_str);
  rec->version = 0;
  if (previous) {
    const Rec *old = previous->index.find(k, hash_key(k));
    if (old && old->json_len == rec->json_len && std::memcmp(old->json(), rec->json(), rec->json_len) == 0)
      rec->version = old->version;
  }
  if (!rec->version) rec->version = next_record_version();
  return rec;
}

// One slice of a whole buffer parsed on its own thread.
struct Part {
  Arena arena;
  std::vector<std::unique_ptr<Rules>> rules;
  std::vector<const Rec *> recs;
  uint64_t items = 0, skipped = 0, embedded_errors = 0, rule_errors = 0;
  bool ok = false;
};

// Parses the items from `pos` (an item's first byte) until the item that
// ends right before `stop` (the next part's first item), or until ']' for
// the last part. Any surprise returns with ok = false: the caller then
// parses the whole buffer on one thread, which also reports errors exactly.
void parse_part(const TableSpec &spec, const char *data, size_t size, size_t pos, size_t stop, bool last,
                const Base *previous, int64_t timestamp, Part *part) {
  RecordParser parser(spec);
  Item item;
  const char *p = data + pos;
  const char *end = data + size;
  const char *stop_at = data + stop;
  try {
    for (;;) {
      const char *start = p;
      p = parser.parse_item(p, end, &item);
      // An item over the cap: the single-threaded pass reports it exactly.
      if (uint64_t(p - start) > spec.max_item_bytes) return;
      part->items++;
      if (item.status == Item::kRecord) {
        part->recs.push_back(make_rec(part->arena, part->rules, previous, spec.key_is_str, &item, timestamp));
        part->embedded_errors += item.embedded_errors;
        part->rule_errors += item.rule_errors;
      } else {
        part->skipped++;
      }
      while (p < end && ws(*p)) p++;
      if (p >= end) return;
      if (*p == ']') {
        if (!last) return;
        for (p++; p < end; p++)
          if (!ws(*p)) return;
        part->ok = true;
        return;
      }
      if (*p != ',') return;
      p++;
      while (p < end && ws(*p)) p++;
      if (!last && p >= stop_at) {
        part->ok = p == stop_at;
        return;
      }
    }
  } catch (const NeedMore &) {
  } catch (const ParseError &) {
  }
}

// Where a part could start near `target`: the '{' of a "},{" boundary.
size_t candidate_start(const char *data, size_t size, size_t target) {
  for (size_t i = target; i + 2 < size; i++) {
    if (data[i] != '}') continue;
    size_t j = i + 1;
    while (j < size && ws(data[j])) j++;
    if (j >= size || data[j] != ',') continue;
    j++;
    while (j < size && ws(data[j])) j++;
    if (j < size && data[j] == '{') return j;
  }
  return 0;
}

// Parses a whole in-memory array on several threads. Returns false (and
// leaves `o` and `base` untouched) when that does not work out.
bool parse_parallel(const TableSpec &spec, const char *data, size_t size, const Base *previous, int64_t timestamp,
                    Base *base, LoadOutcome *o) {
  unsigned threads = std::thread::hardware_concurrency();
  if (threads > 4) threads = 4;
  if (threads < 2 || size < (8u << 20)) return false;
  size_t first = 0;
  while (first < size && ws(data[first])) first++;
  if (first >= size || data[first] != '[') return false;
  first++;
  while (first < size && ws(data[first])) first++;
  if (first >= size || data[first] != '{') return false;
  std::vector<size_t> starts{first};
  for (unsigned j = 1; j < threads; j++) {
    size_t c = candidate_start(data, size, size / threads * j);
    if (c > starts.back()) starts.push_back(c);
  }
  if (starts.size() < 2) return false;
  std::vector<Part> parts(starts.size());
  std::vector<std::thread> pool;
  for (size_t j = 1; j < starts.size(); j++) {
    size_t stop = j + 1 < starts.size() ? starts[j + 1] : size;
    pool.emplace_back(parse_part, std::cref(spec), data, size, starts[j], stop, j + 1 == starts.size(), previous,
                      timestamp, &parts[j]);
  }
  parse_part(spec, data, size, starts[0], starts[1], false, previous, timestamp, &parts[0]);
  for (auto &t : pool) t.join();
  uint64_t items = 0;
  for (const Part &p : parts) {
    if (!p.ok) return false;
    items += p.items;
  }
  if (items > spec.max_items) return false;
  size_t total = 0;
  for (const Part &p : parts) total += p.recs.size();
  base->index.reserve(total);
  for (Part &p : parts) {
    for (const Rec *r : p.recs) {
      Key k = r->key(spec.key_is_str);
      if (base->index.put(k, hash_key(k), r)) o->duplicates++;
    }
    o->items += p.items;
    o->skipped += p.skipped;
    o->embedded_errors += p.embedded_errors;
    o->rule_errors += p.rule_errors;
    base->arena.absorb(std::move(p.arena));
    for (auto &r : p.rules) base->rules.push_back(std::move(r));
  }
  return true;
}

}  // namespace

bool store_item(Base *base, const Base *previous, bool key_is_str, Item *item, int64_t timestamp) {
  Rec *rec = make_rec(base->arena, base->rules, previous, key_is_str, item, timestamp);
  Key k = rec->key(key_is_str);
  return base->index.put(k, hash_key(k), rec) != nullptr;
}

LoadOutcome load_file(const TableSpec &spec, const std::string &path, int64_t timestamp, uint64_t whole_inflate_max,
                      std::shared_ptr<const Base> previous) {
  auto started = std::chrono::steady_clock::now();
  LoadOutcome o;
  Buf buf;
  OpenedFile file;
  // More JSON than the cap never goes into one buffer: it streams, and fails
  // when it reaches the cap.
  uint64_t whole_max = whole_inflate_max < spec.max_json_bytes ? whole_inflate_max : spec.max_json_bytes;
  core::clear_error();
  std::string error;
  int rc = open_source(path, whole_max, buf, &file, &error);
  if (rc < 0) {
    o.status = core::Status::capture(rc);
    o.status.message = path + ": " + error;
    if (o.status.sys_errno) o.status.path = path;
    return o;
  }
  o.sig = file.sig;
  const char *what = file.gzip ? " (uncompressed)" : "";
  auto fail = [&](int code, uint64_t at, const std::string &reason) {
    o.status.code = code;
    o.status.message = path + ": byte " + std::to_string(at) + what + ": " + reason;
    o.base.reset();
  };
  auto over_json = [&](uint64_t at) {
    fail(HP_ELIMIT, at, "more than " + std::to_string(spec.max_json_bytes) + " bytes of JSON (max_json_bytes)");
  };
  if (!timestamp) timestamp = file.sig.mtime_ns / 1000000;
  auto base = std::make_shared<Base>();
  base->timestamp = timestamp;
  if (file.source->whole()) {
    if (buf.size() > spec.max_json_bytes) {
      over_json(spec.max_json_bytes);
      return o;
    }
    if (parse_parallel(spec, buf.data(), buf.size(), previous.get(), timestamp, base.get(), &o)) {
      o.json_bytes = buf.size();
      o.base = std::move(base);
      o.ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
      return o;
    }
    // Roughly one record per 600 bytes of JSON: saves rehashing.
    base->index.reserve(buf.size() / 600);
  } else if (!file.gzip) {
    base->index.reserve(file.sig.size / 600);
  }

  RecordParser parser(spec);
  Item item;
  enum { kStart, kFirst, kItem, kAfter, kTrailing } state = kStart;
  size_t pos = 0;          // parse position in buf
  uint64_t buf_at = 0;     // offset of buf[0] in the JSON stream
  bool eof = file.source->whole();
  // An item cut by the end of the buffer is not parsed again on every read:
  // `item_end` follows it as it streams in, and it is parsed once complete.
  ValueEnd item_end;
  bool resuming = false;

  for (;;) {
    char *data = buf.data();
    const char *p = data + pos;
    const char *end = data + buf.size();
    bool need_more = false;
    try {
      while (!need_more) {
        if (state == kTrailing) {
          while (p < end && ws(*p)) p++;
          if (p < end) {
            fail(HP_ECORRUPT, buf_at + (p - data), "unexpected text after the array");
            return o;
          }
          pos = static_cast<size_t>(p - data);
          need_more = true;
          break;
        }
        while (p < end && ws(*p)) p++;
        if (p >= end) throw NeedMore{};
        if (state == kStart) {
          if (*p != '[') {
            fail(HP_ECORRUPT, buf_at + (p - data), "expected '[': a recipe file is a JSON array of objects");
            return o;
          }
          p++;
          state = kFirst;
        } else if (state == kAfter) {
          if (*p == ',') {
            state = kItem;
          } else if (*p == ']') {
            state = kTrailing;
          } else {
            throw ParseError{p, "expected ',' or ']' after an array item"};
          }
          p++;
        } else {
          if (*p == ']' && state == kFirst) {
            p++;
            state = kTrailing;
          } else {
            if (resuming && !item_end.scan(p, end)) throw NeedMore{};
            const char *q;
            try {
              q = parser.parse_item(p, end, &item);
            } catch (const NeedMore &) {
              o.parsed_bytes += static_cast<uint64_t>(end - p);
              if (!resuming) {
                resuming = true;
                item_end.scan(p, end);
              }
              throw;
            }
            o.parsed_bytes += static_cast<uint64_t>(q - p);
            resuming = false;
            item_end.reset();
            if (uint64_t(q - p) > spec.max_item_bytes) {
              fail(HP_ELIMIT, buf_at + (p - data),
                   "an array item is larger than " + std::to_string(spec.max_item_bytes) + " bytes (max_item_bytes)");
              return o;
            }
            if (++o.items > spec.max_items) {
              fail(HP_ELIMIT, buf_at + (p - data),
                   "more than " + std::to_string(spec.max_items) + " array items (max_items)");
              return o;
            }
            switch (item.status) {
              case Item::kRecord:
                if (store_item(base.get(), previous.get(), spec.key_is_str, &item, timestamp)) o.duplicates++;
                o.embedded_errors += item.embedded_errors;
                o.rule_errors += item.rule_errors;
                break;
              default: o.skipped++; break;
            }
            p = q;
            state = kAfter;
          }
        }
        pos = static_cast<size_t>(p - data);
      }
    } catch (const NeedMore &) {
      need_more = true;
    } catch (const ParseError &e) {
      fail(HP_ECORRUPT, buf_at + (e.pos - data), e.reason);
      return o;
    }
    // Everything before pos is done: drop it and read more.
    if (eof) {
      if (state != kTrailing) {
        fail(HP_ECORRUPT, buf_at + buf.size(),
             state == kStart ? "the file is empty: expected a JSON array" : "unexpected end of input");
        return o;
      }
      break;
    }
    o.json_bytes += pos;
    buf_at += pos;
    buf.consume(pos);
    pos = 0;
    if (buf.size() > spec.max_item_bytes) {
      // A syntax error inside what arrived is the better message.
      try {
        parser.parse_item(buf.data(), buf.data() + buf.size(), &item);
      } catch (const ParseError &e) {
        fail(HP_ECORRUPT, buf_at + (e.pos - buf.data()), e.reason);
        return o;
      } catch (const NeedMore &) {
      }
      fail(HP_ELIMIT, buf_at,
           "an array item is larger than " + std::to_string(spec.max_item_bytes) + " bytes (max_item_bytes)");
      return o;
    }
    int64_t r = file.source->read(buf, kChunk, &error);
    if (r < 0) {
      o.status.code = static_cast<int>(r);
      o.status.message = path + ": " + error;
      o.base.reset();
      return o;
    }
    if (r == 0) eof = true;
    if (buf_at + buf.size() > spec.max_json_bytes) {
      over_json(spec.max_json_bytes);
      return o;
    }
  }
  o.json_bytes += buf.size();
  o.base = std::move(base);
  o.ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
  return o;
}

}  // namespace hp::recipes
