// The engine's background events: one receiver set by the host, called on
// the loop thread with no hotpath lock held.
#include <new>

#include "core/engine.h"

namespace hp::core {

void Engine::set_event_cb(hp_engine_event_cb cb, void *data) {
  std::lock_guard<std::mutex> lock(event_mu_);
  event_cb_ = cb;
  event_data_ = data;
}

void Engine::emit(int kind, int handle_kind, int status, const std::string &message, const std::string &source) {
  try {
    if (!on_loop_thread()) {
      post([this, kind, handle_kind, status, message, source](bool closing) {
        if (!closing) emit(kind, handle_kind, status, message, source);
      });
      return;
    }
    hp_engine_event_cb cb;
    void *data;
    {
      std::lock_guard<std::mutex> lock(event_mu_);
      cb = event_cb_;
      data = event_data_;
    }
    if (!cb) return;
    hp_engine_event ev = {HP_ENGINE_EVENT_VERSION, kind, handle_kind, status, message.c_str(), source.c_str()};
    cb(&ev, data);
  } catch (const std::bad_alloc &) {
    // An event is news, not work: without memory to carry it, it is lost.
  }
}

}  // namespace hp::core
