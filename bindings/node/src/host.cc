// Host metrics: a synchronous snapshot and an asynchronous CPU-load sample.
#include <memory>

#include "addon.h"

namespace hp_node {

namespace {

Napi::Object ToObject(Napi::Env env, const hp_host_info &h) {
  auto o = Napi::Object::New(env);
  o.Set("freeMem", Napi::Number::New(env, static_cast<double>(h.free_mem)));
  o.Set("totalMem", Napi::Number::New(env, static_cast<double>(h.total_mem)));
  o.Set("usedMem", Napi::Number::New(env, static_cast<double>(h.used_mem)));
  o.Set("memUsage", Napi::Number::New(env, h.mem_usage));
  o.Set("osType", Napi::String::New(env, h.os_type));
  o.Set("upTime", Napi::Number::New(env, h.up_time));
  o.Set("cpuModel", Napi::String::New(env, h.cpu_model));
  o.Set("numCores", Napi::Number::New(env, h.num_cores));
  o.Set("cpuSpeed", Napi::Number::New(env, h.cpu_speed));
  o.Set("macA", Napi::String::New(env, h.mac));
  if (h.cpu_load >= 0) o.Set("cpuLoad", Napi::Number::New(env, h.cpu_load));
  return o;
}

Napi::Value Snapshot(const Napi::CallbackInfo &info) {
  hp_host_info h = HP_HOST_INFO_INIT;
  Check(info.Env(), hp_host_snapshot(&h));
  return ToObject(info.Env(), h);
}

Napi::Value Sample(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  uint32_t window = info[0].As<Napi::Number>().Uint32Value();
  return StartPromise(env, "hotpath.host.sample", [&](Pending *p) {
    return hp_host_sample(GetAddon(env).engine, window, SettleWith<hp_host_info, ToObject>, p);
  });
}

}  // namespace

void InitHost(Napi::Env env, Napi::Object exports) {
  exports.Set("hostSnapshot", Napi::Function::New(env, Snapshot, "hostSnapshot"));
  exports.Set("hostSample", Napi::Function::New(env, Sample, "hostSample"));
}

}  // namespace hp_node
