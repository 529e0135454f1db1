// WebhookSender against a real HTTP server on loopback (tests/support/http_sink.h): the
// signature verified independently, status classification from real answers, timeouts,
// per-endpoint concurrency, the circuit breaker, and the connect-time SSRF guard.
#include "services/notification/delivery/webhook_sender.h"

#include <openssl/hmac.h>

#include <atomic>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "libs/core/clock.h"
#include "tests/support/http_sink.h"

namespace sundesk::notification {
namespace {

using ::testing::HasSubstr;
using testing::HttpSink;
using testing::HttpSinkRequest;
using testing::HttpSinkResponse;

constexpr char kSecret[] = "whsec-0123456789abcdef";

// Waits for one call's result.
struct Outcome1 {
  absl::Notification done;
  AttemptResult result;
  WebhookDone Callback() {
    return [this](const AttemptResult& r) {
      result = r;
      done.Notify();
    };
  }
  AttemptResult Wait() {
    EXPECT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(20)));
    return result;
  }
};

WebhookCall Call(const std::string& url, const std::string& id = "evt-1") {
  return {.url = url,
          .secret = kSecret,
          .event_id = id,
          .event_type = "TicketCreated",
          .body = absl::StrCat(R"({"eventId":")", id, R"(","type":"TicketCreated"})")};
}

// Recomputes the signature from the secret the test knows, as a receiver would.
bool SignatureValid(const HttpSinkRequest& r, const std::string& secret) {
  auto it = r.headers.find("sundesk-signature");
  if (it == r.headers.end()) return false;
  std::string t, v1;
  for (absl::string_view part : absl::StrSplit(it->second, ',')) {
    if (absl::ConsumePrefix(&part, "t=")) t = std::string(part);
    if (absl::ConsumePrefix(&part, "v1=")) v1 = std::string(part);
  }
  std::string payload = absl::StrCat(t, ".", r.body);
  unsigned char mac[32];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), secret.size(),
       reinterpret_cast<const unsigned char*>(payload.data()), payload.size(), mac, &len);
  return !t.empty() &&
         v1 == absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(mac), len));
}

WebhookSenderOptions LocalOptions() {
  return {.timeout = absl::Seconds(5), .allow_private_targets = true};
}

TEST(WebhookSenderTest, PostsSignedJsonWithEventHeaders) {
  auto sink = HttpSink::Start();
  ASSERT_TRUE(sink.ok()) << sink.status();
  SystemClock clock;
  WebhookSender sender(clock, LocalOptions());
  Outcome1 out;
  sender.Send(Call((*sink)->Url("/hooks/sundesk"), "evt-42"), out.Callback());
  AttemptResult r = out.Wait();
  EXPECT_EQ(r.http_status, 200);
  EXPECT_EQ(Classify(r), Outcome::kDelivered);
  EXPECT_EQ(r.error, "");

  auto requests = (*sink)->Requests();
  ASSERT_EQ(requests.size(), 1u);
  const HttpSinkRequest& req = requests[0];
  EXPECT_EQ(req.method, "POST");
  EXPECT_EQ(req.path, "/hooks/sundesk");
  EXPECT_EQ(req.headers.at("content-type"), "application/json");
  EXPECT_EQ(req.headers.at("sundesk-event-id"), "evt-42");
  EXPECT_EQ(req.headers.at("sundesk-event-type"), "TicketCreated");
  EXPECT_EQ(req.body, R"({"eventId":"evt-42","type":"TicketCreated"})");
  EXPECT_TRUE(SignatureValid(req, kSecret));
  EXPECT_FALSE(SignatureValid(req, "some-other-secret"));
  int64_t t = 0;
  std::vector<std::string> parts = absl::StrSplit(req.headers.at("sundesk-signature"), ',');
  ASSERT_TRUE(absl::SimpleAtoi(absl::string_view(parts[0]).substr(2), &t));
  EXPECT_NEAR(t, absl::ToUnixSeconds(absl::Now()), 60);
}

