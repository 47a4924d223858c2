#include "blobs/owner.h"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace hp::blobs {

namespace {

std::string boot_id() {
  std::ifstream f("/proc/sys/kernel/random/boot_id");
  std::string id;
  std::getline(f, id);
  return id;
}

// Field 22 of /proc/<pid>/stat: when the process started, in clock ticks
// after boot. Together with the pid it names one process. "" once it exited.
std::string start_time(long pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(f, line)) return "";
  size_t close = line.rfind(')');  // the command name may hold spaces
  if (close == std::string::npos) return "";
  std::istringstream rest(line.substr(close + 2));
  std::string field;
  for (int i = 3; i <= 22 && rest >> field; i++) {
    if (i == 3 && (field == "Z" || field == "X")) return "";  // exited, not yet reaped
    if (i == 22) return field;
  }
  return "";
}

}  // namespace

std::string this_process() {
  long pid = static_cast<long>(getpid());
  return boot_id() + ":" + std::to_string(pid) + ":" + start_time(pid);
}

bool process_alive(const std::string &owner) {
  size_t a = owner.find(':');
  size_t b = owner.find(':', a == std::string::npos ? a : a + 1);
  if (a == std::string::npos || b == std::string::npos) return false;
  if (owner.substr(0, a) != boot_id()) return false;
  long pid = std::strtol(owner.c_str() + a + 1, nullptr, 10);
  if (pid <= 0) return false;
  if (kill(static_cast<pid_t>(pid), 0) != 0 && errno != EPERM) return false;
  std::string started = owner.substr(b + 1);
  if (started.empty()) return true;  // no /proc where it was written: trust kill()
  return started == start_time(pid);
}

}  // namespace hp::blobs
