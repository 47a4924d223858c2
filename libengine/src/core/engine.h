// The engine: one libuv loop (the caller's or its own thread's), a queue of
// work posted from other threads, and the set of things to close with it.
#pragma once

#include <uv.h>

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <new>
#include <string>
#include <thread>
#include <vector>

#include "hotpath.h"

namespace hp::core {

class Engine;

// Something on the loop that the engine must close before it can finish
// closing: a pending request, a timer, a connection.
class Closable {
 public:
  virtual ~Closable() = default;
  // Called once on the loop thread when the engine closes: fail pending work
  // with HP_ECLOSED, start closing handles, and call Engine::remove(this)
  // once nothing of it is left on the loop.
  virtual void close_now() = 0;

 private:
  friend class Engine;
  // The engine's list of closables runs through them, so tracking one never
  // allocates: a failed allocation there would lose the work it tracks.
  Closable *prev_ = nullptr;
  Closable *next_ = nullptr;
  bool tracked_ = false;
  bool close_called_ = false;
};

class Engine {
 public:
  static int create(Engine **out, uv_loop_t *loop);

  hp_engine *as_c() { return reinterpret_cast<hp_engine *>(this); }
  static Engine *from_c(hp_engine *e) { return reinterpret_cast<Engine *>(e); }

  uv_loop_t *loop() const { return loop_; }
  bool owns_loop() const { return owned_; }
  bool on_loop_thread() const { return std::this_thread::get_id() == loop_thread_.load(); }
  bool closing() const { return closing_.load(std::memory_order_acquire); }

  // Runs fn on the loop thread soon, also while the engine closes (then
  // after what was posted before), or here and now once its loop has
  // finished for good. For a handle's last steps after its close: they
  // must run, and never beside the loop's own. Thread: any.
  void run_soon(std::function<void()> fn);

  // A queued task. Allocated ahead by what must run later whatever memory
  // is left then: a handle allocates its last step with itself.
  struct Task {
    Task *next = nullptr;
    std::function<void(bool closing)> fn;
  };
  // run_soon() with a task allocated ahead: never allocates, never fails.
  void run_soon(std::unique_ptr<Task> t);

  // Runs fn(closing) on the loop thread, soon. Returns HP_ECLOSED (and drops
  // fn) once close has been requested, so a callback is never promised by a
  // call that fails; HP_ENOMEM (dropping fn) without memory to queue it.
  // The std::function is made in here, so that a caller that took a
  // reference for the task gives it back on any non-zero return, even when
  // it is making the function that ran out of memory. Thread: any.
  template <class Fn>
  int post(Fn &&fn) {
    std::unique_ptr<Task> t(new (std::nothrow) Task);
    if (!t) return post_failed_no_memory();
    try {
      t->fn = std::forward<Fn>(fn);
    } catch (const std::bad_alloc &) {
      return post_failed_no_memory();
    }
    return post_task(std::move(t));
  }

  // Track something that must be closed with the engine; never allocates.
  // Loop thread only.
  void add(Closable *c);
  void remove(Closable *c);

  // Runs `work` on the libuv thread pool, then `after(status)` on the loop
  // thread: status 0, or HP_ECLOSED when the engine closed before the work
  // started. Loop thread only.
  void queue_work(std::function<void()> work, std::function<void(int status)> after);

  // The host's receiver of background events (hp_engine_set_event_cb).
  // Thread: any.
  void set_event_cb(hp_engine_event_cb cb, void *data);
  // Hands an event to the receiver on the loop thread (posted when called
  // from another thread; dropped once the engine closes or when there is
  // no memory to carry it). Never throws. Thread: any.
  void emit(int kind, int handle_kind, int status, const std::string &message, const std::string &source);

  // Handles (geo readers, limiters, ...) keep their engine alive.
  void retain() { refs_.fetch_add(1, std::memory_order_relaxed); }
  void release();

  // Asynchronous close (any loop). After it, do not call free_blocking().
  int close(hp_close_cb cb, void *data);
  // Close and join an owned loop's thread, then drop the engine's reference.
  int free_blocking();

 private:
  friend struct std::default_delete<Engine>;
  Engine() = default;
  ~Engine();
  int post_task(std::unique_ptr<Task> t);
  static int post_failed_no_memory();
  void wake();
  void drain_posted();
  void begin_close();
  void maybe_finish_close();
  static void on_async(uv_async_t *h);

  uv_loop_t own_loop_{};
  uv_loop_t *loop_ = nullptr;
  bool owned_ = false;
  std::thread thread_;
  std::atomic<std::thread::id> loop_thread_{};
  uv_async_t wakeup_{};

  std::mutex mu_;  // guards the posted tasks and the closing_ transition
  // Posted tasks, oldest first; a list of nodes, so queueing an allocated
  // task cannot fail.
  Task *posted_head_ = nullptr;
  Task *posted_tail_ = nullptr;
  void enqueue_locked(Task *t);
  std::atomic<bool> closing_{false};
  std::atomic<bool> freeing_{false};
  bool close_started_ = false;  // loop thread
  bool wakeup_closed_ = false;  // loop thread
  bool loop_done_ = false;      // guarded by mu_: the wakeup is closing
  bool finished_ = false;       // loop thread
  Closable *closables_ = nullptr;  // loop thread: an intrusive list
  hp_close_cb close_cb_ = nullptr;
  void *close_data_ = nullptr;
  std::atomic<int> refs_{1};
  std::mutex event_mu_;  // guards the receiver
  hp_engine_event_cb event_cb_ = nullptr;
  void *event_data_ = nullptr;
};

// A step allocated ahead, for what another thread asks of the loop and must
// happen whatever memory is left then (stopping a watch, a subscription, a
// Redis client). It is queued at most once; later requests are no-ops.
class PreparedStep {
 public:
  // fn(closing) runs on the loop thread; `closing`: the engine's own close
  // has begun (or is over), and stops everything itself. Throws bad_alloc.
  explicit PreparedStep(std::function<void(bool closing)> fn);
  PreparedStep(const PreparedStep &) = delete;
  PreparedStep &operator=(const PreparedStep &) = delete;
  ~PreparedStep();
  // Engine::run_soon() with the step: never allocates, never fails, runs
  // the step on e's loop soon (or here, once that loop is over for good).
  // Thread: any.
  void run_soon(Engine *e);

 private:
  std::atomic<Engine::Task *> task_;
};

// A scoped reference to an engine, held by every handle built on it.
class EngineRef {
 public:
  EngineRef() = default;
  explicit EngineRef(Engine *e) : e_(e) {
    if (e_) e_->retain();
  }
  EngineRef(const EngineRef &) = delete;
  EngineRef &operator=(const EngineRef &) = delete;
  ~EngineRef() {
    if (e_) e_->release();
  }
  Engine *get() const { return e_; }
  Engine *operator->() const { return e_; }

 private:
  Engine *e_ = nullptr;
};

}  // namespace hp::core
