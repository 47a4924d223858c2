// Recipe tables: a RecipeSet wraps one hp_recipes. lib/recipes.js caches a
// frozen object per record version; this side watches every table's
// generation (hp_recipes_generation) and tells the cache which tables
// changed before any other JS runs, so a get of an unchanged record is one
// Map lookup with no generation check and no native call.
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "addon.h"
#include "observe.h"

namespace hp_node {

namespace {

struct TableState {
  hp_recipe_table *table = nullptr;
  bool key_is_str = false;
};

// The generations last seen, shared by the set and its pending callbacks (a
// callback may outlive the set's wrapper). Sync() calls onChange(index) for
// each table whose generation moved; the set's close clears the caches on
// the JS side itself.
struct Generations {
  std::vector<hp_recipe_table *> tables;
  std::vector<uint64_t> seen;
  Napi::FunctionReference on_change;
  bool closed = false;

  void Sync(Napi::Env env) {
    if (closed || on_change.IsEmpty() || GetAddon(env).tearing_down) return;
    for (size_t i = 0; i < tables.size(); i++) {
      uint64_t g = hp_recipes_generation(tables[i]);
      if (i < seen.size() && seen[i] == g) continue;
      if (i >= seen.size()) seen.resize(i + 1, 0);
      seen[i] = g;
      Napi::HandleScope scope(env);
      Napi::Value fn = on_change.Value();
      if (fn.IsFunction()) fn.As<Napi::Function>().Call({Napi::Number::New(env, static_cast<double>(i))});
    }
  }
};

struct LoadState {
  Pending pending;
  std::shared_ptr<Generations> gens;
  LoadState(Napi::Env env, std::shared_ptr<Generations> g) : pending(env, "hotpath.recipes.load"), gens(std::move(g)) {}
};

// A caller's key, converted without allocating for keys up to 256 bytes.
class KeyArg {
 public:
  KeyArg(Napi::Env env, Napi::Value v) {
    key_.str = nullptr;
    key_.len = 0;
    key_.num = 0;
    if (v.IsNumber()) {
      key_.num = v.As<Napi::Number>().Int64Value();
      return;
    }
    size_t len = 0;
    napi_status st = napi_get_value_string_utf8(env, v, stack_, sizeof stack_, &len);
    if (st != napi_ok) throw Napi::TypeError::New(env, "recipes: a key must be a number or a string");
    if (len + 1 >= sizeof stack_) {
      heap_.resize(len + 1);
      napi_get_value_string_utf8(env, v, heap_.data(), heap_.size(), &len);
      key_.str = heap_.data();
    } else {
      key_.str = stack_;
    }
    key_.len = len;
  }
  const hp_recipe_key *get() const { return &key_; }

