// Recipe tables for Python: a RecipeSet wraps one hp_recipes. Lookups keep
// the GIL (they are sub-microsecond); loads wait without it.
#include <memory>
#include <string>
#include <vector>

#include "module.h"
#include "observe.h"

namespace hp_py {

namespace {

// A Python key (int or str) as the C API takes it; str stays borrowed.
struct KeyArg {
  hp_recipe_key key{nullptr, 0, 0};
  std::string owned;
  explicit KeyArg(const py::handle &k) {
    if (PyLong_Check(k.ptr()) && !PyBool_Check(k.ptr())) {
      int overflow = 0;
      long long v = PyLong_AsLongLongAndOverflow(k.ptr(), &overflow);
      if (overflow) {
        owned = py::str(k);  // cannot exist as an int64 key: look it up as text
        key.str = owned.data();
        key.len = owned.size();
        return;
      }
      key.num = v;
    } else if (PyUnicode_Check(k.ptr())) {
      Py_ssize_t len = 0;
      const char *s = PyUnicode_AsUTF8AndSize(k.ptr(), &len);
      if (!s) throw py::error_already_set();
      key.str = s;
      key.len = static_cast<size_t>(len);
    } else {
      throw py::type_error("recipes: a key must be an int or a str");
    }
  }
};

py::dict stats_dict(const hp_recipes_stats &s) {
  py::dict d;
  d["size"] = s.size;
  d["loads"] = s.loads;
  d["load_failures"] = s.load_failures;
  d["last_load_at"] = s.last_load_at;
  d["last_load_ms"] = s.last_load_ms;
  d["file_timestamp"] = s.file_timestamp;
  d["file_bytes"] = s.file_bytes;
  d["json_bytes"] = s.json_bytes;
  d["memory_bytes"] = s.memory_bytes;
  d["items"] = s.items;
  d["skipped"] = s.skipped;
  d["duplicates"] = s.duplicates;
  d["embedded_errors"] = s.embedded_errors;
  d["rule_errors"] = s.rule_errors;
  d["updates_applied"] = s.updates_applied;
  d["updates_stale"] = s.updates_stale;
  d["overlay_size"] = s.overlay_size;
  return d;
}

struct WatchState {
  py::object fn;
  hp_recipes_watch *watch = nullptr;
};

struct SubState {
  py::object fn;
  hp_recipes_subscription *sub = nullptr;
};

class RecipeSet {
 public:
  explicit RecipeSet(Engine &engine) { check(hp_recipes_open(&set_, engine.get())); }
  ~RecipeSet() { close(); }

  void close() {
    if (set_) hp_recipes_close(set_, nullptr, nullptr);
    set_ = nullptr;
    subs_.clear();  // freed with the set
  }

  size_t define(const std::string &name, const std::string &key, bool key_is_str,
                const std::vector<std::string> &json_fields, std::optional<std::string> update_type,
                std::optional<std::string> geo_field, std::optional<std::string> target_field,
                uint64_t max_json_bytes, uint64_t max_items, uint64_t max_item_bytes) {
    std::vector<const char *> ptrs;
    for (const auto &f : json_fields) ptrs.push_back(f.c_str());
    hp_recipe_table_options o = HP_RECIPE_TABLE_OPTIONS_INIT;
    o.key_field = key.c_str();
    o.key_type = key_is_str ? HP_RECIPE_KEY_STRING : HP_RECIPE_KEY_INT;
    o.json_fields = ptrs.data();
    o.json_field_count = ptrs.size();
    o.update_type = update_type ? update_type->c_str() : nullptr;
    o.geo_rules_field = geo_field ? geo_field->c_str() : nullptr;
    o.target_rules_field = target_field ? target_field->c_str() : nullptr;
    o.max_json_bytes = max_json_bytes;
    o.max_items = max_items;
    o.max_item_bytes = max_item_bytes;
    hp_recipe_table *t = nullptr;
    check(hp_recipes_define(&t, set(), name.c_str(), &o));
    tables_.push_back(t);
    return tables_.size() - 1;
  }

