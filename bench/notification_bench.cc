// Webhook delivery throughput and latency of the notification service's WebhookSender (one
// thread, libcurl multi, keep-alive) to 100 healthy local HTTP sinks (tests/support), and
// the same while one more endpoint is dead (answers nothing until the attempt times out):
// the circuit breaker and per-endpoint limits must keep the healthy endpoints' throughput
// (aim: within 10% of the baseline; >= 5,000 deliveries/s; p99 <= 100 ms).
//
// Counters: deliveries_per_s counts healthy deliveries per second of wall time; p99_ms is
// the 99th percentile of Send -> 2xx latency over the healthy deliveries. Each round sends
// a burst of 20,000 at once, so p99_ms includes the wait in the sender's queues (a
// saturation figure, not the latency at a sustainable rate).
#include <algorithm>
#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "benchmark/benchmark.h"
#include "libs/core/clock.h"
#include "services/notification/delivery/webhook_sender.h"
#include "tests/support/http_sink.h"

namespace sundesk::notification {
namespace {

constexpr int kHealthy = 100;
constexpr int kDeliveriesPerRound = 20000;

struct Sinks {
  std::vector<std::unique_ptr<testing::HttpSink>> healthy;
  std::unique_ptr<testing::HttpSink> dead;
};

Sinks& SharedSinks() {
  static Sinks* sinks = [] {
    auto* s = new Sinks();
    for (int i = 0; i < kHealthy; ++i) s->healthy.push_back(*testing::HttpSink::Start());
    s->dead = *testing::HttpSink::Start([](const testing::HttpSinkRequest&) {
      return testing::HttpSinkResponse{.status = 200, .delay = absl::Minutes(5)};
    });
    return s;
  }();
  return *sinks;
}

void Run(benchmark::State& state, bool with_dead_endpoint) {
  Sinks& sinks = SharedSinks();
  SystemClock clock;
  WebhookSender sender(clock,
                       {.timeout = absl::Seconds(1),
                        .max_per_endpoint = 8,
                        .allow_private_targets = true,
                        .breaker = {.failure_threshold = 5, .open_duration = absl::Seconds(30)}});
  const std::string body(400, 'x');
  std::vector<double> latencies_ms;
  int64_t delivered = 0;
  absl::Duration wall;
  for (auto _ : state) {
    absl::Mutex mu;
    int done = 0;
    int total = 0;
    std::vector<double> round;
    round.reserve(kDeliveriesPerRound);
    const absl::Time start = absl::Now();
    for (int i = 0; i < kDeliveriesPerRound; ++i) {
      const absl::Time sent = absl::Now();
      ++total;
      sender.Send({.url = sinks.healthy[i % kHealthy]->Url("/hook"),
                   .secret = "bench-secret-0123456789",
                   .event_id = absl::StrCat("e", i),
                   .event_type = "TicketCreated",
                   .body = body},
                  [&, sent](const AttemptResult& r) {
                    absl::MutexLock lock(&mu);
                    ++done;
                    if (r.http_status == 200)
                      round.push_back(absl::ToDoubleMilliseconds(absl::Now() - sent));
                  });
      if (with_dead_endpoint && i % 100 == 0) {  // 1% of the traffic goes to the dead one
        ++total;
        sender.Send({.url = sinks.dead->Url("/hook"),
                     .secret = "bench-secret-0123456789",
                     .event_id = absl::StrCat("d", i),
                     .event_type = "TicketCreated",
                     .body = body},
                    [&](const AttemptResult&) {
                      absl::MutexLock lock(&mu);
                      ++done;
                    });
      }
    }
    // Healthy deliveries are what is measured; calls to the dead endpoint may still wait.
    {
      absl::MutexLock lock(&mu);
      auto healthy_done = [&]() { return static_cast<int>(round.size()) >= kDeliveriesPerRound; };
      mu.Await(absl::Condition(&healthy_done));
    }
    wall += absl::Now() - start;
    {
      absl::MutexLock lock(&mu);
      delivered += static_cast<int64_t>(round.size());
      latencies_ms.insert(latencies_ms.end(), round.begin(), round.end());
      auto all_done = [&]() { return done == total; };
      mu.Await(absl::Condition(&all_done));  // before `round` and `mu` go away
    }
  }
  std::sort(latencies_ms.begin(), latencies_ms.end());
  state.counters["deliveries_per_s"] = static_cast<double>(delivered) / absl::ToDoubleSeconds(wall);
  state.counters["p99_ms"] =
      latencies_ms.empty() ? 0
                           : latencies_ms[static_cast<size_t>(0.99 * (latencies_ms.size() - 1))];
}

void BM_Webhooks_Baseline(benchmark::State& state) { Run(state, false); }
void BM_Webhooks_OneDeadEndpoint(benchmark::State& state) { Run(state, true); }

BENCHMARK(BM_Webhooks_Baseline)->Name("Webhooks/baseline")->Iterations(3)->UseRealTime();
BENCHMARK(BM_Webhooks_OneDeadEndpoint)
    ->Name("Webhooks/one_dead_endpoint")
    ->Iterations(3)
    ->UseRealTime();

}  // namespace
}  // namespace sundesk::notification
