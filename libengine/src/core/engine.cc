#include "core/engine.h"

#include <memory>
#include <new>

#include "core/error.h"

namespace hp::core {

namespace {

// Runs `fn` on a thread of the engine's (loop or pool), where no caller
// could catch: an exception becomes HP_ENOMEM or HP_EINTERNAL.
template <class Fn>
int run_caught(Fn &&fn) noexcept {
  try {
    fn();
    return 0;
  } catch (const std::bad_alloc &) {
    return set_error(HP_ENOMEM, "engine: out of memory");
  } catch (...) {
    return set_error(HP_EINTERNAL, "engine: unexpected exception");
  }
}

}  // namespace

int Engine::create(Engine **out, uv_loop_t *loop) {
  std::unique_ptr<Engine> e(new Engine());
  if (loop) {
    e->loop_ = loop;
    e->loop_thread_ = std::this_thread::get_id();
  } else {
    int rc = uv_loop_init(&e->own_loop_);
    if (rc != 0) return set_error(HP_EINTERNAL, "engine: uv_loop_init: ", uv_strerror(rc));
    e->loop_ = &e->own_loop_;
    e->owned_ = true;
  }
  int rc = uv_async_init(e->loop_, &e->wakeup_, &Engine::on_async);
  if (rc != 0) {
    if (e->owned_) uv_loop_close(&e->own_loop_);
    return set_error(HP_EINTERNAL, "engine: uv_async_init: ", uv_strerror(rc));
  }
  e->wakeup_.data = e.get();
  // An idle engine must not keep the loop alive: a host loop (node's) ends
  // when nothing else is pending, and pending work holds handles of its own.
  if (!e->owned_) uv_unref(reinterpret_cast<uv_handle_t *>(&e->wakeup_));
  if (e->owned_) {
    Engine *raw = e.get();
    raw->thread_ = std::thread([raw] {
      raw->loop_thread_ = std::this_thread::get_id();
      uv_run(raw->loop_, UV_RUN_DEFAULT);
      // Closed by hp_engine_close(): nobody joins this thread, so it lets
      // go of itself and of the engine's own reference.
      if (!raw->freeing_.load(std::memory_order_acquire)) {
        raw->thread_.detach();
        raw->release();
      }
    });
  }
  *out = e.release();
  return 0;
}

Engine::~Engine() {
  // Tasks posted after the loop's last turn never run, as with uv_close.
  while (posted_head_) {
    Task *next = posted_head_->next;
    delete posted_head_;
    posted_head_ = next;
  }
  if (owned_) uv_loop_close(&own_loop_);
}

void Engine::release() {
  if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
}

void Engine::enqueue_locked(Task *t) {
  t->next = nullptr;
  if (posted_tail_)
    posted_tail_->next = t;
  else
    posted_head_ = t;
  posted_tail_ = t;
}

// A failure to post is an answer, not an exception: threads of the engine's
// own (writers, checkpoints) post too, with nobody above them to catch.
int Engine::post_failed_no_memory() { return set_error(HP_ENOMEM, "engine: out of memory"); }

int Engine::post_task(std::unique_ptr<Task> t) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (closing_.load(std::memory_order_relaxed))
      return set_error(HP_ECLOSED, "engine: closed");
    enqueue_locked(t.release());
  }
  wake();
  return 0;
}

void Engine::run_soon(std::function<void()> fn) {
  auto t = std::make_unique<Task>();
  t->fn = [fn = std::move(fn)](bool) { fn(); };
  run_soon(std::move(t));
}

void Engine::run_soon(std::unique_ptr<Task> t) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!loop_done_) {
      enqueue_locked(t.release());
      // Sent under the lock: the wakeup is not closed while it is held.
      wake();
      return;
    }
  }
  run_caught([&] { t->fn(true); });
}

PreparedStep::PreparedStep(std::function<void(bool closing)> fn) : task_(nullptr) {
  auto t = std::make_unique<Engine::Task>();
  t->fn = std::move(fn);
  task_.store(t.release());
}

PreparedStep::~PreparedStep() {
  delete task_.load();
}

void PreparedStep::run_soon(Engine *e) {
  if (Engine::Task *t = task_.exchange(nullptr)) e->run_soon(std::unique_ptr<Engine::Task>(t));
}

void Engine::wake() {
  // On a host loop the idle wakeup is unref'd; posted work and a close must
  // keep the loop alive until they have run. Only the loop thread may touch
  // refs; other threads only post to owned loops, whose wakeup stays ref'd.
  if (!owned_ && on_loop_thread()) uv_ref(reinterpret_cast<uv_handle_t *>(&wakeup_));
  uv_async_send(&wakeup_);
}

