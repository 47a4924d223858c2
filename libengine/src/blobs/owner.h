// Which process wrote an upload, so a later open can tell a crashed upload
// (its process is gone) from one still being written next door.
#pragma once

#include <string>

namespace hp::blobs {

// "<boot id>:<pid>:<process start time>" of the calling process.
std::string this_process();
// False when the process named by `owner` (from this_process()) is gone:
// another boot, no such pid, or a pid reused by a newer process.
bool process_alive(const std::string &owner);

}  // namespace hp::blobs
