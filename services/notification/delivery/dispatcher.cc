#include "services/notification/delivery/dispatcher.h"

#include <algorithm>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "google/protobuf/util/json_util.h"
#include "libs/core/log.h"
#include "services/notification/delivery/event_facts.h"
#include "sundesk/events/v1/events.pb.h"

namespace sundesk::notification {
namespace {

AttemptResult NotSent(std::string why) {
  AttemptResult r;
  r.refused = true;
  r.error = std::move(why);
  return r;
}

const char* ChannelLabel(ChannelKind c) { return c == ChannelKind::kWebhook ? "webhook" : "email"; }

}  // namespace

Dispatcher::Dispatcher(PgDeliveryStore& store, WebhookSender& webhooks, EmailSender* emails,
                       const Clock& clock, DeliveryMetrics* metrics, DispatcherOptions options)
    : store_(store),
      webhooks_(webhooks),
      emails_(emails),
      clock_(clock),
      metrics_(metrics),
      options_(options) {}

void Dispatcher::Complete(DueDelivery due, const AttemptResult& result) {
  absl::MutexLock lock(&mu_);
  completed_.push_back({.due = std::move(due), .result = result});
}

void Dispatcher::Stop() {
  absl::MutexLock lock(&mu_);
  stopping_ = true;
}

void Dispatcher::Wake() {
  absl::MutexLock lock(&mu_);
  woken_ = true;
}

void Dispatcher::Adopt(std::vector<DueDelivery> due) {
  if (due.empty()) return;
  adopted_waiting_ += static_cast<int>(due.size());
  absl::MutexLock lock(&mu_);
  for (DueDelivery& d : due) adopted_.push_back(std::move(d));
}

int Dispatcher::Room() const {
  return std::max(0, options_.max_outstanding - outstanding_.load() - adopted_waiting_.load());
}

bool Dispatcher::Render(const std::string& payload) {
  // An event's deliveries (one per subscription) arrive one after another, from the
  // intake's handoff and from a claim alike: it is parsed and rendered once for them.
  if (rendered_ok_ && payload == rendered_payload_) return true;
  rendered_payload_ = payload;
  rendered_body_.clear();
  rendered_ok_ = !payload.empty() && rendered_event_.ParseFromString(payload) &&
                 google::protobuf::util::MessageToJsonString(rendered_event_, &rendered_body_).ok();
  return rendered_ok_;
}

void Dispatcher::Start(DueDelivery due) {
  if (!Render(due.payload)) {
    ++outstanding_;
    Complete(std::move(due), NotSent("stored event unreadable"));
    return;
  }
  const events::v1::Event& event = rendered_event_;
  if (due.channel == ChannelKind::kEmail) {
    if (emails_ == nullptr) {
      ++outstanding_;
      Complete(std::move(due), NotSent("no SMTP relay configured"));
      return;
    }
    ++outstanding_;
    EmailMessage message{.to = due.target,
                         .content = RenderEmail(FactsOf(event)),
                         .message_id = absl::StrCat(due.delivery.event_id, ".",
                                                    due.delivery.delivery_id, "@sundesk")};
    emails_->Send(std::move(message), [this, due = std::move(due)](const AttemptResult& r) mutable {
      Complete(std::move(due), r);
    });
    return;
  }
  if (!due.secret_error.empty()) {
    std::string why = due.secret_error;
    ++outstanding_;
    Complete(std::move(due), NotSent(std::move(why)));
    return;
  }
  ++outstanding_;
  WebhookCall call{.url = due.target,
                   .secret = due.secret,
                   .event_id = due.delivery.event_id,
                   .event_type = due.delivery.event_type,
                   .body = rendered_body_};
  webhooks_.Send(std::move(call), [this, due = std::move(due)](const AttemptResult& r) mutable {
    Complete(std::move(due), r);
  });
}

void Dispatcher::RecordAll(const std::deque<Completed>& done) {
  if (done.empty()) return;
  const absl::Time now = clock_.Now();
  std::vector<AttemptOutcome> outcomes;
  outcomes.reserve(done.size());
  for (const Completed& c : done) {
    outcomes.push_back(
        {.due = &c.due,
         .result = c.result,
         .decision = DecideAfterAttempt(
             c.result, c.due.delivery.attempts, options_.schedule, now,
             c.result.circuit_open && c.result.retry_after ? now + *c.result.retry_after : now,
             rng_)});
  }
  // All of them in one transaction; if that fails, each alone, so one that cannot be
  // recorded does not hold the others back.
  absl::Status st = store_.RecordAttempts(outcomes, now);
  if (st.ok()) {
    for (const AttemptOutcome& o : outcomes) Count(o, now);
    return;
  }
  if (outcomes.size() > 1) {
    log::Warn("notification: could not record a batch of delivery attempts, recording each",
              {{"attempts", static_cast<int64_t>(outcomes.size())}, {"error", st.ToString()}});
  }
  for (const AttemptOutcome& o : outcomes) {
    st = outcomes.size() > 1 ? store_.RecordAttempts(absl::MakeConstSpan(&o, 1), now) : st;
    if (!st.ok()) {
      // The lease runs out and the delivery is attempted again: at least once.
      log::Warn("notification: could not record a delivery attempt",
                {{"delivery_id", o.due->delivery.delivery_id}, {"error", st.ToString()}});
      continue;
    }
    Count(o, now);
  }
}

void Dispatcher::Count(const AttemptOutcome& o, absl::Time now) {
  if (metrics_ == nullptr || !o.decision.counted) return;
  const char* channel = ChannelLabel(o.due->channel);
  if (o.decision.state == DeliveryState::kDelivered) {
    metrics_->Delivered(
        channel, o.due->event_time ? now - *o.due->event_time : now - o.due->delivery.create_time);
  } else if (o.decision.dead_lettered) {
    metrics_->DeadLettered(channel);
  } else {
    metrics_->Retried(channel);
  }
}

void Dispatcher::RecordLoop() {
  while (true) {
    std::deque<Completed> done;
    bool stopping = false;
    {
      absl::MutexLock lock(&mu_);
      auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return stopping_ || !completed_.empty();
      };
      mu_.Await(absl::Condition(&ready));
      auto full = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return stopping_ || static_cast<int>(completed_.size()) >= options_.record_batch;
      };
      mu_.AwaitWithTimeout(absl::Condition(&full), options_.record_coalesce);
      stopping = stopping_;
      done.swap(completed_);
    }
    // Also when stopping: an attempt that finished is recorded, not sent again after its
    // lease runs out.
    RecordAll(done);
    outstanding_ -= static_cast<int>(done.size());
    if (stopping) return;
    if (wants_room_.exchange(false)) Wake();
  }
}

