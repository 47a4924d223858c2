#include "recipes/loader.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
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
Rec *make_rec(Arena &arena, RuleSet &rules, const Base *previous, bool key_is_str, Item *item, int64_t timestamp) {
  std::string_view key = key_is_str ? std::string_view(item->str_key) : std::string_view();
  void *mem = arena.alloc(Rec::size_for(key.size(), item->tape.tape().size()));
  Rec *rec = Rec::init(mem, key, item->tape, item->num, timestamp);
  if (item->rules) rec->rules = rules.add(std::move(item->rules));
  Key k = rec->key(key_is_str);
  if (previous) {
    const Rec *old = previous->index.find(k, hash_key(k));
    if (old && same_json(old, rec)) rec->version = old->version;
  }
  if (!rec->version) rec->version = next_record_version();
  return rec;
}

// What one thread's parts are stored in: records, their interned names and
// strings, their rules.
struct Shard {
  Arena arena;
  std::unique_ptr<Dict> dict = std::make_unique<Dict>();
  RuleSet rules;
};

// One run of whole items parsed on its own, in file order.
struct Part {
  std::vector<const Rec *> recs;
  uint64_t items = 0, skipped = 0, embedded_errors = 0, rule_errors = 0;
  bool ok = false;
};

// Parses the items from `pos` (an item's first byte) until the item that
// ends right before `stop` (the next part's first item), or until ']' for
// the last part. Any surprise returns with ok = false: the caller then
// parses the whole input on one thread, which also reports errors exactly.
void parse_part(const TableSpec &spec, const char *data, size_t size, size_t pos, size_t stop, bool last,
                const Base *previous, int64_t timestamp, Shard *shard, Part *part) {
  RecordParser parser(spec, shard->dict.get());
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
        part->recs.push_back(make_rec(shard->arena, shard->rules, previous, spec.key_is_str, &item, timestamp));
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
  } catch (...) {
    // NeedMore, ParseError, or out of memory: it runs on a thread of its
    // own, where nothing may escape. The pass on one thread says which.
  }
}

// Builds the index from parts in file order (a repeated key: the last one
// wins) and hands the shards' memory to `base`. False when a part failed or
// the items are over max_items; `base` and `o` are then left as they were.
template <class Parts, class Shards>
bool merge_parts(const TableSpec &spec, Parts &parts, Shards &shards, Base *base, LoadOutcome *o) {
  uint64_t items = 0;
  size_t total = 0;
  for (const Part &p : parts) {
    if (!p.ok) return false;
    items += p.items;
    total += p.recs.size();
  }
  if (items > spec.max_items) return false;
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
    std::vector<const Rec *>().swap(p.recs);
  }
  for (Shard &sh : shards) {
    base->arena.absorb(std::move(sh.arena));
    base->rules.absorb(std::move(sh.rules));
    sh.dict->seal();
    base->dicts.push_back(std::move(sh.dict));
  }
  return true;
}

unsigned parser_threads() {
  unsigned n = std::thread::hardware_concurrency();
  return n > 4 ? 4 : n;
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
  unsigned threads = parser_threads();
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
  std::vector<Shard> shards(starts.size());
  std::vector<std::thread> pool;
  struct Joiner {  // the threads end before what they use goes, even on a throw
    std::vector<std::thread> &pool;
    ~Joiner() {
      for (auto &t : pool)
        if (t.joinable()) t.join();
    }
  } joiner{pool};
  for (size_t j = 1; j < starts.size(); j++) {
    size_t stop = j + 1 < starts.size() ? starts[j + 1] : size;
    pool.emplace_back(parse_part, std::cref(spec), data, size, starts[j], stop, j + 1 == starts.size(), previous,
                      timestamp, &shards[j], &parts[j]);
  }
  parse_part(spec, data, size, starts[0], starts[1], false, previous, timestamp, &shards[0], &parts[0]);
  for (auto &t : pool) t.join();
  return merge_parts(spec, parts, shards, base, o);
}

// The last place in data[from, size) where an item surely starts after
// another: '{' then '"' (a '{' inside a string is followed by '\"'), after
// '}' and ','. 0 when there is none.
size_t last_cut(const char *data, size_t from, size_t size) {
  for (size_t i = size; i-- > from;) {
    if (data[i] != '{') continue;
    size_t j = i + 1;
    while (j < size && ws(data[j])) j++;
    if (j >= size || data[j] != '"') continue;
    size_t k = i;
    while (k > 0 && ws(data[k - 1])) k--;
    if (k == 0 || data[k - 1] != ',') continue;
    k--;
    while (k > 0 && ws(data[k - 1])) k--;
    if (k > 0 && data[k - 1] == '}') return i;
  }
  return 0;
}

enum class Streamed { kDone, kRetry, kFailed };

