#pragma once

#include <map>
#include <optional>
#include <string>

#include "absl/random/bit_gen_ref.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "libs/core/clock.h"

// How a delivery attempt's result is judged, when the next attempt is due, and when an
// endpoint is given a rest. Pure: time and randomness are passed in.
namespace sundesk::notification {

// What one attempt to deliver came back with.
struct AttemptResult {
  int http_status = 0;           // 0: no HTTP answer (connection error, timeout) or email
  bool transport_error = false;  // could not connect, timed out, TLS failed, reset
  bool refused = false;          // not sent at all: the target is not allowed (SSRF guard)
  bool circuit_open = false;     // not sent: the endpoint's breaker is open; not an attempt
  bool accepted = false;         // email: the relay took the message
  bool rejected = false;         // email: the relay refused it for good (SMTP 5xx)
  std::string error;             // "HTTP 503", "connect timeout", ...; empty when delivered
  // From a Retry-After header; for `circuit_open`, how long until the breaker half-opens.
  std::optional<absl::Duration> retry_after;
};

enum class Outcome { kDelivered, kRetry, kPermanent };

// 2xx (or an email accepted) delivered; 408, 429, 5xx, transport errors and an open
// circuit retried; every other status (other 4xx, and 1xx/3xx: redirects are not
// followed), refused targets and rejected emails permanent.
Outcome Classify(const AttemptResult& result);

struct RetrySchedule {
  // Attempts in all, the first included. The defaults (8; 30 s doubling, capped at 30 min)
  // spread the attempts over about an hour.
  int max_attempts = 8;
  absl::Duration initial_backoff = absl::Seconds(30);
  absl::Duration max_backoff = absl::Minutes(30);
  // A server's Retry-After is honoured up to this.
  absl::Duration max_retry_after = absl::Hours(1);
};

// The wait before the next attempt after `attempts_made` (≥ 1) failed ones: the doubling
// backoff with "equal jitter" (uniform in [base/2, base]), so retries of many deliveries
// that failed together spread out; never sooner than the server's Retry-After.
absl::Duration NextBackoff(const RetrySchedule& schedule, int attempts_made,
                           std::optional<absl::Duration> retry_after, absl::BitGenRef rng);

// A Retry-After value: delta-seconds ("120") or an HTTP-date ("Wed, 21 Oct 2026 07:28:00
// GMT", relative to `now`). nullopt when malformed; a date in the past is zero.
std::optional<absl::Duration> ParseRetryAfter(absl::string_view value, absl::Time now);

struct BreakerOptions {
  int failure_threshold = 5;                         // consecutive failures that open it
  absl::Duration open_duration = absl::Seconds(30);  // then one probe is let through
};

// One circuit breaker per endpoint (scheme://host:port): after `failure_threshold`
// consecutive retryable failures it opens, and attempts to that endpoint are not made
// (the deliveries wait, without spending an attempt) until `open_duration` has passed;
// then one probe goes through (half-open): success closes it, failure opens it again.
// So a dead client endpoint costs one timeout per period instead of one per delivery.
// Not thread-safe: owned by the sender's thread.
class CircuitBreakers {
 public:
  CircuitBreakers(const Clock& clock, BreakerOptions options) : clock_(clock), options_(options) {}

  // Whether an attempt to `endpoint` may start now (claims the probe when half-open).
  bool Allow(const std::string& endpoint);
  // The attempt's result: success closes; a retryable failure counts toward opening.
  void Record(const std::string& endpoint, Outcome outcome);
  // When `endpoint` lets an attempt through again; InfinitePast when closed.
  absl::Time OpenUntil(const std::string& endpoint) const;
  bool IsOpen(const std::string& endpoint) const;

 private:
  struct State {
    int consecutive_failures = 0;
    absl::Time open_until = absl::InfinitePast();
    bool probing = false;
  };
  const Clock& clock_;
  const BreakerOptions options_;
  std::map<std::string, State> states_;
};

// "scheme://host:port" of a URL, the unit of per-endpoint limits; the URL itself when it
// does not parse.
std::string EndpointOf(absl::string_view url);

}  // namespace sundesk::notification
