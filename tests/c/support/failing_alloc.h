// An allocator that fails one chosen allocation, for the allocation-failure
// sweep (alloc_sweep_test.cc, the only binary linked with failing_alloc.cc).
// It replaces malloc, calloc, realloc and operator new in that binary and
// hands every call on to the allocator beneath (libc's, or ASan's, whose
// leak checker so still sees every block).
#pragma once

#include <cstdint>

namespace hp_test::failing_alloc {

// From now on, on any thread, counts malloc/calloc/realloc/new calls (but
// not those libc makes itself: failing_alloc.cc says why) and
// fails the `fail_at`-th (1-based; 0 fails none): malloc returns NULL with
// errno ENOMEM, new throws std::bad_alloc.
void arm(uint64_t fail_at);
// Stops counting; returns the number of allocations counted since arm().
uint64_t disarm();
// Whether the chosen allocation was reached (and failed) since arm().
bool failed();

}  // namespace hp_test::failing_alloc
