// A real redis-server on a free loopback port for one test.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

extern char **environ;

namespace hp_test {

inline int free_port() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr *>(&a), sizeof a);
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr *>(&a), &len);
  close(fd);
  return ntohs(a.sin_port);
}

inline bool port_open(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = connect(fd, reinterpret_cast<sockaddr *>(&a), sizeof a) == 0;
  close(fd);
  return ok;
}

// Starts `args` (argv[0] looked up on PATH) with stdout, and stderr too
// when `quiet_stderr`, on /dev/null. Returns the pid, or -1. The child is
// killed when the thread that started it ends (setpriv's parent-death
// signal): a test binary that dies on a sanitizer report leaves no server
// behind holding ctest's output pipe open until the timeout.
inline pid_t spawn_quiet(std::vector<std::string> args, bool quiet_stderr = false) {
  if (access("/usr/bin/setpriv", X_OK) == 0) args.insert(args.begin(), {"/usr/bin/setpriv", "--pdeathsig", "KILL"});
  std::vector<char *> argv;
  for (auto &a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  if (quiet_stderr) posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  pid_t pid = -1;
  if (posix_spawnp(&pid, argv[0], &fa, nullptr, argv.data(), environ) != 0) pid = -1;
  posix_spawn_file_actions_destroy(&fa);
  return pid;
}

class RedisServer {
 public:
  RedisServer() : port_(free_port()) { start(); }
  explicit RedisServer(int port) : port_(port) { start(); }
  // With more arguments for redis-server (say --cluster-enabled yes).
  explicit RedisServer(std::vector<std::string> extra) : port_(free_port()), extra_(std::move(extra)) {
    start();
  }
  ~RedisServer() { stop(); }
  int port() const { return port_; }
  std::string url() const { return "redis://127.0.0.1:" + std::to_string(port_) + "/0"; }

  void start() {
    std::string port = std::to_string(port_);
    std::vector<std::string> args = {"redis-server", "--port", port, "--bind", "127.0.0.1", "--save", "",
                                     "--appendonly", "no", "--dir", "/tmp"};
    args.insert(args.end(), extra_.begin(), extra_.end());
    pid_ = spawn_quiet(args);
    for (int i = 0; i < 250 && !port_open(port_); i++) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  void stop() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
      pid_ = -1;
    }
  }
  // SIGSTOP: the server holds connections open but answers nothing.
  void pause() { kill(pid_, SIGSTOP); }
  void resume() { kill(pid_, SIGCONT); }

 private:
  int port_;
  std::vector<std::string> extra_;
  pid_t pid_ = -1;
};

}  // namespace hp_test