  // Blocks without the GIL until the load is done.
  py::dict load(size_t idx, const std::string &path, int64_t timestamp, uint64_t whole_max) {
    hp_recipe_table *t = table(idx);
    hp_recipes_load_options o = HP_RECIPES_LOAD_OPTIONS_INIT;
    o.timestamp = timestamp;
    o.whole_inflate_max = whole_max;
    using W = Waiter<hp_recipes_stats>;
    auto waiter = std::make_shared<W>();
    auto *hold = new std::shared_ptr<W>(waiter);
    int rc = hp_recipes_load(
        t, path.c_str(), &o,
        [](int status, const hp_recipes_stats *s, void *data) {
          std::unique_ptr<std::shared_ptr<W>> w(static_cast<std::shared_ptr<W> *>(data));
          hp_recipes_stats copy = HP_RECIPES_STATS_INIT;
          if (s) copy = *s;
          (*w)->set(status, copy, status < 0 ? hp_last_error() : "");
        },
        hold);
    if (rc < 0) {
      delete hold;
      raise_error(rc);
    }
    return stats_dict(waiter->wait());
  }

  // fn(error, stats) on the loop thread (asyncio wrappers hand it over).
  void load_cb(size_t idx, const std::string &path, int64_t timestamp, uint64_t whole_max, py::function fn) {
    hp_recipe_table *t = table(idx);
    hp_recipes_load_options o = HP_RECIPES_LOAD_OPTIONS_INIT;
    o.timestamp = timestamp;
    o.whole_inflate_max = whole_max;
    auto *hold = new py::object(std::move(fn));
    int rc = hp_recipes_load(
        t, path.c_str(), &o,
        [](int status, const hp_recipes_stats *s, void *data) {
          py::gil_scoped_acquire gil;
          std::unique_ptr<py::object> f(static_cast<py::object *>(data));
          call_back(*f, status, status < 0 ? hp_last_error() : nullptr,
                    s ? py::object(stats_dict(*s)) : py::object(py::none()));
        },
        hold);
    if (rc < 0) {
      delete hold;
      raise_error(rc);
    }
  }

  // The record's version, 0 when the key is missing.
  uint64_t version(size_t idx, const py::handle &key) {
    KeyArg k(key);
    hp_recipe r = HP_RECIPE_INIT;
    if (check(hp_recipes_get(&r, table(idx), &k.key)) == 0) return 0;
    return r.record_version;
  }

  // (version, json text) or None.
  py::object get_json(size_t idx, const py::handle &key) {
    KeyArg k(key);
    hp_recipe_table *t = table(idx);
    hp_recipe r = HP_RECIPE_INIT;
    std::string buf;
    for (;;) {
      if (check(hp_recipes_get(&r, t, &k.key)) == 0) return py::none();
      if (r.buf && r.len < r.cap) break;
      buf.resize(r.len + 1);
      r.buf = buf.data();
      r.cap = buf.size();
    }
    return py::make_tuple(r.record_version, py::str(buf.data(), r.len));
  }

  uint64_t size(size_t idx) { return hp_recipes_size(table(idx)); }

  py::list keys(size_t idx) {
    struct Acc {
      std::vector<int64_t> nums;
      std::vector<std::string> strs;
    } acc;
    int n = hp_recipes_keys(
        table(idx),
        [](const char *s, size_t len, int64_t num, void *data) {
          auto *a = static_cast<Acc *>(data);
          if (s)
            a->strs.emplace_back(s, len);
          else
            a->nums.push_back(num);
          return 0;
        },
        &acc);
    check(n);
    py::list out;
    for (auto v : acc.nums) out.append(v);
    for (auto &s : acc.strs) out.append(py::str(s));
    return out;
  }

  py::dict stats(size_t idx) {
    hp_recipes_stats s = HP_RECIPES_STATS_INIT;
    check(hp_recipes_stats_get(&s, table(idx)));
    return stats_dict(s);
  }

