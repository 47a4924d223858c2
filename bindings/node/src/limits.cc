// Limiters: leases and rate limits over memory, SQLite or Redis. Promises
// for every backend; synchronous variants too (which a Redis limiter
// refuses on this thread: it runs the engine's loop they would wait for).
#include <memory>
#include <string>

#include "addon.h"
#include "observe.h"

namespace hp_node {

namespace {

const char *StatusName(int status) {
  switch (status) {
    case HP_LEASE_GRANTED:
      return "granted";
    case HP_LEASE_ALREADY_HELD:
      return "already_held";
    case HP_LEASE_NOT_MEMBER:
      return "not_member";
    default:
      return "denied";
  }
}

// An acquire's requirements: JS hands them as [set, member, set, member,
// ...] (checked in lib/limits.js), or undefined for none.
class Requirements {
 public:
  Requirements(Napi::Env env, const Napi::Value &v) {
    if (!v.IsArray()) return;
    auto a = v.As<Napi::Array>();
    uint32_t n = a.Length() / 2;
    if (n > HP_LEASE_REQUIRE_MAX) ThrowError(env, HP_EINVAL);
    for (uint32_t i = 0; i < 2 * n; i++) text_[i] = a.Get(i).As<Napi::String>().Utf8Value();
    for (uint32_t i = 0; i < n; i++)
      pairs_[i] = hp_lease_require{text_[2 * i].c_str(), text_[2 * i + 1].c_str()};
    opts_.require = pairs_;
    opts_.require_count = n;
  }
  // Borrows from this object: valid while it lives.
  const hp_lease_options *get() const { return opts_.require_count ? &opts_ : nullptr; }

 private:
  std::string text_[2 * HP_LEASE_REQUIRE_MAX];
  hp_lease_require pairs_[HP_LEASE_REQUIRE_MAX] = {};
  hp_lease_options opts_ = HP_LEASE_OPTIONS_INIT;
};

Napi::Array Leases(Napi::Env env, const hp_lease_info *h, size_t n) {
  auto a = Napi::Array::New(env, n);
  for (size_t i = 0; i < n; i++) {
    auto o = Napi::Object::New(env);
    o.Set("resource", Napi::String::New(env, h[i].resource));
    o.Set("leaseId", Napi::Number::New(env, static_cast<double>(h[i].lease_id)));
    o.Set("expiresInMs", Napi::Number::New(env, static_cast<double>(h[i].expires_in_ms)));
    a.Set(i, o);
  }
  return a;
}

Napi::Object LeaseObject(Napi::Env env, const hp_lease_result &r) {
  auto o = Napi::Object::New(env);
  o.Set("status", Napi::String::New(env, StatusName(r.status)));
  o.Set("ok", Napi::Boolean::New(env, r.status == HP_LEASE_GRANTED || r.status == HP_LEASE_ALREADY_HELD));
  o.Set("count", Napi::Number::New(env, r.count));
  o.Set("leaseId", Napi::Number::New(env, static_cast<double>(r.lease_id)));
  if (r.status == HP_LEASE_NOT_MEMBER) o.Set("missing", Napi::Number::New(env, r.missing));
  if (r.status == HP_LEASE_DENIED && r.holders)
    o.Set("holders", Leases(env, r.holders->items, r.holders->count));
  return o;
}

// A list from a synchronous call, freed when the scope ends (also when
// building its JS array throws).
using LeaseList = std::unique_ptr<hp_lease_list, decltype(&hp_lease_list_free)>;

Napi::Object RateObject(Napi::Env env, const hp_rate_result &r) {
  auto o = Napi::Object::New(env);
  o.Set("allowed", Napi::Boolean::New(env, r.allowed != 0));
  o.Set("remaining", Napi::Number::New(env, r.remaining));
  o.Set("retryAfterMs", Napi::Number::New(env, static_cast<double>(r.retry_after_ms)));
  o.Set("resetAfterMs", Napi::Number::New(env, static_cast<double>(r.reset_after_ms)));
  return o;
}

hp_rate_spec RateSpec(const Napi::CallbackInfo &info, size_t at) {
  hp_rate_spec s = HP_RATE_SPEC_INIT;
  s.rate = info[at].As<Napi::Number>().Uint32Value();
  s.period_ms = static_cast<uint64_t>(info[at + 1].As<Napi::Number>().Int64Value());
  s.burst = info[at + 2].As<Napi::Number>().Uint32Value();
  s.cost = info[at + 3].As<Napi::Number>().Uint32Value();
  return s;
}

// A JS string argument read into a stack buffer: no allocation. Names are
// at most 512 UTF-8 bytes (checked in JS; the C API checks again).
class Name {
 public:
  Name(Napi::Env env, const Napi::Value &v) {
    size_t n = 0;
    if (napi_get_value_string_utf8(env, v, buf_, sizeof buf_, &n) != napi_ok) ThrowError(env, HP_EINVAL);
  }
  const char *c_str() const { return buf_; }

