/* hotpath/host.h: host metrics from libuv. Include hotpath.h. */
#ifndef HOTPATH_HOST_H
#define HOTPATH_HOST_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/** A snapshot of the host, the payload of the Perfload client. */
typedef struct hp_host_info {
  unsigned version;      /**< HP_HOST_INFO_VERSION */
  uint64_t free_mem;     /**< bytes */
  uint64_t total_mem;    /**< bytes */
  uint64_t used_mem;     /**< total_mem - free_mem */
  double mem_usage;      /**< used_mem / total_mem, 0..1 */
  char os_type[64];      /**< kernel name, as node's os.type(): "Linux" */
  double up_time;        /**< seconds since boot */
  char cpu_model[128];   /**< model of the first CPU */
  uint32_t num_cores;    /**< logical CPUs */
  uint32_t cpu_speed;    /**< MHz of the first CPU */
  char mac[18];          /**< "aa:bb:cc:dd:ee:ff" of the first non-internal
                              interface with a MAC, "" when there is none */
  double cpu_load;       /**< percent busy 0..100 over the sample window;
                              -1 in hp_host_snapshot() (it does not wait) */
} hp_host_info;

#define HP_HOST_INFO_VERSION 1
#define HP_HOST_INFO_INIT {HP_HOST_INFO_VERSION, 0, 0, 0, 0, {0}, 0, {0}, 0, 0, {0}, -1}

/**
 * Fill `out` with the host's metrics now, without waiting (cpu_load = -1).
 * @param[out] out  caller-owned; out->version must be HP_HOST_INFO_VERSION.
 * @return 0, HP_EINVAL (out NULL or unknown version), HP_EIO (libuv could
 *         not read a metric; hp_last_error() names it).
 * Thread: any.
 */
HP_EXTERN int hp_host_snapshot(hp_host_info *out);

/**
 * Completion of hp_host_sample(). `info` is borrowed for the duration of
 * the callback; NULL when status < 0.
 */
typedef void (*hp_host_sample_cb)(int status, const hp_host_info *info,
                                  void *data);

/** Default window of hp_host_sample(), in milliseconds. */
#define HP_HOST_SAMPLE_WINDOW_MS 100

/**
 * Measure CPU load over `window_ms` on the engine's loop (a timer, no
 * blocking sleep), then report a full snapshot with cpu_load set.
 * @param e          the engine.
 * @param window_ms  1..60000; 0 means HP_HOST_SAMPLE_WINDOW_MS.
 * @param cb         required; runs exactly once on the loop thread unless
 *                   this call returns < 0; HP_ECLOSED if the engine closes
 *                   first.
 * @param data       passed to cb unchanged.
 * @return 0, HP_EINVAL, HP_ECLOSED, HP_ENOMEM.
 * Thread: any.
 */
HP_EXTERN int hp_host_sample(hp_engine *e, uint32_t window_ms,
                             hp_host_sample_cb cb, void *data);

#ifdef __cplusplus
}
#endif

#endif /* HOTPATH_HOST_H */
