// extern "C" definitions of the recipes subsystem.
#include <cstring>
#include <string>

#include "core/engine.h"
#include "core/error.h"
#include "core/guard.h"
#include "recipes/set.h"
#include "recipes/subscription.h"
#include "recipes/watch.h"
#include "redis/url.h"

using hp::core::set_error;
using hp::recipes::Key;
using hp::recipes::Rec;
using hp::recipes::Set;
using hp::recipes::Snapshot;
using hp::recipes::Table;

namespace {

bool field_name_ok(const char *s) { return s && s[0] && std::strlen(s) < 256; }

using Call = hp::core::Handle::Call;

int closed() { return set_error(HP_ECLOSED, "recipes: closed"); }

// A call on the table's set, reading its current snapshot: `fn(snapshot)`,
// or `when_closed` once the set is closing.
template <class Fn, class R>
auto with_snapshot(Table *t, R when_closed, Fn &&fn) -> R {
  Call call(t->set);
  if (!call) return when_closed;
  const Snapshot *s = t->cur.load(std::memory_order_seq_cst);
  return fn(*s);
}

}  // namespace

extern "C" {

int hp_recipes_open(hp_recipes **out, hp_engine *e) {
  if (!out || !e) return set_error(HP_EINVAL, "recipes_open: out or engine is NULL");
  return hp::core::guard("recipes_open", [&] {
    Set *s = nullptr;
    int rc = Set::open(&s, hp::core::Engine::from_c(e));
    if (rc == 0) *out = s->as_c();
    return rc;
  });
}

int hp_recipes_close(hp_recipes *r, hp_close_cb cb, void *data) {
  return r ? Set::from_c(r)->close(cb, data) : 0;
}

int hp_recipes_define(hp_recipe_table **out, hp_recipes *r, const char *name, const hp_recipe_table_options *opts) {
  if (!out || !r || !opts) return set_error(HP_EINVAL, "recipes_define: out, set or options is NULL");
  if (opts->version < 1 || opts->version > HP_RECIPE_TABLE_OPTIONS_VERSION)
    return set_error(HP_EINVAL, "recipes_define: unknown options version ", std::to_string(opts->version));
  if (!field_name_ok(name)) return set_error(HP_EINVAL, "recipes_define: the name must be 1..255 bytes");
  if (!field_name_ok(opts->key_field)) return set_error(HP_EINVAL, "recipes_define: key_field must be 1..255 bytes");
  if (opts->key_type != HP_RECIPE_KEY_INT && opts->key_type != HP_RECIPE_KEY_STRING)
    return set_error(HP_EINVAL, "recipes_define: key_type must be HP_RECIPE_KEY_INT or HP_RECIPE_KEY_STRING");
  if (opts->json_field_count && !opts->json_fields)
    return set_error(HP_EINVAL, "recipes_define: json_fields is NULL but json_field_count is ",
                     std::to_string(opts->json_field_count));
  return hp::core::guard("recipes_define", [&] {
    hp::recipes::TableSpec spec;
    spec.key_field = opts->key_field;
    spec.key_is_str = opts->key_type == HP_RECIPE_KEY_STRING;
    for (size_t i = 0; i < opts->json_field_count; i++) {
      if (!field_name_ok(opts->json_fields[i]))
        return set_error(HP_EINVAL, "recipes_define: json_fields[", std::to_string(i), "] must be 1..255 bytes");
      spec.json_fields.emplace_back(opts->json_fields[i]);
    }
    spec.geo_field = opts->geo_rules_field ? opts->geo_rules_field : "geoRules";
    spec.target_field = opts->target_rules_field ? opts->target_rules_field : "targetRules";
    if (opts->version >= 2) {
      if (opts->max_json_bytes) spec.max_json_bytes = opts->max_json_bytes;
      if (opts->max_items) spec.max_items = opts->max_items;
      if (opts->max_item_bytes) spec.max_item_bytes = opts->max_item_bytes;
    }
    std::string update_type = opts->update_type ? opts->update_type : name;
    Table *t = nullptr;
    int rc = Set::from_c(r)->define(&t, name, std::move(spec), std::move(update_type));
    if (rc == 0) *out = t->as_c();
    return rc;
  });
}

hp_recipe_table *hp_recipes_find(hp_recipes *r, const char *name) {
  if (!r || !name) return nullptr;
  try {
    Table *t = Set::from_c(r)->find(name);
    return t ? t->as_c() : nullptr;
  } catch (...) {
    return nullptr;
  }
}

const char *hp_recipes_table_name(const hp_recipe_table *t) {
  return t ? reinterpret_cast<const Table *>(t)->name.c_str() : "";
}

int hp_recipes_stats_get(hp_recipes_stats *out, const hp_recipe_table *t) {
  if (!t || !out) return set_error(HP_EINVAL, "recipes_stats: table or out is NULL");
  if (out->version != HP_RECIPES_STATS_VERSION)
    return set_error(HP_EINVAL, "recipes_stats: unknown hp_recipes_stats version ", std::to_string(out->version));
  Table *tb = Table::from_c(const_cast<hp_recipe_table *>(t));
  tb->set->stats(tb, out);
  return 0;
}

int hp_recipes_load(hp_recipe_table *t, const char *path, const hp_recipes_load_options *opts, hp_recipes_load_cb cb,
                    void *data) {
  if (!t || !path || !cb) return set_error(HP_EINVAL, "recipes_load: table, path or cb is NULL");
  if (opts && opts->version != HP_RECIPES_LOAD_OPTIONS_VERSION)
    return set_error(HP_EINVAL, "recipes_load: unknown options version ", std::to_string(opts->version));
  Table *tb = Table::from_c(t);
  if (tb->set->closed()) return set_error(HP_ECLOSED, "recipes_load: the set is closed");
  int64_t ts = opts ? opts->timestamp : 0;
  uint64_t whole = opts && opts->whole_inflate_max ? opts->whole_inflate_max : HP_RECIPES_WHOLE_INFLATE_MAX;
  return hp::core::guard("recipes_load", [&] {
    std::string p(path);
    Set *s = tb->set;
    return s->engine()->post([s, tb, p, ts, whole, cb, data](bool closing) {
      auto done = [cb, data](int status, const hp_recipes_stats *stats, const hp::recipes::FileSig &) {
        cb(status, stats, data);
      };
      if (closing) {
        set_error(HP_ECLOSED, "recipes_load: the engine closed first");
        done(HP_ECLOSED, nullptr, {});
        return;
      }
      // Out of memory before the load is under way: the callback still comes.
      int rc = hp::core::guard("recipes_load", [&] {
        s->start_load(tb, p, ts, whole, done);
        return 0;
      });
      if (rc < 0) done(rc, nullptr, {});
    });
  });
}

int hp_recipes_get(hp_recipe *out, hp_recipe_table *t, const hp_recipe_key *key) {
  if (!t || !key || !out || out->version != HP_RECIPE_VERSION)
    return set_error(HP_EINVAL, "recipes_get: table, key or out is NULL, or out has an unknown version");
  Table *tb = Table::from_c(t);
  Key k;
  char tmp[24];
  if (!tb->make_key(*key, &k, tmp)) return 0;  // a key of the wrong kind names no record
  uint64_t h = hp::recipes::hash_key(k);
  return with_snapshot(tb, int{HP_ECLOSED}, [&](const Snapshot &s) {
    const Rec *r = s.find(k, h);
    if (!r) return 0;
    out->len = r->json_len;
    out->record_version = r->version;
    out->timestamp = r->timestamp;
    if (out->buf && r->json_len < out->cap) {
      r->write_json(out->buf);
      out->buf[r->json_len] = 0;
    }
    return 1;
  });
}

uint64_t hp_recipes_size(hp_recipe_table *t) {
  if (!t) return 0;
  return with_snapshot(Table::from_c(t), uint64_t{0},
                       [](const Snapshot &s) { return s.size.load(std::memory_order_relaxed); });
}

uint64_t hp_recipes_generation(hp_recipe_table *t) {
  return t ? Table::from_c(t)->generation.load(std::memory_order_acquire) : 0;
}

int hp_recipes_keys(hp_recipe_table *t, hp_recipes_key_cb cb, void *data) {
  if (!t || !cb) return set_error(HP_EINVAL, "recipes_keys: table or cb is NULL");
  Table *tb = Table::from_c(t);
  bool is_str = tb->spec.key_is_str;
  return with_snapshot(tb, int{HP_ECLOSED}, [&](const Snapshot &s) {
    int n = 0;
    bool stop = false;
    auto visit = [&](const Rec *r) {
      if (stop || r->tombstone) return;
      n++;
      if (cb(is_str ? r->key_bytes() : nullptr, r->key_len, r->num, data)) stop = true;
    };
    if (s.base) {
      s.base->index.each([&](const Rec *r) {
        Key k = r->key(is_str);
        if (s.overlay->index.find(k, hp::recipes::hash_key(k))) return;
        visit(r);
      });
    }
    s.overlay->index.each(visit);
    return n;
  });
}

int hp_recipes_match(hp_recipes_match_result *out, hp_recipe_table *t, const hp_recipe_key *key,
                     const hp_recipes_context *ctx) {
  if (!t || !key || !out || out->version != HP_RECIPES_MATCH_RESULT_VERSION)
    return set_error(HP_EINVAL, "recipes_match: table, key or out is NULL, or out has an unknown version");
  if (ctx && ctx->version != HP_RECIPES_CONTEXT_VERSION)
    return set_error(HP_EINVAL, "recipes_match: unknown context version ", std::to_string(ctx->version));
  Table *tb = Table::from_c(t);
  out->geo = HP_RECIPES_RULE_NONE;
  out->target = HP_RECIPES_RULE_NONE;
  out->rule = -1;
  out->redirect_len = 0;
  Key k;
  char tmp[24];
  if (!tb->make_key(*key, &k, tmp)) return 0;
  hp::recipes::Visitor v;
  if (ctx) {
    const char *dims[hp::recipes::kDimensions] = {ctx->country, ctx->region, ctx->city,       ctx->isp,
                                                  ctx->os,      ctx->browser, ctx->device_type};
    for (int i = 0; i < hp::recipes::kDimensions; i++)
      if (dims[i]) v.dim[i] = std::string_view(dims[i]);
  }
  uint64_t h = hp::recipes::hash_key(k);
  return with_snapshot(tb, int{HP_ECLOSED}, [&](const Snapshot &s) {
    const Rec *r = s.find(k, h);
    if (!r) return 0;
    if (!r->rules) return 1;
    out->geo = hp::recipes::eval_geo(*r->rules, v);
    out->target = hp::recipes::eval_target(*r->rules, v, &out->rule);
    if (r->rules->has_target) {
      const std::string &to = r->rules->redirect_to;
      out->redirect_len = to.size();
      if (out->redirect_buf && to.size() < out->redirect_cap) {
        std::memcpy(out->redirect_buf, to.data(), to.size());
        out->redirect_buf[to.size()] = 0;
      }
    }
    return 1;
  });
}

int hp_recipes_update(hp_recipes *r, const char *msg, size_t len) {
  if (!r || (!msg && len)) return set_error(HP_EINVAL, "recipes_update: set or message is NULL");
  Set *s = Set::from_c(r);
  hp::core::Handle::Writer writer(s);
  if (!writer) return closed();
  return hp::core::guard("recipes_update", [&] { return s->update(std::string_view(msg ? msg : "", len)); });
}

int hp_recipes_watch_file(hp_recipes_watch **out, hp_recipe_table *t, const char *path,
                          const hp_recipes_watch_options *opts, hp_recipes_load_cb cb, void *data) {
  if (!t || !path || !path[0] || !cb) return set_error(HP_EINVAL, "recipes_watch_file: table, path or cb is NULL");
  if (opts && opts->version != HP_RECIPES_WATCH_OPTIONS_VERSION)
    return set_error(HP_EINVAL, "recipes_watch_file: unknown options version ", std::to_string(opts->version));
  Table *tb = Table::from_c(t);
  if (tb->set->closed()) return set_error(HP_ECLOSED, "recipes_watch_file: the set is closed");
  hp_recipes_watch_options o = HP_RECIPES_WATCH_OPTIONS_INIT;
  if (opts) o = *opts;
  return hp::core::guard("recipes_watch_file", [&] {
    auto *w = new hp::recipes::Watch(tb->set, tb, path, o, cb, data);
    Set *s = tb->set;
    // Posted work runs in order: a watch posted before the set's close starts
    // (and is stopped by it), so an unwatch posted after it finds it alive.
    int rc = s->engine()->post([w, s](bool closing) {
      if (closing || s->shut_down())
        w->abandon();
      else
        w->start();
    });
    if (rc != 0) {
      delete w;
      return rc;
    }
    if (out) *out = w->as_c();
    return 0;
  });
}

void hp_recipes_unwatch(hp_recipes_watch *w) {
  if (!w) return;
  auto *watch = hp::recipes::Watch::from_c(w);
  try {
    watch->post_stop();
  } catch (...) {
  }
}

int hp_recipes_subscribe(hp_recipes_subscription **out, hp_recipes *r, const char *redis_url,
                         const char *channel, const hp_recipes_subscribe_options *opts,
                         hp_recipes_message_cb cb, void *data) {
  if (!r || !redis_url || !channel)
    return set_error(HP_EINVAL, "recipes_subscribe: set, redis_url or channel is NULL");
  if (opts && (opts->version < 1 || opts->version > HP_RECIPES_SUBSCRIBE_OPTIONS_VERSION))
    return set_error(HP_EINVAL, "recipes_subscribe: unknown options version ", std::to_string(opts->version));
  if (!field_name_ok(channel))
    return set_error(HP_EINVAL, "recipes_subscribe: the channel must be 1..255 bytes");
  Set *s = Set::from_c(r);
  if (s->closed()) return set_error(HP_ECLOSED, "recipes_subscribe: the set is closed");
  return hp::core::guard("recipes_subscribe", [&] {
    hp::redis::Options ro;
    int rc = hp::redis::parse_url(redis_url, &ro.address);
    if (rc < 0) return rc;
    ro.connect_timeout_ms = opts && opts->connect_timeout_ms ? opts->connect_timeout_ms : 1000;
    ro.reconnect_max_ms = opts && opts->reconnect_max_ms ? opts->reconnect_max_ms : 1000;
    ro.command_timeout_ms = ro.connect_timeout_ms;  // the wait for a PING's answer
    if (ro.reconnect_min_ms > ro.reconnect_max_ms) ro.reconnect_min_ms = ro.reconnect_max_ms;
    uint64_t max_message = opts && opts->version >= 2 && opts->max_message_bytes ? opts->max_message_bytes
                                                                                   : HP_RECIPES_MAX_MESSAGE_BYTES;
    auto *sub =
        s->adopt(std::make_unique<hp::recipes::Subscription>(s, std::move(ro), channel, max_message, cb, data));
    rc = s->engine()->post([sub, s](bool closing) {
      if (closing || s->closed())
        sub->abandon();
      else
        sub->start();
    });
    if (rc != 0) return rc;  // the set frees `sub`; no callback runs
    if (out) *out = sub->as_c();
    return 0;
  });
}

int hp_recipes_subscription_stats_get(hp_recipes_subscription_stats *out, const hp_recipes_subscription *s) {
  if (!s || !out) return set_error(HP_EINVAL, "recipes_subscription_stats_get: subscription or out is NULL");
  if (out->version < 1 || out->version > HP_RECIPES_SUBSCRIPTION_STATS_VERSION)
    return set_error(HP_EINVAL, "recipes_subscription_stats_get: unknown stats version ",
                     std::to_string(out->version));
  hp::recipes::Subscription::from_c(const_cast<hp_recipes_subscription *>(s))->stats(out);
  return 0;
}

void hp_recipes_unsubscribe(hp_recipes_subscription *s) {
  if (!s) return;
  try {
    hp::recipes::Subscription::from_c(s)->post_stop();
  } catch (...) {
  }
}

}  // extern "C"