void Dispatcher::Run() {
  std::thread recorder([this] { RecordLoop(); });
  absl::Time next_poll = absl::InfinitePast();
  absl::Time last_claim = absl::InfinitePast();
  while (true) {
    std::vector<DueDelivery> adopted;
    {
      absl::MutexLock lock(&mu_);
      auto wake = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return stopping_ || woken_ || !adopted_.empty();
      };
      absl::Duration wait = next_poll - absl::Now();
      if (wait > absl::ZeroDuration()) mu_.AwaitWithTimeout(absl::Condition(&wake), wait);
      if (stopping_) break;
      if (woken_) {
        woken_ = false;
        next_poll = std::min(next_poll, last_claim + options_.wake_coalesce);
      }
      adopted.swap(adopted_);
    }
    // Handed over by the intake, already leased: no claim.
    for (DueDelivery& d : adopted) {
      --adopted_waiting_;
      Start(std::move(d));
    }
    if (absl::Now() < next_poll) continue;
    const int room = std::min(options_.batch_size, Room());
    int claimed = 0;
    if (room > 0) {
      last_claim = absl::Now();
      absl::StatusOr<std::vector<DueDelivery>> due =
          store_.ClaimDue(clock_.Now(), room, options_.lease);
      if (!due.ok()) {
        log::Warn("notification: could not claim due deliveries",
                  {{"error", due.status().ToString()}});
      } else {
        claimed = static_cast<int>(due->size());
        for (DueDelivery& d : *due) Start(std::move(d));
      }
    } else {
      wants_room_ = true;
    }
    // A full batch suggests more are due: ask again at once.
    next_poll =
        claimed == room && room > 0 ? absl::InfinitePast() : absl::Now() + options_.poll_interval;
  }
  recorder.join();
}

}  // namespace sundesk::notification