 private:
  char buf_[516];  // one past the 512-byte limit, so longer names still fail in C
};

class Limiter : public Napi::ObjectWrap<Limiter> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(
        env, "Limiter",
        {InstanceMethod<&Limiter::Acquire>("acquire"), InstanceMethod<&Limiter::AcquireSync>("acquireSync"),
         InstanceMethod<&Limiter::Release>("release"), InstanceMethod<&Limiter::ReleaseSync>("releaseSync"),
         InstanceMethod<&Limiter::Renew>("renew"), InstanceMethod<&Limiter::RenewSync>("renewSync"),
         InstanceMethod<&Limiter::Holders>("holders"), InstanceMethod<&Limiter::HoldersSync>("holdersSync"),
         InstanceMethod<&Limiter::Hit>("hit"), InstanceMethod<&Limiter::HitSync>("hitSync"),
         InstanceMethod<&Limiter::HitLocal>("hitLocal"), InstanceMethod<&Limiter::SetAdd>("setAdd"),
         InstanceMethod<&Limiter::SetHas>("setHas"), InstanceMethod<&Limiter::Ping>("ping"),
         InstanceMethod<&Limiter::Backend>("backend"), InstanceMethod<&Limiter::Stats>("stats"),
         InstanceMethod<&Limiter::Close>("close")});
  }

  // new Limiter(spec, timeoutMs, prefix, sqliteInline, out, localBudget,
  // localHoldMs): `out` is a Float64Array(4) where the synchronous checks
  // leave their numbers, which JS turns into the result object (cheaper
  // than building it here).
  Limiter(const Napi::CallbackInfo &info) : Napi::ObjectWrap<Limiter>(info) {
    Napi::Env env = info.Env();
    std::string spec = info[0].As<Napi::String>();
    std::string prefix = info[2].As<Napi::String>();
    hp_limiter_options o = HP_LIMITER_OPTIONS_INIT;
    o.timeout_ms = info[1].As<Napi::Number>().Uint32Value();
    o.prefix = prefix.c_str();
    o.sqlite_inline = info[3].As<Napi::Boolean>().Value() ? 1 : 0;
    o.local_budget = info[5].As<Napi::Number>().Uint32Value();
    o.local_hold_ms = info[6].As<Napi::Number>().Uint32Value();
    Check(env, hp_limiter_open(&l_, GetAddon(env).engine, spec.c_str(), &o));
    auto out = info[4].As<Napi::Float64Array>();
    if (out.ElementLength() < 4) ThrowError(env, HP_EINVAL);
    out_ = out.Data();
    out_ref_ = Napi::Persistent(out);
  }
  ~Limiter() override { hp_limiter_close(l_, nullptr, nullptr); }

 private:
  hp_limiter *Handle(Napi::Env env) {
    if (!l_) ThrowError(env, HP_ECLOSED);
    return l_;
  }

  Napi::Value Acquire(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    hp_limiter *l = Handle(env);
    std::string sub = info[0].As<Napi::String>(), res = info[1].As<Napi::String>();
    Requirements require(env, info[4]);
    return StartPromise(env, "hotpath.limits.acquire", [&](Pending *p) {
      return hp_limiter_acquire_async(l, sub.c_str(), res.c_str(), info[2].As<Napi::Number>().Uint32Value(),
                                      static_cast<uint64_t>(info[3].As<Napi::Number>().Int64Value()),
                                      require.get(), SettleWith<hp_lease_result, LeaseObject>, p);
    });
  }

  // Leaves {status, count, leaseId, missing} in out; returns the holders
  // when denied.
  Napi::Value AcquireSync(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    Name sub(env, info[0]), res(env, info[1]);
    Requirements require(env, info[4]);
    hp_lease_result r = HP_LEASE_RESULT_INIT;
    Check(env, hp_limiter_acquire(
                   &r, Handle(env), sub.c_str(), res.c_str(), info[2].As<Napi::Number>().Uint32Value(),
                   static_cast<uint64_t>(info[3].As<Napi::Number>().Int64Value()), require.get()));
    LeaseList holders(r.holders, hp_lease_list_free);
    out_[0] = r.status;
    out_[1] = r.count;
    out_[2] = static_cast<double>(r.lease_id);
    out_[3] = r.missing;
    if (holders) return Leases(env, holders->items, holders->count);
    return env.Undefined();
  }

  Napi::Value Release(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    hp_limiter *l = Handle(env);
    std::string sub = info[0].As<Napi::String>(), res = info[1].As<Napi::String>();
    return StartPromise(env, "hotpath.limits.release", [&](Pending *p) {
      return hp_limiter_release_async(l, sub.c_str(), res.c_str(), SettleBool, p);
    });
  }

  Napi::Value ReleaseSync(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    Name sub(env, info[0]), res(env, info[1]);
    return Napi::Boolean::New(env, Check(env, hp_limiter_release(Handle(env), sub.c_str(), res.c_str())) > 0);
  }

  Napi::Value Renew(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    hp_limiter *l = Handle(env);
    std::string sub = info[0].As<Napi::String>(), res = info[1].As<Napi::String>();
    return StartPromise(env, "hotpath.limits.renew", [&](Pending *p) {
      return hp_limiter_renew_async(l, sub.c_str(), res.c_str(),
                                    static_cast<uint64_t>(info[2].As<Napi::Number>().Int64Value()),
                                    SettleBool, p);
    });
  }

