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

void RedisBackend::find(const Query &q, InfoDone done) {
  if (!usable([&](int rc) { done(rc, FileInfo{}); })) return;
  // The script reads the keys the first one names (same hash tag, so the
  // same slot).
  std::string first = q.id.empty() ? base_ + "n:" + q.filename : base_ + "f:" + q.id;
  client_->eval(scripts::find(), {first}, {base_, q.id, q.filename, std::to_string(q.revision)},
                [q, done](int status, redis::Reply r) {
                  int rc = failed(status, r);
                  if (rc != 0) return done(rc, FileInfo{});
                  FileInfo f;
                  if (r.type == redis::Reply::Nil) {
                    if (!q.id.empty())
                      rc = set_error(HP_ENOTFOUND, "blobs: no file with id ", q.id);
                    else
                      rc = set_error(HP_ENOTFOUND, "blobs: no revision ", std::to_string(q.revision), " of '",
                                     q.filename, "'");
                    return done(rc, FileInfo{});
                  }
                  if (!parse_info(r, &f))
                    return done(set_error(HP_EIO, "blobs: redis: unexpected reply to the find script"),
                                FileInfo{});
                  done(0, std::move(f));
                });
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
  std::string min = "[" + q.prefix, max = "+";
  if (!q.cursor.empty()) {
    std::string member;
    if (!from_hex(q.cursor, &member) || member.size() < 24)
      return done(set_error(HP_EINVAL, "blobs: list: cursor '", q.cursor, "' is not one this store gave out"),
                  ListPage{});
    min = "(" + member;
  }
  if (!q.prefix.empty()) {
    std::string end = prefix_end(q.prefix);
    if (!end.empty()) max = "(" + end;
  }
  if (!usable([&](int rc) { done(rc, ListPage{}); })) return;
  client_->eval(scripts::list(), {base_ + "names"}, {base_, min, max, std::to_string(q.limit), q.latest_only ? "1" : "0"},
                [done](int status, redis::Reply r) {
                  int rc = failed(status, r);
                  if (rc != 0) return done(rc, ListPage{});
                  ListPage page;
                  if (r.type != redis::Reply::Array || r.elements.size() != 2 ||
                      r.elements[1].type != redis::Reply::Array)
                    return done(set_error(HP_EIO, "blobs: redis: unexpected reply to the list script"),
                                ListPage{});
                  if (!r.elements[0].str.empty()) page.next_cursor = to_hex(r.elements[0].str);
                  for (const auto &e : r.elements[1].elements) {
                    FileInfo f;
                    if (parse_info(e, &f)) page.files.push_back(std::move(f));
                  }
                  int count = static_cast<int>(page.files.size());
                  done(count, std::move(page));
                });
}

void RedisBackend::remove(const std::string &id, const std::string &name, Done done) {
  if (!usable(done)) return;
  std::string first = id.empty() ? base_ + "n:" + name : base_ + "f:" + id;
  client_->eval(scripts::remove(), {first}, {base_, id, name}, [done](int status, redis::Reply r) {
    int rc = failed(status, r);
    done(rc != 0 ? rc : static_cast<int>(as_i64(r)));
  });
}

void RedisBackend::gc(Done done) {
  if (!usable(done)) return;
  client_->eval(scripts::gc(), {base_ + "uploads"}, {base_}, [done](int status, redis::Reply r) {
    int rc = failed(status, r);
    done(rc != 0 ? rc : static_cast<int>(as_i64(r)));
  });
}

}  // namespace hp::blobs