  // (geo, target, rule, redirect_to) or None.
  py::object match(size_t idx, const py::handle &key, const std::vector<std::optional<std::string>> &dims) {
    KeyArg k(key);
    if (dims.size() != 7) throw py::value_error("recipes: match needs 7 dimensions");
    hp_recipes_context ctx = HP_RECIPES_CONTEXT_INIT;
    const char **slots[7] = {&ctx.country, &ctx.region, &ctx.city, &ctx.isp, &ctx.os, &ctx.browser, &ctx.device_type};
    for (int i = 0; i < 7; i++)
      if (dims[i]) *slots[i] = dims[i]->c_str();
    std::string redirect(2048, '\0');
    hp_recipes_match_result r = HP_RECIPES_MATCH_RESULT_INIT;
    r.redirect_buf = redirect.data();
    r.redirect_cap = redirect.size();
    if (check(hp_recipes_match(&r, table(idx), &k.key, &ctx)) == 0) return py::none();
    if (r.redirect_len >= r.redirect_cap) {
      redirect.assign(r.redirect_len + 1, '\0');
      r.redirect_buf = redirect.data();
      r.redirect_cap = redirect.size();
      if (check(hp_recipes_match(&r, table(idx), &k.key, &ctx)) == 0) return py::none();
    }
    py::object to = r.target != HP_RECIPES_RULE_NONE || r.redirect_len
                        ? py::object(py::str(redirect.data(), r.redirect_len))
                        : py::object(py::none());
    return py::make_tuple(r.geo, r.target, r.rule, to);
  }

  int update(const std::string &msg) { return check(hp_recipes_update(set(), msg.data(), msg.size())); }

  // fn(error, stats) runs on the loop thread after every reload attempt.
  int watch(size_t idx, const std::string &path, uint32_t interval_ms, uint32_t debounce_ms, bool load_now,
            py::function fn) {
    hp_recipes_watch_options o = HP_RECIPES_WATCH_OPTIONS_INIT;
    o.interval_ms = interval_ms;
    o.debounce_ms = debounce_ms;
    o.load_now = load_now ? 1 : 0;
    auto *w = new WatchState{std::move(fn), nullptr};
    int rc = hp_recipes_watch_file(
        &w->watch, table(idx), path.c_str(), &o,
        [](int status, const hp_recipes_stats *s, void *data) {
          auto *ws = static_cast<WatchState *>(data);
          py::gil_scoped_acquire gil;
          if (status == HP_ECLOSED) {
            delete ws;
            return;
          }
          call_back(ws->fn, status, status < 0 ? hp_last_error() : nullptr,
                    s ? py::object(stats_dict(*s)) : py::object(py::none()));
        },
        w);
    if (rc < 0) {
      delete w;
      raise_error(rc);
    }
    watches_.push_back(w);
    return static_cast<int>(watches_.size() - 1);
  }

  void unwatch(int id) {
    if (!set_ || id < 0 || static_cast<size_t>(id) >= watches_.size() || !watches_[id]) return;
    hp_recipes_unwatch(watches_[id]->watch);
    watches_[id] = nullptr;
  }

  // fn(error, status) runs on the loop thread after every message.
  int subscribe(const std::string &url, const std::string &channel, uint32_t connect_timeout_ms,
                uint32_t reconnect_max_ms, py::function fn, uint64_t max_message_bytes) {
    hp_recipes_subscribe_options o = HP_RECIPES_SUBSCRIBE_OPTIONS_INIT;
    o.connect_timeout_ms = connect_timeout_ms;
    o.reconnect_max_ms = reconnect_max_ms;
    o.max_message_bytes = max_message_bytes;
    auto *st = new SubState{std::move(fn), nullptr};
    int rc = hp_recipes_subscribe(
        &st->sub, set(), url.c_str(), channel.c_str(), &o,
        [](int status, void *data) {
          auto *ss = static_cast<SubState *>(data);
          py::gil_scoped_acquire gil;
          if (status == HP_ECLOSED) {
            delete ss;
            return;
          }
          call_back(ss->fn, status, status < 0 ? hp_last_error() : nullptr, py::int_(status));
        },
        st);
    if (rc < 0) {
      delete st;
      raise_error(rc);
    }
    subs_.push_back(st->sub);
    return static_cast<int>(subs_.size() - 1);
  }

