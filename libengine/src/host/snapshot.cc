#include "host/snapshot.h"

#include <uv.h>

#include <cstdio>
#include <cstring>

#include "core/error.h"

namespace hp::host {

namespace {

// Copies with truncation, always NUL-terminated.
void copy_text(char *dst, size_t cap, const char *src) {
  size_t n = src ? std::strlen(src) : 0;
  if (n >= cap) n = cap - 1;
  if (n) std::memcpy(dst, src, n);
  dst[n] = '\0';
}

// The first interface that is not internal and has a MAC that is not all
// zeros, the way the Perfload client picks it from os.networkInterfaces().
void first_mac(char out[18]) {
  out[0] = '\0';
  uv_interface_address_t *ifs = nullptr;
  int count = 0;
  if (uv_interface_addresses(&ifs, &count) != 0) return;
  for (int i = 0; i < count; i++) {
    if (ifs[i].is_internal) continue;
    const unsigned char *m = reinterpret_cast<const unsigned char *>(ifs[i].phys_addr);
    if ((m[0] | m[1] | m[2] | m[3] | m[4] | m[5]) == 0) continue;
    std::snprintf(out, 18, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
    break;
  }
  uv_free_interface_addresses(ifs, count);
}

}  // namespace

int cpu_times(CpuTimes *out) {
  uv_cpu_info_t *cpus = nullptr;
  int count = 0;
  int rc = uv_cpu_info(&cpus, &count);
  if (rc != 0) return core::set_error(HP_EIO, "host: uv_cpu_info: ", uv_strerror(rc));
  CpuTimes t;
  for (int i = 0; i < count; i++) {
    const auto &c = cpus[i].cpu_times;
    t.idle += c.idle;
    t.total += c.user + c.nice + c.sys + c.idle + c.irq;
  }
  uv_free_cpu_info(cpus, count);
  *out = t;
  return 0;
}

double cpu_load(const CpuTimes &before, const CpuTimes &after) {
  uint64_t total = after.total - before.total;
  uint64_t idle = after.idle - before.idle;
  if (total == 0 || idle > total) return 0.0;
  return 100.0 * static_cast<double>(total - idle) / static_cast<double>(total);
}

int snapshot(hp_host_info *out) {
  out->free_mem = uv_get_free_memory();
  out->total_mem = uv_get_total_memory();
  out->used_mem = out->total_mem > out->free_mem ? out->total_mem - out->free_mem : 0;
  out->mem_usage = out->total_mem ? static_cast<double>(out->used_mem) / static_cast<double>(out->total_mem) : 0.0;

  uv_utsname_t uts;
  int rc = uv_os_uname(&uts);
  if (rc != 0) return core::set_error(HP_EIO, "host: uv_os_uname: ", uv_strerror(rc));
  copy_text(out->os_type, sizeof out->os_type, uts.sysname);

  rc = uv_uptime(&out->up_time);
  if (rc != 0) return core::set_error(HP_EIO, "host: uv_uptime: ", uv_strerror(rc));

  uv_cpu_info_t *cpus = nullptr;
  int count = 0;
  rc = uv_cpu_info(&cpus, &count);
  if (rc != 0) return core::set_error(HP_EIO, "host: uv_cpu_info: ", uv_strerror(rc));
  copy_text(out->cpu_model, sizeof out->cpu_model, count > 0 ? cpus[0].model : "");
  out->cpu_speed = count > 0 ? static_cast<uint32_t>(cpus[0].speed) : 0;
  out->num_cores = static_cast<uint32_t>(count);
  uv_free_cpu_info(cpus, count);

  first_mac(out->mac);
  out->cpu_load = -1;
  return 0;
}

}  // namespace hp::host
