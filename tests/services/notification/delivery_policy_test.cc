// The pure parts of delivering: which results are retried, the backoff schedule with its
// jitter and Retry-After, the per-endpoint circuit breaker, and the webhook signature.
#include "services/notification/domain/delivery_policy.h"

#include <openssl/hmac.h>

#include <random>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "libs/core/clock.h"
#include "services/notification/domain/delivery.h"
#include "services/notification/domain/signature.h"

namespace sundesk::notification {
namespace {

TEST(ClassifyTest, StatusesAndErrors) {
  for (int s : {200, 201, 202, 204, 299}) {
    EXPECT_EQ(Classify({.http_status = s}), Outcome::kDelivered) << s;
  }
  for (int s : {408, 429, 500, 502, 503, 504, 599}) {
    EXPECT_EQ(Classify({.http_status = s}), Outcome::kRetry) << s;
  }
  for (int s : {400, 401, 403, 404, 405, 410, 413, 422, 301, 302, 100}) {
    EXPECT_EQ(Classify({.http_status = s}), Outcome::kPermanent) << s;
  }
  EXPECT_EQ(Classify({.transport_error = true, .error = "timeout"}), Outcome::kRetry);
  EXPECT_EQ(Classify({.circuit_open = true}), Outcome::kRetry);
  EXPECT_EQ(Classify({.refused = true}), Outcome::kPermanent);
}

TEST(BackoffTest, DefaultScheduleSpreadsEightAttemptsOverAboutAnHour) {
  RetrySchedule schedule;
  std::mt19937_64 rng(1);
  absl::Duration lo, hi;
  for (int made = 1; made < schedule.max_attempts; ++made) {
    absl::Duration base =
        std::min(schedule.initial_backoff * (1 << (made - 1)), schedule.max_backoff);
    for (int i = 0; i < 50; ++i) {
      absl::Duration d = NextBackoff(schedule, made, std::nullopt, rng);
      EXPECT_GE(d, base / 2) << made;
      EXPECT_LE(d, base) << made;
    }
    lo += base / 2;
    hi += base;
  }
  // 7 waits between 8 attempts: 30 s, 1, 2, 4, 8, 16, 30 min (capped) -> 61.5 min at most.
  EXPECT_EQ(hi, absl::Seconds(30 + 60 + 120 + 240 + 480 + 960 + 1800));
  EXPECT_GE(lo, absl::Minutes(30));
}

TEST(BackoffTest, JitterSpreadsRetriesAndRetryAfterIsAFloor) {
  RetrySchedule schedule{.initial_backoff = absl::Seconds(10)};
  std::mt19937_64 rng(2);
  std::set<int64_t> distinct;
  for (int i = 0; i < 20; ++i) {
    distinct.insert(absl::ToInt64Milliseconds(NextBackoff(schedule, 1, std::nullopt, rng)));
  }
  EXPECT_GT(distinct.size(), 10u);
  EXPECT_EQ(NextBackoff(schedule, 1, absl::Seconds(120), rng), absl::Seconds(120));
  // A short Retry-After does not make the retry sooner than the backoff.
  EXPECT_GE(NextBackoff(schedule, 1, absl::Seconds(1), rng), absl::Seconds(5));
  // An absurd one is capped.
  EXPECT_EQ(NextBackoff(schedule, 1, absl::Hours(48), rng), schedule.max_retry_after);
}

TEST(RetryAfterTest, SecondsAndHttpDates) {
  absl::Time now = absl::FromUnixSeconds(1'792'000'000);
  EXPECT_EQ(ParseRetryAfter("120", now), absl::Seconds(120));
  EXPECT_EQ(ParseRetryAfter(" 0 ", now), absl::ZeroDuration());
  std::string in_90s =
      absl::FormatTime("%a, %d %b %Y %H:%M:%S GMT", now + absl::Seconds(90), absl::UTCTimeZone());
  EXPECT_EQ(ParseRetryAfter(in_90s, now), absl::Seconds(90));
  std::string past =
      absl::FormatTime("%a, %d %b %Y %H:%M:%S GMT", now - absl::Hours(1), absl::UTCTimeZone());
  EXPECT_EQ(ParseRetryAfter(past, now), absl::ZeroDuration());
  EXPECT_EQ(ParseRetryAfter("soon", now), std::nullopt);
  EXPECT_EQ(ParseRetryAfter("-5", now), std::nullopt);
  EXPECT_EQ(ParseRetryAfter("", now), std::nullopt);
}

TEST(CircuitBreakerTest, OpensAfterConsecutiveFailuresThenProbesOnce) {
  FakeClock clock;
  CircuitBreakers breakers(clock, {.failure_threshold = 3, .open_duration = absl::Seconds(30)});
  const std::string dead = "https://dead.example.com:443";
  const std::string alive = "https://alive.example.com:443";
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(breakers.Allow(dead));
    breakers.Record(dead, Outcome::kRetry);
  }
  EXPECT_TRUE(breakers.IsOpen(dead));
  EXPECT_FALSE(breakers.Allow(dead));
  EXPECT_EQ(breakers.OpenUntil(dead), clock.Now() + absl::Seconds(30));
  EXPECT_TRUE(breakers.Allow(alive));  // endpoints are independent

  clock.Advance(absl::Seconds(31));
  EXPECT_TRUE(breakers.Allow(dead));   // the one probe
  EXPECT_FALSE(breakers.Allow(dead));  // nobody else while it runs
  breakers.Record(dead, Outcome::kRetry);
  EXPECT_FALSE(breakers.Allow(dead));  // open again
  clock.Advance(absl::Seconds(31));
  EXPECT_TRUE(breakers.Allow(dead));
  breakers.Record(dead, Outcome::kDelivered);
  EXPECT_FALSE(breakers.IsOpen(dead));
  EXPECT_TRUE(breakers.Allow(dead));
  EXPECT_TRUE(breakers.Allow(dead));
}

TEST(CircuitBreakerTest, SuccessResetsTheCount) {
  FakeClock clock;
  CircuitBreakers breakers(clock, {.failure_threshold = 3});
  const std::string ep = "http://flaky.example.com:80";
  for (int round = 0; round < 5; ++round) {
    breakers.Record(ep, Outcome::kRetry);
    breakers.Record(ep, Outcome::kRetry);
    breakers.Record(ep, Outcome::kDelivered);
  }
  EXPECT_FALSE(breakers.IsOpen(ep));
}

AttemptResult Http(int status) {
  AttemptResult r;
  r.http_status = status;
  r.error = status >= 300 ? absl::StrCat("HTTP ", status) : "";
  return r;
}

TEST(DecideAfterAttemptTest, DeliveredRetriedDeadAndSkipped) {
  RetrySchedule schedule{.max_attempts = 8, .initial_backoff = absl::Seconds(30)};
  std::mt19937_64 rng(3);
  const absl::Time now = absl::FromUnixSeconds(1'767'225'600);

  AttemptDecision ok = DecideAfterAttempt(Http(200), 2, schedule, now, now, rng);
  EXPECT_EQ(ok.state, DeliveryState::kDelivered);
  EXPECT_EQ(ok.attempts, 3);
  EXPECT_FALSE(ok.dead_lettered);

  AttemptDecision retry = DecideAfterAttempt(Http(503), 0, schedule, now, now, rng);
  EXPECT_EQ(retry.state, DeliveryState::kRetrying);
  EXPECT_EQ(retry.attempts, 1);
  ASSERT_TRUE(retry.next_attempt_time.has_value());
  EXPECT_GE(*retry.next_attempt_time, now + absl::Seconds(15));
  EXPECT_LE(*retry.next_attempt_time, now + absl::Seconds(30));

  AttemptDecision last = DecideAfterAttempt(Http(503), 7, schedule, now, now, rng);
  EXPECT_EQ(last.state, DeliveryState::kDead);
  EXPECT_EQ(last.attempts, 8);
  EXPECT_TRUE(last.dead_lettered);

  AttemptDecision gone = DecideAfterAttempt(Http(410), 0, schedule, now, now, rng);
  EXPECT_EQ(gone.state, DeliveryState::kDead);
  EXPECT_EQ(gone.attempts, 1);
  EXPECT_TRUE(gone.dead_lettered);

  AttemptResult skipped;
  skipped.circuit_open = true;
  AttemptDecision wait =
      DecideAfterAttempt(skipped, 3, schedule, now, now + absl::Seconds(20), rng);
  EXPECT_FALSE(wait.counted);
  EXPECT_EQ(wait.attempts, 3);  // the breaker's skip is not an attempt
  EXPECT_EQ(wait.state, DeliveryState::kRetrying);
  EXPECT_EQ(wait.next_attempt_time, now + absl::Seconds(20));
  EXPECT_EQ(DecideAfterAttempt(skipped, 0, schedule, now, now, rng).state, DeliveryState::kPending);
}

TEST(EndpointTest, SchemeHostPort) {
  EXPECT_EQ(EndpointOf("https://hooks.example.com/a?b"), "https://hooks.example.com:443");
  EXPECT_EQ(EndpointOf("http://hooks.example.com:8080/x"), "http://hooks.example.com:8080");
  EXPECT_EQ(EndpointOf("HTTP://Hooks.Example.com/x"), EndpointOf("http://hooks.example.com/y"));
}

TEST(SignatureTest, MatchesAnIndependentHmac) {
  const std::string secret = "whsec-0123456789abcdef";
  const std::string body = R"({"eventId":"e-1","type":"TicketCreated"})";
  std::string header = WebhookSignature(secret, 1'767'225'600, body);
  std::string payload = absl::StrCat("1767225600.", body);
  unsigned char mac[32];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), secret.size(),
       reinterpret_cast<const unsigned char*>(payload.data()), payload.size(), mac, &len);
  ASSERT_EQ(len, 32u);
  EXPECT_EQ(header,
            absl::StrCat("t=1767225600,v1=", absl::BytesToHexString(absl::string_view(
                                                 reinterpret_cast<const char*>(mac), len))));
  EXPECT_NE(WebhookSignature("another-secret-16", 1'767'225'600, body), header);
}

}  // namespace
}  // namespace sundesk::notification
