#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/random/bit_gen_ref.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "services/notification/domain/delivery_policy.h"
#include "services/notification/domain/subscription.h"

namespace sundesk::notification {

// The values of sundesk.notification.v1.DeliveryState.
enum class DeliveryState {
  kUnspecified = 0,
  kPending = 1,
  kRetrying = 2,
  kDelivered = 3,
  kDead = 4
};

// One event on its way to one subscription; at most one per (subscription, event id).
struct Delivery {
  std::string delivery_id;
  std::string subscription_id;
  std::string tenant_id;
  std::string event_id;
  std::string event_type;
  DeliveryState state = DeliveryState::kPending;
  int attempts = 0;
  std::string last_error;
  int last_http_status = 0;
  absl::Time create_time = absl::InfinitePast();
  std::optional<absl::Time> last_attempt_time;
  std::optional<absl::Time> next_attempt_time;
  std::optional<absl::Time> deliver_time;
};

// What a delivery becomes after an attempt.
struct AttemptDecision {
  DeliveryState state = DeliveryState::kRetrying;
  int attempts = 0;  // counting this one (an attempt the breaker skipped does not count)
  std::optional<absl::Time> next_attempt_time;  // RETRYING (and skipped) only
  bool dead_lettered = false;                   // DEAD now: publish to the DLQ
  bool counted = true;                          // false when the breaker skipped it
};

// The delivery's next state after `result`, with `attempts_before` attempts made earlier.
// A delivery the circuit breaker skipped keeps its attempt count and waits until
// `breaker_open_until` (at least a second).
AttemptDecision DecideAfterAttempt(const AttemptResult& result, int attempts_before,
                                   const RetrySchedule& schedule, absl::Time now,
                                   absl::Time breaker_open_until, absl::BitGenRef rng);

struct ListDeliveriesQuery {
  std::string tenant_id;
  std::string subscription_id;  // empty: all of the tenant's
  DeliveryState state = DeliveryState::kUnspecified;
  std::string before_id;  // keyset: ids below this (newest first); empty: from the newest
  int limit = 50;
};

class DeliveryStore {
 public:
  virtual ~DeliveryStore() = default;
  virtual absl::StatusOr<std::vector<Delivery>> ListDeliveries(const ListDeliveriesQuery& q) = 0;
  virtual absl::StatusOr<std::optional<Delivery>> GetDelivery(const std::string& delivery_id) = 0;
  // A DEAD delivery back to PENDING, due at `now`, with its attempts reset; nullopt when
  // it is not DEAD (or missing).
  virtual absl::StatusOr<std::optional<Delivery>> Redeliver(const std::string& delivery_id,
                                                            absl::Time now) = 0;
};

}  // namespace sundesk::notification