  hp_recipes_subscription *subscription(int id) {
    set();
    if (id < 0 || static_cast<size_t>(id) >= subs_.size())
      throw py::index_error("recipes: unknown subscription");
    return subs_[id];
  }

  void unsubscribe(int id) {
    if (!set_ || id < 0 || static_cast<size_t>(id) >= subs_.size()) return;
    hp_recipes_unsubscribe(subs_[id]);
  }

  py::dict subscription_stats(int id) {
    hp_recipes_subscription_stats s = HP_RECIPES_SUBSCRIPTION_STATS_INIT;
    check(hp_recipes_subscription_stats_get(&s, subscription(id)));
    py::dict d;
    d["messages"] = s.messages;
    d["applied"] = s.applied;
    d["stale"] = s.stale;
    d["errors"] = s.errors;
    d["resyncs"] = s.resyncs;
    d["redis"] = redis_stats_dict(s.redis, true);
    return d;
  }

 private:
  hp_recipes *set() {
    if (!set_) raise_error(HP_ECLOSED, "recipes: the set is closed");
    return set_;
  }
  hp_recipe_table *table(size_t idx) {
    set();
    if (idx >= tables_.size()) throw py::index_error("recipes: unknown table");
    return tables_[idx];
  }

  hp_recipes *set_ = nullptr;
  std::vector<hp_recipe_table *> tables_;
  std::vector<WatchState *> watches_;
  std::vector<hp_recipes_subscription *> subs_;
};

}  // namespace

void init_recipes(py::module_ &m) {
  py::class_<RecipeSet>(m, "RecipeSet")
      .def(py::init<Engine &>(), py::arg("engine"), py::keep_alive<1, 2>())
      .def("close", &RecipeSet::close)
      .def("define", &RecipeSet::define, py::arg("name"), py::arg("key"), py::arg("key_is_str"),
           py::arg("json_fields"), py::arg("update_type"), py::arg("geo_field"), py::arg("target_field"),
           py::arg("max_json_bytes") = 0, py::arg("max_items") = 0, py::arg("max_item_bytes") = 0)
      .def("load", &RecipeSet::load, py::arg("table"), py::arg("path"), py::arg("timestamp"), py::arg("whole_max"))
      .def("load_cb", &RecipeSet::load_cb, py::arg("table"), py::arg("path"), py::arg("timestamp"),
           py::arg("whole_max"), py::arg("callback"))
      .def("version", &RecipeSet::version, py::arg("table"), py::arg("key"))
      .def("get_json", &RecipeSet::get_json, py::arg("table"), py::arg("key"))
      .def("size", &RecipeSet::size, py::arg("table"))
      .def("keys", &RecipeSet::keys, py::arg("table"))
      .def("stats", &RecipeSet::stats, py::arg("table"))
      .def("match", &RecipeSet::match, py::arg("table"), py::arg("key"), py::arg("dims"))
      .def("update", &RecipeSet::update, py::arg("message"))
      .def("watch", &RecipeSet::watch, py::arg("table"), py::arg("path"), py::arg("interval_ms"),
           py::arg("debounce_ms"), py::arg("load_now"), py::arg("callback"))
      .def("unwatch", &RecipeSet::unwatch, py::arg("id"))
      .def("subscribe", &RecipeSet::subscribe, py::arg("url"), py::arg("channel"),
           py::arg("connect_timeout_ms"), py::arg("reconnect_max_ms"), py::arg("callback"),
           py::arg("max_message_bytes") = 0)
      .def("unsubscribe", &RecipeSet::unsubscribe, py::arg("id"))
      .def("subscription_stats", &RecipeSet::subscription_stats, py::arg("id"));
  m.attr("RULES_NONE") = static_cast<int>(HP_RECIPES_RULE_NONE);
  m.attr("RULES_PASS") = static_cast<int>(HP_RECIPES_RULE_PASS);
  m.attr("RULES_FAIL") = static_cast<int>(HP_RECIPES_RULE_FAIL);
}

}  // namespace hp_py
