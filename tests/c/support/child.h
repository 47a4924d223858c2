// Helper processes of a test: the test binary itself, started again as
// `<binary> --hp-child NAME ARGS...` and running the function registered
// under NAME. A spawned child starts clean, where fork() from a test binary
// that already ran engines would copy one thread of a process with many
// (ThreadSanitizer refuses to run threads after that).
#pragma once

#include <spawn.h>
#include <sys/wait.h>

#include <map>
#include <string>
#include <vector>

extern char **environ;

namespace hp_test {

using ChildMain = int (*)(int argc, char **argv);

inline std::map<std::string, ChildMain> &children() {
  static std::map<std::string, ChildMain> all;
  return all;
}

struct ChildRegistration {
  ChildRegistration(const char *name, ChildMain main) { children()[name] = main; }
};

// HP_TEST_CHILD(name) { ... return exit status; } with argc/argv holding
// the arguments given to spawn_child().
#define HP_TEST_CHILD(name)                                                       \
  static int hp_child_##name(int argc, char **argv);                              \
  static hp_test::ChildRegistration hp_child_reg_##name(#name, &hp_child_##name); \
  static int hp_child_##name([[maybe_unused]] int argc, [[maybe_unused]] char **argv)

// Called by main() for `--hp-child NAME ARGS...`: the child's exit status.
inline int child_main(int argc, char **argv) {
  auto it = children().find(argv[0]);
  return it == children().end() ? 127 : it->second(argc - 1, argv + 1);
}

// Runs the child `name` with `args` to its end: its wait status, or -1 if
// it could not start.
inline int spawn_child(const char *name, std::vector<std::string> args) {
  args.insert(args.begin(), {"/proc/self/exe", "--hp-child", name});
  std::vector<char *> argv;
  for (auto &a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = -1;
  if (posix_spawn(&pid, "/proc/self/exe", nullptr, nullptr, argv.data(), environ) != 0) return -1;
  int status = 0;
  return waitpid(pid, &status, 0) == pid ? status : -1;
}

}  // namespace hp_test
