#include "recipes/set.h"

#include <charconv>
#include <chrono>

#include "core/error.h"
#include "core/guard.h"
#include "recipes/json_value.h"
#include "recipes/subscription.h"
#include "recipes/watch.h"

namespace hp::recipes {

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Table::Table(Set *s, std::string n, TableSpec sp, std::string ut)
    : set(s), name(std::move(n)), spec(std::move(sp)), update_type(std::move(ut)), cur(new Snapshot()) {}

Table::~Table() { delete cur.load(); }

bool Table::make_key(const hp_recipe_key &in, Key *out, char (&tmp)[24]) const {
  out->is_str = spec.key_is_str;
  if (spec.key_is_str) {
    if (in.str) {
      out->str = std::string_view(in.str, in.len);
    } else {
      auto r = std::to_chars(tmp, tmp + sizeof tmp, in.num);
      out->str = std::string_view(tmp, static_cast<size_t>(r.ptr - tmp));
    }
    return true;
  }
  if (!in.str) {
    out->num = in.num;
    return true;
  }
  // Decimal text only: "12" finds 12, "12abc" finds nothing.
  const char *b = in.str, *e = in.str + in.len;
  auto r = std::from_chars(b, e, out->num);
  return r.ec == std::errc() && r.ptr == e && in.len > 0;
}

int Set::open(Set **out, core::Engine *engine) {
  std::unique_ptr<Set> s(new Set(engine));
  Set *raw = s.get();
  // Until it runs, a close finds the set unregistered and waits for it in
  // the queue (the loop runs posted work in order).
  int rc = engine->post([raw](bool closing) {
    if (closing || raw->shut_) return;
    raw->engine()->add(raw);
    raw->registered_ = true;
  });
  if (rc != 0) return rc;
  *out = s.release();
  return 0;
}

Set::Set(core::Engine *e) : core::Handle(e) {}
Set::~Set() = default;

int Set::define(Table **out, const std::string &name, TableSpec spec, std::string update_type) {
  std::lock_guard<std::mutex> lock(tables_mu_);
  if (closed()) return core::set_error(HP_ECLOSED, "recipes: closed");
  for (auto &t : tables_)
    if (t->name == name) return core::set_error(HP_EINVAL, "recipes: a table called '", name, "' exists already");
  tables_.push_back(std::make_unique<Table>(this, name, std::move(spec), std::move(update_type)));
  *out = tables_.back().get();
  return 0;
}

Table *Set::find(const std::string &name) {
  std::lock_guard<std::mutex> lock(tables_mu_);
  for (auto &t : tables_)
    if (t->name == name) return t.get();
  return nullptr;
}

Table *Set::find_for_update(std::string_view type) {
  std::lock_guard<std::mutex> lock(tables_mu_);
  for (auto &t : tables_)
    if (t->update_type == type) return t.get();
  return nullptr;
}

void Set::shutdown(std::function<void(int)> done) {
  done_ = std::move(done);
  stop();
}

void Set::close_now() { stop(); }

void Set::stop() {
  if (shut_) {
    maybe_finish();
    return;
  }
  shut_ = true;
  {
    // stop() only begins closing a watch's handles: none leaves its list here.
    std::lock_guard<std::mutex> lock(tables_mu_);
    for (auto &t : tables_)
      for (Watch *w = t->watches; w; w = w->next_in_table_) w->stop();
  }
  // One at a time, without the lock (a stop may call back into the set)
  // and without a copy of the list (stopping must not need memory).
  for (size_t i = 0;; i++) {
    Subscription *s;
    {
      std::lock_guard<std::mutex> lock(tables_mu_);
      if (i >= subs_.size()) break;
      s = subs_[i].get();
    }
    s->stop();
  }
  maybe_finish();
}

void Set::maybe_finish() {
  if (!shut_ || loads_ > 0 || watches_ > 0 || subscriptions_ > 0) return;
  if (registered_) {
    registered_ = false;
    engine()->remove(this);
  }
  // Once the user closed too: the set is freed inside done.
  if (done_) std::exchange(done_, nullptr)(0);
}

void Set::watch_started(Table *t, Watch *w) {
  w->prev_in_table_ = nullptr;
  w->next_in_table_ = t->watches;
  if (t->watches) t->watches->prev_in_table_ = w;
  t->watches = w;
  watches_++;
}

void Set::watch_gone(Table *t, Watch *w) {
  if (w->prev_in_table_)
    w->prev_in_table_->next_in_table_ = w->next_in_table_;
  else
    t->watches = w->next_in_table_;
  if (w->next_in_table_) w->next_in_table_->prev_in_table_ = w->prev_in_table_;
  watches_--;
  maybe_finish();
}

Subscription *Set::adopt(std::unique_ptr<Subscription> sub) {
  std::lock_guard<std::mutex> lock(tables_mu_);
  subs_.push_back(std::move(sub));
  return subs_.back().get();
}

void Set::subscription_gone() {
  subscriptions_--;
  maybe_finish();
}

Snapshot *Set::make_snapshot(std::shared_ptr<const Base> base, std::shared_ptr<Overlay> overlay, bool key_is_str) {
  auto *s = new Snapshot();
  uint64_t size = base ? base->index.size() : 0;
  if (overlay) {
    overlay->index.each_owned([&](const std::shared_ptr<const OwnedRec> &o) {
      Key k = o->rec->key(key_is_str);
      bool in_base = base && base->index.find(k, hash_key(k)) != nullptr;
      if (o->rec->tombstone)
        size -= in_base ? 1 : 0;
      else
        size += in_base ? 0 : 1;
    });
    s->overlay = std::move(overlay);
  }
  s->base = std::move(base);
  s->size.store(size, std::memory_order_relaxed);
  return s;
}

void Set::publish(Table *t, Snapshot *next) {
  Snapshot *old = t->cur.exchange(next, std::memory_order_seq_cst);
  t->generation.fetch_add(1, std::memory_order_release);
  rcu().synchronize();
  delete old;
  // The grace period also covers what point updates replaced.
  next->overlay->index.reclaim();
  t->stats.size = next->size.load(std::memory_order_relaxed);
  t->stats.overlay_size = next->overlay->index.size();
  t->stats.memory_bytes = (next->base ? next->base->bytes() : 0);
}

void Set::stats(Table *t, hp_recipes_stats *out) {
  std::lock_guard<std::mutex> lock(write_mu_);
  unsigned v = out->version;
  *out = t->stats;
  out->version = v;
}

void Set::resync() {
  std::vector<Table *> tables;
  {
    std::lock_guard<std::mutex> lock(tables_mu_);
    for (auto &t : tables_)
      if (!t->source_path.empty()) tables.push_back(t.get());
  }
  for (Table *t : tables)
    start_load(t, t->source_path, t->source_timestamp, t->source_whole_max,
               [](int, const hp_recipes_stats *, const FileSig &) {});
}

void Set::start_load(Table *t, const std::string &path, int64_t timestamp, uint64_t whole_max, LoadDone done) {
  if (shut_) {
    core::set_error(HP_ECLOSED, "recipes: closed before the load started");
    done(HP_ECLOSED, nullptr, FileSig());
    return;
  }
  std::shared_ptr<const Base> previous;
  {
    std::lock_guard<std::mutex> lock(write_mu_);
    previous = t->cur.load()->base;
  }
  auto outcome = std::make_shared<LoadOutcome>();
  loads_++;
  try {
    engine()->queue_work(
        [outcome, t, path, timestamp, whole_max, previous]() mutable {
          try {
            *outcome = load_file(t->spec, path, timestamp, whole_max, std::move(previous));
          } catch (const std::bad_alloc &) {
            outcome->status = core::Status{HP_ENOMEM, path + ": out of memory", 0, {}, {}};
            outcome->base.reset();
          } catch (const std::exception &e) {
            outcome->status = core::Status{HP_EINTERNAL, path + ": " + e.what(), 0, {}, {}};
            outcome->base.reset();
          }
        },
        [this, t, outcome, path, timestamp, whole_max, done = std::move(done)](int status) {
          // The load counts until the end: `done` may end the last watch,
          // which must not free the set under this function.
          if (status == HP_ECLOSED || shut_) {
            core::set_error(HP_ECLOSED, "recipes: closed during the load of a table");
            done(HP_ECLOSED, nullptr, outcome->sig);
          } else if (status < 0) {
            // The pool job threw (out of memory in its own handler).
            core::set_error(status, "recipes_load: out of memory");
            done(status, nullptr, outcome->sig);
          } else if (outcome->status.code < 0) {
            {
              std::lock_guard<std::mutex> lock(write_mu_);
              t->stats.load_failures++;
            }
            done(outcome->status.raise(), nullptr, outcome->sig);
          } else {
            hp_recipes_stats copy;
            int rc = core::guard("recipes_load", [&] {
              std::lock_guard<std::mutex> lock(write_mu_);
              std::shared_ptr<const Base> base = std::move(outcome->base);
              // Point updates newer than the file survive the reload.
              auto keep = std::make_shared<Overlay>();
              t->cur.load()->overlay->index.each_owned([&](const std::shared_ptr<const OwnedRec> &o) {
                if (o->rec->timestamp <= base->timestamp) return;
                Key k = o->rec->key(t->spec.key_is_str);
                keep->index.put(k, hash_key(k), o);
              });
              publish(t, make_snapshot(std::move(base), std::move(keep), t->spec.key_is_str));
              t->source_path = path;
              t->source_timestamp = timestamp;
              t->source_whole_max = whole_max;
              hp_recipes_stats &s = t->stats;
              s.loads++;
              s.last_load_at = now_ms();
              s.last_load_ms = outcome->ms;
              s.file_timestamp = t->cur.load()->base->timestamp;
              s.file_bytes = outcome->sig.size;
              s.json_bytes = outcome->json_bytes;
              s.items = outcome->items;
              s.skipped = outcome->skipped;
              s.duplicates = outcome->duplicates;
              s.embedded_errors = outcome->embedded_errors;
              s.rule_errors = outcome->rule_errors;
              copy = s;
              return 0;
            });
            // Out of memory before publish: the table keeps what it had.
            if (rc == 0) core::clear_error();
            done(rc, rc == 0 ? &copy : nullptr, outcome->sig);
          }
          loads_--;
          maybe_finish();
        });
  } catch (...) {  // queue_work() throws only before it queued anything
    loads_--;
    throw;
  }
}

namespace {

bool key_from_json(const JValue *id, bool key_is_str, int64_t *num, std::string *str) {
  if (!id) return false;
  if (key_is_str) {
    if (id->kind == JValue::kString || id->kind == JValue::kNumber) {
      *str = id->text;
      return !str->empty();
    }
    return false;
  }
  if (id->kind == JValue::kNumber) return integer_of(id->text, num);
  if (id->kind == JValue::kString) return integer_of(id->text, num);
  return false;
}

}  // namespace

int Set::update(std::string_view msg) {
  if (closed()) return core::set_error(HP_ECLOSED, "recipes: closed");
  JValue m;
  std::string err;
  if (!parse_value(msg, &m, &err)) return core::set_error(HP_EINVAL, "recipes update: invalid JSON: ", err);
  if (m.kind != JValue::kObject) return core::set_error(HP_EINVAL, "recipes update: the message is not a JSON object");
  const JValue *type = m.get("type");
  if (!type || !type->is_string()) return core::set_error(HP_EINVAL, "recipes update: 'type' must be a string");
  Table *t = find_for_update(type->text);
  if (!t) return core::set_error(HP_EINVAL, "recipes update: no table takes updates of type '", type->text, "'");
  const JValue *action = m.get("action");
  if (!action || !action->is_string() || (action->text != "updateOrCreate" && action->text != "delete"))
    return core::set_error(HP_EINVAL, "recipes update: 'action' must be 'updateOrCreate' or 'delete'");
  bool remove = action->text == "delete";
  int64_t num = 0;
  std::string str;
  if (!key_from_json(m.get("id"), t->spec.key_is_str, &num, &str))
    return core::set_error(HP_EINVAL, "recipes update: 'id' is missing or not a valid ", t->spec.key_is_str ? "string" : "integer", " key");
  int64_t ts = 0;
  const JValue *tsv = m.get("timestamp");
  if (!tsv || tsv->kind == JValue::kNull) {
    ts = now_ms();
  } else if (!((tsv->kind == JValue::kNumber || tsv->kind == JValue::kString) && integer_of(tsv->text, &ts))) {
    return core::set_error(HP_EINVAL, "recipes update: 'timestamp' must be an integer (Unix ms)");
  }

  // Build the record before taking the lock.
  Item item;
  if (!remove) {
    const JValue *body = m.get("body");
    std::string text;
    if (body && body->is_string()) {
      text = body->text;
    } else if (body && body->kind == JValue::kObject) {
      text.assign(body->raw);
    } else {
      return core::set_error(HP_EINVAL, "recipes update: 'body' must be the record as a JSON string or object");
    }
    if (text.size() > t->spec.max_item_bytes)
      return core::set_error(HP_ELIMIT, "recipes update: a body of ", std::to_string(text.size()),
                             " bytes is over max_item_bytes (", std::to_string(t->spec.max_item_bytes), ")");
    text.push_back(' ');
    RecordParser parser(t->spec);
    const char *p = text.data(), *end = p + text.size();
    while (p < end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')) p++;
    try {
      if (p >= end) throw ParseError{p, "empty body"};
      p = parser.parse_item(p, end, &item);
      while (p < end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')) p++;
      if (p != end) throw ParseError{p, "unexpected text after the record"};
    } catch (const NeedMore &) {
      return core::set_error(HP_ECORRUPT, "recipes update: body: unexpected end of input");
    } catch (const ParseError &e) {
      return core::set_error(HP_ECORRUPT, "recipes update: body: byte ", std::to_string(e.pos - text.data()), ": ",
                             e.reason);
    }
    if (item.status == Item::kNotObject) return core::set_error(HP_ECORRUPT, "recipes update: body is not a JSON object");
    if (item.status == Item::kRecord &&
        (t->spec.key_is_str ? item.str_key != str : item.num != num))
      return core::set_error(HP_EINVAL, "recipes update: the body's ", t->spec.key_field, " differs from 'id'");
  }
  item.num = num;
  item.str_key = str;

  auto owned = std::make_shared<OwnedRec>();
  std::string_view key = t->spec.key_is_str ? std::string_view(str) : std::string_view();
  if (remove) item.tape.clear();
  owned->mem.reset(new char[Rec::size_for(key.size(), item.tape.tape().size())]);
  Rec *rec = Rec::init(owned->mem.get(), key, item.tape, num, ts);
  rec->tombstone = remove ? 1 : 0;
  owned->rules = std::move(item.rules);
  rec->rules = owned->rules.get();
  owned->rec = rec;
  Key k = rec->key(t->spec.key_is_str);
  uint64_t h = hash_key(k);

  std::lock_guard<std::mutex> lock(write_mu_);
  if (closed()) return core::set_error(HP_ECLOSED, "recipes: closed");
  Snapshot *cur = t->cur.load();
  OverlayIndex &overlay = cur->overlay->index;
  const Rec *newer = overlay.find(k, h);
  if ((newer && newer->timestamp >= ts) || (cur->base && ts <= cur->base->timestamp)) {
    t->stats.updates_stale++;
    return HP_RECIPES_STALE;
  }
  const Rec *current = cur->find(k, h);
  rec->version = 0;
  if (current && !remove && same_json(current, rec)) rec->version = current->version;
  if (!rec->version) rec->version = next_record_version();
  // In place: no copy of the other updates, no new snapshot.
  overlay.put(k, h, std::move(owned));
  uint64_t size = cur->size.load(std::memory_order_relaxed) + (remove ? 0 : 1) - (current ? 1 : 0);
  cur->size.store(size, std::memory_order_relaxed);
  t->generation.fetch_add(1, std::memory_order_release);
  // Replaced records wait for a grace period in batches, so the wait for
  // readers is paid once per kRetireBatch updates, not on each.
  if (overlay.retired() >= kRetireBatch) {
    rcu().synchronize();
    overlay.reclaim();
  }
  t->stats.size = size;
  t->stats.overlay_size = overlay.size();
  t->stats.updates_applied++;
  return HP_RECIPES_APPLIED;
}

}  // namespace hp::recipes
