#include "recipes/subscription.h"

#include "core/error.h"

namespace hp::recipes {

Subscription::Subscription(Set *set, redis::Options options, std::string channel, uint64_t max_message,
                           hp_recipes_message_cb cb, void *data)
    : set_(set),
      options_(std::move(options)),
      channel_(std::move(channel)),
      max_message_(max_message),
      cb_(cb),
      data_(data),
      // When the engine is closing, the set's close stops the subscription.
      stop_step_([this](bool closing) {
        if (!closing) stop();
      }) {
  if (!options_.figures) options_.figures = std::make_shared<redis::Figures>();
  options_.owner = HP_HANDLE_RECIPES;
}

void Subscription::start() {
  set_->subscription_started();
  try {
    client_ = redis::Client::open(set_->engine(), options_);
    // Updates published while the connection was down are lost: the files
    // are the source of truth, so every table reloads its own.
    client_->on_resubscribe([this] {
      if (stopping_) return;
      resyncs_.fetch_add(1, std::memory_order_relaxed);
      set_->resync();
    });
    client_->subscribe(channel_, [this](const std::string &, const std::string &msg) { on_message(msg); });
  } catch (const std::bad_alloc &) {
    // A subscription that cannot start ends at once: its callback gets
    // HP_ENOMEM, then the HP_ECLOSED of every stop.
    core::set_error(HP_ENOMEM, "recipes: out of memory subscribing to ", channel_);
    if (cb_) cb_(HP_ENOMEM, data_);
    if (client_) {
      stop();
    } else {
      stopping_ = true;
      finish();
    }
  }
}

void Subscription::on_message(const std::string &msg) {
  if (stopping_) return;
  messages_.fetch_add(1, std::memory_order_relaxed);
  queued_.push_back(msg);
  if (!applying_) apply_queued();
}

void Subscription::apply_queued() {
  applying_ = true;
  auto batch = std::make_shared<std::vector<std::string>>();
  batch->swap(queued_);
  auto outcomes = std::make_shared<std::vector<core::Status>>();
  set_->engine()->queue_work(
      [this, batch, outcomes] {
        outcomes->reserve(batch->size());
        for (const std::string &msg : *batch) {
          int rc;
          try {
            if (msg.size() > max_message_)
              rc = core::set_error(HP_ELIMIT, "recipes: a message of ", std::to_string(msg.size()), " bytes on ",
                                   channel_, " is over max_message_bytes (", std::to_string(max_message_), ")");
            else if (core::Handle::Writer writer(set_); writer)
              rc = set_->update(msg);
            else
              rc = core::set_error(HP_ECLOSED, "recipes: closed");
          } catch (const std::bad_alloc &) {
            rc = core::set_error(HP_ENOMEM, "recipes: out of memory applying a message from ", channel_);
          }
          outcomes->push_back(core::Status::capture(rc));
        }
      },
      [this, outcomes](int) {
        // Status < 0: the engine closed before the batch ran; its messages
        // are dropped as a closed subscription's are.
        applying_ = false;
        for (const core::Status &o : *outcomes) {
          if (o.code == HP_RECIPES_APPLIED)
            applied_.fetch_add(1, std::memory_order_relaxed);
          else if (o.code == HP_RECIPES_STALE)
            stale_.fetch_add(1, std::memory_order_relaxed);
          else
            errors_.fetch_add(1, std::memory_order_relaxed);
          if (o.code < 0 && o.code != HP_ECLOSED)
            set_->engine()->emit(HP_EVENT_ERROR, HP_HANDLE_RECIPES, o.code,
                                 "recipes: a message was refused: " + o.message, channel_);
          if (o.code < 0)
            o.raise();
          else
            core::clear_error();
          if (cb_) cb_(o.code, data_);
        }
        if (finish_after_batch_) {
          finish();
        } else if (!queued_.empty() && !stopping_) {
          apply_queued();
        }
      });
}

void Subscription::stop() {
  if (stopping_ || !client_) return;
  stopping_ = true;
  client_->close([this] { finish(); });
}

void Subscription::finish() {
  if (applying_) {  // the batch on the pool uses the set: wait for it
    finish_after_batch_ = true;
    return;
  }
  finish_after_batch_ = false;
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
  stop_step_.run_soon(set_->engine());
}

void Subscription::stats(hp_recipes_subscription_stats *out) const {
  out->messages = messages_.load(std::memory_order_relaxed);
  out->applied = applied_.load(std::memory_order_relaxed);
  out->stale = stale_.load(std::memory_order_relaxed);
  out->errors = errors_.load(std::memory_order_relaxed);
  if (out->version >= 2) out->resyncs = resyncs_.load(std::memory_order_relaxed);
  if (out->version >= 3) redis::Figures::fill(options_.figures.get(), &out->redis);
}

}  // namespace hp::recipes
