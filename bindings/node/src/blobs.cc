// Blob stores: a store object with Promise-returning calls, and writer and
// reader objects whose calls take a Node-style callback (err, value), which
// lib/blobs.js turns into Writable and Readable streams.
#include <memory>
#include <string>
#include <vector>

#include "addon.h"
#include "observe.h"

namespace hp_node {

namespace {

Napi::Object StatObject(Napi::Env env, const hp_blob_stat &s) {
  auto o = Napi::Object::New(env);
  o.Set("id", Napi::String::New(env, s.id));
  o.Set("filename", Napi::String::New(env, s.filename));
  o.Set("length", Napi::Number::New(env, static_cast<double>(s.length)));
  o.Set("chunkSize", Napi::Number::New(env, s.chunk_size));
  o.Set("uploadDateMs", Napi::Number::New(env, static_cast<double>(s.upload_date_ms)));
  o.Set("contentType", Napi::String::New(env, s.content_type));
  o.Set("sha256", Napi::String::New(env, s.sha256));
  o.Set("metadataJson", Napi::String::New(env, s.metadata_json));
  o.Set("revision", Napi::Number::New(env, static_cast<double>(s.revision)));
  return o;
}

// (err) with err a HotpathError for a negative status, else null.
void CallStatus(JsCallback &cb, int status) {
  cb.Call([status](Napi::Env env) -> std::vector<napi_value> {
    return {status < 0 ? MakeError(env, status).Value() : env.Null()};
  });
}

// Keeps a wrapper alive (strong reference) while the C side holds a
// callback that points at it.
template <class T>
struct Hold {
  T *self;
  Addon *addon;
  JsCallback cb;
  Hold(T *s, Napi::Env env, Napi::Function fn, const char *name)
      : self(s), addon(&GetAddon(env)), cb(env, fn, name) {
    self->Ref();
  }
  // While the environment tears down, node frees wrappers itself.
  ~Hold() {
    if (!addon->tearing_down) self->Unref();
  }
};

// A Hold that also keeps a caller's bytes alive while the C side borrows
// them (a write reads them, a read into them fills them) until its
// callback, instead of copying them.
template <class T>
struct Borrow : Hold<T> {
  Napi::Reference<Napi::Uint8Array> bytes;
  Borrow(T *self, Napi::Env env, Napi::Function fn, const char *name, Napi::Uint8Array buf)
      : Hold<T>(self, env, fn, name), bytes(Napi::Persistent(buf)) {}
  ~Borrow() {
    if (this->addon->tearing_down) bytes.SuppressDestruct();
  }
};

std::string OptString(const Napi::Value &v) {
  return v.IsString() ? v.As<Napi::String>().Utf8Value() : std::string();
}

// Read options from (id, filename, revision, start, end): id or filename is
// a string, the other null; end is exclusive, -1 meaning the end of file.
struct ReadArgs {
  std::string id, filename;
  hp_blob_read_options opts = HP_BLOB_READ_OPTIONS_INIT;

  ReadArgs(const Napi::CallbackInfo &info, size_t at) {
    bool by_id = info[at].IsString();
    id = OptString(info[at]);
    filename = OptString(info[at + 1]);
    opts.id = by_id ? id.c_str() : nullptr;
    opts.filename = by_id ? nullptr : filename.c_str();
    opts.revision = info[at + 2].As<Napi::Number>().Int64Value();
    if (info.Length() > at + 4) {
      opts.start = static_cast<uint64_t>(info[at + 3].As<Napi::Number>().Int64Value());
      int64_t end = info[at + 4].As<Napi::Number>().Int64Value();
      opts.end = end < 0 ? HP_BLOB_EOF : static_cast<uint64_t>(end);
    }
  }
};

class BlobWriter : public Napi::ObjectWrap<BlobWriter> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(
        env, "BlobWriter",
        {InstanceMethod<&BlobWriter::Id>("id"), InstanceMethod<&BlobWriter::Write>("write"),
         InstanceMethod<&BlobWriter::Commit>("commit"), InstanceMethod<&BlobWriter::Abort>("abort"),
         InstanceMethod<&BlobWriter::Close>("close")});
  }

  explicit BlobWriter(const Napi::CallbackInfo &info) : Napi::ObjectWrap<BlobWriter>(info) {}
  ~BlobWriter() override { hp_blob_writer_close(w_, nullptr, nullptr); }