TEST(WebhookSenderTest, OnFinishedTellsWhereACallWaited) {
  auto sink = HttpSink::Start();
  ASSERT_TRUE(sink.ok()) << sink.status();
  SystemClock clock;
  struct Seen {
    std::string event_id;
    absl::Time sent, started, finished;
  };
  absl::Mutex mu;
  std::vector<Seen> seen;
  WebhookSenderOptions options = LocalOptions();
  options.on_finished = [&](const std::string& event_id, absl::Time sent, absl::Time started,
                            absl::Time finished) {
    absl::MutexLock lock(&mu);
    seen.push_back({event_id, sent, started, finished});
  };
  WebhookSender sender(clock, options);
  const absl::Time before = absl::Now();
  Outcome1 out;
  sender.Send(Call((*sink)->Url("/hook"), "evt-7"), out.Callback());
  EXPECT_EQ(out.Wait().http_status, 200);
  const absl::Time after = absl::Now();

  absl::MutexLock lock(&mu);  // reported before the call's callback ran
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].event_id, "evt-7");
  auto requests = (*sink)->Requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_LE(before, seen[0].sent);
  EXPECT_LE(seen[0].sent, seen[0].started);
  EXPECT_LE(seen[0].started, requests[0].received);
  EXPECT_LE(requests[0].received, seen[0].finished);
  EXPECT_LE(seen[0].finished, after);
}

TEST(WebhookSenderTest, AnswersAreClassifiedAndRetryAfterIsRead) {
  auto sink = HttpSink::Start([](const HttpSinkRequest& r) -> HttpSinkResponse {
    if (r.path == "/gone") return {.status = 410};
    if (r.path == "/busy") return {.status = 503, .headers = {{"Retry-After", "7"}}};
    if (r.path == "/slow-down") return {.status = 429};
    return {.status = 204};
  });
  ASSERT_TRUE(sink.ok());
  SystemClock clock;
  WebhookSender sender(clock, LocalOptions());
  Outcome1 gone, busy, slow, ok;
  sender.Send(Call((*sink)->Url("/gone")), gone.Callback());
  sender.Send(Call((*sink)->Url("/busy")), busy.Callback());
  sender.Send(Call((*sink)->Url("/slow-down")), slow.Callback());
  sender.Send(Call((*sink)->Url("/fine")), ok.Callback());
  AttemptResult g = gone.Wait();
  EXPECT_EQ(g.http_status, 410);
  EXPECT_EQ(g.error, "HTTP 410");
  EXPECT_EQ(Classify(g), Outcome::kPermanent);
  AttemptResult b = busy.Wait();
  EXPECT_EQ(Classify(b), Outcome::kRetry);
  EXPECT_EQ(b.retry_after, absl::Seconds(7));
  EXPECT_EQ(Classify(slow.Wait()), Outcome::kRetry);
  EXPECT_EQ(Classify(ok.Wait()), Outcome::kDelivered);
}

TEST(WebhookSenderTest, TimeoutsAndRefusedConnectionsAreRetryable) {
  auto sink = HttpSink::Start([](const HttpSinkRequest&) -> HttpSinkResponse {
    return {.status = 200, .delay = absl::Seconds(30)};
  });
  ASSERT_TRUE(sink.ok());
  SystemClock clock;
  WebhookSenderOptions options = LocalOptions();
  options.timeout = absl::Milliseconds(300);
  WebhookSender sender(clock, options);
  Outcome1 slow, closed;
  sender.Send(Call((*sink)->Url("/")), slow.Callback());
  // A port nothing listens on: bind one, note it, close it.
  int dead_port = 0;
  {
    auto probe = HttpSink::Start();
    ASSERT_TRUE(probe.ok());
    dead_port = (*probe)->port();
  }
  sender.Send(Call(absl::StrCat("http://127.0.0.1:", dead_port, "/")), closed.Callback());
  AttemptResult s = slow.Wait();
  EXPECT_TRUE(s.transport_error);
  EXPECT_THAT(s.error, HasSubstr("timeout"));
  EXPECT_EQ(Classify(s), Outcome::kRetry);
  AttemptResult c = closed.Wait();
  EXPECT_TRUE(c.transport_error);
  EXPECT_EQ(Classify(c), Outcome::kRetry);
}

