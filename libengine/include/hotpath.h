/*
 * hotpath: native hot paths for web services (recipe lookup, IP-geo
 * enrichment, limit checks, chunked storage) behind one small C API.
 *
 * This is the only header a user includes. It pulls in one header per
 * subsystem, each read top to bottom like a manual:
 *
 *   hotpath/common.h   export macro, versions, error codes, the engine
 *   hotpath/sticky.h   farmhash fingerprint32 and sticky worker choice
 *   hotpath/host.h     host metrics from libuv
 *   hotpath/ua.h       user-agent parsing
 *   hotpath/events.h   tracker events: client IP, consumer messages, batching
 *   hotpath/geo.h      IP enrichment over MaxMind DB files, and a writer
 *   hotpath/recipes.h  named JSON record tables with live updates and rules
 *   hotpath/limits.h   concurrency leases and rate limits (memory, SQLite,
 *                      Redis), and a small registry of known ids
 *   hotpath/blobs.h    chunked file storage (SQLite, Redis) with streaming
 *                      writes and range reads
 *
 * Conventions (every subsystem follows them):
 *   - Functions return int: 0 or a positive count on success, a negative
 *     HP_E* code on failure; hp_last_error() then has the detail.
 *   - A miss is a result, not an error: every lookup (hp_geo_get,
 *     hp_geo_lookup, hp_recipes_get, hp_recipes_match, ...) returns 1 when
 *     it found something and 0 when there is nothing for that key, with
 *     no message set. HP_ENOTFOUND is kept for a named thing that must
 *     exist (a blob id, a file to open).
 *   - HP_EINVAL means a bad argument and nothing else; an outcome that a
 *     valid argument can meet has its own code (HP_EFAMILY: an IPv6
 *     address asked of an IPv4-only database).
 *   - Out parameters come first; every *_open/_new has a *_close/_free that
 *     accepts NULL.
 *   - Option and result structs start with `unsigned version` and have an
 *     HP_*_INIT macro; NULL options mean defaults.
 *   - Callbacks run exactly once, on the engine's loop thread, never after
 *     the call that submitted them returned an error, and with HP_ECLOSED for
 *     work still pending when the engine closes.
 *   - Nothing aborts, prints or exits on bad input.
 */
#ifndef HOTPATH_H
#define HOTPATH_H

#include "hotpath/common.h"
#include "hotpath/sticky.h"
#include "hotpath/host.h"
#include "hotpath/ua.h"
#include "hotpath/events.h"
#include "hotpath/geo.h"
#include "hotpath/recipes.h"
#include "hotpath/limits.h"
#include "hotpath/blobs.h"

#endif /* HOTPATH_H */