void Engine::on_async(uv_async_t *h) {
  auto *e = static_cast<Engine *>(h->data);
  if (!e->owned_) uv_unref(reinterpret_cast<uv_handle_t *>(h));
  e->drain_posted();
  if (e->closing() && !e->close_started_) e->begin_close();
}

void Engine::drain_posted() {
  Task *batch;
  {
    std::lock_guard<std::mutex> lock(mu_);
    batch = posted_head_;
    posted_head_ = posted_tail_ = nullptr;
  }
  // A task that throws (out of memory) must not end the host's process.
  // Tasks that carry a caller's callback catch their own failures and call
  // back with them (the allocation sweep checks it); this is the last net.
  while (batch) {
    std::unique_ptr<Task> t(batch);
    batch = t->next;
    run_caught([&] { t->fn(close_started_); });
  }
}

void Engine::add(Closable *c) {
  if (c->tracked_) return;
  c->tracked_ = true;
  c->prev_ = nullptr;
  c->next_ = closables_;
  if (closables_) closables_->prev_ = c;
  closables_ = c;
}

void Engine::remove(Closable *c) {
  if (c->tracked_) {
    if (c->prev_) c->prev_->next_ = c->next_;
    else closables_ = c->next_;
    if (c->next_) c->next_->prev_ = c->prev_;
    c->prev_ = c->next_ = nullptr;
    c->tracked_ = false;
  }
  if (close_started_) maybe_finish_close();
}

namespace {

struct Work final : Closable {
  uv_work_t req{};
  Engine *engine;
  std::function<void()> work;
  std::function<void(int)> after;
  int status = 0;  // HP_ENOMEM or HP_EINTERNAL when `work` threw

  explicit Work(Engine *e) : engine(e) {}
  void close_now() override { uv_cancel(reinterpret_cast<uv_req_t *>(&req)); }

  static void run(uv_work_t *r) {
    auto *w = static_cast<Work *>(r->data);
    w->status = run_caught([w] { w->work(); });
  }
  static void done(uv_work_t *r, int status) {
    std::unique_ptr<Work> w(static_cast<Work *>(r->data));
    run_caught([&] { w->after(status == UV_ECANCELED ? HP_ECLOSED : w->status); });
    w->engine->remove(w.get());
  }
};

}  // namespace

void Engine::queue_work(std::function<void()> work, std::function<void(int)> after) {
  auto w = std::make_unique<Work>(this);
  w->work = std::move(work);
  w->after = std::move(after);
  w->req.data = w.get();
  if (close_started_) {
    w->after(HP_ECLOSED);
    return;
  }
  add(w.get());
  uv_queue_work(loop_, &w->req, &Work::run, &Work::done);
  w.release();
}

int Engine::close(hp_close_cb cb, void *data) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (closing_.load(std::memory_order_relaxed))
      return set_error(HP_ECLOSED, "engine: close already requested");
    close_cb_ = cb;
    close_data_ = data;
    closing_.store(true, std::memory_order_release);
  }
  wake();
  return 0;
}

void Engine::begin_close() {
  close_started_ = true;
  // Work posted between on_async's drain and this point would otherwise
  // never run: the wakeup closes below. post() refuses new work by now.
  drain_posted();
  // Closing one thing may remove (and free) others, so after each
  // close_now() the walk starts again from the head, past those done.
  for (Closable *c = closables_; c;) {
    if (c->close_called_) {
      c = c->next_;
      continue;
    }
    c->close_called_ = true;
    c->close_now();
    c = closables_;
  }
  maybe_finish_close();
}

void Engine::maybe_finish_close() {
  if (closables_ || wakeup_closed_) return;
  wakeup_closed_ = true;
  {
    std::lock_guard<std::mutex> lock(mu_);
    loop_done_ = true;
  }
  // What run_soon() queued since the last drain runs now; later ones run on
  // their caller's thread.
  drain_posted();
  uv_close(reinterpret_cast<uv_handle_t *>(&wakeup_), [](uv_handle_t *h) {
    auto *e = static_cast<Engine *>(h->data);
    e->finished_ = true;
    if (e->close_cb_) e->close_cb_(0, e->close_data_);
    // An owned loop's thread returns from uv_run now; free_blocking() joins
    // it. A caller's loop has no thread of ours: drop the engine's own ref.
    if (!e->owned_) e->release();
  });
}

int Engine::free_blocking() {
  if (!owned_)
    return set_error(HP_EINVAL, "engine_free: the engine runs on a caller's loop; use hp_engine_close");
  if (on_loop_thread())
    return set_error(HP_EINVAL, "engine_free: called from the engine's own loop thread");
  if (closing())
    return set_error(HP_ECLOSED, "engine_free: hp_engine_close was already called");
  freeing_.store(true, std::memory_order_release);
  close(nullptr, nullptr);
  if (thread_.joinable()) thread_.join();
  release();
  return 0;
}

}  // namespace hp::core
