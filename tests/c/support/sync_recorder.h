// Records the file writes and syncs of this process, for the durable blob
// commit test (blobs_test.cc, the only binary linked with
// sync_recorder.cc). sync_recorder.cc defines fsync, fdatasync, pwrite and
// pwrite64 in the test binary: they come before libc's for every caller,
// libsqlite3 included, and hand each call on to the next definition.
#pragma once

#include <string>
#include <vector>

namespace hp_test::sync_recorder {

struct Event {
  enum Kind { kWrite, kDataSync, kSync } kind;
  std::string path;  // the file the descriptor names (/proc/self/fd)
};

// Starts (clearing what was recorded) or stops recording, on every thread.
void record(bool on);
// What was recorded, in the order the calls returned.
std::vector<Event> events();

}  // namespace hp_test::sync_recorder
