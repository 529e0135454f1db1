#include "services/notification/delivery/dispatcher.h"

#include <algorithm>
#include <memory>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/type.pb.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/type_resolver.h"
#include "google/protobuf/util/type_resolver_util.h"
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

// The generated messages' types for rendering stored events as JSON from their bytes,
// each type built once: protobuf's JSON printer resolves the event's type and every nested
// one again for each message it renders (a google.protobuf.Type built from the descriptor,
// its fields and options), which cost more than the rendering itself. Any thread.
class CachedTypeResolver : public google::protobuf::util::TypeResolver {
 public:
  google::protobuf::util::Status ResolveMessageType(const std::string& type_url,
                                                    google::protobuf::Type* type) override {
    absl::MutexLock lock(&mu_);
    auto it = types_.find(type_url);
    if (it == types_.end()) {
      google::protobuf::Type resolved;
      google::protobuf::util::Status st = pool_->ResolveMessageType(type_url, &resolved);
      if (!st.ok()) return st;
      it = types_.emplace(type_url, std::move(resolved)).first;
    }
    *type = it->second;
    return google::protobuf::util::Status();
  }
  google::protobuf::util::Status ResolveEnumType(const std::string& type_url,
                                                 google::protobuf::Enum* type) override {
    absl::MutexLock lock(&mu_);
    auto it = enums_.find(type_url);
    if (it == enums_.end()) {
      google::protobuf::Enum resolved;
      google::protobuf::util::Status st = pool_->ResolveEnumType(type_url, &resolved);
      if (!st.ok()) return st;
      it = enums_.emplace(type_url, std::move(resolved)).first;
    }
    *type = it->second;
    return google::protobuf::util::Status();
  }

 private:
  const std::unique_ptr<google::protobuf::util::TypeResolver> pool_{
      google::protobuf::util::NewTypeResolverForDescriptorPool(
          "type.googleapis.com", google::protobuf::DescriptorPool::generated_pool())};
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, google::protobuf::Type> types_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, google::protobuf::Enum> enums_ ABSL_GUARDED_BY(mu_);
};

google::protobuf::util::TypeResolver& EventTypes() {
  static auto* resolver = new CachedTypeResolver();
  return *resolver;
}

const std::string& EventTypeUrl() {
  static const auto* url = new std::string(
      absl::StrCat("type.googleapis.com/", events::v1::Event::descriptor()->full_name()));
  return *url;
}

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
  // intake's handoff and from a claim alike: it is rendered once for them. Straight from
  // the stored bytes: MessageToJsonString would serialize a parsed event back to bytes and
  // render those (the same JSON, with a parse and a serialization more per event).
  if (rendered_ok_ && payload == rendered_payload_) return true;
  rendered_payload_ = payload;
  rendered_body_.clear();
  rendered_ok_ = !payload.empty() && google::protobuf::util::BinaryToJsonString(
                                         &EventTypes(), EventTypeUrl(), payload, &rendered_body_)
                                         .ok();
  return rendered_ok_;
}

void Dispatcher::Start(DueDelivery due) {
  if (due.channel == ChannelKind::kEmail) {
    if (emails_ == nullptr) {
      ++outstanding_;
      Complete(std::move(due), NotSent("no SMTP relay configured"));
      return;
    }
    events::v1::Event event;
    if (!event.ParseFromString(due.payload)) {
      ++outstanding_;
      Complete(std::move(due), NotSent("stored event unreadable"));
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
  if (!Render(due.payload)) {
    ++outstanding_;
    Complete(std::move(due), NotSent("stored event unreadable"));
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
