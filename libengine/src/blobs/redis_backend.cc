#include "blobs/redis_backend.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "blobs/crc32c.h"
#include "blobs/list_keys.h"
#include "blobs/scripts.h"
#include "core/error.h"

namespace hp::blobs {

using core::set_error;

namespace {

// A chunk not yet committed lives a day (or two leases, if longer).
constexpr uint64_t kChunkTtlMs = 24ull * 3600 * 1000;

int64_t as_i64(const redis::Reply &r) {
  if (r.type == redis::Reply::Integer) return r.integer;
  if (r.type == redis::Reply::String) return std::strtoll(r.str.c_str(), nullptr, 10);
  return 0;
}

// One file as the scripts return it (see scripts.cc).
bool parse_info(const redis::Reply &r, FileInfo *f) {
  if (r.type != redis::Reply::Array || r.elements.size() < 10) return false;
  const auto &e = r.elements;
  f->id = e[0].str;
  f->filename = e[1].str;
  f->length = static_cast<uint64_t>(as_i64(e[2]));
  f->chunk_size = static_cast<uint32_t>(as_i64(e[3]));
  f->upload_date_ms = as_i64(e[4]);
  f->content_type = e[5].str;
  f->sha256 = e[6].str;
  f->metadata = e[7].str;
  f->seq = as_i64(e[8]);
  f->revision = as_i64(e[9]);
  return true;
}

}  // namespace

void RedisBackend::start() {
  client_ = redis::Client::open(engine_, options_);
}

void RedisBackend::close() {
  if (!client_) return;
  redis::Client *c = client_;
  client_ = nullptr;
  c->close();
}

bool RedisBackend::usable(const std::function<void(int)> &fail) {
  if (client_ && !engine_->closing()) return true;
  fail(set_error(HP_ECLOSED, "blobs: store closed"));
  return false;
}

int RedisBackend::failed(int status, const redis::Reply &r) {
  if (status < 0) return status;  // message already set by the client
  if (!r.is_error()) return 0;
  if (r.str.starts_with("HPRECLAIMED ")) return set_error(HP_EIO, "blobs: ", r.str.substr(12));
  return set_error(redis::is_transient_error(r.str) ? HP_EUNAVAILABLE : HP_EIO, "blobs: redis: ", r.str);
}

std::string RedisBackend::chunk_key(const std::string &id, uint64_t n) const {
  return base_ + "c:" + id + ":" + std::to_string(n);
}

void RedisBackend::put_chunk(Upload &u, uint64_t n, const std::string &data, uint32_t crc, Done done) {
  if (!usable(done)) return;
  std::string value;
  value.reserve(data.size() + 4);
  value.append(data);
  for (int i = 0; i < 4; i++) value.push_back(static_cast<char>((crc >> (8 * i)) & 0xff));
  Upload *up = &u;  // the writer keeps it alive until done runs
  // Until the commit, a chunk expires: an upload nobody finishes or
  // reclaims cannot keep its keys forever.
  uint64_t ttl = std::max<uint64_t>(kChunkTtlMs, 2ull * lease_ms_);
  client_->eval(
      scripts::put_chunk(), {base_ + "uploads", chunk_key(u.id, n)},
      {u.id, std::to_string(n + 1), std::to_string(lease_ms_), std::move(value), std::to_string(ttl)},
      [up, n, done](int status, redis::Reply r) {
        int rc = failed(status, r);
        if (rc == 0) up->chunks = n + 1;
        done(rc);
      });
}

void RedisBackend::commit(const Upload &u, FileInfo info, InfoDone done) {
  if (!usable([&](int rc) { done(rc, FileInfo{}); })) return;
  std::vector<std::string> keys = {base_ + "uploads", base_ + "seq", base_ + "f:" + info.id,
                                   base_ + "n:" + info.filename, base_ + "names"};
  for (uint64_t n = 0; n < u.chunks; n++) keys.push_back(chunk_key(info.id, n));
  std::vector<std::string> args = {info.id,
                                   info.filename,
                                   std::to_string(info.length),
                                   std::to_string(info.chunk_size),
                                   info.content_type,
                                   info.sha256,
                                   info.metadata,
                                   std::to_string(u.chunks)};
  client_->eval(scripts::commit(), keys, args,
                [info = std::move(info), done](int status, redis::Reply r) mutable {
                  int rc = failed(status, r);
                  if (rc == 0 && (r.type != redis::Reply::Array || r.elements.size() != 3))
                    rc = set_error(HP_EIO, "blobs: redis: unexpected reply to the commit script");
                  if (rc != 0) return done(rc, FileInfo{});
                  info.seq = as_i64(r.elements[0]);
                  info.upload_date_ms = as_i64(r.elements[1]);
                  info.revision = as_i64(r.elements[2]);
                  done(0, std::move(info));
                });
}

void RedisBackend::abort(const Upload &u, Done done) {
  if (!usable(done)) return;
  // With no chunk stored the upload may still have registered: dropped too.
  std::vector<std::string> keys = {base_ + "uploads"};
  for (uint64_t n = 0; n < u.chunks; n++) keys.push_back(chunk_key(u.id, n));
  client_->eval(scripts::abort(), keys, {u.id}, [done](int status, redis::Reply r) { done(failed(status, r)); });
}

int RedisBackend::not_found(const Query &q) {
  if (!q.id.empty()) return set_error(HP_ENOTFOUND, "blobs: no file with id ", q.id);
  return set_error(HP_ENOTFOUND, "blobs: no revision ", std::to_string(q.revision), " of '", q.filename, "'");
}

int RedisBackend::stale(const char *what) {
  return set_error(HP_EUNAVAILABLE, "blobs: ", what, ": the store kept changing under ",
                   std::to_string(kMaxStale), " attempts");
}

void RedisBackend::find(const Query &q, InfoDone done, int attempt) {
  if (!usable([&](int rc) { done(rc, FileInfo{}); })) return;
  if (attempt >= kMaxStale) return done(stale("find"), FileInfo{});
  // First the names the script's keys need: the file's filename, or the id
  // at the filename's revision.
  auto found = [this, q, done, attempt](const std::string &id, const std::string &name) {
    if (!usable([&](int rc) { done(rc, FileInfo{}); })) return;
    std::string index = q.id.empty() ? std::to_string(q.revision) : "";
    client_->eval(scripts::find(), {base_ + "f:" + id, base_ + "n:" + name}, {id, index},
                  [this, q, done, attempt](int status, redis::Reply r) {
                    int rc = failed(status, r);
                    if (rc != 0) return done(rc, FileInfo{});
                    if (r.type == redis::Reply::String && r.str == "HPSTALE")
                      return find(q, done, attempt + 1);
                    if (r.type == redis::Reply::Nil) return done(not_found(q), FileInfo{});
                    FileInfo f;
                    if (!parse_info(r, &f))
                      return done(set_error(HP_EIO, "blobs: redis: unexpected reply to the find script"),
                                  FileInfo{});
                    done(0, std::move(f));
                  });
  };
  if (!q.id.empty()) {
    client_->command({"HGET", base_ + "f:" + q.id, "filename"}, [q, done, found](int status, redis::Reply r) {
      int rc = failed(status, r);
      if (rc != 0) return done(rc, FileInfo{});
      if (r.type != redis::Reply::String) return done(not_found(q), FileInfo{});
      found(q.id, r.str);
    });
  } else {
    std::string index = std::to_string(q.revision);
    client_->command({"ZRANGE", base_ + "n:" + q.filename, index, index},
                     [q, done, found](int status, redis::Reply r) {
                       int rc = failed(status, r);
                       if (rc != 0) return done(rc, FileInfo{});
                       if (r.type != redis::Reply::Array || r.elements.empty())
                         return done(not_found(q), FileInfo{});
                       found(r.elements[0].str, q.filename);
                     });
  }
}

void RedisBackend::get_chunks(const FileInfo &f, uint64_t first, uint64_t count, ChunksDone done) {
  if (!usable([&](int rc) { done(rc, {}); })) return;
  std::vector<std::string> args = {"MGET"};
  for (uint64_t i = 0; i < count; i++) args.push_back(chunk_key(f.id, first + i));
  FileInfo file = f;
  std::string meta_key = base_ + "f:" + f.id;
  client_->command(std::move(args), [this, file, first, meta_key, done](int status, redis::Reply r) {
    int rc = failed(status, r);
    if (rc != 0) return done(rc, {});
    std::vector<std::string> out;
    uint64_t n = first;
    for (auto &e : r.elements) {
      if (e.type != redis::Reply::String) break;  // a hole: named below
      std::string data = std::move(e.str);
      uint64_t expect = file.chunk_length(n);
      const char *damage = nullptr;
      if (data.size() != expect + 4) {
        damage = "wrong length";
      } else {
        uint32_t want = 0;
        for (int i = 0; i < 4; i++)
          want |= static_cast<uint32_t>(static_cast<unsigned char>(data[expect + i])) << (8 * i);
        data.resize(expect);
        if (crc32c(0, data.data(), data.size()) != want) damage = "CRC32C mismatch";
      }
      if (damage) {
        // The good chunks before it first; the next fetch starts at this one.
        if (out.empty()) return done(corrupt_chunk(file.id, n, damage), {});
        break;
      }
      out.push_back(std::move(data));
      n++;
    }
    if (!out.empty()) return done(0, std::move(out));
    // Gone: deleted since the reader opened it, or lost.
    if (!usable([&](int code) { done(code, {}); })) return;
    client_->command({"EXISTS", meta_key}, [id = file.id, n, done](int st, redis::Reply e) {
      int code = failed(st, e);
      if (code == 0)
        code = e.integer ? corrupt_chunk(id, n, "missing")
                         : set_error(HP_ENOTFOUND, "blobs: file ", id, " was deleted");
      done(code, {});
    });
  });
}

void RedisBackend::list(const ListQuery &q, ListDone done) {
  auto st = std::make_shared<Listing>();
  st->q = q;
  st->done = std::move(done);
  st->min = "[" + q.prefix;
  st->max = "+";
  if (!q.cursor.empty()) {
    std::string member;
    if (!from_hex(q.cursor, &member) || member.size() < 24)
      return st->done(
          set_error(HP_EINVAL, "blobs: list: cursor '", q.cursor, "' is not one this store gave out"),
          ListPage{});
    st->min = "(" + member;
  }
  if (!q.prefix.empty()) {
    std::string end = prefix_end(q.prefix);
    if (!end.empty()) st->max = "(" + end;
  }
  list_batch(st);
}

// One batch of names: the members first, then their files in one script
// that declares each member's keys. Batches go on until the page is full
// (one member more says whether there is a next page) or the names end.
void RedisBackend::list_batch(std::shared_ptr<Listing> st) {
  if (!usable([&](int rc) { st->done(rc, ListPage{}); })) return;
  size_t want = std::max<size_t>(st->q.limit - st->page.files.size() + 1, 16);
  client_->command(
      {"ZRANGEBYLEX", base_ + "names", st->min, st->max, "LIMIT", "0", std::to_string(want)},
      [this, st, want](int status, redis::Reply r) {
        int rc = failed(status, r);
        if (rc != 0) return st->done(rc, ListPage{});
        std::vector<std::string> keys = {base_ + "names"}, args = {st->q.latest_only ? "1" : "0"};
        for (auto &m : r.elements) {
          // "<filename>\0<seq, 16 hex digits>\0<id, 24 hex digits>"
          if (m.str.size() < 42)
            return st->done(set_error(HP_EIO, "blobs: redis: a names entry is damaged"), ListPage{});
          keys.push_back(base_ + "f:" + m.str.substr(m.str.size() - 24));
          keys.push_back(base_ + "n:" + m.str.substr(0, m.str.size() - 42));
          args.push_back(std::move(m.str));
        }
        if (args.size() == 1) return st->done(static_cast<int>(st->page.files.size()), std::move(st->page));
        if (!usable([&](int code) { st->done(code, ListPage{}); })) return;
        client_->eval(scripts::list(), keys, args, [this, st, want, args](int status2, redis::Reply files) {
          int rc2 = failed(status2, files);
          if (rc2 == 0 && (files.type != redis::Reply::Array || files.elements.size() != args.size() - 1))
            rc2 = set_error(HP_EIO, "blobs: redis: unexpected reply to the list script");
          if (rc2 != 0) return st->done(rc2, ListPage{});
          for (size_t i = 0; i < files.elements.size(); i++) {
            if (st->page.files.size() >= st->q.limit) {
              st->page.next_cursor = to_hex(st->last);
              return st->done(static_cast<int>(st->page.files.size()), std::move(st->page));
            }
            FileInfo f;
            if (parse_info(files.elements[i], &f)) st->page.files.push_back(std::move(f));
            st->last = args[i + 1];
          }
          if (files.elements.size() < want)
            return st->done(static_cast<int>(st->page.files.size()), std::move(st->page));
          st->min = "(" + st->last;
          list_batch(st);
        });
      });
}

namespace {

// A file's chunk count, from its metadata's length and chunk size.
uint64_t chunk_count(const redis::Reply &length, const redis::Reply &chunk_size) {
  auto len = static_cast<uint64_t>(as_i64(length)), cs = static_cast<uint64_t>(as_i64(chunk_size));
  return cs ? (len + cs - 1) / cs : 0;
}

}  // namespace

void RedisBackend::remove(const std::string &id, const std::string &name, Done done, int attempt) {
  if (!usable(done)) return;
  if (attempt >= kMaxStale) return done(stale("delete"));
  if (!id.empty()) {
    client_->command({"HMGET", base_ + "f:" + id, "filename", "length", "chunk_size"},
                     [this, id, done](int status, redis::Reply r) {
                       int rc = failed(status, r);
                       if (rc != 0) return done(rc);
                       if (r.elements.size() != 3 || r.elements[0].type != redis::Reply::String)
                         return done(0);
                       remove_files(r.elements[0].str, {id}, {chunk_count(r.elements[1], r.elements[2])}, "",
                                    done, [](int, Done) {});
                     });
    return;
  }
  // Every revision: the ids, then each one's chunk count.
  client_->command({"ZRANGE", base_ + "n:" + name, "0", "-1"},
                   [this, name, done, attempt](int status, redis::Reply r) {
                     int rc = failed(status, r);
                     if (rc != 0) return done(rc);
                     if (r.type != redis::Reply::Array || r.elements.empty()) return done(0);
                     struct Gather {
                       std::vector<std::string> ids;
                       std::vector<uint64_t> chunks;
                       size_t left;
                       int rc = 0;
                     };
                     auto g = std::make_shared<Gather>();
                     for (auto &e : r.elements) g->ids.push_back(std::move(e.str));
                     g->chunks.assign(g->ids.size(), 0);
                     g->left = g->ids.size();
                     for (size_t i = 0; i < g->ids.size(); i++) {
                       if (!usable(done)) return;
                       client_->command({"HMGET", base_ + "f:" + g->ids[i], "length", "chunk_size"},
                                        [this, g, i, name, done, attempt](int st, redis::Reply h) {
                                          if (int code = failed(st, h); code != 0 && g->rc == 0) g->rc = code;
                                          if (g->rc == 0 && h.elements.size() == 2)
                                            g->chunks[i] = chunk_count(h.elements[0], h.elements[1]);
                                          if (--g->left > 0) return;
                                          if (g->rc != 0) return done(g->rc);
                                          remove_files(name, g->ids, g->chunks, std::to_string(g->ids.size()),
                                                       done, [this, name, attempt](int, Done again) {
                                                         remove("", name, again, attempt + 1);
                                                       });
                                        });
                     }
                   });
}

void RedisBackend::remove_files(const std::string &name, const std::vector<std::string> &ids,
                                const std::vector<uint64_t> &chunks, const std::string &expect, Done done,
                                std::function<void(int, Done)> retry) {
  if (!usable(done)) return;
  std::vector<std::string> keys = {base_ + "n:" + name, base_ + "names"}, args = {expect};
  for (size_t i = 0; i < ids.size(); i++) {
    keys.push_back(base_ + "f:" + ids[i]);
    for (uint64_t c = 0; c < chunks[i]; c++) keys.push_back(chunk_key(ids[i], c));
    args.push_back(ids[i]);
    args.push_back(std::to_string(chunks[i]));
  }
  client_->eval(scripts::remove(), keys, args, [done, retry](int status, redis::Reply r) {
    int rc = failed(status, r);
    if (rc != 0) return done(rc);
    if (r.type == redis::Reply::String && r.str == "HPSTALE") return retry(0, done);
    done(static_cast<int>(as_i64(r)));
  });
}

void RedisBackend::gc(Done done) {
  if (!usable(done)) return;
  // The uploads whose lease ran out, then their chunks, declared.
  client_->eval(
      scripts::expired_uploads(), {base_ + "uploads"}, {}, [this, done](int status, redis::Reply r) {
        int rc = failed(status, r);
        if (rc != 0) return done(rc);
        if (r.type != redis::Reply::Array || r.elements.size() < 2) return done(0);
        std::vector<std::string> keys = {base_ + "uploads"}, args;
        for (size_t i = 0; i + 1 < r.elements.size(); i += 2) {
          const std::string &id = r.elements[i].str, &entry = r.elements[i + 1].str;
          size_t colon = entry.find(':');
          uint64_t chunks =
              colon == std::string::npos ? 0 : std::strtoull(entry.c_str() + colon + 1, nullptr, 10);
          for (uint64_t c = 0; c < chunks; c++) keys.push_back(chunk_key(id, c));
          args.insert(args.end(), {id, entry, std::to_string(chunks)});
        }
        if (!usable(done)) return;
        client_->eval(scripts::gc(), keys, args, [done](int st, redis::Reply n) {
          int code = failed(st, n);
          done(code != 0 ? code : static_cast<int>(as_i64(n)));
        });
      });
}

}  // namespace hp::blobs
