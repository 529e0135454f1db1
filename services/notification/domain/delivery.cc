#include "services/notification/domain/delivery.h"

#include <algorithm>

namespace sundesk::notification {

AttemptDecision DecideAfterAttempt(const AttemptResult& result, int attempts_before,
                                   const RetrySchedule& schedule, absl::Time now,
                                   absl::Time breaker_open_until, absl::BitGenRef rng) {
  AttemptDecision d;
  if (result.circuit_open) {
    d.counted = false;
    d.attempts = attempts_before;
    d.state = attempts_before == 0 ? DeliveryState::kPending : DeliveryState::kRetrying;
    d.next_attempt_time = std::max(breaker_open_until, now + absl::Seconds(1));
    return d;
  }
  d.attempts = attempts_before + 1;
  switch (Classify(result)) {
    case Outcome::kDelivered:
      d.state = DeliveryState::kDelivered;
      return d;
    case Outcome::kPermanent:
      d.state = DeliveryState::kDead;
      d.dead_lettered = true;
      return d;
    case Outcome::kRetry:
      if (d.attempts >= schedule.max_attempts) {
        d.state = DeliveryState::kDead;
        d.dead_lettered = true;
        return d;
      }
      d.state = DeliveryState::kRetrying;
      d.next_attempt_time = now + NextBackoff(schedule, d.attempts, result.retry_after, rng);
      return d;
  }
  return d;
}

}  // namespace sundesk::notification
