// The append-only log file sink: a writer thread appends each batch with
// write(2), fsyncs per policy and rotates by size.
#pragma once

#include <condition_variable>
#include <deque>
#include <mutex>
#include <string>
#include <thread>

#include "events/sink.h"
#include "hotpath.h"

namespace hp::events {

class FileSink final : public Sink {
 public:
  FileSink(std::string path, const hp_events_file_options &opts, uint32_t retry_ms);
  ~FileSink() override;

  int start(Progress *progress) override;
  void submit(Batch &&batch) override;
  int drain_and_close() override;

 private:
  void run();
  int open_file();
  int write_batch(const Batch &b);  // 0 or a negative code
  int rotate();
  int sync_now();

  std::string path_;
  hp_events_file_options opts_;
  uint32_t retry_ms_;
  Progress *progress_ = nullptr;
  int fd_ = -1;
  uint64_t size_ = 0;
  int64_t last_sync_ms_ = 0;
  bool dirty_ = false;  // written since the last fsync

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Batch> queue_;
  bool stop_ = false;
  int final_status_ = 0;
  std::thread thread_;
  std::mutex close_mu_;  // drain_and_close() runs once; a second caller waits
  bool closed_ = false;
};

}  // namespace hp::events