 private:
  hp_recipe_key key_;
  char stack_[256];
  std::vector<char> heap_;
};

Napi::Object StatsObject(Napi::Env env, const hp_recipes_stats &s) {
  auto o = Napi::Object::New(env);
  o.Set("size", Napi::Number::New(env, static_cast<double>(s.size)));
  o.Set("loads", Napi::Number::New(env, static_cast<double>(s.loads)));
  o.Set("loadFailures", Napi::Number::New(env, static_cast<double>(s.load_failures)));
  o.Set("lastLoadAt", Napi::Number::New(env, static_cast<double>(s.last_load_at)));
  o.Set("lastLoadMs", Napi::Number::New(env, s.last_load_ms));
  o.Set("fileTimestamp", Napi::Number::New(env, static_cast<double>(s.file_timestamp)));
  o.Set("fileBytes", Napi::Number::New(env, static_cast<double>(s.file_bytes)));
  o.Set("jsonBytes", Napi::Number::New(env, static_cast<double>(s.json_bytes)));
  o.Set("memoryBytes", Napi::Number::New(env, static_cast<double>(s.memory_bytes)));
  o.Set("items", Napi::Number::New(env, static_cast<double>(s.items)));
  o.Set("skipped", Napi::Number::New(env, static_cast<double>(s.skipped)));
  o.Set("duplicates", Napi::Number::New(env, static_cast<double>(s.duplicates)));
  o.Set("embeddedErrors", Napi::Number::New(env, static_cast<double>(s.embedded_errors)));
  o.Set("ruleErrors", Napi::Number::New(env, static_cast<double>(s.rule_errors)));
  o.Set("updatesApplied", Napi::Number::New(env, static_cast<double>(s.updates_applied)));
  o.Set("updatesStale", Napi::Number::New(env, static_cast<double>(s.updates_stale)));
  o.Set("overlaySize", Napi::Number::New(env, static_cast<double>(s.overlay_size)));
  return o;
}

// The JS callback of a file watch (hp_recipes_watch) or a pub/sub
// subscription (hp_recipes_subscription), listed in its set's map of live
// ones by id; deleted after its last (HP_ECLOSED) call.
template <class Handle>
struct Listener {
  using Map = std::unordered_map<uint32_t, Listener *>;
  Napi::Env env;
  Map *live = nullptr;  // cleared when the set's wrapper goes away
  std::shared_ptr<Generations> gens;
  JsCallback fn;
  Handle *handle = nullptr;
  bool ended = false;
  Listener(Napi::Env e, Napi::Function f, const char *name) : env(e), fn(e, f, name) {}

  // Calls fn(err, value(env)) on the loop (a throw is an uncaught
  // exception); cached records revalidate on their next get. The last call
  // takes it off its map and frees it.
  template <class Value>
  void Deliver(int status, Value &&value) {
    bool last = status == HP_ECLOSED;
    if (last && live) {
      for (auto it = live->begin(); it != live->end(); ++it) {
        if (it->second == this) {
          live->erase(it);
          break;
        }
      }
    }
    if (!GetAddon(env).tearing_down) {
      gens->Sync(env);
      fn.Call([&](Napi::Env e) {
        return std::vector<napi_value>{status < 0 ? MakeError(e, status).Value() : e.Null(), value(e)};
      });
    }
    if (last) delete this;
  }