  void Adopt(hp_blob_writer *w) {
    hp_blob_writer_close(w_, nullptr, nullptr);
    w_ = w;
  }

 private:
  hp_blob_writer *Handle(Napi::Env env) {
    if (!w_) throw MakeError(env, HP_ECLOSED, "blobs: the writer is closed");
    return w_;
  }

  Napi::Value Id(const Napi::CallbackInfo &info) {
    return Napi::String::New(info.Env(), hp_blob_writer_id(Handle(info.Env())));
  }

  // write(buffer, cb(err)): cb runs when the writer is ready for more.
  Napi::Value Write(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    hp_blob_writer *w = Handle(env);
    auto buf = info[0].As<Napi::Uint8Array>();
    // The writer borrows the bytes until its callback.
    auto hold = std::make_unique<Borrow<BlobWriter>>(this, env, info[1].As<Napi::Function>(),
                                                     "hotpath.blobs.write", buf);
    int rc = hp_blob_writer_write(
        w, buf.Data(), buf.ByteLength(),
        [](int status, void *data) {
          auto h = Own<Borrow<BlobWriter>>(data);
          CallStatus(h->cb, status);
        },
        hold.get());
    Started(env, rc, hold);
    return env.Undefined();
  }

  // commit(cb(err, stat))
  Napi::Value Commit(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    hp_blob_writer *w = Handle(env);
    auto hold =
        std::make_unique<Hold<BlobWriter>>(this, env, info[0].As<Napi::Function>(), "hotpath.blobs.commit");
    int rc = hp_blob_writer_commit(
        w,
        [](int status, const hp_blob_stat *s, void *data) {
          auto h = Own<Hold<BlobWriter>>(data);
          h->cb.Call([status, s](Napi::Env e) -> std::vector<napi_value> {
            if (status < 0) return {MakeError(e, status).Value()};
            return {e.Null(), StatObject(e, *s)};
          });
        },
        hold.get());
    Started(env, rc, hold);
    return env.Undefined();
  }

  // abort(cb(err)): cb runs once the stored chunks are deleted.
  Napi::Value Abort(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    hp_blob_writer *w = Handle(env);
    auto hold =
        std::make_unique<Hold<BlobWriter>>(this, env, info[0].As<Napi::Function>(), "hotpath.blobs.abort");
    int rc = hp_blob_writer_abort(
        w,
        [](int status, void *data) {
          auto h = Own<Hold<BlobWriter>>(data);
          CallStatus(h->cb, status);
        },
        hold.get());
    Started(env, rc, hold);
    return env.Undefined();
  }

  Napi::Value Close(const Napi::CallbackInfo &info) {
    hp_blob_writer_close(w_, nullptr, nullptr);
    w_ = nullptr;
    return info.Env().Undefined();
  }

  hp_blob_writer *w_ = nullptr;
};

// A Buffer over a piece's bytes that frees the piece when collected; a
// copy where the runtime allows no external buffers (a V8 sandbox).
napi_value PieceBuffer(Napi::Env env, std::unique_ptr<hp_blob_piece, void (*)(hp_blob_piece *)> piece) {
  size_t len = 0;
  const void *bytes = hp_blob_piece_bytes(piece.get(), &len);
  napi_value out;
  napi_status st = napi_create_external_buffer(
      env, len, const_cast<void *>(bytes),
      [](napi_env e, void *, void *hint) {
        auto *p = static_cast<hp_blob_piece *>(hint);
        size_t n = 0;
        hp_blob_piece_bytes(p, &n);
        int64_t left;
        napi_adjust_external_memory(e, -static_cast<int64_t>(n), &left);
        hp_blob_piece_free(p);
      },
      piece.get(), &out);
  if (st == napi_ok) {
    piece.release();
    // Counted, so that V8 collects pieces as it would Buffers of its own.
    int64_t total;
    napi_adjust_external_memory(env, static_cast<int64_t>(len), &total);
    return out;
  }
  return Napi::Buffer<uint8_t>::Copy(env, static_cast<const uint8_t *>(bytes), len);
}

