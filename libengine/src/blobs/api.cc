// extern "C" definitions of the blobs subsystem.
#include <algorithm>
#include <climits>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

#include "blobs/file_id.h"
#include "blobs/reader.h"
#include "blobs/store.h"
#include "blobs/writer.h"
#include "core/engine.h"
#include "core/error.h"
#include "core/guard.h"
#include "core/handle.h"

using hp::blobs::FileInfo;
using hp::blobs::ListPage;
using hp::blobs::ListQuery;
using hp::blobs::Query;
using hp::blobs::Reader;
using hp::blobs::Store;
using hp::blobs::Writer;
using hp::core::guard;
using hp::core::set_error;

// Handles: references to objects that pending work shares.
// The public handles. Pending work holds the implementations (shared), so
// a handle's shutdown only lets go of its own reference, after closing the
// writer or reader.
template <class Impl, bool kCloseImpl>
struct BlobHandle : hp::core::Handle {
  BlobHandle(hp::core::Engine *e, std::shared_ptr<Impl> i) : hp::core::Handle(e), impl(std::move(i)) {}
  std::shared_ptr<Impl> impl;

 private:
  void shutdown(std::function<void(int)> done) override {
    if constexpr (kCloseImpl) guard("blobs_close", [&] { return impl->close(), 0; });
    impl.reset();
    done(0);
  }
};
struct hp_blobs final : BlobHandle<Store, false> {
  using BlobHandle::BlobHandle;
};
struct hp_blob_writer final : BlobHandle<Writer, true> {
  using BlobHandle::BlobHandle;
};
struct hp_blob_reader final : BlobHandle<Reader, true> {
  using BlobHandle::BlobHandle;
};

namespace {

using Call = hp::core::Handle::Call;

int closed(const char *where) { return set_error(HP_ECLOSED, where, ": closed"); }

constexpr size_t kFilenameMax = 1024;
constexpr size_t kContentTypeMax = 255;
constexpr size_t kMetadataMax = 1u << 20;
constexpr uint32_t kListMax = 10000;

int check_text(const char *where, const char *what, const char *s, size_t min, size_t max, std::string *out) {
  size_t n = strnlen(s, max + 1);
  if (n < min || n > max)
    return set_error(HP_EINVAL, where, ": ", what, " must be ", std::to_string(min), "..",
                     std::to_string(max), " bytes");
  out->assign(s, n);
  return 0;
}

// The file an hp_blob_read_options names.
int to_query(const char *where, const hp_blob_read_options *o, Query *q) {
  if (!o) return set_error(HP_EINVAL, where, ": options are NULL");
  if (o->version != HP_BLOB_READ_OPTIONS_VERSION)
    return set_error(HP_EINVAL, where, ": unknown hp_blob_read_options version ", std::to_string(o->version));
  if (o->id) {
    size_t n = strnlen(o->id, 25);
    if (!hp::blobs::valid_file_id(std::string_view(o->id, n)))
      return set_error(HP_EINVAL, where, ": id '", std::string_view(o->id, n),
                       "' is not 24 lowercase hex digits");
    q->id.assign(o->id, n);
    return 0;
  }
  if (!o->filename) return set_error(HP_EINVAL, where, ": neither id nor filename is set");
  q->revision = o->revision;
  return check_text(where, "filename", o->filename, 1, kFilenameMax, &q->filename);
}

// Runs `fn` on the loop. `fail(status)` calls the caller's callback
// instead when the engine closed before the call ran (HP_ECLOSED) or `fn`
// ran out of memory before it handed the callback on.
template <class Fail, class Fn>
int post(hp_blobs *b, Fail fail, Fn fn) {
  return b->impl->on_loop([fail, fn = std::move(fn)](bool closing) mutable {
    if (closing) return fail(set_error(HP_ECLOSED, "blobs: the engine closed"));
    int rc = guard("blobs", [&] {
      fn();
      return 0;
    });
    if (rc < 0) fail(rc);
  });
}

int remove_file(hp_blobs *b, std::string id, std::string name, hp_blob_cb cb, void *data) {
  std::shared_ptr<Store> store = b->impl;
  auto done = [cb, data](int rc) {
    if (cb) cb(rc, data);
  };
  return post(b, done, [store, id, name, done] { store->remove(id, name, done); });
}

}  // namespace