// A streamed source read in segments of whole items, cut between items,
// that parser threads take in turn while the source inflates or reads the
// next: inflating and parsing overlap and parsing uses every core, and only
// a few segments are held at a time. kRetry when the table must be built
// on one thread instead (a cut inside a string, malformed input, an item
// over a cap: that pass reports each exactly); kFailed with o->status set
// on a read error or past max_json_bytes.
Streamed load_segments(const TableSpec &spec, Source &src, Buf &buf, const Base *previous, int64_t timestamp,
                       Base *base, LoadOutcome *o, std::string *error) {
  // Small segments keep little in flight: a few per thread.
  constexpr size_t kSegment = 1 << 20;
  unsigned threads = parser_threads();
  struct Segment {
    std::unique_ptr<char[]> data;
    size_t size;
    bool last;
    Part *part;
  };
  std::mutex mu;
  std::condition_variable work, space;
  std::deque<Segment> queue;
  std::deque<Part> parts;
  std::vector<Shard> shards(threads);
  bool closing = false;
  std::atomic<bool> failed{false};
  std::atomic<uint64_t> items{0};
  auto worker = [&](Shard *shard) {
    for (;;) {
      Segment seg;
      {
        std::unique_lock<std::mutex> lock(mu);
        work.wait(lock, [&] { return closing || !queue.empty(); });
        if (queue.empty()) return;
        seg = std::move(queue.front());
        queue.pop_front();
      }
      space.notify_one();
      if (!failed.load(std::memory_order_relaxed)) {
        parse_part(spec, seg.data.get(), seg.size, 0, seg.size, seg.last, previous, timestamp, shard, seg.part);
        uint64_t n = seg.part->items;
        if (!seg.part->ok || items.fetch_add(n, std::memory_order_relaxed) + n > spec.max_items)
          failed.store(true, std::memory_order_relaxed);
      }
    }
  };
  std::vector<std::thread> pool;
  auto push = [&](std::unique_ptr<char[]> data, size_t size, bool last) {
    std::unique_lock<std::mutex> lock(mu);
    space.wait(lock, [&] { return queue.size() < threads; });
    parts.emplace_back();
    queue.push_back(Segment{std::move(data), size, last, &parts.back()});
    lock.unlock();
    work.notify_one();
  };
  auto finish = [&] {
    {
      std::lock_guard<std::mutex> lock(mu);
      closing = true;
    }
    work.notify_all();
    for (auto &t : pool)
      if (t.joinable()) t.join();
  };
  // The threads end before anything they use goes, even on a throw.
  struct Joiner {
    decltype(finish) &f;
    ~Joiner() { f(); }
  } joiner{finish};
  for (unsigned i = 0; i < threads; i++) pool.emplace_back(worker, &shards[i]);

  Streamed result = Streamed::kRetry;
  uint64_t total = buf.size();
  bool started = false, eof = false;
  size_t scanned = 0;  // where the search for a cut goes on from
  buf.reserve(2 * kSegment + 4096);
  for (;;) {
    if (!started && buf.size() >= 2) {
      // The array's '[' and the first item's '{'; anything else, one thread.
      const char *d = buf.data();
      size_t i = 0, n = buf.size();
      while (i < n && ws(d[i])) i++;
      if (i < n && d[i] != '[') break;
      size_t j = i + 1;
      while (j < n && ws(d[j])) j++;
      if (j < n) {
        if (d[j] != '{') break;
        buf.consume(j);
        started = true;
      }
    }
    if (started && eof) {
      size_t n = buf.size();
      push(buf.release(), n, true);
      result = Streamed::kDone;
      break;
    }
    if (started && buf.size() >= kSegment) {
      size_t cut = last_cut(buf.data(), scanned > 8 ? scanned - 8 : 1, buf.size());
      if (cut) {
        Buf rest;
        rest.reserve(2 * kSegment + 4096);  // what the next reads fill, without doubling
        rest.resize(buf.size() - cut);
        std::memcpy(rest.data(), buf.data() + cut, rest.size());
        push(buf.release(), cut, false);
        buf = std::move(rest);
        scanned = 0;
      } else {
        scanned = buf.size();
        if (buf.size() > spec.max_item_bytes + kSegment) break;  // one thread says what is wrong
      }
    }
    if (eof || failed.load(std::memory_order_relaxed)) break;
    int64_t r = src.read(buf, kSegment, error);
    if (r < 0) {
      o->status.code = static_cast<int>(r);
      result = Streamed::kFailed;
      break;
    }
    if (r == 0) eof = true;
    total += static_cast<uint64_t>(r);
    if (total > spec.max_json_bytes) {
      o->status.code = HP_ELIMIT;
      result = Streamed::kFailed;
      break;
    }
  }
  finish();
  if (result != Streamed::kDone) return result;
  if (!merge_parts(spec, parts, shards, base, o)) return Streamed::kRetry;
  o->json_bytes = total;
  o->parsed_bytes = total;
  return Streamed::kDone;
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
  } else if (parser_threads() >= 2) {
    switch (load_segments(spec, *file.source, buf, previous.get(), timestamp, base.get(), &o, &error)) {
      case Streamed::kDone:
        o.base = std::move(base);
        o.ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
        return o;
      case Streamed::kFailed:
        if (o.status.code == HP_ELIMIT) {
          over_json(spec.max_json_bytes);
        } else {
          o.status.message = path + ": " + error;
          o.base.reset();
        }
        return o;
      case Streamed::kRetry:
        // Again from the start, on this thread.
        file = OpenedFile();
        buf = Buf();
        rc = open_source(path, whole_max, buf, &file, &error);
        if (rc < 0) {
          o.status = core::Status::capture(rc);
          o.status.message = path + ": " + error;
          return o;
        }
        break;
    }
  }
  if (!file.source->whole() && !file.gzip) base->index.reserve(file.sig.size / 600);

  base->dicts.push_back(std::make_unique<Dict>());
  Dict *dict = base->dicts.back().get();
  RecordParser parser(spec, dict);
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
  dict->seal();
  base->rules.seal();
  o.base = std::move(base);
  o.ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
  return o;
}

}  // namespace hp::recipes