TEST(WebhookSenderTest, SsrfGuardRefusesLoopbackAtConnectTime) {
  auto sink = HttpSink::Start();
  ASSERT_TRUE(sink.ok());
  SystemClock clock;
  WebhookSender sender(clock, {.timeout = absl::Seconds(5), .allow_private_targets = false});
  Outcome1 out;
  // "localhost" passes no literal check: only the resolved address shows it is loopback.
  sender.Send(Call(absl::StrCat("http://localhost:", (*sink)->port(), "/")), out.Callback());
  AttemptResult r = out.Wait();
  EXPECT_TRUE(r.refused);
  EXPECT_EQ(Classify(r), Outcome::kPermanent);
  EXPECT_EQ((*sink)->RequestCount(), 0u);
}

TEST(WebhookSenderTest, ManyInFlightButBoundedPerEndpoint) {
  std::atomic<int> concurrent{0}, peak{0};
  auto sink = HttpSink::Start([&](const HttpSinkRequest&) -> HttpSinkResponse {
    int now = ++concurrent;
    int seen = peak.load();
    while (now > seen && !peak.compare_exchange_weak(seen, now)) {
    }
    absl::SleepFor(absl::Milliseconds(50));
    --concurrent;
    return {.status = 200};
  });
  ASSERT_TRUE(sink.ok());
  SystemClock clock;
  WebhookSenderOptions options = LocalOptions();
  options.max_per_endpoint = 4;
  WebhookSender sender(clock, options);
  constexpr int kCalls = 40;
  absl::Mutex mu;
  int delivered = 0;
  for (int i = 0; i < kCalls; ++i) {
    sender.Send(Call((*sink)->Url("/"), absl::StrCat("evt-", i)), [&](const AttemptResult& r) {
      absl::MutexLock lock(&mu);
      if (Classify(r) == Outcome::kDelivered) ++delivered;
    });
  }
  absl::MutexLock lock(&mu);
  ASSERT_TRUE(mu.AwaitWithTimeout(absl::Condition(
                                      +[](int* d) { return *d == kCalls; }, &delivered),
                                  absl::Seconds(30)));
  EXPECT_GT(peak.load(), 1);  // really concurrent on one thread
  EXPECT_LE(peak.load(), 4);  // but never above the endpoint's limit
}

TEST(WebhookSenderTest, BreakerStopsCallingADeadEndpointOthersUnaffected) {
  auto dead =
      HttpSink::Start([](const HttpSinkRequest&) -> HttpSinkResponse { return {.status = 503}; });
  auto healthy = HttpSink::Start();
  ASSERT_TRUE(dead.ok() && healthy.ok());
  FakeClock clock;
  WebhookSenderOptions options = LocalOptions();
  options.breaker = {.failure_threshold = 3, .open_duration = absl::Seconds(30)};
  WebhookSender sender(clock, options);
  for (int i = 0; i < 3; ++i) {
    Outcome1 out;
    sender.Send(Call((*dead)->Url("/")), out.Callback());
    EXPECT_EQ(out.Wait().http_status, 503);
  }
  Outcome1 blocked, fine;
  sender.Send(Call((*dead)->Url("/")), blocked.Callback());
  sender.Send(Call((*healthy)->Url("/")), fine.Callback());
  AttemptResult b = blocked.Wait();
  EXPECT_TRUE(b.circuit_open);
  EXPECT_EQ(Classify(b), Outcome::kRetry);
  EXPECT_EQ(b.retry_after, absl::Seconds(30));  // until the breaker lets a probe through
  EXPECT_EQ((*dead)->RequestCount(), 3u);       // the fourth never reached it
  EXPECT_EQ(fine.Wait().http_status, 200);

  clock.Advance(absl::Seconds(31));  // half-open: one probe goes through
  Outcome1 probe;
  sender.Send(Call((*dead)->Url("/")), probe.Callback());
  EXPECT_EQ(probe.Wait().http_status, 503);
  EXPECT_EQ((*dead)->RequestCount(), 4u);
}

}  // namespace
}  // namespace sundesk::notification
