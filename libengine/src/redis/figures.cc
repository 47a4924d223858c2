// The figures of a connection: commands, timeouts, and the connection
// going down and coming back, which the engine's host also hears of.
#include "redis/figures.h"

#include "redis/connection.h"

namespace hp::redis {

void Figures::fill(const Figures *f, hp_redis_stats *out) {
  auto get = [&](const std::atomic<uint64_t> Figures::*m) { return f ? (f->*m).load(std::memory_order_relaxed) : 0; };
  out->commands = get(&Figures::commands);
  out->in_flight = get(&Figures::in_flight);
  out->timeouts = get(&Figures::timeouts);
  out->disconnects = get(&Figures::disconnects);
  out->reconnects = get(&Figures::reconnects);
  out->connected = get(&Figures::connected);
}

void Connection::went_up() {
  if (up_) return;
  up_ = true;
  Figures &f = *options_.figures;
  f.bump(f.connected);
  if (was_up_) {
    f.bump(f.reconnects);
    engine_->emit(HP_EVENT_REDIS_RECONNECT, options_.owner, 0, "redis: connected again to " + where_, where_);
  }
  was_up_ = true;
}

void Connection::went_down(const std::string &why) {
  if (!up_) return;
  up_ = false;
  Figures &f = *options_.figures;
  f.drop(f.connected);
  if (state_ == State::Closing) return;
  f.bump(f.disconnects);
  engine_->emit(HP_EVENT_REDIS_DISCONNECT, options_.owner, HP_EUNAVAILABLE, why, where_);
}

void Connection::timed_out() { options_.figures->bump(options_.figures->timeouts); }

}  // namespace hp::redis
