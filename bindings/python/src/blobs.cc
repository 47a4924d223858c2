// Blob stores. Every call waits on the engine's loop without the GIL (the
// blocking API) or reports to a Python callable there (the *_cb variants,
// for asyncio). Readers and writers are blocking only; the package runs
// them in a thread for asyncio.
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "module.h"
#include "observe.h"

namespace hp_py {

namespace {

struct StatCopy {
  std::string id, filename, content_type, sha256, metadata;
  uint64_t length = 0;
  uint32_t chunk_size = 0;
  int64_t upload_date_ms = 0, revision = 0;
};

StatCopy copy_stat(const hp_blob_stat *s) {
  StatCopy c;
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

py::dict stat_to_py(const StatCopy &s) {
  py::dict d;
  d["id"] = s.id;
  d["filename"] = s.filename;
  d["length"] = s.length;
  d["chunk_size"] = s.chunk_size;
  d["upload_date_ms"] = s.upload_date_ms;
  d["content_type"] = s.content_type;
  d["sha256"] = s.sha256.empty() ? py::object(py::none()) : py::object(py::str(s.sha256));
  d["metadata_json"] = s.metadata;
  d["revision"] = s.revision;
  return d;
}

// Everything one callback can produce, copied out of it.
struct Out {
  int code = 0;
  std::optional<StatCopy> stat;
  std::vector<StatCopy> files;
  std::optional<std::string> cursor;
  std::string bytes;
  hp_blob_reader *reader = nullptr;
  // A whole read (hp_blobs_get()): the engine's piece, copied once, into
  // the bytes object.
  std::shared_ptr<hp_blob_piece> piece;
};

enum class Kind { Stat, Bool, Count, List, Bytes, None };

py::bytes piece_bytes(const Out &o) {
  size_t len = 0;
  const void *p = hp_blob_piece_bytes(o.piece.get(), &len);
  return py::bytes(static_cast<const char *>(p), len);
}

py::object to_py(Kind kind, const Out &o) {
  switch (kind) {
    case Kind::Stat:
      return o.stat ? py::object(stat_to_py(*o.stat)) : py::object(py::none());
    case Kind::Bool:
      return py::bool_(o.code > 0);
    case Kind::Count:
      return py::int_(o.code);
    case Kind::List: {
      py::list files;
      for (const auto &f : o.files) files.append(stat_to_py(f));
      return py::make_tuple(files, o.cursor ? py::object(py::str(*o.cursor)) : py::object(py::none()));
    }
    case Kind::Bytes:
      return piece_bytes(o);
    default:
      return py::none();
  }
}

// Where a callback's result goes: a blocked Python thread or a Python
// callable (asyncio).
struct Sink {
  Kind kind;
  std::shared_ptr<Waiter<Out>> waiter;
  py::object fn;  // touched only with the GIL

  void done(int status, Out o) {
    o.code = status;
    if (waiter) {
      waiter->set(status, std::move(o), status < 0 ? hp_last_error() : "");
      return;
    }
    std::string err = status < 0 ? hp_last_error() : "";
    py::gil_scoped_acquire gil;
    call_back(fn, status, status < 0 ? err.c_str() : nullptr,
              status < 0 ? py::object(py::none()) : to_py(kind, o));
    fn = py::object();
  }
};

void on_stat(int status, const hp_blob_stat *st, void *data) {
  std::unique_ptr<Sink> s(static_cast<Sink *>(data));
  Out o;
  if (status >= 0 && st) o.stat = copy_stat(st);
  s->done(status, std::move(o));
}

void on_get(int status, const hp_blob_stat *, hp_blob_piece *piece, void *data) {
  std::unique_ptr<Sink> s(static_cast<Sink *>(data));
  Out o;
  o.piece = std::shared_ptr<hp_blob_piece>(piece, hp_blob_piece_free);
  s->done(status, std::move(o));
}

void on_code(int status, void *data) {
  std::unique_ptr<Sink> s(static_cast<Sink *>(data));
  s->done(status, Out{});
}

void on_list(int status, const hp_blob_stat *files, size_t n, const char *next, void *data) {
  std::unique_ptr<Sink> s(static_cast<Sink *>(data));
  Out o;
  for (size_t i = 0; status >= 0 && i < n; i++) o.files.push_back(copy_stat(&files[i]));
  if (next) o.cursor = next;
  s->done(status, std::move(o));
}

// Starts a call that reports to a waiter, and waits for it without the GIL.
template <class Start>
Out wait_for(Kind kind, Start &&begin) {
  auto waiter = std::make_shared<Waiter<Out>>();
  auto *s = new Sink{kind, waiter, py::object()};
  int rc;
  {
    py::gil_scoped_release release;
    rc = begin(s);
  }
  if (rc < 0) {
    delete s;
    raise_error(rc);
  }
  return waiter->wait();
}

template <class Start>
void start_cb(Kind kind, py::function fn, Start &&begin) {
  auto *s = new Sink{kind, nullptr, std::move(fn)};
  int rc = begin(s);
  if (rc < 0) {
    s->fn = py::object();
    delete s;
    raise_error(rc);
  }
}

// The file a call names: an id, or a filename and a revision.
struct Select {
  std::optional<std::string> id, filename;
  int64_t revision;
  hp_blob_read_options options(uint64_t start = 0, uint64_t end = HP_BLOB_EOF) const {
    hp_blob_read_options o = HP_BLOB_READ_OPTIONS_INIT;
    o.id = id ? id->c_str() : nullptr;
    o.filename = filename ? filename->c_str() : nullptr;
    o.revision = revision;
    o.start = start;
    o.end = end;
    return o;
  }
};

class BlobWriter {
 public:
  explicit BlobWriter(hp_blob_writer *w) : w_(w) {}
  ~BlobWriter() { hp_blob_writer_close(w_, nullptr, nullptr); }

  std::string id() { return hp_blob_writer_id(handle()); }

  // Blocks until the writer takes more (bounded memory whatever the size).
  void write(const py::buffer &data) {
    hp_blob_writer *w = handle();
    py::buffer_info info = data.request();
    if (info.size > 0 && (info.ndim != 1 || info.strides[0] != info.itemsize))
      raise_error(HP_EINVAL, "blobs: write needs a contiguous one-dimensional buffer");
    size_t len = static_cast<size_t>(info.size * info.itemsize);
    wait_for(Kind::None, [&](Sink *s) { return hp_blob_writer_write(w, info.ptr, len, on_code, s); });
  }
  py::object commit() {
    hp_blob_writer *w = handle();
    Out o = wait_for(Kind::Stat, [&](Sink *s) { return hp_blob_writer_commit(w, on_stat, s); });
    return to_py(Kind::Stat, o);
  }
  void abort() {
    hp_blob_writer *w = handle();
    wait_for(Kind::None, [&](Sink *s) { return hp_blob_writer_abort(w, on_code, s); });
  }
  void close() {
    hp_blob_writer *w = w_;
    w_ = nullptr;
    hp_blob_writer_close(w, nullptr, nullptr);
  }
  bool closed() const { return w_ == nullptr; }

 private:
  hp_blob_writer *handle() {
    if (!w_) raise_error(HP_ECLOSED, "blobs: the writer is closed");
    return w_;
  }
  hp_blob_writer *w_;
};

void on_piece(int status, const void *buf, size_t len, void *data) {
  std::unique_ptr<Sink> s(static_cast<Sink *>(data));
  Out o;
  if (status > 0) o.bytes.assign(static_cast<const char *>(buf), len);
  s->done(status, std::move(o));
}

class BlobReader {
 public:
  explicit BlobReader(hp_blob_reader *r) : r_(r) {}
  ~BlobReader() { hp_blob_reader_close(r_, nullptr, nullptr); }

  py::dict stat() { return stat_to_py(copy_stat(hp_blob_reader_stat(handle()))); }
  // The next bytes of the range into `into` (whole chunks when it holds
  // one, see hp_blob_reader_read_into()), without the GIL; 0 at its end.
  int read_into(const py::buffer &into) {
    hp_blob_reader *r = handle();
    py::buffer_info info = into.request(true);
    if (info.ndim != 1 || info.strides[0] != info.itemsize)
      raise_error(HP_EINVAL, "blobs: read_into needs a contiguous one-dimensional buffer");
    size_t cap = static_cast<size_t>(info.size * info.itemsize);
    if (cap == 0) return 0;
    return wait_for(Kind::None,
                    [&](Sink *s) { return hp_blob_reader_read_into(r, info.ptr, cap, on_code, s); })
        .code;
  }
  // The next piece of the range (at most one chunk); b"" at its end.
  py::bytes read_next() {
    hp_blob_reader *r = handle();
    Out o = wait_for(Kind::None, [&](Sink *s) { return hp_blob_reader_read(r, on_piece, s); });
    return py::bytes(o.bytes);
  }
  void close() {
    hp_blob_reader *r = r_;
    r_ = nullptr;
    hp_blob_reader_close(r, nullptr, nullptr);
  }
  bool closed() const { return r_ == nullptr; }

 private:
  hp_blob_reader *handle() {
    if (!r_) raise_error(HP_ECLOSED, "blobs: the reader is closed");
    return r_;
  }
  hp_blob_reader *r_;
};

void on_open(int status, hp_blob_reader *r, const hp_blob_stat *, void *data) {
  std::unique_ptr<Sink> s(static_cast<Sink *>(data));
  Out o;
  o.reader = r;
  s->done(status, std::move(o));
}

class Blobs {
 public:
  Blobs(Engine &engine, const std::string &spec, uint32_t chunk_size, uint32_t timeout_ms,
        const std::string &prefix, uint32_t lease_ms, bool durable) {
    hp_blobs_options o = HP_BLOBS_OPTIONS_INIT;
    if (durable) o.flags |= HP_BLOBS_DURABLE;
    o.chunk_size = chunk_size;
    o.timeout_ms = timeout_ms;
    o.prefix = prefix.c_str();
    o.lease_ms = lease_ms;
    hp_engine *e = engine.get();
    int rc;
    {
      py::gil_scoped_release release;
      rc = hp_blobs_open(&b_, e, spec.c_str(), &o);
    }
    check(rc);
  }
  ~Blobs() { hp_blobs_close(b_, nullptr, nullptr); }

  std::string backend() { return hp_blobs_backend(handle()) == HP_BACKEND_SQLITE ? "sqlite" : "redis"; }
  uint32_t chunk_size() { return hp_blobs_chunk_size(handle()); }
  py::dict stats() {
    hp_blobs_stats s = HP_BLOBS_STATS_INIT;
    check(hp_blobs_stats_get(&s, handle()));
    return blobs_stats_dict(s, hp_blobs_backend(handle()) == HP_BACKEND_REDIS);
  }
  void close() {
    hp_blobs_close(b_, nullptr, nullptr);
    b_ = nullptr;
  }
  bool closed() const { return b_ == nullptr; }

  std::unique_ptr<BlobWriter> open_write(const std::string &filename,
                                         const std::optional<std::string> &content_type,
                                         const std::optional<std::string> &metadata_json, uint32_t chunk_size,
                                         bool sha256, uint32_t buffer_bytes) {
    hp_blob_write_options o = HP_BLOB_WRITE_OPTIONS_INIT;
    o.content_type = content_type ? content_type->c_str() : nullptr;
    o.metadata_json = metadata_json ? metadata_json->c_str() : nullptr;
    o.chunk_size = chunk_size;
    o.flags = sha256 ? 0 : HP_BLOB_WRITE_NO_SHA256;
    o.buffer_bytes = buffer_bytes;
    hp_blob_writer *w = nullptr;
    check(hp_blobs_open_write(&w, handle(), filename.c_str(), &o));
    return std::make_unique<BlobWriter>(w);
  }

  std::unique_ptr<BlobReader> open_read(const std::optional<std::string> &id,
                                        const std::optional<std::string> &filename, int64_t revision,
                                        uint64_t start, uint64_t end) {
    hp_blobs *b = handle();
    Select sel{id, filename, revision};
    hp_blob_read_options o = sel.options(start, end);
    Out out = wait_for(Kind::None, [&](Sink *s) { return hp_blobs_open_read(b, &o, on_open, s); });
    return std::make_unique<BlobReader>(out.reader);
  }

  // The range whole, found and read by one call (hp_blobs_get()); LimitError
  // past max_bytes.
  py::bytes get(const std::optional<std::string> &id, const std::optional<std::string> &filename, int64_t rev,
                uint64_t start, uint64_t end, uint64_t max_bytes) {
    hp_blobs *b = handle();
    Select sel{id, filename, rev};  // owns the strings `o` points at
    hp_blob_read_options o = sel.options(start, end);
    Out out = wait_for(Kind::Bytes, [&](Sink *s) { return hp_blobs_get(b, &o, max_bytes, on_get, s); });
    return piece_bytes(out);
  }

  py::object stat(const std::optional<std::string> &id, const std::optional<std::string> &filename,
                  int64_t rev) {
    hp_blobs *b = handle();
    Select sel{id, filename, rev};  // owns the strings `o` points at
    hp_blob_read_options o = sel.options();
    return to_py(Kind::Stat, wait_for(Kind::Stat, [&](Sink *s) { return hp_blobs_stat(b, &o, on_stat, s); }));
  }
  bool exists(const std::optional<std::string> &id, const std::optional<std::string> &filename, int64_t rev) {
    hp_blobs *b = handle();
    Select sel{id, filename, rev};  // owns the strings `o` points at
    hp_blob_read_options o = sel.options();
    return wait_for(Kind::Bool, [&](Sink *s) { return hp_blobs_exists(b, &o, on_code, s); }).code > 0;
  }
  py::object list(const std::string &prefix, const std::optional<std::string> &cursor, uint32_t limit,
                  bool latest_only) {
    hp_blobs *b = handle();
    hp_blob_list_options o = list_options(prefix, cursor, limit, latest_only);
    return to_py(Kind::List, wait_for(Kind::List, [&](Sink *s) { return hp_blobs_list(b, &o, on_list, s); }));
  }
  int delete_id(const std::string &id) {
    hp_blobs *b = handle();
    return wait_for(Kind::Count, [&](Sink *s) { return hp_blobs_delete_id(b, id.c_str(), on_code, s); }).code;
  }
  int delete_name(const std::string &name) {
    hp_blobs *b = handle();
    return wait_for(Kind::Count, [&](Sink *s) { return hp_blobs_delete_name(b, name.c_str(), on_code, s); })
        .code;
  }
  int gc() {
    hp_blobs *b = handle();
    return wait_for(Kind::Count, [&](Sink *s) { return hp_blobs_gc(b, on_code, s); }).code;
  }

  // Callback variants for asyncio: fn(error, value) on the loop thread.
  void stat_cb(const std::optional<std::string> &id, const std::optional<std::string> &filename, int64_t rev,
               py::function fn) {
    hp_blobs *b = handle();
    Select sel{id, filename, rev};  // owns the strings `o` points at
    hp_blob_read_options o = sel.options();
    start_cb(Kind::Stat, std::move(fn), [&](Sink *s) { return hp_blobs_stat(b, &o, on_stat, s); });
  }
  void get_cb(const std::optional<std::string> &id, const std::optional<std::string> &filename, int64_t rev,
              uint64_t start, uint64_t end, uint64_t max_bytes, py::function fn) {
    hp_blobs *b = handle();
    Select sel{id, filename, rev};  // owns the strings `o` points at
    hp_blob_read_options o = sel.options(start, end);
    start_cb(Kind::Bytes, std::move(fn), [&](Sink *s) { return hp_blobs_get(b, &o, max_bytes, on_get, s); });
  }
  void exists_cb(const std::optional<std::string> &id, const std::optional<std::string> &filename,
                 int64_t rev, py::function fn) {
    hp_blobs *b = handle();
    Select sel{id, filename, rev};  // owns the strings `o` points at
    hp_blob_read_options o = sel.options();
    start_cb(Kind::Bool, std::move(fn), [&](Sink *s) { return hp_blobs_exists(b, &o, on_code, s); });
  }
  void list_cb(const std::string &prefix, const std::optional<std::string> &cursor, uint32_t limit,
               bool latest_only, py::function fn) {
    hp_blobs *b = handle();
    hp_blob_list_options o = list_options(prefix, cursor, limit, latest_only);
    start_cb(Kind::List, std::move(fn), [&](Sink *s) { return hp_blobs_list(b, &o, on_list, s); });
  }
  void delete_id_cb(const std::string &id, py::function fn) {
    hp_blobs *b = handle();
    start_cb(Kind::Count, std::move(fn),
             [&](Sink *s) { return hp_blobs_delete_id(b, id.c_str(), on_code, s); });
  }
  void delete_name_cb(const std::string &name, py::function fn) {
    hp_blobs *b = handle();
    start_cb(Kind::Count, std::move(fn),
             [&](Sink *s) { return hp_blobs_delete_name(b, name.c_str(), on_code, s); });
  }

 private:
  hp_blobs *handle() {
    if (!b_) raise_error(HP_ECLOSED, "blobs: the store is closed");
    return b_;
  }
  static hp_blob_list_options list_options(const std::string &prefix,
                                           const std::optional<std::string> &cursor, uint32_t limit,
                                           bool latest_only) {
    hp_blob_list_options o = HP_BLOB_LIST_OPTIONS_INIT;
    o.prefix = prefix.c_str();
    o.cursor = cursor ? cursor->c_str() : nullptr;
    o.limit = limit;
    o.latest_only = latest_only ? 1 : 0;
    return o;
  }
  hp_blobs *b_ = nullptr;
};

}  // namespace

void init_blobs(py::module_ &m) {
  py::class_<BlobWriter>(m, "BlobWriter")
      .def("id", &BlobWriter::id)
      .def("write", &BlobWriter::write, py::arg("data"))
      .def("commit", &BlobWriter::commit)
      .def("abort", &BlobWriter::abort)
      .def("close", &BlobWriter::close)
      .def_property_readonly("closed", &BlobWriter::closed);
  py::class_<BlobReader>(m, "BlobReader")
      .def("stat", &BlobReader::stat)
      .def("read_next", &BlobReader::read_next)
      .def("read_into", &BlobReader::read_into, py::arg("into"))
      .def("close", &BlobReader::close)
      .def_property_readonly("closed", &BlobReader::closed);
  py::class_<Blobs>(m, "Blobs")
      .def(py::init<Engine &, const std::string &, uint32_t, uint32_t, const std::string &, uint32_t, bool>(),
           py::arg("engine"), py::arg("spec"), py::arg("chunk_size"), py::arg("timeout_ms"),
           py::arg("prefix"), py::arg("lease_ms"), py::arg("durable"))
      .def("backend", &Blobs::backend)
      .def("chunk_size", &Blobs::chunk_size)
      .def("stats", &Blobs::stats)
      .def("close", &Blobs::close)
      .def_property_readonly("closed", &Blobs::closed)
      .def("open_write", &Blobs::open_write)
      .def("open_read", &Blobs::open_read)
      .def("get", &Blobs::get)
      .def("stat", &Blobs::stat)
      .def("exists", &Blobs::exists)
      .def("list", &Blobs::list)
      .def("delete_id", &Blobs::delete_id)
      .def("delete_name", &Blobs::delete_name)
      .def("gc", &Blobs::gc)
      .def("get_cb", &Blobs::get_cb)
      .def("stat_cb", &Blobs::stat_cb)
      .def("exists_cb", &Blobs::exists_cb)
      .def("list_cb", &Blobs::list_cb)
      .def("delete_id_cb", &Blobs::delete_id_cb)
      .def("delete_name_cb", &Blobs::delete_name_cb);
}

}  // namespace hp_py
