#include "recipes/subscription.h"

#include "core/error.h"

namespace hp::recipes {

Subscription::Subscription(Set *set, redis::Options options, std::string channel, hp_recipes_message_cb cb,
                           void *data)
    : set_(set), options_(std::move(options)), channel_(std::move(channel)), cb_(cb), data_(data) {}

void Subscription::start() {
  set_->subscription_started();
  client_ = redis::Client::open(set_->engine(), options_);
  client_->subscribe(channel_, [this](const std::string &, const std::string &msg) { on_message(msg); });
}

void Subscription::on_message(const std::string &msg) {
  if (stopping_) return;
  messages_.fetch_add(1, std::memory_order_relaxed);
  int rc;
  try {
    core::Handle::Call call(set_);
    rc = call ? set_->update(msg, call) : core::set_error(HP_ECLOSED, "recipes: closed");
  } catch (const std::bad_alloc &) {
    rc = core::set_error(HP_ENOMEM, "recipes: out of memory applying a message from ", channel_);
  }
  if (rc == HP_RECIPES_APPLIED)
    applied_.fetch_add(1, std::memory_order_relaxed);
  else if (rc == HP_RECIPES_STALE)
    stale_.fetch_add(1, std::memory_order_relaxed);
  else
    errors_.fetch_add(1, std::memory_order_relaxed);
  if (cb_) cb_(rc, data_);
}

void Subscription::stop() {
  if (stopping_ || !client_) return;
  stopping_ = true;
  client_->close([this] { finish(); });
}

void Subscription::finish() {
  client_ = nullptr;
  core::set_error(HP_ECLOSED, "recipes: the subscription to ", channel_, " stopped");
  if (cb_) cb_(HP_ECLOSED, data_);
  set_->subscription_gone();
}

void Subscription::abandon() {
  stopping_ = true;
  core::set_error(HP_ECLOSED, "recipes: closed before the subscription started");
  if (cb_) cb_(HP_ECLOSED, data_);
}

void Subscription::post_stop() {
  // When the engine is closing, the set's close stops the subscription.
  set_->engine()->post([this](bool closing) {
    if (!closing) stop();
  });
}

void Subscription::stats(hp_recipes_subscription_stats *out) const {
  out->messages = messages_.load(std::memory_order_relaxed);
  out->applied = applied_.load(std::memory_order_relaxed);
  out->stale = stale_.load(std::memory_order_relaxed);
  out->errors = errors_.load(std::memory_order_relaxed);
}

}  // namespace hp::recipes
