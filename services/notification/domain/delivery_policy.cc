#include "services/notification/domain/delivery_policy.h"

#include <algorithm>

#include "absl/random/distributions.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "services/notification/domain/target_rules.h"

namespace sundesk::notification {

Outcome Classify(const AttemptResult& r) {
  if (r.refused || r.rejected) return Outcome::kPermanent;
  if (r.accepted) return Outcome::kDelivered;
  if (r.circuit_open || r.transport_error) return Outcome::kRetry;
  const int s = r.http_status;
  if (s >= 200 && s < 300) return Outcome::kDelivered;
  if (s == 408 || s == 429 || (s >= 500 && s < 600)) return Outcome::kRetry;
  if (s == 0) return Outcome::kRetry;  // no answer at all
  return Outcome::kPermanent;
}

absl::Duration NextBackoff(const RetrySchedule& schedule, int attempts_made,
                           std::optional<absl::Duration> retry_after, absl::BitGenRef rng) {
  absl::Duration base = schedule.initial_backoff;
  for (int i = 1; i < attempts_made && base < schedule.max_backoff; ++i) base *= 2;
  base = std::min(base, schedule.max_backoff);
  absl::Duration wait = base / 2 + absl::Uniform(rng, 0.0, 1.0) * (base / 2);
  if (retry_after) wait = std::max(wait, std::min(*retry_after, schedule.max_retry_after));
  return wait;
}

std::optional<absl::Duration> ParseRetryAfter(absl::string_view value, absl::Time now) {
  value = absl::StripAsciiWhitespace(value);
  if (value.empty()) return std::nullopt;
  int64_t seconds = 0;
  if (absl::SimpleAtoi(value, &seconds)) {
    if (seconds < 0) return std::nullopt;
    return absl::Seconds(seconds);
  }
  absl::Time when;
  std::string err;
  if (!absl::ParseTime("%a, %d %b %Y %H:%M:%S GMT", std::string(value), &when, &err)) {
    return std::nullopt;
  }
  return std::max(absl::ZeroDuration(), when - now);
}

bool CircuitBreakers::Allow(const std::string& endpoint) {
  auto it = states_.find(endpoint);
  if (it == states_.end()) return true;
  State& s = it->second;
  if (s.open_until == absl::InfinitePast()) return true;
  if (clock_.Now() < s.open_until || s.probing) return false;
  s.probing = true;  // half-open: this one attempt decides
  return true;
}

void CircuitBreakers::Record(const std::string& endpoint, Outcome outcome) {
  State& s = states_[endpoint];
  s.probing = false;
  if (outcome == Outcome::kRetry) {
    ++s.consecutive_failures;
    if (s.consecutive_failures >= options_.failure_threshold) {
      s.open_until = clock_.Now() + options_.open_duration;
    }
    return;
  }
  // An answer the receiver chose (2xx, or a permanent 4xx) shows the endpoint is alive.
  states_.erase(endpoint);
}

absl::Time CircuitBreakers::OpenUntil(const std::string& endpoint) const {
  auto it = states_.find(endpoint);
  return it == states_.end() ? absl::InfinitePast() : it->second.open_until;
}

bool CircuitBreakers::IsOpen(const std::string& endpoint) const {
  auto it = states_.find(endpoint);
  return it != states_.end() && it->second.open_until != absl::InfinitePast();
}

std::string EndpointOf(absl::string_view url) {
  absl::StatusOr<ParsedUrl> parsed = ParseWebhookUrl("url", url);
  if (!parsed.ok()) return std::string(url);
  return absl::StrCat(parsed->scheme, "://", absl::AsciiStrToLower(parsed->host), ":",
                      parsed->port);
}

}  // namespace sundesk::notification