  // Stops listener `id` of `live` once; its last callback follows.
  template <class Stop>
  static void StopOnce(Map &live, uint32_t id, Stop stop) {
    auto it = live.find(id);
    if (it == live.end() || it->second->ended) return;
    it->second->ended = true;
    stop(it->second->handle);
  }
};
using WatchState = Listener<hp_recipes_watch>;
using SubState = Listener<hp_recipes_subscription>;

class RecipeSet : public Napi::ObjectWrap<RecipeSet> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "RecipeSet",
                       {
                           InstanceMethod<&RecipeSet::DefineTable>("define"),
                           InstanceMethod<&RecipeSet::Load>("load"),
                           InstanceMethod<&RecipeSet::Version>("version"),
                           InstanceMethod<&RecipeSet::BindGenerations>("bindGenerations"),
                           InstanceMethod<&RecipeSet::Has>("has"),
                           InstanceMethod<&RecipeSet::Json>("json"),
                           InstanceMethod<&RecipeSet::Size>("size"),
                           InstanceMethod<&RecipeSet::Keys>("keys"),
                           InstanceMethod<&RecipeSet::Stats>("stats"),
                           InstanceMethod<&RecipeSet::Match>("match"),
                           InstanceMethod<&RecipeSet::Update>("update"),
                           InstanceMethod<&RecipeSet::Watch>("watch"),
                           InstanceMethod<&RecipeSet::Unwatch>("unwatch"),
                           InstanceMethod<&RecipeSet::Subscribe>("subscribe"),
                           InstanceMethod<&RecipeSet::Unsubscribe>("unsubscribe"),
                           InstanceMethod<&RecipeSet::SubscriptionStats>("subscriptionStats"),
                           InstanceMethod<&RecipeSet::Close>("close"),
                       });
  }

  explicit RecipeSet(const Napi::CallbackInfo &info)
      : Napi::ObjectWrap<RecipeSet>(info), gens_(std::make_shared<Generations>()) {
    Check(info.Env(), hp_recipes_open(&set_, GetAddon(info.Env()).engine));
  }

  ~RecipeSet() override {
    for (auto &w : watches_) w.second->live = nullptr;
    for (auto &sub : subs_) sub.second->live = nullptr;
    CloseSet();
  }

 private:
  void CloseSet() {
    if (set_) {
      gens_->closed = true;
      gens_->tables.clear();
      sub_ptrs_.clear();  // freed with the set
      hp_recipes_close(set_, nullptr, nullptr);
    }
    set_ = nullptr;
  }

  hp_recipes *SetOrThrow(Napi::Env env) {
    if (!set_) throw MakeError(env, HP_ECLOSED, "recipes: the set is closed");
    return set_;
  }

  TableState &TableArg(const Napi::CallbackInfo &info) {
    SetOrThrow(info.Env());
    uint32_t i = info[0].As<Napi::Number>().Uint32Value();
    if (i >= tables_.size()) throw Napi::RangeError::New(info.Env(), "recipes: unknown table");
    return *tables_[i];
  }

  // define(name, keyField, keyIsString, jsonFields, updateType, geoField, targetField,
  //        maxJsonBytes, maxItems, maxItemBytes) -> index
  Napi::Value DefineTable(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    hp_recipes *set = SetOrThrow(env);
    std::string name = info[0].As<Napi::String>();
    std::string key = info[1].As<Napi::String>();
    bool is_str = info[2].As<Napi::Boolean>();
    auto arr = info[3].As<Napi::Array>();
    std::vector<std::string> fields;
    for (uint32_t i = 0; i < arr.Length(); i++) fields.push_back(arr.Get(i).As<Napi::String>());
    std::vector<const char *> ptrs;
    for (auto &f : fields) ptrs.push_back(f.c_str());
    auto opt = [&](size_t i, std::string *out) -> const char * {
      if (info[i].IsString()) {
        *out = info[i].As<Napi::String>();
        return out->c_str();
      }
      return nullptr;
    };
    std::string update_type, geo, target;
    hp_recipe_table_options o = HP_RECIPE_TABLE_OPTIONS_INIT;
    o.key_field = key.c_str();
    o.key_type = is_str ? HP_RECIPE_KEY_STRING : HP_RECIPE_KEY_INT;
    o.json_fields = ptrs.data();
    o.json_field_count = ptrs.size();
    o.update_type = opt(4, &update_type);
    o.geo_rules_field = opt(5, &geo);
    o.target_rules_field = opt(6, &target);
    o.max_json_bytes = static_cast<uint64_t>(info[7].As<Napi::Number>().Int64Value());
    o.max_items = static_cast<uint64_t>(info[8].As<Napi::Number>().Int64Value());
    o.max_item_bytes = static_cast<uint64_t>(info[9].As<Napi::Number>().Int64Value());
    auto state = std::make_unique<TableState>();
    Check(env, hp_recipes_define(&state->table, set, name.c_str(), &o));
    state->key_is_str = is_str;
    gens_->tables.push_back(state->table);
    tables_.push_back(std::move(state));
    return Napi::Number::New(env, static_cast<double>(tables_.size() - 1));
  }

  // load(table, path, timestamp, wholeInflateMax) -> Promise<stats>
  Napi::Value Load(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    TableState &t = TableArg(info);
    std::string path = info[1].As<Napi::String>();
    hp_recipes_load_options o = HP_RECIPES_LOAD_OPTIONS_INIT;
    o.timestamp = info[2].As<Napi::Number>().Int64Value();
    o.whole_inflate_max = static_cast<uint64_t>(info[3].As<Napi::Number>().Int64Value());
    auto *state = new LoadState(env, gens_);
    Napi::Promise promise = state->pending.Promise();
    int rc = hp_recipes_load(
        t.table, path.c_str(), &o,
        [](int status, const hp_recipes_stats *s, void *data) {
          std::unique_ptr<LoadState> st(static_cast<LoadState *>(data));
          try {
            st->gens->Sync(st->pending.Env());  // before any JS runs
          } catch (const Napi::Error &) {
          }
          if (status < 0)
            st->pending.Reject(status);
          else
            st->pending.Resolve([s](Napi::Env e) { return StatsObject(e, *s); });
        },
        state);
    if (rc < 0) {
      delete state;
      ThrowError(env, rc);
    }
    return promise;
  }

  // The record's version (changes whenever its content does), 0 if missing.
  Napi::Value Version(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    TableState &t = TableArg(info);
    KeyArg key(env, info[1]);
    hp_recipe r = HP_RECIPE_INIT;
    if (Check(env, hp_recipes_get(&r, t.table, key.get())) == 0) return Napi::Number::New(env, 0);
    return Napi::Number::New(env, static_cast<double>(r.record_version));
  }

  // bindGenerations(onChange(tableIndex)): called (on this thread, before
  // any other JS) whenever a table's generation moves. Held weakly: the
  // caller keeps it, so the set and its caches can still be collected.
  Napi::Value BindGenerations(const Napi::CallbackInfo &info) {
    gens_->on_change = Napi::Weak(info[0].As<Napi::Function>());
    gens_->Sync(info.Env());
    return info.Env().Undefined();
  }

  Napi::Value Has(const Napi::CallbackInfo &info) {
    TableState &t = TableArg(info);
    KeyArg key(info.Env(), info[1]);
    hp_recipe r = HP_RECIPE_INIT;
    return Napi::Boolean::New(info.Env(), Check(info.Env(), hp_recipes_get(&r, t.table, key.get())) == 1);
  }

  Napi::Value Json(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    TableState &t = TableArg(info);
    KeyArg key(env, info[1]);
    hp_recipe r = HP_RECIPE_INIT;
    std::string json;
    for (;;) {
      if (Check(env, hp_recipes_get(&r, t.table, key.get())) == 0) return env.Null();
      if (r.buf && r.len < r.cap) break;
      json.resize(r.len + 1);
      r.buf = json.data();
      r.cap = json.size();
    }
    return Napi::String::New(env, json.data(), r.len);
  }

  Napi::Value Size(const Napi::CallbackInfo &info) {
    TableState &t = TableArg(info);
    return Napi::Number::New(info.Env(), static_cast<double>(hp_recipes_size(t.table)));
  }

  Napi::Value Keys(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    TableState &t = TableArg(info);
    // Collect first: no JS may run while the snapshot is held.
    struct Acc {
      std::vector<int64_t> nums;
      std::vector<std::string> strs;
    } acc;
    int n = hp_recipes_keys(
        t.table,
        [](const char *s, size_t len, int64_t num, void *data) {
          auto *a = static_cast<Acc *>(data);
          if (s)
            a->strs.emplace_back(s, len);
          else
            a->nums.push_back(num);
          return 0;
        },
        &acc);
    Check(env, n);
    auto arr = Napi::Array::New(env, static_cast<size_t>(n));
    uint32_t i = 0;
    if (t.key_is_str)
      for (auto &s : acc.strs) arr.Set(i++, Napi::String::New(env, s));
    else
      for (int64_t v : acc.nums) arr.Set(i++, Napi::Number::New(env, static_cast<double>(v)));
    return arr;
  }

  Napi::Value Stats(const Napi::CallbackInfo &info) {
    TableState &t = TableArg(info);
    hp_recipes_stats s = HP_RECIPES_STATS_INIT;
    Check(info.Env(), hp_recipes_stats_get(&s, t.table));
    return StatsObject(info.Env(), s);
  }

  // match(table, key, country, region, city, isp, os, browser, deviceType)
  // -> [geo, target, rule, redirectTo] or null
  Napi::Value Match(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    TableState &t = TableArg(info);
    KeyArg key(env, info[1]);
    std::string dims[7];
    hp_recipes_context ctx = HP_RECIPES_CONTEXT_INIT;
    const char **slots[7] = {&ctx.country, &ctx.region, &ctx.city, &ctx.isp, &ctx.os, &ctx.browser, &ctx.device_type};
    for (int i = 0; i < 7; i++) {
      Napi::Value v = info[2 + i];
      if (v.IsString()) {
        dims[i] = v.As<Napi::String>();
        *slots[i] = dims[i].c_str();
      }
    }
    char redirect[2048];
    hp_recipes_match_result r = HP_RECIPES_MATCH_RESULT_INIT;
    r.redirect_buf = redirect;
    r.redirect_cap = sizeof redirect;
    if (Check(env, hp_recipes_match(&r, t.table, key.get(), &ctx)) == 0) return env.Null();
    std::string big;
    if (r.redirect_len >= sizeof redirect) {
      big.resize(r.redirect_len + 1);
      r.redirect_buf = big.data();
      r.redirect_cap = big.size();
      if (Check(env, hp_recipes_match(&r, t.table, key.get(), &ctx)) == 0) return env.Null();
    }
    auto out = Napi::Array::New(env, 4);
    out.Set(0u, Napi::Number::New(env, r.geo));
    out.Set(1u, Napi::Number::New(env, r.target));
    out.Set(2u, Napi::Number::New(env, r.rule));
    if (r.target != HP_RECIPES_RULE_NONE || r.redirect_len)
      out.Set(3u, Napi::String::New(env, r.redirect_buf, r.redirect_len));
    else
      out.Set(3u, env.Null());
    return out;
  }

  Napi::Value Update(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    hp_recipes *set = SetOrThrow(env);
    std::string msg = info[0].As<Napi::String>();
    int rc = hp_recipes_update(set, msg.data(), msg.size());
    gens_->Sync(env);
    return Napi::Number::New(env, Check(env, rc));
  }

  // watch(table, path, intervalMs, debounceMs, loadNow, cb(err, stats), persistent) -> id
  Napi::Value Watch(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    TableState &t = TableArg(info);
    std::string path = info[1].As<Napi::String>();
    hp_recipes_watch_options o = HP_RECIPES_WATCH_OPTIONS_INIT;
    o.interval_ms = info[2].As<Napi::Number>().Uint32Value();
    o.debounce_ms = info[3].As<Napi::Number>().Uint32Value();
    o.load_now = info[4].As<Napi::Boolean>() ? 1 : 0;
    o.persistent = info[6].As<Napi::Boolean>() ? 1 : 0;
    auto *w = new WatchState(env, info[5].As<Napi::Function>(), "hotpath.recipes.watch");
    w->gens = gens_;
    int rc = hp_recipes_watch_file(&w->handle, t.table, path.c_str(), &o, &OnWatch, w);
    if (rc < 0) {
      delete w;
      ThrowError(env, rc);
    }
    uint32_t id = next_watch_++;
    watches_[id] = w;
    w->live = &watches_;
    return Napi::Number::New(env, id);
  }

  static void OnWatch(int status, const hp_recipes_stats *s, void *data) {
    static_cast<WatchState *>(data)->Deliver(
        status, [s](Napi::Env env) { return s ? Napi::Value(StatsObject(env, *s)) : env.Null(); });
  }

  Napi::Value Unwatch(const Napi::CallbackInfo &info) {
    WatchState::StopOnce(watches_, info[0].As<Napi::Number>().Uint32Value(), hp_recipes_unwatch);
    return info.Env().Undefined();
  }

  // subscribe(url, channel, connectTimeoutMs, reconnectMaxMs, cb(err, status), maxMessageBytes) -> id
  Napi::Value Subscribe(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    hp_recipes *set = SetOrThrow(env);
    std::string url = info[0].As<Napi::String>();
    std::string channel = info[1].As<Napi::String>();
    hp_recipes_subscribe_options o = HP_RECIPES_SUBSCRIBE_OPTIONS_INIT;
    o.connect_timeout_ms = info[2].As<Napi::Number>().Uint32Value();
    o.reconnect_max_ms = info[3].As<Napi::Number>().Uint32Value();
    o.max_message_bytes = static_cast<uint64_t>(info[5].As<Napi::Number>().Int64Value());
    auto *st = new SubState(env, info[4].As<Napi::Function>(), "hotpath.recipes.subscribe");
    st->gens = gens_;
    int rc = hp_recipes_subscribe(&st->handle, set, url.c_str(), channel.c_str(), &o, &OnMessage, st);
    if (rc < 0) {
      delete st;
      ThrowError(env, rc);
    }
    uint32_t id = next_sub_++;
    subs_[id] = st;
    sub_ptrs_[id] = st->handle;
    st->live = &subs_;
    return Napi::Number::New(env, id);
  }

  static void OnMessage(int status, void *data) {
    static_cast<SubState *>(data)->Deliver(
        status, [status](Napi::Env env) { return Napi::Number::New(env, status); });
  }

  Napi::Value Unsubscribe(const Napi::CallbackInfo &info) {
    SubState::StopOnce(subs_, info[0].As<Napi::Number>().Uint32Value(), hp_recipes_unsubscribe);
    return info.Env().Undefined();
  }

  // subscriptionStats(id) -> {messages, applied, stale, errors, resyncs}
  Napi::Value SubscriptionStats(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    SetOrThrow(env);
    auto it = sub_ptrs_.find(info[0].As<Napi::Number>().Uint32Value());
    if (it == sub_ptrs_.end()) throw Napi::RangeError::New(env, "recipes: unknown subscription");
    hp_recipes_subscription_stats s = HP_RECIPES_SUBSCRIPTION_STATS_INIT;
    Check(env, hp_recipes_subscription_stats_get(&s, it->second));
    auto o = Napi::Object::New(env);
    o.Set("messages", Napi::Number::New(env, static_cast<double>(s.messages)));
    o.Set("applied", Napi::Number::New(env, static_cast<double>(s.applied)));
    o.Set("stale", Napi::Number::New(env, static_cast<double>(s.stale)));
    o.Set("errors", Napi::Number::New(env, static_cast<double>(s.errors)));
    o.Set("resyncs", Napi::Number::New(env, static_cast<double>(s.resyncs)));
    o.Set("redis", RedisStatsObject(env, s.redis, true));
    return o;
  }

  Napi::Value Close(const Napi::CallbackInfo &info) {
    CloseSet();
    return info.Env().Undefined();
  }

  hp_recipes *set_ = nullptr;
  std::vector<std::unique_ptr<TableState>> tables_;
  std::shared_ptr<Generations> gens_;
  WatchState::Map watches_;
  uint32_t next_watch_ = 1;
  SubState::Map subs_;
  std::unordered_map<uint32_t, hp_recipes_subscription *> sub_ptrs_;
  uint32_t next_sub_ = 1;
};

}  // namespace

void InitRecipes(Napi::Env env, Napi::Object exports) {
  exports.Set("RecipeSet", RecipeSet::Define(env));
  exports.Set("RULES_NONE", Napi::Number::New(env, HP_RECIPES_RULE_NONE));
  exports.Set("RULES_PASS", Napi::Number::New(env, HP_RECIPES_RULE_PASS));
  exports.Set("RULES_FAIL", Napi::Number::New(env, HP_RECIPES_RULE_FAIL));
}

}  // namespace hp_node