class BlobReader : public Napi::ObjectWrap<BlobReader> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(
        env, "BlobReader",
        {InstanceMethod<&BlobReader::ReadInto>("readInto"), InstanceMethod<&BlobReader::Close>("close")});
  }

  explicit BlobReader(const Napi::CallbackInfo &info) : Napi::ObjectWrap<BlobReader>(info) {}
  ~BlobReader() override { hp_blob_reader_close(r_, nullptr, nullptr); }

  void Adopt(hp_blob_reader *r) {
    hp_blob_reader_close(r_, nullptr, nullptr);
    r_ = r;
  }

 private:
  // readInto(view, cb(err, n)): the next bytes of the range into `view`
  // (whole chunks, see hp_blob_reader_read_into()), n = 0 at its end. The
  // view is kept alive, and must be left alone, until cb.
  Napi::Value ReadInto(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    if (!r_) throw MakeError(env, HP_ECLOSED, "blobs: the reader is closed");
    auto buf = info[0].As<Napi::Uint8Array>();
    auto hold = std::make_unique<Borrow<BlobReader>>(this, env, info[1].As<Napi::Function>(),
                                                     "hotpath.blobs.readInto", buf);
    int rc = hp_blob_reader_read_into(
        r_, buf.Data(), buf.ByteLength(),
        [](int status, void *data) {
          auto h = Own<Borrow<BlobReader>>(data);
          h->cb.Call([status](Napi::Env e) -> std::vector<napi_value> {
            if (status < 0) return {MakeError(e, status).Value()};
            return {e.Null(), Napi::Number::New(e, status)};
          });
        },
        hold.get());
    Started(env, rc, hold);
    return env.Undefined();
  }

  Napi::Value Close(const Napi::CallbackInfo &info) {
    hp_blob_reader_close(r_, nullptr, nullptr);
    r_ = nullptr;
    return info.Env().Undefined();
  }

  hp_blob_reader *r_ = nullptr;
};