extern "C" {

int hp_blobs_open(hp_blobs **out, hp_engine *e, const char *spec, const hp_blobs_options *opts) {
  return guard("blobs_open", [&] {
    if (!out) return set_error(HP_EINVAL, "blobs_open: out is NULL");
    *out = nullptr;
    if (!e) return set_error(HP_EINVAL, "blobs_open: engine is NULL");
    if (!spec) return set_error(HP_EINVAL, "blobs_open: spec is NULL");
    hp_blobs_options o = HP_BLOBS_OPTIONS_INIT;
    if (opts) {
      if (opts->version == 1) {  // without flags
        o.chunk_size = opts->chunk_size;
        o.timeout_ms = opts->timeout_ms;
        o.prefix = opts->prefix;
        o.lease_ms = opts->lease_ms;
      } else if (opts->version == HP_BLOBS_OPTIONS_VERSION) {
        o = *opts;
      } else {
        return set_error(HP_EINVAL, "blobs_open: unknown hp_blobs_options version ",
                         std::to_string(opts->version));
      }
      if (o.flags & ~HP_BLOBS_DURABLE)
        return set_error(HP_EINVAL, "blobs_open: unknown flags ", std::to_string(o.flags));
    }
    auto *engine = hp::core::Engine::from_c(e);
    if (engine->closing()) return set_error(HP_ECLOSED, "blobs_open: the engine is closing");
    std::shared_ptr<Store> store;
    int rc = Store::open(&store, engine, spec, o);
    if (rc != 0) return rc;
    *out = new hp_blobs(engine, std::move(store));
    hp::core::clear_error();
    return 0;
  });
}

int hp_blobs_close(hp_blobs *b, hp_close_cb cb, void *data) { return b ? b->close(cb, data) : 0; }

int hp_blobs_backend(const hp_blobs *b) {
  if (!b) return set_error(HP_EINVAL, "blobs_backend: store is NULL");
  Call call(const_cast<hp_blobs *>(b));
  return call ? b->impl->kind() : closed("blobs_backend");
}

int hp_blobs_stats_get(hp_blobs_stats *out, const hp_blobs *b) {
  if (!out || !b) return set_error(HP_EINVAL, "blobs_stats_get: out or store is NULL");
  if (out->version < 1 || out->version > HP_BLOBS_STATS_VERSION)
    return set_error(HP_EINVAL, "blobs_stats_get: unknown hp_blobs_stats version ", std::to_string(out->version));
  Call call(const_cast<hp_blobs *>(b));
  if (!call) return closed("blobs_stats_get");
  b->impl->counters().fill(out);
  return 0;
}

uint32_t hp_blobs_chunk_size(const hp_blobs *b) {
  Call call(const_cast<hp_blobs *>(b));
  return call ? b->impl->chunk_size() : 0;
}

int hp_blobs_open_write(hp_blob_writer **out, hp_blobs *b, const char *filename,
                        const hp_blob_write_options *opts) {
  return guard("blobs_open_write", [&] {
    const char *where = "blobs_open_write";
    if (!out) return set_error(HP_EINVAL, where, ": out is NULL");
    *out = nullptr;
    if (!b) return set_error(HP_EINVAL, where, ": store is NULL");
    if (!filename) return set_error(HP_EINVAL, where, ": filename is NULL");
    hp_blob_write_options o = HP_BLOB_WRITE_OPTIONS_INIT;
    if (opts) {
      if (opts->version == 1) {  // without flags
        o.content_type = opts->content_type;
        o.metadata_json = opts->metadata_json;
        o.chunk_size = opts->chunk_size;
      } else if (opts->version == HP_BLOB_WRITE_OPTIONS_VERSION) {
        o = *opts;
      } else {
        return set_error(HP_EINVAL, where, ": unknown hp_blob_write_options version ",
                         std::to_string(opts->version));
      }
      if (o.flags & ~HP_BLOB_WRITE_NO_SHA256)
        return set_error(HP_EINVAL, where, ": unknown flags ", std::to_string(o.flags));
    }
    std::string name, type = "application/octet-stream", meta = "{}";
    int rc = check_text(where, "filename", filename, 1, kFilenameMax, &name);
    if (rc == 0 && o.content_type)
      rc = check_text(where, "content_type", o.content_type, 0, kContentTypeMax, &type);
    if (rc == 0 && o.metadata_json)
      rc = check_text(where, "metadata_json", o.metadata_json, 1, kMetadataMax, &meta);
    if (rc != 0) return rc;
    if (o.chunk_size > HP_BLOBS_MAX_CHUNK_SIZE)
      return set_error(HP_EINVAL, where, ": chunk_size ", std::to_string(o.chunk_size),
                       " is over the 16 MiB limit");
    if (b->impl->engine()->closing()) return set_error(HP_ECLOSED, where, ": the engine is closing");
    uint32_t cs = o.chunk_size ? o.chunk_size : b->impl->chunk_size();
    Writer::Options wo;
    wo.chunk_size = cs;
    wo.sha256 = !(o.flags & HP_BLOB_WRITE_NO_SHA256);
    uint32_t buffer = o.buffer_bytes ? o.buffer_bytes : HP_BLOBS_DEFAULT_WRITE_BUFFER;
    wo.held = std::max<size_t>(2, buffer / cs);
    auto w = std::make_shared<Writer>(b->impl, std::move(name), std::move(type), std::move(meta), wo);
    *out = new hp_blob_writer(b->engine(), std::move(w));
    return 0;
  });
}

const char *hp_blob_writer_id(const hp_blob_writer *w) {
  Call call(const_cast<hp_blob_writer *>(w));
  return call ? w->impl->id().c_str() : "";
}

int hp_blob_writer_write(hp_blob_writer *w, const void *buf, size_t len, hp_blob_cb cb, void *data) {
  return guard("blob_writer_write", [&] {
    if (!w) return set_error(HP_EINVAL, "blob_writer_write: writer is NULL");
    Call call(w);
    if (!call) return closed("blob_writer_write");
    if (!cb) return set_error(HP_EINVAL, "blob_writer_write: cb is NULL");
    if (!buf && len)
      return set_error(HP_EINVAL, "blob_writer_write: buf is NULL but len is ", std::to_string(len));
    return w->impl->write(buf, len, cb, data);
  });
}

int hp_blob_writer_commit(hp_blob_writer *w, hp_blob_stat_cb cb, void *data) {
  return guard("blob_writer_commit", [&] {
    if (!w) return set_error(HP_EINVAL, "blob_writer_commit: writer is NULL");
    Call call(w);
    if (!call) return closed("blob_writer_commit");
    if (!cb) return set_error(HP_EINVAL, "blob_writer_commit: cb is NULL");
    return w->impl->commit(cb, data);
  });
}

int hp_blob_writer_abort(hp_blob_writer *w, hp_blob_cb cb, void *data) {
  return guard("blob_writer_abort", [&] {
    if (!w) return set_error(HP_EINVAL, "blob_writer_abort: writer is NULL");
    Call call(w);
    if (!call) return closed("blob_writer_abort");
    return w->impl->abort(cb, data);
  });
}

int hp_blob_writer_close(hp_blob_writer *w, hp_close_cb cb, void *data) { return w ? w->close(cb, data) : 0; }

int hp_blobs_open_read(hp_blobs *b, const hp_blob_read_options *opts, hp_blob_open_cb cb, void *data) {
  return guard("blobs_open_read", [&] {
    if (!b) return set_error(HP_EINVAL, "blobs_open_read: store is NULL");
    Call call(b);
    if (!call) return closed("blobs_open_read");
    if (!cb) return set_error(HP_EINVAL, "blobs_open_read: cb is NULL");
    Query q;
    int rc = to_query("blobs_open_read", opts, &q);
    if (rc != 0) return rc;
    uint64_t start = opts->start, end = opts->end;
    std::shared_ptr<Store> store = b->impl;
    auto fail = [cb, data](int rc) { cb(rc, nullptr, nullptr, data); };
    return post(b, fail, [store, q, start, end, cb, data, fail] {
      store->find(q, [store, start, end, cb, data, fail](int rc, FileInfo info) {
        if (rc < 0) return fail(rc);
        hp_blob_reader *r = nullptr;
        if ((rc = guard("blobs_open_read", [&] {
               r = new hp_blob_reader(store->engine(), std::make_shared<Reader>(store, std::move(info), start, end));
               return 0;
             })) < 0)
          return fail(rc);
        cb(0, r, r->impl->stat(), data);
      });
    });
  });
}

const hp_blob_stat *hp_blob_reader_stat(const hp_blob_reader *r) {
  Call call(const_cast<hp_blob_reader *>(r));
  return call ? r->impl->stat() : nullptr;
}

int hp_blob_reader_read(hp_blob_reader *r, hp_blob_data_cb cb, void *data) {
  return guard("blob_reader_read", [&] {
    if (!r) return set_error(HP_EINVAL, "blob_reader_read: reader is NULL");
    Call call(r);
    if (!call) return closed("blob_reader_read");
    if (!cb) return set_error(HP_EINVAL, "blob_reader_read: cb is NULL");
    return r->impl->read(cb, data);
  });
}

int hp_blob_reader_read_piece(hp_blob_reader *r, hp_blob_piece_cb cb, void *data) {
  return guard("blob_reader_read_piece", [&] {
    if (!r) return set_error(HP_EINVAL, "blob_reader_read_piece: reader is NULL");
    Call call(r);
    if (!call) return closed("blob_reader_read_piece");
    if (!cb) return set_error(HP_EINVAL, "blob_reader_read_piece: cb is NULL");
    return r->impl->read_piece(cb, data);
  });
}

int hp_blob_reader_read_into(hp_blob_reader *r, void *buf, size_t cap, hp_blob_cb cb, void *data) {
  return guard("blob_reader_read_into", [&] {
    if (!r) return set_error(HP_EINVAL, "blob_reader_read_into: reader is NULL");
    Call call(r);
    if (!call) return closed("blob_reader_read_into");
    if (!cb) return set_error(HP_EINVAL, "blob_reader_read_into: cb is NULL");
    if (!buf || cap == 0) return set_error(HP_EINVAL, "blob_reader_read_into: buf is NULL or cap is 0");
    return r->impl->read_into(buf, cap, cb, data);
  });
}

int hp_blobs_get(hp_blobs *b, const hp_blob_read_options *opts, uint64_t max_bytes, hp_blob_get_cb cb,
                 void *data) {
  return guard("blobs_get", [&] {
    if (!b) return set_error(HP_EINVAL, "blobs_get: store is NULL");
    Call call(b);
    if (!call) return closed("blobs_get");
    if (!cb) return set_error(HP_EINVAL, "blobs_get: cb is NULL");
    if (max_bytes == 0 || max_bytes > INT_MAX)
      return set_error(HP_EINVAL, "blobs_get: max_bytes must be 1..", std::to_string(INT_MAX));
    Query q;
    int rc = to_query("blobs_get", opts, &q);
    if (rc != 0) return rc;
    uint64_t start = opts->start, end = opts->end;
    std::shared_ptr<Store> store = b->impl;
    auto fail = [cb, data](int rc) { cb(rc, nullptr, nullptr, data); };
    return post(b, fail, [store, q, start, end, max_bytes, cb, data, fail] {
      store->get(q, start, end, max_bytes, [store, cb, data, fail](int rc, FileInfo info, std::string bytes) {
        if (rc == HP_ECORRUPT) store->counters().corrupt_reads.fetch_add(1, std::memory_order_relaxed);
        if (rc < 0) return fail(rc);
        hp_blob_piece *piece = nullptr;
        if ((rc = guard("blobs_get", [&] {
               piece = new hp_blob_piece();
               return 0;
             })) < 0)
          return fail(rc);
        piece->len = bytes.size();
        piece->chunk = std::move(bytes);
        store->counters().bytes_out.fetch_add(piece->len, std::memory_order_relaxed);
        hp_blob_stat st = info.stat();
        cb(static_cast<int>(piece->len), &st, piece, data);
      });
    });
  });
}

const void *hp_blob_piece_bytes(const hp_blob_piece *p, size_t *len) {
  if (len) *len = p ? p->len : 0;
  return p ? p->chunk.data() + p->off : nullptr;
}

void hp_blob_piece_free(hp_blob_piece *p) { delete p; }

int hp_blob_reader_close(hp_blob_reader *r, hp_close_cb cb, void *data) { return r ? r->close(cb, data) : 0; }

int hp_blobs_stat(hp_blobs *b, const hp_blob_read_options *opts, hp_blob_stat_cb cb, void *data) {
  return guard("blobs_stat", [&] {
    if (!b) return set_error(HP_EINVAL, "blobs_stat: store is NULL");
    Call call(b);
    if (!call) return closed("blobs_stat");
    if (!cb) return set_error(HP_EINVAL, "blobs_stat: cb is NULL");
    Query q;
    int rc = to_query("blobs_stat", opts, &q);
    if (rc != 0) return rc;
    std::shared_ptr<Store> store = b->impl;
    auto fail = [cb, data](int rc) { cb(rc, nullptr, data); };
    return post(b, fail, [store, q, cb, data] {
      store->find(q, [cb, data](int rc, FileInfo info) {
        if (rc < 0) return cb(rc, nullptr, data);
        hp_blob_stat st = info.stat();
        cb(0, &st, data);
      });
    });
  });
}

int hp_blobs_exists(hp_blobs *b, const hp_blob_read_options *opts, hp_blob_cb cb, void *data) {
  return guard("blobs_exists", [&] {
    if (!b) return set_error(HP_EINVAL, "blobs_exists: store is NULL");
    Call call(b);
    if (!call) return closed("blobs_exists");
    if (!cb) return set_error(HP_EINVAL, "blobs_exists: cb is NULL");
    Query q;
    int rc = to_query("blobs_exists", opts, &q);
    if (rc != 0) return rc;
    std::shared_ptr<Store> store = b->impl;
    auto fail = [cb, data](int rc) { cb(rc, data); };
    return post(b, fail, [store, q, cb, data] {
      store->find(q, [cb, data](int rc, FileInfo) {
        if (rc == HP_ENOTFOUND) {
          hp::core::clear_error();
          return cb(0, data);
        }
        cb(rc < 0 ? rc : 1, data);
      });
    });
  });
}

int hp_blobs_list(hp_blobs *b, const hp_blob_list_options *opts, hp_blob_list_cb cb, void *data) {
  return guard("blobs_list", [&] {
    if (!b) return set_error(HP_EINVAL, "blobs_list: store is NULL");
    Call call(b);
    if (!call) return closed("blobs_list");
    if (!cb) return set_error(HP_EINVAL, "blobs_list: cb is NULL");
    hp_blob_list_options o = HP_BLOB_LIST_OPTIONS_INIT;
    if (opts) {
      if (opts->version != HP_BLOB_LIST_OPTIONS_VERSION)
        return set_error(HP_EINVAL, "blobs_list: unknown hp_blob_list_options version ",
                         std::to_string(opts->version));
      o = *opts;
    }
    ListQuery q;
    int rc = 0;
    if (o.prefix) rc = check_text("blobs_list", "prefix", o.prefix, 0, kFilenameMax, &q.prefix);
    if (rc == 0 && o.cursor)
      rc = check_text("blobs_list", "cursor", o.cursor, 0, 4 * kFilenameMax, &q.cursor);
    if (rc != 0) return rc;
    if (o.limit > kListMax) return set_error(HP_EINVAL, "blobs_list: limit must be at most 10000");
    q.limit = o.limit ? o.limit : 100;
    q.latest_only = o.latest_only != 0;
    std::shared_ptr<Store> store = b->impl;
    auto fail = [cb, data](int rc) { cb(rc, nullptr, 0, nullptr, data); };
    return post(b, fail, [store, q, cb, data, fail] {
      store->list(q, [cb, data, fail](int rc, ListPage page) {
        if (rc < 0) return fail(rc);
        std::vector<hp_blob_stat> stats;
        if ((rc = guard("blobs_list", [&] {
               stats.reserve(page.files.size());
               return 0;
             })) < 0)
          return fail(rc);
        for (const auto &f : page.files) stats.push_back(f.stat());
        cb(static_cast<int>(stats.size()), stats.data(), stats.size(),
           page.next_cursor.empty() ? nullptr : page.next_cursor.c_str(), data);
      });
    });
  });
}

int hp_blobs_delete_id(hp_blobs *b, const char *id, hp_blob_cb cb, void *data) {
  return guard("blobs_delete_id", [&] {
    if (!b) return set_error(HP_EINVAL, "blobs_delete_id: store is NULL");
    Call call(b);
    if (!call) return closed("blobs_delete_id");
    if (!id) return set_error(HP_EINVAL, "blobs_delete_id: id is NULL");
    size_t n = strnlen(id, 25);
    if (!hp::blobs::valid_file_id(std::string_view(id, n)))
      return set_error(HP_EINVAL, "blobs_delete_id: id '", std::string_view(id, n),
                       "' is not 24 lowercase hex digits");
    return remove_file(b, std::string(id, n), "", cb, data);
  });
}

int hp_blobs_delete_name(hp_blobs *b, const char *filename, hp_blob_cb cb, void *data) {
  return guard("blobs_delete_name", [&] {
    if (!b) return set_error(HP_EINVAL, "blobs_delete_name: store is NULL");
    Call call(b);
    if (!call) return closed("blobs_delete_name");
    if (!filename) return set_error(HP_EINVAL, "blobs_delete_name: filename is NULL");
    std::string name;
    int rc = check_text("blobs_delete_name", "filename", filename, 1, kFilenameMax, &name);
    if (rc != 0) return rc;
    return remove_file(b, "", std::move(name), cb, data);
  });
}

int hp_blobs_gc(hp_blobs *b, hp_blob_cb cb, void *data) {
  return guard("blobs_gc", [&] {
    if (!b) return set_error(HP_EINVAL, "blobs_gc: store is NULL");
    Call call(b);
    if (!call) return closed("blobs_gc");
    std::shared_ptr<Store> store = b->impl;
    auto done = [cb, data](int rc) {
      if (cb) cb(rc, data);
    };
    return post(b, done, [store, done] { store->gc(done); });
  });
}

}  // extern "C"