  Napi::Value RenewSync(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    std::string sub = info[0].As<Napi::String>(), res = info[1].As<Napi::String>();
    int rc = hp_limiter_renew(Handle(env), sub.c_str(), res.c_str(),
                              static_cast<uint64_t>(info[2].As<Napi::Number>().Int64Value()));
    return Napi::Boolean::New(env, Check(env, rc) > 0);
  }

  Napi::Value Holders(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    hp_limiter *l = Handle(env);
    std::string sub = info[0].As<Napi::String>();
    return StartPromise(env, "hotpath.limits.holders", [&](Pending *p) {
      return hp_limiter_holders_async(
          l, sub.c_str(),
          [](int status, const hp_lease_info *h, void *data) {
            auto p = Own<Pending>(data);
            if (status < 0)
              p->Reject(status);
            else
              p->Resolve([h, status](Napi::Env e) { return Leases(e, h, static_cast<size_t>(status)); });
          },
          p);
    });
  }

  Napi::Value HoldersSync(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    std::string sub = info[0].As<Napi::String>();
    hp_lease_list *h = nullptr;
    Check(env, hp_limiter_holders(&h, Handle(env), sub.c_str()));
    LeaseList list(h, hp_lease_list_free);
    return Leases(env, list->items, list->count);
  }

  Napi::Value Hit(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    hp_limiter *l = Handle(env);
    Name key(env, info[0]);
    hp_rate_spec s = RateSpec(info, 1);
    return StartPromise(env, "hotpath.limits.hit", [&](Pending *p) {
      return hp_limiter_hit_async(l, key.c_str(), &s, SettleWith<hp_rate_result, RateObject>, p);
    });
  }

  // Leaves {allowed, remaining, retryAfterMs, resetAfterMs} in out.
  Napi::Value HitSync(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    Name key(env, info[0]);
    hp_rate_spec s = RateSpec(info, 1);
    hp_rate_result r = HP_RATE_RESULT_INIT;
    Check(env, hp_limiter_hit(&r, Handle(env), key.c_str(), &s));
    out_[0] = r.allowed;
    out_[1] = r.remaining;
    out_[2] = static_cast<double>(r.retry_after_ms);
    out_[3] = static_cast<double>(r.reset_after_ms);
    return env.Undefined();
  }

  // true: decided without waiting, the numbers are in out (as HitSync);
  // false: use Hit.
  Napi::Value HitLocal(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    Name key(env, info[0]);
    hp_rate_spec s = RateSpec(info, 1);
    hp_rate_result r = HP_RATE_RESULT_INIT;
    if (Check(env, hp_limiter_hit_local(&r, Handle(env), key.c_str(), &s)) == 0)
      return Napi::Boolean::New(env, false);
    out_[0] = r.allowed;
    out_[1] = r.remaining;
    out_[2] = static_cast<double>(r.retry_after_ms);
    out_[3] = static_cast<double>(r.reset_after_ms);
    return Napi::Boolean::New(env, true);
  }

  Napi::Value SetAdd(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    hp_limiter *l = Handle(env);
    std::string set = info[0].As<Napi::String>(), member = info[1].As<Napi::String>();
    return StartPromise(env, "hotpath.limits.setAdd", [&](Pending *p) {
      return hp_limiter_set_add_async(l, set.c_str(), member.c_str(), SettleBool, p);
    });
  }

  Napi::Value SetHas(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    hp_limiter *l = Handle(env);
    std::string set = info[0].As<Napi::String>(), member = info[1].As<Napi::String>();
    return StartPromise(env, "hotpath.limits.setHas", [&](Pending *p) {
      return hp_limiter_set_has_async(l, set.c_str(), member.c_str(), SettleBool, p);
    });
  }

  Napi::Value Ping(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    hp_limiter *l = Handle(env);
    return StartPromise(env, "hotpath.limits.ping",
                        [&](Pending *p) { return hp_limiter_ping_async(l, SettleVoid, p); });
  }

  Napi::Value Backend(const Napi::CallbackInfo &info) {
    static const char *names[] = {"", "memory", "sqlite", "redis"};
    int kind = Check(info.Env(), hp_limiter_backend(Handle(info.Env())));
    return Napi::String::New(info.Env(), names[kind]);
  }

  Napi::Value Stats(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    hp_limiter_stats s = HP_LIMITER_STATS_INIT;
    Check(env, hp_limiter_stats_get(&s, Handle(env)));
    return LimiterStatsObject(env, s, hp_limiter_backend(Handle(env)) == HP_BACKEND_REDIS);
  }

  Napi::Value Close(const Napi::CallbackInfo &info) {
    hp_limiter_close(l_, nullptr, nullptr);
    l_ = nullptr;
    return info.Env().Undefined();
  }

  hp_limiter *l_ = nullptr;
  double *out_ = nullptr;
  Napi::Reference<Napi::Float64Array> out_ref_;
};

}  // namespace

void InitLimits(Napi::Env env, Napi::Object exports) { exports.Set("Limiter", Limiter::Define(env)); }

}  // namespace hp_node
