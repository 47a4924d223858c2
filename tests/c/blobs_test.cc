// Blobs: streaming writes, range reads, revisions, listing, deletes, aborted
// and crashed uploads, damaged chunks, on real SQLite files and a real
// redis-server, through the public C API.
#include <doctest/doctest.h>
#include <hiredis/hiredis.h>
#include <openssl/sha.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "blobs/crc32c.h"
#include "hotpath.h"
#include "redis/client.h"
#include "support/child.h"
#include "support/redis_cluster.h"
#include "support/redis_server.h"
#include "support/sync_recorder.h"

namespace fs = std::filesystem;

namespace {

constexpr uint32_t kChunk = HP_BLOBS_DEFAULT_CHUNK_SIZE;

struct TempDir {
  fs::path path;
  TempDir() {
    char tmpl[] = "/tmp/hp-blobs-XXXXXX";
    path = mkdtemp(tmpl);
  }
  ~TempDir() { fs::remove_all(path); }
  std::string db() const { return (path / "store.db").string(); }
  std::string spec() const { return "sqlite:" + db(); }
  fs::path chunk_dir() const { return path / "store.db-chunks"; }
  // The upload chunk files of large files (blobs/chunk_files.h).
  std::vector<fs::path> chunk_files() const {
    std::vector<fs::path> out;
    if (fs::exists(chunk_dir()))
      for (auto &e : fs::directory_iterator(chunk_dir())) out.push_back(e.path());
    return out;
  }
};

struct OwnedEngine {
  hp_engine *e = nullptr;
  OwnedEngine() { REQUIRE(hp_engine_new(&e, nullptr) == 0); }
  ~OwnedEngine() { CHECK(hp_engine_free(e) == 0); }
};

struct Store {
  hp_blobs *b = nullptr;
  Store(hp_engine *e, const std::string &spec, const hp_blobs_options *o = nullptr) {
    int rc = hp_blobs_open(&b, e, spec.c_str(), o);
    INFO(hp_last_error());
    REQUIRE(rc == 0);
  }
  ~Store() { hp_blobs_close(b, NULL, NULL); }
  operator hp_blobs *() const { return b; }
};

std::string random_bytes(size_t n, unsigned seed) {
  std::mt19937 gen(seed);
  std::string s(n, '\0');
  for (auto &c : s) c = static_cast<char>(gen() & 0xff);
  return s;
}

std::string sha256_hex(const std::string &s) {
  unsigned char md[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char *>(s.data()), s.size(), md);
  char hex[65];
  for (int i = 0; i < 32; i++) snprintf(hex + 2 * i, 3, "%02x", md[i]);
  return hex;
}

struct Stat {
  int rc = 1;
  std::string error, id, filename, content_type, sha256, metadata;
  uint64_t length = 0;
  uint32_t chunk_size = 0;
  int64_t upload_date_ms = 0, revision = -1;
};

Stat copy_stat(int rc, const hp_blob_stat *s) {
  Stat c;
  c.rc = rc;
  if (rc < 0 || !s) {
    c.error = hp_last_error();
    return c;
  }
  c.id = s->id;
  c.filename = s->filename;
  c.content_type = s->content_type;
  c.sha256 = s->sha256;
  c.metadata = s->metadata_json;
  c.length = s->length;
  c.chunk_size = s->chunk_size;
  c.upload_date_ms = s->upload_date_ms;
  c.revision = s->revision;
  return c;
}

// Waits for one callback; a hang fails the test instead of blocking it.
template <class T>
T wait(std::future<T> &f) {
  REQUIRE(f.wait_for(std::chrono::seconds(30)) == std::future_status::ready);
  return f.get();
}

int write_piece(hp_blob_writer *w, const void *buf, size_t len) {
  std::promise<int> p;
  auto f = p.get_future();
  int rc = hp_blob_writer_write(
      w, buf, len, [](int s, void *d) { static_cast<std::promise<int> *>(d)->set_value(s); }, &p);
  if (rc != 0) return rc;
  return wait(f);
}

Stat commit(hp_blob_writer *w) {
  std::promise<Stat> p;
  auto f = p.get_future();
  int rc = hp_blob_writer_commit(
      w,
      [](int s, const hp_blob_stat *st, void *d) {
        static_cast<std::promise<Stat> *>(d)->set_value(copy_stat(s, st));
      },
      &p);
  if (rc != 0) return copy_stat(rc, nullptr);
  return wait(f);
}

// Write options with their own chunk size and the rest as default.
hp_blob_write_options chunked(uint32_t chunk_size) {
  hp_blob_write_options o = HP_BLOB_WRITE_OPTIONS_INIT;
  o.chunk_size = chunk_size;
  return o;
}

// Writes `data` in pieces of `piece` bytes, waiting for each, then commits.
Stat put(hp_blobs *b, const std::string &name, const std::string &data, size_t piece = 65536,
         const hp_blob_write_options *o = nullptr) {
  hp_blob_writer *w = nullptr;
  int rc = hp_blobs_open_write(&w, b, name.c_str(), o);
  if (rc != 0) return copy_stat(rc, nullptr);
  for (size_t off = 0; off < data.size(); off += piece) {
    rc = write_piece(w, data.data() + off, std::min(piece, data.size() - off));
    if (rc != 0) {
      hp_blob_writer_close(w, NULL, NULL);
      return copy_stat(rc, nullptr);
    }
  }
  Stat s = commit(w);
  hp_blob_writer_close(w, NULL, NULL);
  return s;
}

struct Got {
  int rc = 1;
  std::string error, data;
  Stat stat;
  size_t pieces = 0;
};

hp_blob_read_options by_name(const std::string &name, int64_t rev = HP_BLOB_LATEST) {
  hp_blob_read_options o = HP_BLOB_READ_OPTIONS_INIT;
  o.filename = name.c_str();
  o.revision = rev;
  return o;
}

hp_blob_read_options by_id(const std::string &id) {
  hp_blob_read_options o = HP_BLOB_READ_OPTIONS_INIT;
  o.id = id.c_str();
  return o;
}

Got get(hp_blobs *b, const hp_blob_read_options &o) {
  Got g;
  struct Open {
    std::promise<void> p;
    hp_blob_reader *r = nullptr;
    Stat st;
  } open;
  auto f = open.p.get_future();
  int rc = hp_blobs_open_read(
      b, &o,
      [](int s, hp_blob_reader *r, const hp_blob_stat *st, void *d) {
        auto *op = static_cast<Open *>(d);
        op->r = r;
        op->st = copy_stat(s, st);
        op->p.set_value();
      },
      &open);
  if (rc != 0) {
    g.rc = rc;
    g.error = hp_last_error();
    return g;
  }
  wait(f);
  g.stat = open.st;
  if (open.st.rc < 0) {
    g.rc = open.st.rc;
    g.error = open.st.error;
    return g;
  }
  for (;;) {
    struct Piece {
      std::promise<void> p;
      int rc;
      std::string bytes, error;
    } piece;
    auto pf = piece.p.get_future();
    rc = hp_blob_reader_read(
        open.r,
        [](int s, const void *buf, size_t len, void *d) {
          auto *pc = static_cast<Piece *>(d);
          pc->rc = s;
          if (s > 0) pc->bytes.assign(static_cast<const char *>(buf), len);
          if (s < 0) pc->error = hp_last_error();
          pc->p.set_value();
        },
        &piece);
    REQUIRE(rc == 0);
    wait(pf);
    if (piece.rc <= 0) {
      g.rc = piece.rc;
      g.error = piece.error;
      break;
    }
    g.pieces++;
    g.data += piece.bytes;
  }
  hp_blob_reader_close(open.r, NULL, NULL);
  return g;
}

// Reads a range with hp_blob_reader_read_into() into buffers of `cap`
// bytes, recording each read's count.
struct GotInto : Got {
  std::vector<int> sizes;
};

GotInto get_into(hp_blobs *b, const hp_blob_read_options &o, size_t cap) {
  GotInto g;
  std::promise<hp_blob_reader *> opened;
  auto of = opened.get_future();
  int rc = hp_blobs_open_read(
      b, &o,
      [](int s, hp_blob_reader *r, const hp_blob_stat *, void *d) {
        static_cast<std::promise<hp_blob_reader *> *>(d)->set_value(s == 0 ? r : nullptr);
      },
      &opened);
  if (rc != 0) {
    g.rc = rc;
    return g;
  }
  hp_blob_reader *r = wait(of);
  if (!r) {
    g.rc = HP_ENOTFOUND;
    return g;
  }
  std::string buf(cap + 16, '\x5a');
  for (;;) {
    struct Read {
      std::promise<void> done;
      int status = 0;
      std::string error;
    } rd;
    auto f = rd.done.get_future();
    REQUIRE(hp_blob_reader_read_into(
                r, buf.data(), cap,
                [](int s, void *d) {
                  auto *x = static_cast<Read *>(d);
                  x->status = s;
                  if (s < 0) x->error = hp_last_error();
                  x->done.set_value();
                },
                &rd) == 0);
    wait(f);
    if (rd.status <= 0) {
      g.rc = rd.status;
      g.error = rd.error;
      break;
    }
    REQUIRE(static_cast<size_t>(rd.status) <= cap);
    CHECK(buf.substr(cap) == std::string(16, '\x5a'));  // nothing past cap
    g.sizes.push_back(rd.status);
    g.data.append(buf.data(), static_cast<size_t>(rd.status));
  }
  hp_blob_reader_close(r, NULL, NULL);
  return g;
}

// Reads a range with up to four hp_blob_reader_read_into() pending at
// once (each into a buffer of `cap`), `reads` reads in all; a fifth read
// made while four are pending is refused (its code in `refused`).
struct Ahead {
  std::vector<int> order, status;
  std::string data, error;
  int refused = 0;
};

Ahead read_ahead(hp_blobs *b, const hp_blob_read_options &o, size_t cap, int reads) {
  struct Read {
    int index;
    std::string buf;
    Ahead *out;
    std::mutex *mu;
    std::promise<void> done;
  };
  struct Run {
    Ahead out;
    std::mutex mu;
    size_t cap;
    int reads;
    hp_blob_reader *r = nullptr;
    std::vector<std::unique_ptr<Read>> all;
    std::string spare;
    std::promise<void> opened;
    int start(int i) {
      auto rd = std::make_unique<Read>();
      rd->index = i;
      rd->buf.assign(cap, '\0');
      rd->out = &out;
      rd->mu = &mu;
      int rc = hp_blob_reader_read_into(
          r, rd->buf.data(), cap,
          [](int st, void *d) {
            auto *x = static_cast<Read *>(d);
            {
              std::lock_guard<std::mutex> lock(*x->mu);
              x->out->order.push_back(x->index);
              x->out->status.push_back(st);
              if (st > 0) x->out->data.append(x->buf.data(), static_cast<size_t>(st));
              if (st < 0) x->out->error = hp_last_error();
            }
            x->done.set_value();
          },
          rd.get());
      std::lock_guard<std::mutex> lock(mu);
      all.push_back(std::move(rd));
      return rc;
    }
  } run;
  run.cap = cap;
  run.reads = reads;
  // The first four start inside the open's callback, on the loop thread,
  // so none can answer before the fifth is tried.
  REQUIRE(hp_blobs_open_read(
              b, &o,
              [](int s, hp_blob_reader *r, const hp_blob_stat *, void *d) {
                auto *run = static_cast<Run *>(d);
                run->r = s == 0 ? r : nullptr;
                if (run->r) {
                  for (int i = 0; i < std::min(run->reads, 4); i++)
                    if (run->start(i) != 0) run->out.refused = -1000;
                  run->spare.assign(run->cap, '\0');
                  run->out.refused =
                      hp_blob_reader_read_into(r, run->spare.data(), run->cap, [](int, void *) {}, nullptr);
                }
                run->opened.set_value();
              },
              &run) == 0);
  auto of = run.opened.get_future();
  wait(of);
  REQUIRE(run.r);
  for (int i = 4; i < reads; i++) {
    auto f = run.all[static_cast<size_t>(i - 4)]->done.get_future();
    wait(f);
    REQUIRE(run.start(i) == 0);
  }
  for (int i = std::max(0, reads - 4); i < reads; i++) {
    auto f = run.all[static_cast<size_t>(i)]->done.get_future();
    wait(f);
  }
  hp_blob_reader_close(run.r, NULL, NULL);
  return run.out;
}

// One hp_blobs_get(): the range whole, or a failure.
Got get_whole(hp_blobs *b, const hp_blob_read_options &o, uint64_t max_bytes = 1 << 30) {
  struct Whole {
    std::promise<void> done;
    Got g;
  } w;
  auto f = w.done.get_future();
  int rc = hp_blobs_get(
      b, &o, max_bytes,
      [](int s, const hp_blob_stat *st, hp_blob_piece *piece, void *d) {
        auto *x = static_cast<Whole *>(d);
        x->g.rc = s;
        x->g.stat = copy_stat(s, st);
        if (s < 0) {
          x->g.error = hp_last_error();
          CHECK(piece == nullptr);
        } else {
          size_t len = 99;
          const void *bytes = hp_blob_piece_bytes(piece, &len);
          CHECK(len == static_cast<size_t>(s));
          x->g.data.assign(static_cast<const char *>(bytes), len);
          hp_blob_piece_free(piece);
        }
        x->done.set_value();
      },
      &w);
  if (rc != 0) {
    w.g.rc = rc;
    w.g.error = hp_last_error();
    return w.g;
  }
  wait(f);
  return w.g;
}

Stat stat_of(hp_blobs *b, const hp_blob_read_options &o) {
  std::promise<Stat> p;
  auto f = p.get_future();
  int rc = hp_blobs_stat(
      b, &o,
      [](int s, const hp_blob_stat *st, void *d) {
        static_cast<std::promise<Stat> *>(d)->set_value(copy_stat(s, st));
      },
      &p);
  if (rc != 0) return copy_stat(rc, nullptr);
  return wait(f);
}

// Runs one call whose callback is an hp_blob_cb and returns its status.
int call(const std::function<int(hp_blob_cb, void *)> &fn) {
  std::promise<int> p;
  auto f = p.get_future();
  int rc = fn([](int s, void *d) { static_cast<std::promise<int> *>(d)->set_value(s); }, &p);
  if (rc != 0) return rc;
  return wait(f);
}

struct Page {
  int rc = 1;
  std::vector<Stat> files;
  std::string next;
};

Page list(hp_blobs *b, const char *prefix, const std::string &cursor, uint32_t limit, int latest = 0) {
  hp_blob_list_options o = HP_BLOB_LIST_OPTIONS_INIT;
  o.prefix = prefix;
  o.cursor = cursor.empty() ? nullptr : cursor.c_str();
  o.limit = limit;
  o.latest_only = latest;
  std::promise<Page> p;
  auto f = p.get_future();
  int rc = hp_blobs_list(
      b, &o,
      [](int s, const hp_blob_stat *files, size_t n, const char *next, void *d) {
        Page pg;
        pg.rc = s;
        for (size_t i = 0; i < n; i++) pg.files.push_back(copy_stat(0, &files[i]));
        if (next) pg.next = next;
        static_cast<std::promise<Page> *>(d)->set_value(pg);
      },
      &p);
  if (rc != 0) {
    Page pg;
    pg.rc = rc;
    return pg;
  }
  return wait(f);
}

// Polls `fn` until it holds or 10 s passed: for work a close starts and
// nobody can wait for.
bool eventually(const std::function<bool()> &fn) {
  for (int i = 0; i < 1000; i++) {
    if (fn()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

// ---------------------------------------------------------------- suites

void roundtrips(hp_blobs *b) {
  const uint32_t cs = hp_blobs_chunk_size(b);
  for (size_t n :
       {size_t{0}, size_t{1}, size_t{cs - 1}, size_t{cs}, size_t{cs + 1}, size_t{3 * 1024 * 1024 + 7}}) {
    CAPTURE(n);
    std::string data = random_bytes(n, static_cast<unsigned>(n));
    std::string name = "rt/" + std::to_string(n);
    Stat s = put(b, name, data, n > 100000 ? 100000 : 4096);
    INFO(s.error);
    REQUIRE(s.rc == 0);
    CHECK(s.length == n);
    CHECK(s.sha256 == sha256_hex(data));
    CHECK(s.id.size() == 24);
    CHECK(s.revision == 0);
    CHECK(s.content_type == "application/octet-stream");
    CHECK(s.metadata == "{}");
    CHECK(s.chunk_size == cs);
    Got g = get(b, by_name(name));
    INFO(g.error);
    CHECK(g.rc == 0);
    CHECK(g.data.size() == n);
    CHECK(g.data == data);
    CHECK(g.stat.sha256 == s.sha256);
    CHECK(g.pieces == (n + cs - 1) / cs);
    Got byid = get(b, by_id(s.id));
    CHECK(byid.data == data);
  }
}

void one_big_write(hp_blobs *b) {
  // A single write far larger than a chunk is cut into chunks all the same.
  std::string data = random_bytes(2 * 1024 * 1024 + 3, 99);
  hp_blob_write_options o = HP_BLOB_WRITE_OPTIONS_INIT;
  o.content_type = "image/png";
  o.metadata_json = "{\"owner\":\"ana\"}";
  o.chunk_size = 1000;
  Stat s = put(b, "big-one", data, data.size(), &o);
  REQUIRE(s.rc == 0);
  CHECK(s.chunk_size == 1000);
  CHECK(s.content_type == "image/png");
  CHECK(s.metadata == "{\"owner\":\"ana\"}");
  Got g = get(b, by_id(s.id));
  CHECK(g.data == data);
  CHECK(g.pieces == (data.size() + 999) / 1000);
}

void write_options(hp_blobs *b) {
  std::string data = random_bytes(50000, 21);
  hp_blob_write_options o = chunked(1000);
  o.flags = HP_BLOB_WRITE_NO_SHA256;
  Stat s = put(b, "no-hash", data, 3000, &o);
  REQUIRE(s.rc == 0);
  CHECK(s.sha256.empty());
  CHECK(stat_of(b, by_id(s.id)).sha256.empty());
  CHECK(get(b, by_id(s.id)).data == data);

  // The smallest buffer (two chunks) and a large one give the same file.
  for (uint32_t buffer : {1u, 64u * 1000u}) {
    CAPTURE(buffer);
    o = chunked(1000);
    o.buffer_bytes = buffer;
    s = put(b, "buffered", data, 7000, &o);
    REQUIRE(s.rc == 0);
    CHECK(s.sha256 == sha256_hex(data));
    CHECK(get(b, by_id(s.id)).data == data);
  }

  // A caller built against version 1 (no flags, no buffer_bytes) passes a
  // shorter struct: only its fields may be read.
  struct V1 {
    unsigned version;
    const char *content_type;
    const char *metadata_json;
    uint32_t chunk_size;
  };
  auto *v1 = new V1{1, "text/plain", nullptr, 1000};
  s = put(b, "v1", data, 50000, reinterpret_cast<const hp_blob_write_options *>(v1));
  delete v1;
  REQUIRE(s.rc == 0);
  CHECK(s.content_type == "text/plain");
  CHECK(s.chunk_size == 1000);
  CHECK(s.sha256 == sha256_hex(data));

  hp_blob_writer *w = nullptr;
  o = HP_BLOB_WRITE_OPTIONS_INIT;
  o.flags = 1u << 7;
  CHECK(hp_blobs_open_write(&w, b, "x", &o) == HP_EINVAL);
  CHECK(std::string(hp_last_error()).find("flags") != std::string::npos);
  o = HP_BLOB_WRITE_OPTIONS_INIT;
  o.version = 3;
  CHECK(hp_blobs_open_write(&w, b, "x", &o) == HP_EINVAL);
  CHECK(w == nullptr);
}

// The writer reads a write's bytes until its callback and never after: each
// piece lives on the heap and is freed in its callback (ASan sees any later
// read). Writes are issued without waiting, so several queue up.
void borrowed_until_callback(hp_blobs *b) {
  std::string data = random_bytes(300000, 5);
  hp_blob_write_options o = HP_BLOB_WRITE_OPTIONS_INIT;
  o.chunk_size = 4096;
  hp_blob_writer *w = nullptr;
  REQUIRE(hp_blobs_open_write(&w, b, "borrowed", &o) == 0);
  struct Piece {
    std::vector<char> bytes;
    std::atomic<int> *left, *failed;
  };
  std::atomic<int> left{0}, failed{0};
  for (size_t off = 0; off < data.size(); off += 10007) {
    size_t n = std::min<size_t>(10007, data.size() - off);
    auto *p = new Piece{std::vector<char>(data.begin() + off, data.begin() + off + n), &left, &failed};
    left++;
    REQUIRE(hp_blob_writer_write(
                w, p->bytes.data(), n,
                [](int st, void *d) {
                  auto *piece = static_cast<Piece *>(d);
                  if (st != 0) piece->failed->fetch_add(1);
                  std::fill(piece->bytes.begin(), piece->bytes.end(), 'X');  // a caller reusing it
                  piece->left->fetch_sub(1);
                  delete piece;
                },
                p) == 0);
  }
  Stat s = commit(w);
  hp_blob_writer_close(w, NULL, NULL);
  REQUIRE(s.rc == 0);
  CHECK(left.load() == 0);
  CHECK(failed.load() == 0);
  CHECK(s.sha256 == sha256_hex(data));
  CHECK(get(b, by_id(s.id)).data == data);
}

void ranges(hp_blobs *b) {
  hp_blob_write_options o = chunked(1000);
  std::string data = random_bytes(10500, 7);
  Stat s = put(b, "ranges", data, 777, &o);
  REQUIRE(s.rc == 0);
  struct R {
    uint64_t start, end;
  };
  for (R r : {R{0, 1}, R{0, 1000}, R{999, 1001}, R{1000, 2000}, R{1500, 1501}, R{2500, 7700}, R{10000, 10500},
              R{10499, HP_BLOB_EOF}, R{10500, HP_BLOB_EOF}, R{20000, HP_BLOB_EOF}, R{5, 3}, R{0, 99999}}) {
    CAPTURE(r.start);
    CAPTURE(r.end);
    hp_blob_read_options ro = by_id(s.id);
    ro.start = r.start;
    ro.end = r.end;
    Got g = get(b, ro);
    CHECK(g.rc == 0);
    uint64_t end = std::min<uint64_t>(r.end, data.size());
    uint64_t start = std::min<uint64_t>(r.start, end);
    CHECK(g.data == data.substr(start, end - start));
  }
}

void reads_into_memory(hp_blobs *b) {
  // 5 chunks of 1000 bytes and one of 500.
  hp_blob_write_options o = chunked(1000);
  std::string data = random_bytes(5500, 31);
  Stat s = put(b, "into", data, 5500, &o);
  REQUIRE(s.rc == 0);
  hp_blob_read_options ro = by_id(s.id);
  // Whole chunks that fit: a read never stops mid-chunk when it holds one.
  GotInto g = get_into(b, ro, 2500);
  CHECK(g.rc == 0);
  CHECK(g.data == data);
  CHECK(g.sizes == std::vector<int>{2000, 2000, 1500});
  // A buffer of less than a chunk gets what fits, then the chunk's rest;
  // the last read runs to the range's end.
  ro.start = 1500;
  ro.end = 4200;
  g = get_into(b, ro, 300);
  CHECK(g.rc == 0);
  CHECK(g.data == data.substr(1500, 2700));
  CHECK(g.sizes == std::vector<int>{300, 200, 300, 300, 300, 100, 300, 300, 300, 300});
  // A range that ends mid-chunk, in one read.
  g = get_into(b, ro, 1 << 20);
  CHECK(g.data == data.substr(1500, 2700));
  CHECK(g.sizes == std::vector<int>{2700});
  // Four reads in flight at once: consecutive spans, answered in order.
  ro.start = 700;
  ro.end = HP_BLOB_EOF;
  Ahead ahead = read_ahead(b, ro, 1000, 6);
  CHECK(ahead.refused == HP_EINVAL);  // a fifth while four are pending
  CHECK(ahead.order == std::vector<int>{0, 1, 2, 3, 4, 5});
  CHECK(ahead.status == std::vector<int>{300, 1000, 1000, 1000, 1000, 500});
  CHECK(ahead.data == data.substr(700));
  ro.start = 5500;
  g = get_into(b, ro, 100);
  CHECK(g.rc == 0);
  CHECK(g.sizes.empty());

  // The other reads mix with it on one reader, in any order.
  hp_blob_read_options all = by_id(s.id);
  std::promise<hp_blob_reader *> opened;
  auto of = opened.get_future();
  REQUIRE(hp_blobs_open_read(
              b, &all,
              [](int st, hp_blob_reader *r, const hp_blob_stat *, void *d) {
                static_cast<std::promise<hp_blob_reader *> *>(d)->set_value(st == 0 ? r : nullptr);
              },
              &opened) == 0);
  hp_blob_reader *r = wait(of);
  REQUIRE(r);
  std::string got, buf(1200, '\0');
  for (int i = 0;; i++) {
    std::promise<int> p;
    auto f = p.get_future();
    if (i % 2 == 0) {
      REQUIRE(hp_blob_reader_read_into(
                  r, buf.data(), buf.size(),
                  [](int st, void *d) { static_cast<std::promise<int> *>(d)->set_value(st); }, &p) == 0);
      int n = wait(f);
      REQUIRE(n >= 0);
      if (n == 0) break;
      got.append(buf.data(), static_cast<size_t>(n));
    } else {
      struct Data {
        std::promise<int> *p;
        std::string *got;
      } d{&p, &got};
      REQUIRE(hp_blob_reader_read(
                  r,
                  [](int st, const void *bytes, size_t len, void *x) {
                    auto *dd = static_cast<Data *>(x);
                    if (st > 0) dd->got->append(static_cast<const char *>(bytes), len);
                    dd->p->set_value(st);
                  },
                  &d) == 0);
      int n = wait(f);
      REQUIRE(n >= 0);
      if (n == 0) break;
    }
  }
  CHECK(got == data);
  // Bad arguments, with no callback.
  auto noop = [](int, void *) {};
  CHECK(hp_blob_reader_read_into(r, nullptr, 10, noop, nullptr) == HP_EINVAL);
  CHECK(hp_blob_reader_read_into(r, buf.data(), 0, noop, nullptr) == HP_EINVAL);
  CHECK(hp_blob_reader_read_into(r, buf.data(), 10, nullptr, nullptr) == HP_EINVAL);
  CHECK(hp_blob_reader_read_into(nullptr, buf.data(), 10, noop, nullptr) == HP_EINVAL);
  hp_blob_reader_close(r, NULL, NULL);
}

void gets_whole(hp_blobs *b) {
  hp_blob_write_options o = chunked(1000);
  std::string data = random_bytes(4321, 32);
  Stat s = put(b, "whole", data, 4321, &o);
  REQUIRE(s.rc == 0);
  Got g = get_whole(b, by_name("whole"));
  CHECK(g.rc == 4321);
  CHECK(g.data == data);
  CHECK(g.stat.id == s.id);
  CHECK(g.stat.length == 4321);
  hp_blob_read_options ro = by_id(s.id);
  ro.start = 999;
  ro.end = 3001;
  g = get_whole(b, ro);
  CHECK(g.rc == 2002);
  CHECK(g.data == data.substr(999, 2002));
  // The range, not the file, counts against max_bytes.
  CHECK(get_whole(b, ro, 2002).data == data.substr(999, 2002));
  g = get_whole(b, ro, 2001);
  CHECK(g.rc == HP_ELIMIT);
  CHECK(g.error.find("2002 bytes") != std::string::npos);
  ro.start = 5000;
  g = get_whole(b, ro);
  CHECK(g.rc == 0);
  CHECK(g.data.empty());
  REQUIRE(put(b, "whole/empty", "", 1).rc == 0);
  g = get_whole(b, by_name("whole/empty"));
  CHECK(g.rc == 0);
  CHECK(g.stat.length == 0);
  g = get_whole(b, by_name("whole/none"));
  CHECK(g.rc == HP_ENOTFOUND);
  CHECK(g.stat.rc < 0);
  // Bad arguments, with no callback.
  auto noop = [](int, const hp_blob_stat *, hp_blob_piece *, void *) {};
  hp_blob_read_options none = HP_BLOB_READ_OPTIONS_INIT;
  hp_blob_read_options named = by_name("whole");
  CHECK(hp_blobs_get(b, &none, 100, noop, nullptr) == HP_EINVAL);
  CHECK(hp_blobs_get(b, nullptr, 100, noop, nullptr) == HP_EINVAL);
  CHECK(hp_blobs_get(b, &named, 0, noop, nullptr) == HP_EINVAL);
  CHECK(hp_blobs_get(b, &named, uint64_t{1} << 31, noop, nullptr) == HP_EINVAL);
  CHECK(hp_blobs_get(b, &named, 100, nullptr, nullptr) == HP_EINVAL);
  CHECK(hp_blobs_get(nullptr, &named, 100, noop, nullptr) == HP_EINVAL);
}

void revisions(hp_blobs *b) {
  std::vector<std::string> ids;
  for (int i = 0; i < 3; i++) {
    Stat s = put(b, "rev.txt", "version " + std::to_string(i));
    REQUIRE(s.rc == 0);
    CHECK(s.revision == i);
    ids.push_back(s.id);
  }
  CHECK(get(b, by_name("rev.txt")).data == "version 2");
  CHECK(get(b, by_name("rev.txt", -1)).data == "version 2");
  CHECK(get(b, by_name("rev.txt", -2)).data == "version 1");
  CHECK(get(b, by_name("rev.txt", -3)).data == "version 0");
  CHECK(get(b, by_name("rev.txt", 0)).data == "version 0");
  CHECK(get(b, by_name("rev.txt", 2)).data == "version 2");
  CHECK(get(b, by_name("rev.txt", 3)).rc == HP_ENOTFOUND);
  CHECK(get(b, by_name("rev.txt", -4)).rc == HP_ENOTFOUND);
  Stat mid = stat_of(b, by_id(ids[1]));
  CHECK(mid.rc == 0);
  CHECK(mid.revision == 1);
  Got missing = get(b, by_name("no-such-file"));
  CHECK(missing.rc == HP_ENOTFOUND);
  CHECK(missing.error.find("no-such-file") != std::string::npos);
  CHECK(get(b, by_id("0123456789abcdef01234567")).rc == HP_ENOTFOUND);

  // Deleting one revision renumbers the rest, as GridFS does.
  CHECK(call([&](hp_blob_cb cb, void *d) { return hp_blobs_delete_id(b, ids[0].c_str(), cb, d); }) == 1);
  CHECK(call([&](hp_blob_cb cb, void *d) { return hp_blobs_delete_id(b, ids[0].c_str(), cb, d); }) == 0);
  CHECK(get(b, by_name("rev.txt", 0)).data == "version 1");
  CHECK(stat_of(b, by_id(ids[2])).revision == 1);
  const std::string rev_name = "rev.txt";  // outlives the options that point at it
  hp_blob_read_options ex = by_name(rev_name);
  CHECK(call([&](hp_blob_cb cb, void *d) { return hp_blobs_exists(b, &ex, cb, d); }) == 1);
  CHECK(call([&](hp_blob_cb cb, void *d) { return hp_blobs_delete_name(b, "rev.txt", cb, d); }) == 2);
  CHECK(call([&](hp_blob_cb cb, void *d) { return hp_blobs_exists(b, &ex, cb, d); }) == 0);
  CHECK(call([&](hp_blob_cb cb, void *d) { return hp_blobs_delete_name(b, "rev.txt", cb, d); }) == 0);
}

void paging(hp_blobs *b) {
  std::vector<std::string> names;
  for (int i = 0; i < 23; i++) {
    char name[32];
    snprintf(name, sizeof name, "page/%02d", i);
    names.push_back(name);
    REQUIRE(put(b, name, std::string(static_cast<size_t>(i), 'x')).rc == 0);
  }
  REQUIRE(put(b, "page/05", "again").rc == 0);  // a second revision
  REQUIRE(put(b, "pagf", "outside the prefix").rc == 0);
  REQUIRE(put(b, "pag", "outside the prefix too").rc == 0);
  std::vector<std::string> seen;
  std::string cursor;
  int pages = 0;
  do {
    Page p = list(b, "page/", cursor, 5);
    REQUIRE(p.rc >= 0);
    CHECK(p.files.size() <= 5);
    for (auto &f : p.files) seen.push_back(f.filename + "#" + std::to_string(f.revision));
    cursor = p.next;
    pages++;
  } while (!cursor.empty() && pages < 100);
  CHECK(pages == 5);
  REQUIRE(seen.size() == 24);
  CHECK(seen[0] == "page/00#0");
  CHECK(seen[5] == "page/05#0");
  CHECK(seen[6] == "page/05#1");
  CHECK(seen[23] == "page/22#0");

  Page latest = list(b, "page/", "", 100, 1);
  CHECK(latest.files.size() == 23);
  CHECK(latest.next.empty());
  Page all = list(b, nullptr, "", 10000);
  CHECK(all.files.size() >= 26);
  CHECK(list(b, "page/", "not-a-cursor", 5).rc == HP_EINVAL);
  CHECK(list(b, "zzz", "", 5).files.empty());
}

void abort_leaves_nothing(hp_blobs *b) {
  hp_blob_writer *w = nullptr;
  hp_blob_write_options o = HP_BLOB_WRITE_OPTIONS_INIT;
  o.chunk_size = 4096;
  REQUIRE(hp_blobs_open_write(&w, b, "aborted", &o) == 0);
  std::string data = random_bytes(50000, 3);
  REQUIRE(write_piece(w, data.data(), data.size()) == 0);
  CHECK(call([&](hp_blob_cb cb, void *d) { return hp_blob_writer_abort(w, cb, d); }) == 0);
  CHECK(hp_blob_writer_write(w, "x", 1, [](int, void *) {}, nullptr) == HP_EINVAL);
  CHECK(hp_blob_writer_commit(w, [](int, const hp_blob_stat *, void *) {}, nullptr) == HP_EINVAL);
  hp_blob_writer_close(w, NULL, NULL);
  CHECK(get(b, by_name("aborted")).rc == HP_ENOTFOUND);

  // Closing a writer without commit aborts it too.
  REQUIRE(hp_blobs_open_write(&w, b, "closed-early", &o) == 0);
  REQUIRE(write_piece(w, data.data(), data.size()) == 0);
  hp_blob_writer_close(w, NULL, NULL);
  CHECK(get(b, by_name("closed-early")).rc == HP_ENOTFOUND);
}

void bad_arguments(hp_engine *e, hp_blobs *b) {
  hp_blobs *x = nullptr;
  CHECK(hp_blobs_open(nullptr, e, "sqlite:/tmp/x.db", nullptr) == HP_EINVAL);
  CHECK(hp_blobs_open(&x, nullptr, "sqlite:/tmp/x.db", nullptr) == HP_EINVAL);
  CHECK(hp_blobs_open(&x, e, nullptr, nullptr) == HP_EINVAL);
  CHECK(hp_blobs_open(&x, e, "mongodb://localhost", nullptr) == HP_EINVAL);
  CHECK(std::string(hp_last_error()).find("mongodb") != std::string::npos);
  CHECK(hp_blobs_open(&x, e, "sqlite:", nullptr) == HP_EINVAL);
  CHECK(hp_blobs_open(&x, e, "redis://host:notaport", nullptr) == HP_EINVAL);
  hp_blobs_options bad = HP_BLOBS_OPTIONS_INIT;
  bad.version = 99;
  CHECK(hp_blobs_open(&x, e, "sqlite:/tmp/x.db", &bad) == HP_EINVAL);
  bad = HP_BLOBS_OPTIONS_INIT;
  bad.chunk_size = HP_BLOBS_MAX_CHUNK_SIZE + 1;
  CHECK(hp_blobs_open(&x, e, "sqlite:/tmp/x.db", &bad) == HP_EINVAL);
  CHECK(x == nullptr);
  hp_blobs_close(nullptr, NULL, NULL);

  hp_blob_writer *w = nullptr;
  CHECK(hp_blobs_open_write(&w, nullptr, "a", nullptr) == HP_EINVAL);
  CHECK(hp_blobs_open_write(&w, b, nullptr, nullptr) == HP_EINVAL);
  CHECK(hp_blobs_open_write(&w, b, "", nullptr) == HP_EINVAL);
  CHECK(hp_blobs_open_write(&w, b, std::string(2000, 'n').c_str(), nullptr) == HP_EINVAL);
  hp_blob_write_options wo = HP_BLOB_WRITE_OPTIONS_INIT;
  wo.chunk_size = HP_BLOBS_MAX_CHUNK_SIZE + 1;
  CHECK(hp_blobs_open_write(&w, b, "a", &wo) == HP_EINVAL);
  CHECK(hp_blob_writer_write(nullptr, "x", 1, [](int, void *) {}, nullptr) == HP_EINVAL);
  CHECK(hp_blob_writer_commit(nullptr, [](int, const hp_blob_stat *, void *) {}, nullptr) == HP_EINVAL);
  CHECK(hp_blob_writer_abort(nullptr, nullptr, nullptr) == HP_EINVAL);
  hp_blob_writer_close(nullptr, NULL, NULL);
  REQUIRE(hp_blobs_open_write(&w, b, "a", nullptr) == 0);
  CHECK(strlen(hp_blob_writer_id(w)) == 24);
  CHECK(hp_blob_writer_write(w, nullptr, 3, [](int, void *) {}, nullptr) == HP_EINVAL);
  CHECK(hp_blob_writer_write(w, "x", 1, nullptr, nullptr) == HP_EINVAL);
  hp_blob_writer_close(w, NULL, NULL);

  auto noop_open = [](int, hp_blob_reader *, const hp_blob_stat *, void *) {};
  hp_blob_read_options ro = HP_BLOB_READ_OPTIONS_INIT;
  CHECK(hp_blobs_open_read(b, &ro, noop_open, nullptr) == HP_EINVAL);  // neither id nor name
  CHECK(hp_blobs_open_read(b, nullptr, noop_open, nullptr) == HP_EINVAL);
  CHECK(hp_blobs_open_read(nullptr, &ro, noop_open, nullptr) == HP_EINVAL);
  ro.id = "XYZ";
  CHECK(hp_blobs_open_read(b, &ro, noop_open, nullptr) == HP_EINVAL);
  ro = by_name("a");
  CHECK(hp_blobs_open_read(b, &ro, nullptr, nullptr) == HP_EINVAL);
  CHECK(hp_blob_reader_read(nullptr, [](int, const void *, size_t, void *) {}, nullptr) == HP_EINVAL);
  hp_blob_reader_close(nullptr, NULL, NULL);
  CHECK(hp_blobs_delete_id(b, "short", nullptr, nullptr) == HP_EINVAL);
  CHECK(hp_blobs_delete_name(b, "", nullptr, nullptr) == HP_EINVAL);
  hp_blob_list_options lo = HP_BLOB_LIST_OPTIONS_INIT;
  lo.limit = 10001;
  CHECK(hp_blobs_list(
            b, &lo, [](int, const hp_blob_stat *, size_t, const char *, void *) {}, nullptr) == HP_EINVAL);
  CHECK(hp_blobs_gc(nullptr, nullptr, nullptr) == HP_EINVAL);
}

void concurrent(hp_blobs *b) {
  // Many uploads and downloads at once, each through its own writer.
  std::vector<std::thread> threads;
  std::vector<int> ok(8, 0);
  for (int t = 0; t < 8; t++) {
    threads.emplace_back([&, t] {
      std::string data = random_bytes(600000 + static_cast<size_t>(t) * 1000, static_cast<unsigned>(t));
      Stat s = put(b, "conc/" + std::to_string(t % 4), data, 50000);
      if (s.rc != 0) return;
      Got g = get(b, by_id(s.id));
      ok[t] = g.rc == 0 && g.data == data;
    });
  }
  for (auto &t : threads) t.join();
  for (int t = 0; t < 8; t++) CHECK(ok[t] == 1);
  Page p = list(b, "conc/", "", 100);
  CHECK(p.files.size() == 8);
}

// What both backends do alike; `nothing_left` checks the backend's own
// storage once aborted uploads are cleaned up.
void shared_behaviour(hp_engine *e, hp_blobs *b, const std::function<void()> &nothing_left) {
  SUBCASE("roundtrips") {
    roundtrips(b);
  }
  SUBCASE("one big write") {
    one_big_write(b);
  }
  SUBCASE("write options") {
    write_options(b);
  }
  SUBCASE("a write's bytes are borrowed until its callback") {
    borrowed_until_callback(b);
  }
  SUBCASE("range reads") {
    ranges(b);
  }
  SUBCASE("reads into the caller's memory, many chunks at once") {
    reads_into_memory(b);
  }
  SUBCASE("a whole range in one call") {
    gets_whole(b);
  }
  SUBCASE("revisions, stat, exists, delete") {
    revisions(b);
  }
  SUBCASE("list paging") {
    paging(b);
  }
  SUBCASE("abort leaves nothing") {
    abort_leaves_nothing(b);
    nothing_left();
  }
  SUBCASE("bad arguments") {
    bad_arguments(e, b);
  }
  SUBCASE("concurrent writers and readers") {
    concurrent(b);
  }
}

// The first column of the first row of `sql` on the SQLite file at `path`
// (-1 without a row).
int sqlite_count(const std::string &path, const char *sql) {
  sqlite3 *db = nullptr;
  sqlite3_open(path.c_str(), &db);
  sqlite3_stmt *st = nullptr;
  sqlite3_prepare_v2(db, sql, -1, &st, nullptr);
  int n = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : -1;
  sqlite3_finalize(st);
  sqlite3_close(db);
  return n;
}

// A child process writes part of "crashed" to the store at `spec` (leases
// of `lease_ms`, 0 for the default) and dies without committing; returns
// once it is gone.
void crash_mid_upload(const std::string &spec, uint32_t lease_ms = 0) {
  int status = hp_test::spawn_child("crash_mid_upload", {spec, std::to_string(lease_ms)});
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 0);
}

HP_TEST_CHILD(crash_mid_upload) {
  if (argc != 2) return 1;
  hp_blobs_options opts = HP_BLOBS_OPTIONS_INIT;
  opts.lease_ms = static_cast<uint32_t>(std::stoul(argv[1]));
  hp_engine *e = nullptr;
  hp_blobs *b = nullptr;
  if (hp_engine_new(&e, nullptr) != 0 || hp_blobs_open(&b, e, argv[0], opts.lease_ms ? &opts : nullptr) != 0)
    _exit(2);
  hp_blob_writer *w = nullptr;
  hp_blob_write_options o = chunked(1000);
  if (hp_blobs_open_write(&w, b, "crashed", &o) != 0) _exit(3);
  std::string data(10000, 'c');
  std::promise<int> p;
  auto f = p.get_future();
  hp_blob_writer_write(
      w, data.data(), data.size(), [](int s, void *d) { static_cast<std::promise<int> *>(d)->set_value(s); }, &p);
  if (f.get() != 0) _exit(4);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // let the stored chunks land
  _exit(0);
}

}  // namespace

TEST_CASE("blobs: CRC32C matches the published check value on both paths") {
  const char *check = "123456789";
  CHECK(hp::blobs::crc32c(0, check, 9) == 0xe3069283u);
  CHECK(hp::blobs::crc32c_portable(0, check, 9) == 0xe3069283u);
  std::string data = random_bytes(100003, 1);
  CHECK(hp::blobs::crc32c(0, data.data(), data.size()) ==
        hp::blobs::crc32c_portable(0, data.data(), data.size()));
  uint32_t part = hp::blobs::crc32c(0, data.data(), 5000);
  CHECK(hp::blobs::crc32c(part, data.data() + 5000, data.size() - 5000) ==
        hp::blobs::crc32c(0, data.data(), data.size()));
  // Around the sizes where the hardware path switches to three streams
  // (3 x 8192 bytes), continuing from a running CRC.
  std::string big = random_bytes(300000, 2);
  for (size_t len : {24575, 24576, 24577, 24583, 49152, 49160, 261120, 261121, 299997}) {
    INFO("length " << len);
    CHECK(hp::blobs::crc32c(0x1234567u, big.data() + 3, len) ==
          hp::blobs::crc32c_portable(0x1234567u, big.data() + 3, len));
    CHECK(hp::blobs::crc32c_instruction(0x1234567u, big.data() + 3, len) ==
          hp::blobs::crc32c_portable(0x1234567u, big.data() + 3, len));
  }
  // Around the sizes where folding (256-byte steps, from 512 bytes) starts
  // and ends, at every alignment of a 64-byte register.
  INFO("folding: " << hp::blobs::crc32c_folds());
  for (size_t len = 0; len < 1600; len++) {
    for (size_t at : {0, 1, 8, 63}) {
      INFO("length " << len << " at " << at);
      REQUIRE(hp::blobs::crc32c(0xffffffffu, big.data() + at, len) ==
              hp::blobs::crc32c_portable(0xffffffffu, big.data() + at, len));
    }
  }
}

TEST_CASE("blobs: SQLite store") {
  TempDir dir;
  OwnedEngine eng;
  Store b(eng.e, dir.spec());
  CHECK(hp_blobs_backend(b) == HP_BACKEND_SQLITE);
  CHECK(hp_blobs_chunk_size(b) == kChunk);
  // Nothing of the aborted uploads is left in the file (the closed
  // writer's abort runs in the background).
  const char *left = "SELECT (SELECT count(*) FROM hp_blob_chunks) + (SELECT count(*) FROM hp_blob_uploads)";
  shared_behaviour(eng.e, b, [&] {
    CHECK(eventually([&] { return sqlite_count(dir.db(), left) == 0 && dir.chunk_files().empty(); }));
  });
}

// Writes a file of 41 chunks through a durable store or a default one,
// recording every write and sync the process makes meanwhile.
std::vector<hp_test::sync_recorder::Event> record_large_put(const TempDir &dir, unsigned flags) {
  OwnedEngine eng;
  hp_blobs_options so = HP_BLOBS_OPTIONS_INIT;
  so.flags = flags;
  Store b(eng.e, dir.spec(), &so);
  hp_blob_write_options o = chunked(1000);
  o.buffer_bytes = 2000;  // many batches, each its own transaction
  std::string data = random_bytes(40500, 9);
  hp_test::sync_recorder::record(true);
  Stat s = put(b, "large", data, 1000, &o);
  hp_test::sync_recorder::record(false);
  REQUIRE(s.rc == 0);
  CHECK(get(b, by_id(s.id)).data == data);
  REQUIRE(dir.chunk_files().size() == 1);
  return hp_test::sync_recorder::events();
}

TEST_CASE("blobs: a durable SQLite store syncs chunk files and their directory before each commit") {
  using Event = hp_test::sync_recorder::Event;
  TempDir dir;
  auto events = record_large_put(dir, HP_BLOBS_DURABLE);
  std::string file = dir.chunk_files()[0].string(), chunk_dir = dir.chunk_dir().string(),
              wal = dir.db() + "-wal";
  auto is = [&](size_t i, Event::Kind k, const std::string &path) {
    return events[i].kind == k && events[i].path == path;
  };
  auto is_sync = [&](size_t i, const std::string &path) {
    return is(i, Event::kDataSync, path) || is(i, Event::kSync, path);
  };
  // Every write to the chunk file is synced before the WAL gets its next
  // write (the frames of the transaction that names the chunks), and that
  // transaction's frames are synced in turn (synchronous=FULL) before the
  // next chunk is written.
  size_t writes = 0, data_syncs = 0, dir_syncs = 0, wal_syncs = 0;
  bool file_dirty = false, wal_dirty = false, named = false;
  for (size_t i = 0; i < events.size(); i++) {
    INFO("event " << i << ": " << events[i].kind << " " << events[i].path);
    if (is(i, Event::kWrite, file)) {
      CHECK_FALSE(wal_dirty);
      writes++;
      file_dirty = true;
    } else if (is(i, Event::kDataSync, file)) {
      data_syncs++;
      file_dirty = false;
    } else if (is_sync(i, chunk_dir)) {
      dir_syncs++;
      named = true;
    } else if (is(i, Event::kWrite, wal)) {
      CHECK_FALSE(file_dirty);
      if (writes > 0) CHECK(named);
      wal_dirty = true;
    } else if (is_sync(i, wal)) {
      wal_syncs++;
      wal_dirty = false;
    }
  }
  CHECK(writes > 30);
  CHECK(data_syncs > 0);
  CHECK(dir_syncs == 1);
  CHECK_FALSE(file_dirty);
  CHECK_FALSE(wal_dirty);  // the commit's frames were synced
  CHECK(wal_syncs > data_syncs);

  // Without the flag: no chunk file or directory sync, and commits do not
  // sync the WAL (NORMAL syncs it at checkpoints, none of which a file this
  // small starts).
  TempDir plain;
  auto quick = record_large_put(plain, 0);
  std::string plain_file = plain.chunk_files()[0].string(), plain_wal = plain.db() + "-wal";
  size_t plain_writes = 0, plain_syncs = 0;
  for (auto &ev : quick) {
    if (ev.kind == Event::kWrite && ev.path == plain_file) plain_writes++;
    if (ev.kind != Event::kWrite &&
        (ev.path == plain_file || ev.path == plain.chunk_dir().string() || ev.path == plain_wal))
      plain_syncs++;
  }
  CHECK(plain_writes > 30);
  CHECK(plain_syncs == 0);
}

TEST_CASE("blobs: HP_BLOBS_DURABLE is for SQLite; unknown store flags are refused") {
  OwnedEngine eng;
  hp_blobs *x = nullptr;
  hp_blobs_options o = HP_BLOBS_OPTIONS_INIT;
  o.flags = HP_BLOBS_DURABLE;
  CHECK(hp_blobs_open(&x, eng.e, "redis://127.0.0.1:1", &o) == HP_EINVAL);
  CHECK(std::string(hp_last_error()).find("appendfsync") != std::string::npos);
  o.flags = 1u << 7;
  CHECK(hp_blobs_open(&x, eng.e, "sqlite:/tmp/x.db", &o) == HP_EINVAL);
  CHECK(x == nullptr);
  // Version 1 of the options (before flags) still opens.
  TempDir dir;
  hp_blobs_options v1 = HP_BLOBS_OPTIONS_INIT;
  v1.version = 1;
  Store b(eng.e, dir.spec(), &v1);
  CHECK(put(b, "v1", "bytes").rc == 0);
}

TEST_CASE("blobs: SQLite keeps the bytes of large files in one chunk file per upload") {
  TempDir dir;
  OwnedEngine eng;
  Store b(eng.e, dir.spec());
  hp_blob_write_options o = chunked(1000);
  // Two chunks in flight at most: many batches however slowly the store
  // stage runs (with more room, a slow one takes the whole file at once).
  o.buffer_bytes = 2000;
  std::string data = random_bytes(40500, 8);
  Stat s = put(b, "large", data, 1000, &o);  // one chunk per write
  REQUIRE(s.rc == 0);
  CHECK(s.sha256 == sha256_hex(data));
  // The first batch lives in the rows; the rest in the upload's file.
  REQUIRE(dir.chunk_files().size() == 1);
  int external = sqlite_count(dir.db(), "SELECT count(*) FROM hp_blob_chunks WHERE length(data) = 0");
  CHECK(external > 30);
  CHECK(external < 41);
  CHECK(get(b, by_id(s.id)).data == data);
  hp_blob_read_options ro = by_id(s.id);
  ro.start = 29999;
  ro.end = 31500;
  CHECK(get(b, ro).data == data.substr(29999, 1501));

  fs::path file = dir.chunk_files()[0];
  {
    // One flipped byte in chunk 33: caught by its CRC32C.
    std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(33 * 1000 + 7);
    char c = 0;
    f.read(&c, 1);
    c ^= 0x01;
    f.seekp(33 * 1000 + 7);
    f.write(&c, 1);
  }
  Got g = get(b, by_id(s.id));
  CHECK(g.rc == HP_ECORRUPT);
  CHECK(g.error.find("file " + s.id + " chunk 33") != std::string::npos);
  CHECK(g.data == data.substr(0, 33000));
  GotInto gi = get_into(b, by_id(s.id), 4000);
  CHECK(gi.rc == HP_ECORRUPT);
  CHECK(gi.error.find("file " + s.id + " chunk 33") != std::string::npos);
  CHECK(gi.data == data.substr(0, 33000));
  CHECK(get_whole(b, by_id(s.id)).rc == HP_ECORRUPT);
  // A file cut short: the chunks past its end are damaged, not shorter.
  fs::resize_file(file, 36 * 1000 + 10);
  ro.start = 37000;
  ro.end = HP_BLOB_EOF;
  Got cut = get(b, ro);
  CHECK(cut.rc == HP_ECORRUPT);
  CHECK(cut.error.find("chunk 37") != std::string::npos);
  gi = get_into(b, ro, 100000);
  CHECK(gi.rc == HP_ECORRUPT);
  CHECK(gi.error.find("chunk 37") != std::string::npos);
  CHECK(gi.data.empty());
  // Deleting the file deletes its chunk file.
  CHECK(call([&](hp_blob_cb cb, void *d) { return hp_blobs_delete_id(b, s.id.c_str(), cb, d); }) == 1);
  CHECK(dir.chunk_files().empty());
  CHECK(sqlite_count(dir.db(), "SELECT count(*) FROM hp_blob_chunks") == 0);

  // A chunk file no row names (a delete cut off before its unlink) goes on
  // the next open.
  std::ofstream(dir.chunk_dir() / "987654") << "orphan";
  Store again(eng.e, dir.spec());
  CHECK(eventually([&] { return dir.chunk_files().empty(); }));
}

TEST_CASE("blobs: SQLite damaged chunk gives HP_ECORRUPT naming file and chunk") {
  TempDir dir;
  OwnedEngine eng;
  Store b(eng.e, dir.spec());
  hp_blob_write_options o = chunked(1000);
  std::string data = random_bytes(3500, 5);
  Stat s = put(b, "damaged", data, 3500, &o);
  REQUIRE(s.rc == 0);
  {
    // Flip one byte of chunk 2 inside the database file's row.
    sqlite3 *db = nullptr;
    REQUIRE(sqlite3_open(dir.db().c_str(), &db) == SQLITE_OK);
    sqlite3_stmt *st = nullptr;
    sqlite3_prepare_v2(db, "SELECT ukey FROM hp_blob_files WHERE id = ?1", -1, &st, nullptr);
    sqlite3_bind_text(st, 1, s.id.c_str(), -1, SQLITE_TRANSIENT);
    REQUIRE(sqlite3_step(st) == SQLITE_ROW);
    int64_t key = (sqlite3_column_int64(st, 0) << 32) | 2;
    sqlite3_finalize(st);
    sqlite3_blob *blob = nullptr;
    REQUIRE(sqlite3_blob_open(db, "main", "hp_blob_chunks", "data", key, 1, &blob) == SQLITE_OK);
    char c;
    sqlite3_blob_read(blob, &c, 1, 10);
    c ^= 0x20;
    sqlite3_blob_write(blob, &c, 1, 10);
    sqlite3_blob_close(blob);
    sqlite3_close(db);
  }
  Got g = get(b, by_id(s.id));
  CHECK(g.rc == HP_ECORRUPT);
  CHECK(g.error.find("file " + s.id + " chunk 2") != std::string::npos);
  CHECK(g.data == data.substr(0, 2000));  // the good chunks before it, never wrong bytes
  hp_blob_read_options ro = by_id(s.id);
  ro.start = 3000;
  CHECK(get(b, ro).data == data.substr(3000));  // other chunks still read
  // Read in place, the same: the good chunks, then the damage named.
  GotInto gi = get_into(b, by_id(s.id), 10000);
  CHECK(gi.rc == HP_ECORRUPT);
  CHECK(gi.error.find("file " + s.id + " chunk 2") != std::string::npos);
  CHECK(gi.data == data.substr(0, 2000));
  // Reads in flight past the damage: the good ones, then each names it.
  Ahead ahead = read_ahead(b, by_id(s.id), 1000, 4);
  CHECK(ahead.status == std::vector<int>{1000, 1000, HP_ECORRUPT, HP_ECORRUPT});
  CHECK(ahead.data == data.substr(0, 2000));
  CHECK(ahead.error.find("file " + s.id + " chunk 2") != std::string::npos);
  // A whole read hands out nothing of a damaged range.
  Got whole = get_whole(b, by_id(s.id));
  CHECK(whole.rc == HP_ECORRUPT);
  CHECK(whole.error.find("file " + s.id + " chunk 2") != std::string::npos);
  CHECK(whole.data.empty());
  hp_blob_read_options head = by_id(s.id);
  head.end = 2000;
  CHECK(get_whole(b, head).data == data.substr(0, 2000));

  // The store's counters saw one commit, the bytes read and the damage.
  hp_blobs_stats st = HP_BLOBS_STATS_INIT;
  REQUIRE(hp_blobs_stats_get(&st, b) == 0);
  CHECK(st.commits == 1);
  CHECK(st.bytes_in == 3500);
  CHECK(st.bytes_out == 2000 + 500 + 2000 + 2000 + 2000);
  CHECK(st.corrupt_reads == 5);
  CHECK(st.redis.commands == 0);
  st.version = 0;
  CHECK(hp_blobs_stats_get(&st, b) == HP_EINVAL);
  CHECK(hp_blobs_stats_get(nullptr, b) == HP_EINVAL);
}

TEST_CASE("blobs: SQLite upload of a crashed process is reclaimed on the next open") {
  TempDir dir;
  crash_mid_upload(dir.spec());
  auto count = [&](const char *sql) { return sqlite_count(dir.db(), sql); };
  CHECK(count("SELECT count(*) FROM hp_blob_chunks") > 0);
  CHECK(count("SELECT count(*) FROM hp_blob_uploads") == 1);
  OwnedEngine eng;
  Store b(eng.e, dir.spec());
  // The open started a reclaim; a second one waits behind the first's lock
  // and finds nothing left, so count what both did.
  int again = call([&](hp_blob_cb cb, void *d) { return hp_blobs_gc(b, cb, d); });
  CHECK(again >= 0);
  CHECK(count("SELECT count(*) FROM hp_blob_chunks") == 0);
  CHECK(count("SELECT count(*) FROM hp_blob_uploads") == 0);
  CHECK(dir.chunk_files().empty());
  CHECK(get(b, by_name("crashed")).rc == HP_ENOTFOUND);
}

TEST_CASE("blobs: an upload in progress in a live process is not reclaimed") {
  TempDir dir;
  OwnedEngine eng;
  Store b(eng.e, dir.spec());
  hp_blob_writer *w = nullptr;
  hp_blob_write_options o = HP_BLOB_WRITE_OPTIONS_INIT;
  o.chunk_size = 100;
  REQUIRE(hp_blobs_open_write(&w, b, "live", &o) == 0);
  std::string data = random_bytes(1050, 11);
  REQUIRE(write_piece(w, data.data(), 600) == 0);
  {
    Store other(eng.e, dir.spec());  // a second open of the same file
    CHECK(call([&](hp_blob_cb cb, void *d) { return hp_blobs_gc(other, cb, d); }) == 0);
  }
  REQUIRE(write_piece(w, data.data() + 600, 450) == 0);
  Stat s = commit(w);
  hp_blob_writer_close(w, NULL, NULL);
  REQUIRE(s.rc == 0);
  CHECK(get(b, by_id(s.id)).data == data);
}

TEST_CASE("blobs: Redis store on a real server") {
  hp_test::RedisServer server;
  OwnedEngine eng;
  Store b(eng.e, server.url());
  CHECK(hp_blobs_backend(b) == HP_BACKEND_REDIS);
  shared_behaviour(eng.e, b, [&] {
    redisContext *c = redisConnect("127.0.0.1", server.port());
    REQUIRE(c);
    CHECK(eventually([&] {  // no chunk, no upload entry
      auto *r = static_cast<redisReply *>(redisCommand(c, "KEYS *"));
      size_t n = r ? r->elements : 1;
      freeReplyObject(r);
      return n == 0;
    }));
    redisFree(c);
  });
  {
    hp_blobs_stats before = HP_BLOBS_STATS_INIT;
    REQUIRE(hp_blobs_stats_get(&before, b) == 0);
    std::string data = random_bytes(2500, 3);
    hp_blob_write_options o = chunked(1000);
    Stat s = put(b, "counted", data, 2500, &o);
    REQUIRE(s.rc == 0);
    CHECK(get(b, by_id(s.id)).data == data);
    CHECK(call([&](hp_blob_cb cb, void *d) { return hp_blobs_delete_id(b, s.id.c_str(), cb, d); }) == 1);
    hp_blobs_stats st = HP_BLOBS_STATS_INIT;
    REQUIRE(hp_blobs_stats_get(&st, b) == 0);
    // This file, on top of what the shared checks wrote and read.
    CHECK(st.commits == before.commits + 1);
    CHECK(st.bytes_in == before.bytes_in + 2500);
    CHECK(st.bytes_out == before.bytes_out + 2500);
    CHECK(st.redis.connected == 1);
    CHECK(st.redis.commands >= before.redis.commands + 3);
  }
}

TEST_CASE("blobs: Redis damaged chunk gives HP_ECORRUPT; deleted keys are reclaimed") {
  hp_test::RedisServer server;
  OwnedEngine eng;
  Store b(eng.e, server.url());
  hp_blob_write_options o = chunked(1000);
  std::string data = random_bytes(3500, 6);
  Stat s = put(b, "damaged", data, 3500, &o);
  REQUIRE(s.rc == 0);
  redisContext *c = redisConnect("127.0.0.1", server.port());
  REQUIRE(c);
  std::string key = "{hp:blobs}:c:" + s.id + ":1";
  auto *r = static_cast<redisReply *>(redisCommand(c, "SETRANGE %s 17 %b", key.c_str(), "\xff", size_t{1}));
  freeReplyObject(r);
  Got g = get(b, by_id(s.id));
  CHECK(g.rc == HP_ECORRUPT);
  CHECK(g.error.find("file " + s.id + " chunk 1") != std::string::npos);
  CHECK(g.data == data.substr(0, 1000));
  GotInto gi = get_into(b, by_id(s.id), 10000);
  CHECK(gi.rc == HP_ECORRUPT);
  CHECK(gi.data == data.substr(0, 1000));
  Got whole = get_whole(b, by_id(s.id));
  CHECK(whole.rc == HP_ECORRUPT);
  CHECK(whole.error.find("file " + s.id + " chunk 1") != std::string::npos);
  CHECK(call([&](hp_blob_cb cb, void *d) { return hp_blobs_delete_id(b, s.id.c_str(), cb, d); }) == 1);
  r = static_cast<redisReply *>(redisCommand(c, "KEYS *:c:*"));
  CHECK(r->elements == 0);
  freeReplyObject(r);
  redisFree(c);
}

TEST_CASE("blobs: Redis upload of a crashed process is reclaimed once its lease ran out") {
  hp_test::RedisServer server;
  hp_blobs_options opts = HP_BLOBS_OPTIONS_INIT;
  opts.lease_ms = 300;
  crash_mid_upload(server.url(), opts.lease_ms);
  redisContext *c = redisConnect("127.0.0.1", server.port());
  REQUIRE(c);
  auto keys = [&](const char *pattern) {
    auto *r = static_cast<redisReply *>(redisCommand(c, "KEYS %s", pattern));
    size_t n = r ? r->elements : 0;
    freeReplyObject(r);
    return n;
  };
  CHECK(keys("*:c:*") > 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(400));  // the lease runs out
  OwnedEngine eng;
  Store b(eng.e, server.url(), &opts);
  CHECK(call([&](hp_blob_cb cb, void *d) { return hp_blobs_gc(b, cb, d); }) >= 0);
  CHECK(keys("*:c:*") == 0);
  CHECK(keys("*uploads") == 0);
  redisFree(c);
}

TEST_CASE("blobs: Redis down answers HP_EUNAVAILABLE within the timeout") {
  hp_test::RedisServer server;
  OwnedEngine eng;
  hp_blobs_options opts = HP_BLOBS_OPTIONS_INIT;
  opts.timeout_ms = 200;
  Store b(eng.e, server.url(), &opts);
  REQUIRE(put(b, "before", "hello").rc == 0);
  server.stop();
  Stat s = stat_of(b, by_name("before"));
  CHECK(s.rc == HP_EUNAVAILABLE);
  Stat w = put(b, "during", std::string(300000, 'x'));
  CHECK(w.rc == HP_EUNAVAILABLE);
  // A paused server holds the connection but answers nothing.
  hp_test::RedisServer paused;
  Store p(eng.e, paused.url(), &opts);
  REQUIRE(put(p, "x", "y").rc == 0);
  paused.pause();
  CHECK(stat_of(p, by_name("x")).rc == HP_EUNAVAILABLE);
  paused.resume();
}

TEST_CASE("blobs: a file deleted while a reader is open fails the next fetch with HP_ENOTFOUND") {
  TempDir dir;
  OwnedEngine eng;
  Store b(eng.e, dir.spec());
  hp_blob_write_options o = chunked(1000);
  Stat s = put(b, "soon-gone", random_bytes(20000, 8), 20000, &o);
  REQUIRE(s.rc == 0);
  struct Open {
    std::promise<hp_blob_reader *> p;
  } op;
  auto of = op.p.get_future();
  hp_blob_read_options ro = by_id(s.id);
  REQUIRE(hp_blobs_open_read(
              b, &ro,
              [](int st, hp_blob_reader *r, const hp_blob_stat *, void *d) {
                static_cast<Open *>(d)->p.set_value(st == 0 ? r : nullptr);
              },
              &op) == 0);
  hp_blob_reader *r = wait(of);
  REQUIRE(r);
  std::promise<hp_blob_reader *> second;
  auto sf = second.get_future();
  REQUIRE(hp_blobs_open_read(
              b, &ro,
              [](int st, hp_blob_reader *rd, const hp_blob_stat *, void *d) {
                static_cast<std::promise<hp_blob_reader *> *>(d)->set_value(st == 0 ? rd : nullptr);
              },
              &second) == 0);
  hp_blob_reader *r2 = wait(sf);
  REQUIRE(r2);
  CHECK(call([&](hp_blob_cb cb, void *d) { return hp_blobs_delete_id(b, s.id.c_str(), cb, d); }) == 1);
  // A read into the caller's memory finds it gone too.
  std::string buf(5000, '\0');
  CHECK(call([&](hp_blob_cb cb, void *d) {
          return hp_blob_reader_read_into(r2, buf.data(), buf.size(), cb, d);
        }) == HP_ENOTFOUND);
  hp_blob_reader_close(r2, NULL, NULL);
  int last = 1;
  std::string error;
  for (int i = 0; i < 30 && last > 0; i++) {
    struct Piece {
      std::promise<int> p;
      std::string error;
    } pc;
    auto pf = pc.p.get_future();
    REQUIRE(hp_blob_reader_read(
                r,
                [](int st, const void *, size_t, void *d) {
                  auto *x = static_cast<Piece *>(d);
                  if (st < 0) x->error = hp_last_error();
                  x->p.set_value(st);
                },
                &pc) == 0);
    last = wait(pf);
    error = pc.error;
  }
  CHECK(last == HP_ENOTFOUND);
  CHECK(error.find(s.id) != std::string::npos);
  hp_blob_reader_close(r, NULL, NULL);
}

TEST_CASE("blobs: closing the engine answers pending calls with HP_ECLOSED, each exactly once") {
  TempDir dir;
  hp_engine *e = nullptr;
  REQUIRE(hp_engine_new(&e, nullptr) == 0);
  hp_blobs *b = nullptr;
  REQUIRE(hp_blobs_open(&b, e, dir.spec().c_str(), nullptr) == 0);
  std::atomic<int> calls{0}, closed{0};
  struct Count {
    std::atomic<int> *calls, *closed;
  } count{&calls, &closed};
  auto on_code = [](int st, void *d) {
    auto *c = static_cast<Count *>(d);
    c->calls->fetch_add(1);
    if (st == HP_ECLOSED) c->closed->fetch_add(1);
  };
  std::vector<hp_blob_writer *> writers;
  std::string data(100000, 'z');
  int started = 0;
  for (int i = 0; i < 20; i++) {
    hp_blob_writer *w = nullptr;
    REQUIRE(hp_blobs_open_write(&w, b, ("pending/" + std::to_string(i)).c_str(), nullptr) == 0);
    if (hp_blob_writer_write(w, data.data(), data.size(), on_code, &count) == 0) started++;
    if (hp_blobs_gc(b, on_code, &count) == 0) started++;
    writers.push_back(w);
  }
  for (auto *w : writers) hp_blob_writer_close(w, NULL, NULL);
  hp_blobs_close(b, NULL, NULL);
  CHECK(hp_engine_free(e) == 0);
  CHECK(calls.load() == started);  // every callback ran, none twice
}

TEST_CASE("blobs: a Redis upload whose lease ran out cannot commit") {
  hp_test::RedisServer server;
  OwnedEngine eng;
  hp_blobs_options opts = HP_BLOBS_OPTIONS_INIT;
  opts.lease_ms = 100;
  Store b(eng.e, server.url(), &opts);
  hp_blob_writer *w = nullptr;
  hp_blob_write_options o = chunked(1000);
  REQUIRE(hp_blobs_open_write(&w, b, "slow", &o) == 0);
  std::string data = random_bytes(5500, 4);
  REQUIRE(write_piece(w, data.data(), 5000) == 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // the lease runs out
  REQUIRE(call([&](hp_blob_cb cb, void *d) { return hp_blobs_gc(b, cb, d); }) == 1);
  REQUIRE(write_piece(w, data.data() + 5000, 500) == 0);
  Stat s = commit(w);
  hp_blob_writer_close(w, NULL, NULL);
  CHECK(s.rc == HP_EIO);
  CHECK(s.error.find("reclaimed") != std::string::npos);
  CHECK(get(b, by_name("slow")).rc == HP_ENOTFOUND);
}

TEST_CASE(
    "blobs: SQLite small files (written in their commit) and big ones leave no chunk behind when deleted") {
  TempDir dir;
  OwnedEngine eng;
  Store b(eng.e, dir.spec());
  hp_blob_write_options o = chunked(1000);
  std::string small = random_bytes(2500, 12), big = random_bytes(20500, 13);
  Stat s1 = put(b, "small", small, 2500, &o);  // fits the writer's buffer: one transaction
  Stat s2 = put(b, "big", big, 700, &o);       // stored in batches, then committed
  REQUIRE(s1.rc == 0);
  REQUIRE(s2.rc == 0);
  CHECK(get(b, by_id(s1.id)).data == small);
  CHECK(get(b, by_id(s2.id)).data == big);
  auto count = [&](const char *sql) { return sqlite_count(dir.db(), sql); };
  CHECK(count("SELECT count(*) FROM hp_blob_chunks") == 3 + 21);
  CHECK(count("SELECT count(*) FROM hp_blob_uploads") == 0);
  CHECK(call([&](hp_blob_cb cb, void *d) { return hp_blobs_delete_name(b, "small", cb, d); }) == 1);
  CHECK(count("SELECT count(*) FROM hp_blob_chunks") == 21);
  CHECK(call([&](hp_blob_cb cb, void *d) { return hp_blobs_delete_id(b, s2.id.c_str(), cb, d); }) == 1);
  CHECK(count("SELECT count(*) FROM hp_blob_chunks") == 0);
}

namespace {

// Keys matching `pattern` on the server at `port`, with their PTTL.
std::vector<std::pair<std::string, long long>> keys_with_ttl(int port, const char *pattern) {
  std::vector<std::pair<std::string, long long>> out;
  redisContext *c = redisConnect("127.0.0.1", port);
  REQUIRE(c);
  auto *r = static_cast<redisReply *>(redisCommand(c, "KEYS %s", pattern));
  for (size_t i = 0; r && i < r->elements; i++) {
    std::string k(r->element[i]->str, r->element[i]->len);
    auto *t = static_cast<redisReply *>(redisCommand(c, "PTTL %b", k.data(), k.size()));
    out.emplace_back(k, t ? t->integer : -3);
    freeReplyObject(t);
  }
  freeReplyObject(r);
  redisFree(c);
  return out;
}

// An upload of `data` in 1000-byte chunks, left open once at least
// `chunks` chunk keys are stored; `pending` gets them with their PTTL.
hp_blob_writer *open_upload(hp_blobs *b, const char *name, const std::string &data, int port, size_t chunks,
                            std::vector<std::pair<std::string, long long>> *pending) {
  hp_blob_write_options o = chunked(1000);
  hp_blob_writer *w = nullptr;
  REQUIRE(hp_blobs_open_write(&w, b, name, &o) == 0);
  REQUIRE(write_piece(w, data.data(), data.size()) == 0);
  CHECK(eventually([&] {
    *pending = keys_with_ttl(port, "*:c:*");
    return pending->size() >= chunks;
  }));
  return w;
}

}  // namespace

TEST_CASE("blobs: Redis chunk keys carry a TTL until their commit, none after") {
  hp_test::RedisServer server;
  OwnedEngine eng;
  Store b(eng.e, server.url());
  std::string data = random_bytes(3500, 21);
  std::vector<std::pair<std::string, long long>> pending;
  hp_blob_writer *w = open_upload(b, "ttl", data, server.port(), 3, &pending);
  for (auto &[key, ttl] : pending) {
    INFO(key);
    CHECK(ttl > 0);
    CHECK(ttl <= 24ll * 3600 * 1000);
  }
  Stat s = commit(w);
  hp_blob_writer_close(w, NULL, NULL);
  REQUIRE(s.rc == 0);
  auto kept = keys_with_ttl(server.port(), "*:c:*");
  CHECK(kept.size() == 4);
  for (auto &[key, ttl] : kept) {
    INFO(key);
    CHECK(ttl == -1);  // committed: kept for good
  }
  CHECK(get(b, by_id(s.id)).data == data);
}

TEST_CASE("blobs: a Redis upload whose chunk expired cannot commit") {
  hp_test::RedisServer server;
  OwnedEngine eng;
  Store b(eng.e, server.url());
  std::vector<std::pair<std::string, long long>> pending;
  hp_blob_writer *w = open_upload(b, "expired", random_bytes(2500, 22), server.port(), 2, &pending);
  redisContext *c = redisConnect("127.0.0.1", server.port());
  REQUIRE(c);
  freeReplyObject(redisCommand(c, "DEL %s", pending[0].first.c_str()));  // as if its TTL ran out
  redisFree(c);
  Stat s = commit(w);
  hp_blob_writer_close(w, NULL, NULL);
  CHECK(s.rc == HP_EIO);
  CHECK(s.error.find("expired before the commit") != std::string::npos);
  CHECK(stat_of(b, by_name("expired")).rc == HP_ENOTFOUND);
}

TEST_CASE("blobs: Redis store on a 3-master Redis Cluster") {
  auto &cluster = hp_test::RedisCluster::shared();
  REQUIRE(cluster.ok());
  OwnedEngine eng;
  // Each subcase runs the test again on the same cluster: a fresh store.
  static int run = 0;
  std::string prefix = "hp:blobs:shared" + std::to_string(run++);
  hp_blobs_options opts = HP_BLOBS_OPTIONS_INIT;
  opts.prefix = prefix.c_str();
  opts.timeout_ms = 2000;
  Store b(eng.e, cluster.url(), &opts);
  CHECK(hp_blobs_backend(b) == HP_BACKEND_REDIS);
  shared_behaviour(eng.e, b, [&] {
    std::string pattern = "{" + prefix + "}:*";
    CHECK(eventually([&] {  // no chunk, no upload entry, on any node
      size_t n = 0;
      for (size_t i = 0; i < cluster.size(); i++) n += keys_with_ttl(cluster.port(i), pattern.c_str()).size();
      return n == 0;
    }));
  });
  CHECK(call([&](hp_blob_cb cb, void *d) { return hp_blobs_gc(b, cb, d); }) >= 0);
}

TEST_CASE("blobs: no lost or mixed blob while the store's slot migrates between Redis Cluster masters") {
  auto &cluster = hp_test::RedisCluster::shared();
  REQUIRE(cluster.ok());
  OwnedEngine eng;
  hp_blobs_options opts = HP_BLOBS_OPTIONS_INIT;
  opts.prefix = "hp:blobs:moving";
  opts.timeout_ms = 3000;
  Store b(eng.e, cluster.url(), &opts);
  hp_blob_write_options o = chunked(1000);
  // Files already there, so the move has keys to carry.
  std::map<std::string, std::string> committed;  // id -> bytes
  for (int i = 0; i < 10; i++) {
    std::string data = random_bytes(4500, 100 + i);
    Stat s = put(b, "before-" + std::to_string(i), data, 1000, &o);
    REQUIRE(s.rc == 0);
    committed[s.id] = data;
  }
  // Files the move will see deleted.
  std::vector<std::pair<std::string, std::string>> doomed;  // id, name
  for (int i = 0; i < 12; i++) {
    Stat s = put(b, "doomed-" + std::to_string(i), random_bytes(2500, 200 + i), 1000, &o);
    REQUIRE(s.rc == 0);
    doomed.emplace_back(s.id, s.filename);
  }
  int slot = hp::redis::key_slot("{hp:blobs:moving}");
  std::atomic<bool> moving{true};
  std::atomic<int> moved{0};
  std::thread mover([&] {
    // Two keys every 20 ms: long enough for every script to run mid-move.
    moved = cluster.migrate(slot, (cluster.owner(slot) + 1) % cluster.size(), 20, 2);
    moving = false;
  });
  std::mutex mu;
  std::atomic<int> errors{0}, writes{0};
  std::vector<std::thread> writers;
  for (int t = 0; t < 4; t++)
    writers.emplace_back([&, t] {
      for (int i = 0; moving || i < 3; i++) {
        std::string data = random_bytes(3000 + 700 * (i % 4), 1000 * (t + 1) + i);
        Stat s = put(b, "during-" + std::to_string(t) + "-" + std::to_string(i), data, 1000, &o);
        writes++;
        std::lock_guard<std::mutex> lock(mu);
        if (s.rc != 0) {
          errors++;
          MESSAGE("write failed: ", s.error);
        } else {
          committed[s.id] = data;
        }
      }
    });
  // Meanwhile every other script of the store, on the same slot, one
  // thread each, counting the calls it starts while the slot moves (a
  // script whose keys the move splits waits, TRYAGAIN, until it ends): find
  // and read by name and by id, list (paged, latest only), delete by name
  // and by id (of files written before the move), and gc of uploads whose
  // lease ran out (on a second handle of the store with a 50 ms lease).
  enum { kFind, kList, kDelete, kGc, kKinds };
  std::atomic<int> mid_move[kKinds] = {}, reclaimed{0};
  auto fail = [&](const char *what, const std::string &detail) {
    errors++;
    MESSAGE(what, ": ", detail);
  };
  auto started = [&](int kind) {
    if (moving) mid_move[kind]++;
  };
  writers.emplace_back([&] {
    for (int i = 0; moving || i < 3; i++) {
      started(kFind);
      std::string name = "before-" + std::to_string(i % 10);
      Got g = get(b, by_name(name));
      Stat s = stat_of(b, by_id(g.stat.id));
      std::lock_guard<std::mutex> lock(mu);
      if (g.rc != 0 || g.data != committed[g.stat.id]) fail("read by name", g.error);
      if (s.rc != 0 || s.filename != name) fail("stat by id", s.error);
    }
  });
  writers.emplace_back([&] {
    for (int i = 0; moving || i < 3; i++) {
      started(kList);
      size_t listed = 0;
      std::string cursor;
      do {
        Page pg = list(b, "before-", cursor, 3, 1);
        if (pg.rc < 0) {
          fail("list", std::to_string(pg.rc));
          break;
        }
        listed += pg.files.size();
        cursor = pg.next;
      } while (!cursor.empty());
      if (listed != 10) fail("list", std::to_string(listed) + " of 10 files listed");
    }
  });
  writers.emplace_back([&] {
    for (size_t i = 0; i < doomed.size(); i++) {
      started(kDelete);
      const std::string &id = doomed[i].first, &name = doomed[i].second;
      int deleted = call([&](hp_blob_cb cb, void *d) {
        return i % 2 ? hp_blobs_delete_id(b, id.c_str(), cb, d)
                     : hp_blobs_delete_name(b, name.c_str(), cb, d);
      });
      if (deleted != 1) fail("delete", std::to_string(deleted) + " deleted");
      if (stat_of(b, by_id(id)).rc != HP_ENOTFOUND) fail("stat after delete", "still there");
    }
  });
  writers.emplace_back([&] {
    hp_blobs_options short_lease = opts;
    short_lease.lease_ms = 50;
    Store quick(eng.e, cluster.url(), &short_lease);
    std::string data = random_bytes(2000, 77);
    for (int i = 0; moving || i < 2; i++) {
      hp_blob_writer *w = nullptr;
      REQUIRE(hp_blobs_open_write(&w, quick, ("abandoned-" + std::to_string(i)).c_str(), &o) == 0);
      write_piece(w, data.data(), data.size());
      // The upload registers with its first stored chunk (which a move in
      // progress holds back too), then its lease runs out: gc until it
      // reclaims it.
      for (int tries = 0; tries < 50; tries++) {
        std::this_thread::sleep_for(std::chrono::milliseconds(60));
        started(kGc);
        int n = call([&](hp_blob_cb cb, void *d) { return hp_blobs_gc(b, cb, d); });
        if (n < 0) fail("gc", std::to_string(n));
        if (n != 0) {
          reclaimed += std::max(n, 0);
          break;
        }
      }
      hp_blob_writer_close(w, NULL, NULL);
    }
  });
  for (auto &t : writers) t.join();
  mover.join();
  MESSAGE("migrated ", moved.load(), " keys with ", writes.load(),
          " files written meanwhile; calls started mid-move: ", mid_move[kFind].load(), " find, ",
          mid_move[kList].load(), " list, ", mid_move[kDelete].load(), " delete, ", mid_move[kGc].load(),
          " gc");
  CHECK(moved > 40);
  for (auto &n : mid_move) CHECK(n > 0);
  CHECK(reclaimed > 0);
  CHECK(errors == 0);
  // Every committed file reads back whole, byte for byte.
  int lost = 0, mixed = 0;
  for (auto &[id, data] : committed) {
    Got g = get(b, by_id(id));
    if (g.rc != 0)
      lost++;
    else if (g.data != data || g.stat.sha256 != sha256_hex(data))
      mixed++;
  }
  CHECK(lost == 0);
  CHECK(mixed == 0);
}

TEST_CASE("blobs: concurrent SQLite commits share transactions, each whole and in commit order") {
  using Event = hp_test::sync_recorder::Event;
  TempDir dir;
  OwnedEngine eng;
  hp_blobs_options so = HP_BLOBS_OPTIONS_INIT;
  so.flags = HP_BLOBS_DURABLE;  // a WAL sync per transaction: the count of transactions
  Store b(eng.e, dir.spec(), &so);
  constexpr size_t kFiles = 64;
  std::vector<std::string> data;
  for (size_t i = 0; i < kFiles; i++) data.push_back(random_bytes(16384, static_cast<unsigned>(100 + i)));
  struct Slot {
    std::promise<int> written;
    std::promise<Stat> committed;
  };
  std::vector<Slot> slots(kFiles);
  std::vector<hp_blob_writer *> writers(kFiles, nullptr);
  hp_test::sync_recorder::record(true);
  // Every put is queued at once: their commits arrive while others run.
  for (size_t i = 0; i < kFiles; i++) {
    REQUIRE(hp_blobs_open_write(&writers[i], b, "group", nullptr) == 0);
    REQUIRE(hp_blob_writer_write(
                writers[i], data[i].data(), data[i].size(),
                [](int s, void *d) { static_cast<Slot *>(d)->written.set_value(s); }, &slots[i]) == 0);
    REQUIRE(hp_blob_writer_commit(
                writers[i],
                [](int s, const hp_blob_stat *st, void *d) {
                  static_cast<Slot *>(d)->committed.set_value(copy_stat(s, st));
                },
                &slots[i]) == 0);
  }
  std::vector<Stat> stats;
  for (auto &slot : slots) {
    auto w = slot.written.get_future();
    auto c = slot.committed.get_future();
    CHECK(wait(w) == 0);
    stats.push_back(wait(c));
  }
  hp_test::sync_recorder::record(false);
  for (auto *w : writers) hp_blob_writer_close(w, NULL, NULL);
  std::string wal = dir.db() + "-wal";
  size_t wal_syncs = 0;
  for (auto &ev : hp_test::sync_recorder::events())
    if (ev.kind != Event::kWrite && ev.path == wal) wal_syncs++;
  // Each commit landed in a synced transaction, and they shared them.
  CHECK(wal_syncs > 0);
  CHECK(wal_syncs < kFiles);
  // Revisions number the commits 0..63 whatever transaction held them,
  // and each names its own bytes.
  std::vector<bool> seen(kFiles, false);
  for (size_t i = 0; i < kFiles; i++) {
    INFO(stats[i].error);
    REQUIRE(stats[i].rc == 0);
    REQUIRE(stats[i].revision >= 0);
    REQUIRE(stats[i].revision < static_cast<int64_t>(kFiles));
    CHECK_FALSE(seen[stats[i].revision]);
    seen[stats[i].revision] = true;
    CHECK(stats[i].sha256 == sha256_hex(data[i]));
    Got g = get(b, by_name("group", stats[i].revision));
    CHECK(g.stat.id == stats[i].id);
    CHECK(g.data == data[i]);
  }
}

TEST_CASE("blobs: a piece read hands the chunk over; it outlives the reader and the store") {
  TempDir dir;
  OwnedEngine eng;
  hp_blob_write_options o = chunked(1000);
  std::string data = random_bytes(2500, 21);
  std::vector<hp_blob_piece *> pieces;
  {
    Store b(eng.e, dir.spec());
    const std::string name = "p";
    REQUIRE(put(b, name, data, 700, &o).rc == 0);
    hp_blob_read_options ro = by_name(name);
    ro.start = 500;
    ro.end = 2200;
    std::promise<hp_blob_reader *> opened;
    auto of = opened.get_future();
    REQUIRE(hp_blobs_open_read(
                b, &ro,
                [](int s, hp_blob_reader *r, const hp_blob_stat *, void *d) {
                  static_cast<std::promise<hp_blob_reader *> *>(d)->set_value(s == 0 ? r : nullptr);
                },
                &opened) == 0);
    hp_blob_reader *r = wait(of);
    REQUIRE(r);
    struct Read {
      std::promise<void> done;
      int status = 0;
      hp_blob_piece *piece = nullptr;
      std::string bytes;
    };
    // Pieces and borrowed reads mix on one reader.
    for (int i = 0;; i++) {
      Read rd;
      auto f = rd.done.get_future();
      if (i == 1) {
        REQUIRE(hp_blob_reader_read(
                    r,
                    [](int s, const void *buf, size_t len, void *d) {
                      auto *x = static_cast<Read *>(d);
                      x->status = s;
                      if (s > 0) x->bytes.assign(static_cast<const char *>(buf), len);
                      x->done.set_value();
                    },
                    &rd) == 0);
        wait(f);
        CHECK(rd.status == 1000);
        CHECK(rd.bytes == data.substr(1000, 1000));
        continue;
      }
      REQUIRE(hp_blob_reader_read_piece(
                  r,
                  [](int s, hp_blob_piece *p, void *d) {
                    auto *x = static_cast<Read *>(d);
                    x->status = s;
                    x->piece = p;
                    x->done.set_value();
                  },
                  &rd) == 0);
      wait(f);
      if (rd.status == 0) {
        CHECK(rd.piece == nullptr);
        break;
      }
      REQUIRE(rd.status > 0);
      REQUIRE(rd.piece);
      pieces.push_back(rd.piece);
    }
    CHECK(hp_blob_reader_read_piece(r, nullptr, nullptr) == HP_EINVAL);
    hp_blob_reader_close(r, NULL, NULL);
  }
  // The store is closed; the pieces are the caller's.
  REQUIRE(pieces.size() == 2);
  size_t len = 0;
  const void *bytes = hp_blob_piece_bytes(pieces[0], &len);
  CHECK(std::string(static_cast<const char *>(bytes), len) == data.substr(500, 500));
  bytes = hp_blob_piece_bytes(pieces[1], &len);
  CHECK(std::string(static_cast<const char *>(bytes), len) == data.substr(2000, 200));
  for (auto *p : pieces) hp_blob_piece_free(p);
  hp_blob_piece_free(nullptr);
  CHECK(hp_blob_piece_bytes(nullptr, &len) == nullptr);
  CHECK(len == 0);
}