class BlobStore : public Napi::ObjectWrap<BlobStore> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(
        env, "BlobStore",
        {InstanceMethod<&BlobStore::Backend>("backend"), InstanceMethod<&BlobStore::ChunkSize>("chunkSize"),
         InstanceMethod<&BlobStore::OpenWrite>("openWrite"), InstanceMethod<&BlobStore::OpenRead>("openRead"),
         InstanceMethod<&BlobStore::Get>("get"), InstanceMethod<&BlobStore::Stat>("stat"),
         InstanceMethod<&BlobStore::Exists>("exists"), InstanceMethod<&BlobStore::List>("list"),
         InstanceMethod<&BlobStore::DeleteId>("deleteId"),
         InstanceMethod<&BlobStore::DeleteName>("deleteName"), InstanceMethod<&BlobStore::Gc>("gc"),
         InstanceMethod<&BlobStore::Stats>("stats"),
         InstanceMethod<&BlobStore::Close>("close")});
  }

  // new BlobStore(spec, chunkSize, timeoutMs, prefix, leaseMs, durable)
  explicit BlobStore(const Napi::CallbackInfo &info) : Napi::ObjectWrap<BlobStore>(info) {
    Napi::Env env = info.Env();
    std::string spec = info[0].As<Napi::String>();
    std::string prefix = info[3].As<Napi::String>();
    hp_blobs_options o = HP_BLOBS_OPTIONS_INIT;
    o.chunk_size = info[1].As<Napi::Number>().Uint32Value();
    o.timeout_ms = info[2].As<Napi::Number>().Uint32Value();
    o.prefix = prefix.c_str();
    o.lease_ms = info[4].As<Napi::Number>().Uint32Value();
    if (info[5].As<Napi::Boolean>().Value()) o.flags |= HP_BLOBS_DURABLE;
    Check(env, hp_blobs_open(&b_, GetAddon(env).engine, spec.c_str(), &o));
  }
  ~BlobStore() override { hp_blobs_close(b_, nullptr, nullptr); }

 private:
  hp_blobs *Handle(Napi::Env env) {
    if (!b_) throw MakeError(env, HP_ECLOSED, "blobs: the store is closed");
    return b_;
  }

  Napi::Value Backend(const Napi::CallbackInfo &info) {
    int kind = hp_blobs_backend(Handle(info.Env()));
    return Napi::String::New(info.Env(), kind == HP_BACKEND_REDIS ? "redis" : "sqlite");
  }

  Napi::Value Stats(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    hp_blobs_stats s = HP_BLOBS_STATS_INIT;
    Check(env, hp_blobs_stats_get(&s, Handle(env)));
    return BlobsStatsObject(env, s, hp_blobs_backend(Handle(env)) == HP_BACKEND_REDIS);
  }

  Napi::Value ChunkSize(const Napi::CallbackInfo &info) {
    return Napi::Number::New(info.Env(), hp_blobs_chunk_size(Handle(info.Env())));
  }

  // openWrite(writer, filename, contentType | null, metadataJson | null,
  // chunkSize, flags, bufferBytes): opens the file on a new, empty
  // BlobWriter.
  Napi::Value OpenWrite(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    hp_blobs *b = Handle(env);
    BlobWriter *writer = BlobWriter::Unwrap(info[0].As<Napi::Object>());
    std::string name = info[1].As<Napi::String>();
    std::string type = OptString(info[2]), meta = OptString(info[3]);
    hp_blob_write_options o = HP_BLOB_WRITE_OPTIONS_INIT;
    o.content_type = info[2].IsString() ? type.c_str() : nullptr;
    o.metadata_json = info[3].IsString() ? meta.c_str() : nullptr;
    o.chunk_size = info[4].As<Napi::Number>().Uint32Value();
    o.flags = info[5].As<Napi::Number>().Uint32Value();
    o.buffer_bytes = info[6].As<Napi::Number>().Uint32Value();
    hp_blob_writer *w = nullptr;
    Check(env, hp_blobs_open_write(&w, b, name.c_str(), &o));
    writer->Adopt(w);
    return env.Undefined();
  }

  // openRead(reader, id, filename, revision, start, end, cb(err, stat)):
  // opens the range on a new, empty BlobReader.
  Napi::Value OpenRead(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    hp_blobs *b = Handle(env);
    BlobReader *reader = BlobReader::Unwrap(info[0].As<Napi::Object>());
    ReadArgs args(info, 1);
    auto hold = std::make_unique<Hold<BlobReader>>(reader, env, info[6].As<Napi::Function>(),
                                                   "hotpath.blobs.openRead");
    int rc = hp_blobs_open_read(
        b, &args.opts,
        [](int status, hp_blob_reader *r, const hp_blob_stat *s, void *data) {
          auto h = Own<Hold<BlobReader>>(data);
          if (status >= 0) {
            if (h->addon->tearing_down) {
              hp_blob_reader_close(r, nullptr, nullptr);
              return;
            }
            h->self->Adopt(r);
          }
          h->cb.Call([status, s](Napi::Env e) -> std::vector<napi_value> {
            if (status < 0) return {MakeError(e, status).Value()};
            return {e.Null(), StatObject(e, *s)};
          });
        },
        hold.get());
    Started(env, rc, hold);
    return env.Undefined();
  }

  // get(id, filename, revision, start, end, maxBytes) -> Promise<Buffer>:
  // the range whole, found and read in one step (hp_blobs_get()).
  Napi::Value Get(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    hp_blobs *b = Handle(env);
    ReadArgs args(info, 0);
    auto max_bytes = static_cast<uint64_t>(info[5].As<Napi::Number>().Int64Value());
    return StartPromise(env, "hotpath.blobs.get", [&](Pending *p) {
      return hp_blobs_get(
          b, &args.opts, max_bytes,
          [](int status, const hp_blob_stat *, hp_blob_piece *piece, void *data) {
            auto p = Own<Pending>(data);
            std::unique_ptr<hp_blob_piece, void (*)(hp_blob_piece *)> owned(piece, hp_blob_piece_free);
            if (status < 0) return p->Reject(status);
            p->Resolve([&owned](Napi::Env e) -> Napi::Value {
              size_t len = 0;
              const void *bytes = hp_blob_piece_bytes(owned.get(), &len);
              // A small file is copied: cheaper than a finalizer per Buffer.
              if (len <= kCopyBelow)
                return Napi::Buffer<uint8_t>::Copy(e, static_cast<const uint8_t *>(bytes), len);
              return Napi::Value(e, PieceBuffer(e, std::move(owned)));
            });
          },
          p);
    });
  }
  static constexpr size_t kCopyBelow = 64 * 1024;

  // stat(id, filename, revision) -> Promise<stat>
  Napi::Value Stat(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    hp_blobs *b = Handle(env);
    ReadArgs args(info, 0);
    return StartPromise(env, "hotpath.blobs.stat", [&](Pending *p) {
      return hp_blobs_stat(b, &args.opts, SettleWith<hp_blob_stat, StatObject>, p);
    });
  }

  // exists(id, filename, revision) -> Promise<boolean>
  Napi::Value Exists(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    hp_blobs *b = Handle(env);
    ReadArgs args(info, 0);
    return StartPromise(env, "hotpath.blobs.exists",
                        [&](Pending *p) { return hp_blobs_exists(b, &args.opts, SettleBool, p); });
  }

  // list(prefix, cursor, limit, latestOnly) -> Promise<{files, cursor}>
  Napi::Value List(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    hp_blobs *b = Handle(env);
    std::string prefix = info[0].As<Napi::String>(), cursor = info[1].As<Napi::String>();
    hp_blob_list_options o = HP_BLOB_LIST_OPTIONS_INIT;
    o.prefix = prefix.c_str();
    o.cursor = cursor.c_str();
    o.limit = info[2].As<Napi::Number>().Uint32Value();
    o.latest_only = info[3].As<Napi::Boolean>().Value() ? 1 : 0;
    return StartPromise(env, "hotpath.blobs.list", [&](Pending *p) {
      return hp_blobs_list(
          b, &o,
          [](int status, const hp_blob_stat *files, size_t count, const char *next, void *data) {
            auto p = Own<Pending>(data);
            if (status < 0) return p->Reject(status);
            p->Resolve([files, count, next](Napi::Env e) {
              auto arr = Napi::Array::New(e, count);
              for (size_t i = 0; i < count; i++) arr.Set(i, StatObject(e, files[i]));
              auto o = Napi::Object::New(e);
              o.Set("files", arr);
              o.Set("cursor", next ? Napi::Value(Napi::String::New(e, next)) : e.Null());
              return o;
            });
          },
          p);
    });
  }

  Napi::Value DeleteId(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    std::string id = info[0].As<Napi::String>();
    return Count(env, "hotpath.blobs.delete",
                 [&](hp_blob_cb cb, void *p) { return hp_blobs_delete_id(Handle(env), id.c_str(), cb, p); });
  }

  Napi::Value DeleteName(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    std::string name = info[0].As<Napi::String>();
    return Count(env, "hotpath.blobs.delete", [&](hp_blob_cb cb, void *p) {
      return hp_blobs_delete_name(Handle(env), name.c_str(), cb, p);
    });
  }

  Napi::Value Gc(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    return Count(env, "hotpath.blobs.gc",
                 [&](hp_blob_cb cb, void *p) { return hp_blobs_gc(Handle(env), cb, p); });
  }

  Napi::Value Close(const Napi::CallbackInfo &info) {
    hp_blobs_close(b_, nullptr, nullptr);
    b_ = nullptr;
    return info.Env().Undefined();
  }

  // A promise of the callback's count.
  template <class Start>
  static Napi::Value Count(Napi::Env env, const char *name, Start &&start) {
    return StartPromise(env, name, [&](Pending *p) {
      return start(
          [](int status, void *data) {
            auto p = Own<Pending>(data);
            if (status < 0) return p->Reject(status);
            p->Resolve([status](Napi::Env e) { return Napi::Number::New(e, status); });
          },
          p);
    });
  }

  hp_blobs *b_ = nullptr;
};

}  // namespace

// releaseBuffer(view) -> boolean: detaches the ArrayBuffer under a view that
// spans all of it, which frees its memory now (lib/blobs.js says when that
// is safe); false for a view of part of one (a pooled small Buffer).
static Napi::Value ReleaseBuffer(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  auto view = info[0].As<Napi::TypedArray>();
  Napi::ArrayBuffer ab = view.ArrayBuffer();
  if (ab.IsDetached() || view.ByteOffset() != 0 || view.ByteLength() != ab.ByteLength())
    return Napi::Boolean::New(env, false);
  // Not detachable (shared or wasm memory): left as it is.
  return Napi::Boolean::New(env, napi_detach_arraybuffer(env, ab) == napi_ok);
}

void InitBlobs(Napi::Env env, Napi::Object exports) {
  exports.Set("releaseBuffer", Napi::Function::New<ReleaseBuffer>(env, "releaseBuffer"));
  exports.Set("BlobStore", BlobStore::Define(env));
  exports.Set("BlobWriter", BlobWriter::Define(env));
  exports.Set("BlobReader", BlobReader::Define(env));
}

}  // namespace hp_node
