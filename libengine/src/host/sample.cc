#include "host/sample.h"

#include <memory>

#include "core/error.h"

namespace hp::host {

namespace {

class Sample final : public core::Closable {
 public:
  Sample(core::Engine *e, uint32_t window_ms, hp_host_sample_cb cb, void *data)
      : engine_(e), window_ms_(window_ms), cb_(cb), data_(data) {}

  // Loop thread.
  void start() {
    engine_->add(this);
    int rc = cpu_times(&before_);
    if (rc == 0 && uv_timer_init(engine_->loop(), &timer_) != 0)
      rc = core::set_error(HP_EINTERNAL, "host: uv_timer_init failed");
    if (rc != 0) {
      finish(rc, nullptr);
      engine_->remove(this);
      delete this;
      return;
    }
    timer_.data = this;
    uv_timer_start(&timer_, &Sample::on_timer, window_ms_, 0);
  }

  void close_now() override {
    finish(core::set_error(HP_ECLOSED, "host: engine closed during the sample"), nullptr);
    close_timer();
  }

 private:
  static void on_timer(uv_timer_t *t) {
    auto *s = static_cast<Sample *>(t->data);
    hp_host_info info = HP_HOST_INFO_INIT;
    CpuTimes after;
    int rc = cpu_times(&after);
    if (rc == 0) rc = snapshot(&info);
    if (rc == 0) info.cpu_load = cpu_load(s->before_, after);
    s->finish(rc, rc == 0 ? &info : nullptr);
    s->close_timer();
  }

  void finish(int status, const hp_host_info *info) {
    if (done_) return;
    done_ = true;
    cb_(status, info, data_);
  }

  void close_timer() {
    if (closing_) return;
    closing_ = true;
    uv_close(reinterpret_cast<uv_handle_t *>(&timer_), [](uv_handle_t *h) {
      auto *s = static_cast<Sample *>(h->data);
      s->engine_->remove(s);
      delete s;
    });
  }

  core::Engine *engine_;
  uint32_t window_ms_;
  hp_host_sample_cb cb_;
  void *data_;
  uv_timer_t timer_{};
  CpuTimes before_;
  bool done_ = false;
  bool closing_ = false;
};

}  // namespace

int start_sample(core::Engine *engine, uint32_t window_ms, hp_host_sample_cb cb, void *data) {
  auto *s = new Sample(engine, window_ms, cb, data);
  int rc = engine->post([s, cb, data](bool closing) {
    if (closing) {
      core::set_error(HP_ECLOSED, "host: engine closed before the sample started");
      delete s;
      cb(HP_ECLOSED, nullptr, data);
      return;
    }
    s->start();
  });
  if (rc != 0) delete s;
  return rc;
}

}  // namespace hp::host
