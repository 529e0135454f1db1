// Webhook delivery throughput and latency of the notification service, each measured with
// and without one dead endpoint (answers nothing until the attempt times out) beside 100
// healthy local HTTP sinks (tests/support). Aim (issue 6): >= 5,000 deliveries/s, p99
// event -> delivery <= 100 ms, and the dead endpoint costs the healthy ones <= 10% of
// their throughput.
//
// WebhooksSaturation/*: the WebhookSender alone (one thread, libcurl multi, keep-alive),
//   20,000 sends at once per round. deliveries_per_s counts healthy 2xx per second of wall
//   time; p99_ms is Send -> 2xx and includes the wait in the sender's queues.
// WebhooksSteady/*: the same sender offered a steady 4,000 sends/s for 5 s; p99_ms is
//   Send -> 2xx at a rate it sustains (the latency a client sees when not overloaded).
// PipelineSteady/*: the whole path after Kafka on a real PostgreSQL: EventIntake stores
//   what has arrived (up to 200 events, one transaction, as the service's batched consumer
//   hands it over) and the deliveries, the Dispatcher claims it (woken by the intake) and the
//   sender posts it. Offered a steady rate (the argument, events/s, one delivery each);
//   p99_ms is the event's due time at that rate -> the sink receiving it (a pipeline that
//   cannot keep up shows its backlog). Kafka's own hop is not in it.
//
// Each one_dead_endpoint run reports healthy_vs_baseline = its healthy deliveries/s over
// those of the baseline run earlier in the same process (aim >= 0.90).
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "benchmark/benchmark.h"
#include "libs/core/clock.h"
#include "libs/core/ids.h"
#include "libs/kafka/envelope.h"
#include "libs/pg/migrations.h"
#include "libs/pg/pool.h"
#include "services/notification/delivery/dispatcher.h"
#include "services/notification/delivery/event_intake.h"
#include "services/notification/delivery/webhook_sender.h"
#include "services/notification/store/pg_delivery_store.h"
#include "services/notification/store/pg_subscription_store.h"
#include "services/notification/store/schema.h"
#include "sundesk/events/v1/events.pb.h"
#include "tests/support/http_sink.h"
#include "tests/support/postgres_server.h"

namespace sundesk::notification {
namespace {

constexpr int kHealthy = 100;
constexpr int kDeliveriesPerRound = 20000;
constexpr double kSteadyRate = 4000;  // sends per second offered to the sender
constexpr absl::Duration kSteadyFor = absl::Seconds(5);

struct Sinks {
  std::vector<std::unique_ptr<testing::HttpSink>> healthy;
  std::unique_ptr<testing::HttpSink> dead;
};

Sinks& SharedSinks() {
  static Sinks* sinks = [] {
    // As the services run (libs/runtime): without abseil's Mutex deadlock detection.
    absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
    auto* s = new Sinks();
    for (int i = 0; i < kHealthy; ++i) s->healthy.push_back(*testing::HttpSink::Start());
    s->dead = *testing::HttpSink::Start([](const testing::HttpSinkRequest&) {
      return testing::HttpSinkResponse{.status = 200, .delay = absl::Minutes(5)};
    });
    return s;
  }();
  return *sinks;
}

WebhookSenderOptions SenderOptions() {
  return {.timeout = absl::Seconds(1),
          .max_per_endpoint = 8,
          .allow_private_targets = true,
          .breaker = {.failure_threshold = 5, .open_duration = absl::Seconds(30)}};
}

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[static_cast<size_t>(p * (v.size() - 1))];
}

// Results by benchmark name, for the summary printed after the run.
struct Result {
  double per_s = 0;
  double p99_ms = 0;
};
std::map<std::string, Result>& Results() {
  static auto* r = new std::map<std::string, Result>();
  return *r;
}

void Report(benchmark::State& state, const std::string& name, double per_s, double p99_ms,
            double p50_ms) {
  state.counters["deliveries_per_s"] = per_s;
  state.counters["p99_ms"] = p99_ms;
  state.counters["p50_ms"] = p50_ms;
  Results()[name] = {per_s, p99_ms};
  // A dead-endpoint run beside its baseline (registered, so run, before it).
  const std::string dead = "one_dead_endpoint";
  if (const size_t at = name.find(dead); at != std::string::npos) {
    std::string base = name;
    base.replace(at, dead.size(), "baseline");
    auto it = Results().find(base);
    if (it != Results().end() && it->second.per_s > 0) {
      state.counters["healthy_vs_baseline"] = per_s / it->second.per_s;
      state.counters["baseline_p99_ms"] = it->second.p99_ms;
    }
  }
  // The whole pipeline beside the sender alone, from the same run.
  if (name.rfind("PipelineSteady/", 0) == 0) {
    const auto saturated = Results().find("WebhooksSaturation/baseline");
    if (saturated != Results().end())
      state.counters["sender_alone_per_s"] = saturated->second.per_s;
    const auto steady = Results().find("WebhooksSteady/baseline");
    if (steady != Results().end()) state.counters["sender_alone_p99_ms"] = steady->second.p99_ms;
  }
}

// Sends to the healthy sinks (and 1% more to the dead one), either all at once or paced at
// `rate` per second; waits for the healthy ones. Returns healthy 2xx latencies and the wall
// time until the last healthy one.
struct SendRun {
  std::vector<double> latencies_ms;
  absl::Duration wall;
};
SendRun SendMany(WebhookSender& sender, int n, double rate, bool with_dead_endpoint) {
  Sinks& sinks = SharedSinks();
  const std::string body(400, 'x');
  absl::Mutex mu;
  int done = 0;
  int total = 0;
  std::vector<double> healthy;
  healthy.reserve(n);
  const absl::Time start = absl::Now();
  for (int i = 0; i < n; ++i) {
    if (rate > 0) {  // paced: the i-th send is due at start + i / rate
      const absl::Time due = start + absl::Seconds(i / rate);
      const absl::Duration ahead = due - absl::Now();
      if (ahead > absl::ZeroDuration()) absl::SleepFor(ahead);
    }
    const absl::Time sent = absl::Now();
    {
      absl::MutexLock lock(&mu);
      ++total;
    }
    sender.Send({.url = sinks.healthy[i % kHealthy]->Url("/hook"),
                 .secret = "bench-secret-0123456789",
                 .event_id = absl::StrCat("e", i),
                 .event_type = "TicketCreated",
                 .body = body},
                [&, sent](const AttemptResult& r) {
                  absl::MutexLock lock(&mu);
                  ++done;
                  if (r.http_status == 200)
                    healthy.push_back(absl::ToDoubleMilliseconds(absl::Now() - sent));
                });
    if (with_dead_endpoint && i % 100 == 0) {  // 1% of the traffic goes to the dead one
      {
        absl::MutexLock lock(&mu);
        ++total;
      }
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
  SendRun run;
  absl::MutexLock lock(&mu);
  auto healthy_done = [&]() { return static_cast<int>(healthy.size()) >= n; };
  mu.Await(absl::Condition(&healthy_done));
  run.wall = absl::Now() - start;
  run.latencies_ms = healthy;
  auto all_done = [&]() { return done == total; };
  mu.Await(absl::Condition(&all_done));  // before `healthy` and `mu` go away
  return run;
}

void Saturation(benchmark::State& state, bool with_dead_endpoint) {
  SystemClock clock;
  WebhookSender sender(clock, SenderOptions());
  std::vector<double> latencies_ms;
  absl::Duration wall;
  for (auto _ : state) {
    SendRun run = SendMany(sender, kDeliveriesPerRound, 0, with_dead_endpoint);
    wall += run.wall;
    latencies_ms.insert(latencies_ms.end(), run.latencies_ms.begin(), run.latencies_ms.end());
  }
  Report(
      state,
      with_dead_endpoint ? "WebhooksSaturation/one_dead_endpoint" : "WebhooksSaturation/baseline",
      static_cast<double>(latencies_ms.size()) / absl::ToDoubleSeconds(wall),
      Percentile(latencies_ms, 0.99), Percentile(latencies_ms, 0.5));
}

void Steady(benchmark::State& state, bool with_dead_endpoint) {
  SystemClock clock;
  WebhookSender sender(clock, SenderOptions());
  std::vector<double> latencies_ms;
  absl::Duration wall;
  const int n = static_cast<int>(kSteadyRate * absl::ToDoubleSeconds(kSteadyFor));
  for (auto _ : state) {
    SendRun run = SendMany(sender, n, kSteadyRate, with_dead_endpoint);
    wall += run.wall;
    latencies_ms.insert(latencies_ms.end(), run.latencies_ms.begin(), run.latencies_ms.end());
  }
  Report(state, with_dead_endpoint ? "WebhooksSteady/one_dead_endpoint" : "WebhooksSteady/baseline",
         static_cast<double>(latencies_ms.size()) / absl::ToDoubleSeconds(wall),
         Percentile(latencies_ms, 0.99), Percentile(latencies_ms, 0.5));
}

// SUNDESK_NOTIFICATION_BENCH_PG_STATS=1: the pipeline's PostgreSQL loads pg_stat_statements
// and each pipeline case prints its statements by total execution time (calls, total and
// mean ms), to see where the database's time goes.
bool PgStatsWanted() { return std::getenv("SUNDESK_NOTIFICATION_BENCH_PG_STATS") != nullptr; }

// SUNDESK_NOTIFICATION_BENCH_PG_EXPLAIN=<file>: the pipeline's PostgreSQL also loads
// auto_explain (EXPLAIN ANALYZE of every statement taking 5 ms or more) and its server log
// is written to <file> after each pipeline case, to see why a statement is slow.
const char* PgExplainFile() { return std::getenv("SUNDESK_NOTIFICATION_BENCH_PG_EXPLAIN"); }

void PrintPgStats(pg::Pool& pool, const std::string& name) {
  if (!PgStatsWanted()) return;
  auto conn = pool.Acquire();
  if (!conn.ok()) return;
  auto r = (*conn)->Execute(
      "SELECT calls, round(total_exec_time::numeric, 1)::text, "
      "round(mean_exec_time::numeric, 3)::text, round(total_plan_time::numeric, 1)::text, "
      "left(regexp_replace(query, '\\s+', ' ', 'g'), 100) FROM pg_stat_statements "
      "ORDER BY total_exec_time + total_plan_time DESC LIMIT 12");
  if (r.ok()) {
    std::fprintf(stderr,
                 "-- %s: PostgreSQL statements (calls, total ms, mean ms, planning ms, query)\n",
                 name.c_str());
    for (int i = 0; i < r->rows(); ++i) {
      std::fprintf(stderr, "%8s %10s %8s %9s  %s\n", std::string(r->Text(i, 0)).c_str(),
                   std::string(r->Text(i, 1)).c_str(), std::string(r->Text(i, 2)).c_str(),
                   std::string(r->Text(i, 3)).c_str(), std::string(r->Text(i, 4)).c_str());
    }
  }
  (void)(*conn)->Execute("SELECT pg_stat_statements_reset()");
}

// A throwaway PostgreSQL with the service's schema and one webhook subscription per sink,
// each for its own tenant (so one event makes one delivery).
struct Pipeline {
  std::unique_ptr<testing::PostgresServer> postgres;
  std::unique_ptr<pg::Pool> pool;
  std::vector<std::string> healthy_tenants;
  std::string dead_tenant;
};

Pipeline& SharedPipeline() {
  // Destroyed at exit, so the cluster stops and its data directory (hundreds of MB after
  // a run) is removed.
  static std::unique_ptr<Pipeline> p = [] {
    auto p = std::make_unique<Pipeline>();
    testing::PostgresServerOptions options;
    if (PgStatsWanted()) {
      options.settings["shared_preload_libraries"] = "pg_stat_statements";
      options.settings["pg_stat_statements.track_planning"] = "on";
    }
    if (PgExplainFile() != nullptr) {
      options.settings["shared_preload_libraries"] =
          PgStatsWanted() ? "pg_stat_statements,auto_explain" : "auto_explain";
      options.settings["auto_explain.log_min_duration"] = "5ms";
      options.settings["auto_explain.log_analyze"] = "on";
      options.settings["auto_explain.log_buffers"] = "on";
      options.settings["auto_explain.log_nested_statements"] = "on";
      options.settings["auto_explain.log_triggers"] = "on";
    }
    p->postgres = *testing::PostgresServer::Start(options);
    const std::string dsn = *p->postgres->CreateDatabase("notification_bench");
    p->pool = *pg::Pool::Create({.dsn = dsn, .size = 8});
    absl::Status st = pg::RunMigrations(*p->pool, kSchema, AllMigrations());
    if (!st.ok()) std::fprintf(stderr, "migrations: %s\n", st.ToString().c_str());
    if (PgStatsWanted()) {
      auto conn = p->pool->Acquire();
      if (conn.ok()) (void)(*conn)->Execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements");
    }
    SystemClock clock;
    UuidV7Generator ids(clock);
    PgSubscriptionStore store(*p->pool);
    Sinks& sinks = SharedSinks();
    auto subscribe = [&](const std::string& url) {
      Subscription s{.subscription_id = ids.NewId(),
                     .tenant_id = ids.NewId(),
                     .channel = ChannelKind::kWebhook,
                     .target = url,
                     .secret = "bench-secret-0123456789",
                     .create_time = absl::Now() - absl::Hours(1)};
      (void)store.CreateSubscription(s, std::nullopt);
      return s.tenant_id;
    };
    for (auto& sink : sinks.healthy) p->healthy_tenants.push_back(subscribe(sink->Url("/hook")));
    p->dead_tenant = subscribe(sinks.dead->Url("/hook"));
    return p;
  }();
  return *p;
}

void PipelineSteady(benchmark::State& state, bool with_dead_endpoint) {
  Pipeline& p = SharedPipeline();
  Sinks& sinks = SharedSinks();
  SystemClock clock;
  UuidV7Generator ids(clock);
  PgDeliveryStore store(*p.pool, ids);
  WebhookSender sender(clock, SenderOptions());
  // One attempt each: the dead endpoint's deliveries go DEAD instead of coming back.
  Dispatcher dispatcher(store, sender, nullptr, clock, nullptr,
                        {.schedule = {.max_attempts = 1}, .lease = absl::Minutes(5)});
  std::thread dispatch_thread([&] { dispatcher.Run(); });
  EventIntake intake(store, clock, dispatcher);
  // As the service's consumer does: the intake takes what has arrived (up to 200 events)
  // and stores it in one transaction; the loop below plays the broker, at a steady rate.
  absl::Mutex mu;
  std::deque<kafka::Message> arrived_events;
  bool feeding_done = false;
  absl::Status intake_error;
  // Where a backlog waits: the intake's transactions (time, size), the events not yet
  // taken by the intake, the sender's calls not yet answered, the dispatcher's room.
  std::vector<double> intake_ms, intake_sizes;
  size_t backlog_max = 0;
  int sender_pending_max = 0;
  int room_min = dispatcher.Room();
  std::thread intake_thread([&] {
    for (;;) {
      std::vector<kafka::Message> batch;
      {
        absl::MutexLock lock(&mu);
        auto ready = [&] { return !arrived_events.empty() || feeding_done; };
        mu.Await(absl::Condition(&ready));
        if (arrived_events.empty()) return;
        while (!arrived_events.empty() && batch.size() < 200) {
          batch.push_back(std::move(arrived_events.front()));
          arrived_events.pop_front();
        }
      }
      const absl::Time began = absl::Now();
      absl::Status st = intake.HandleBatch(batch);
      const double took_ms = absl::ToDoubleMilliseconds(absl::Now() - began);
      absl::MutexLock lock(&mu);
      intake_ms.push_back(took_ms);
      intake_sizes.push_back(static_cast<double>(batch.size()));
      if (!st.ok()) intake_error = st;
    }
  });

  const double rate = static_cast<double>(state.range(0));
  const int n = static_cast<int>(rate * 5);  // five seconds
  std::vector<size_t> seen_before;
  for (auto& s : sinks.healthy) seen_before.push_back(s->RequestCount());
  // The events are made before the clock starts: the loop below only plays the broker
  // handing them over at the offered rate, so making them (protobuf, ids, time formatting:
  // ~6% of the machine at 5,000/s) does not compete with the pipeline for the two cores.
  std::vector<kafka::Message> messages;
  messages.reserve(static_cast<size_t>(n));
  // When each healthy event is due after the start, by event id.
  std::map<std::string, absl::Duration> due_after;
  int64_t healthy_sent = 0;
  for (int i = 0; i < n; ++i) {
    const bool dead = with_dead_endpoint && i % 100 == 0;
    const std::string tenant = dead ? p.dead_tenant : p.healthy_tenants[i % kHealthy];
    const std::string ticket = ids.NewId();
    events::v1::TicketCreated payload;
    payload.mutable_ticket()->set_ticket_id(ticket);
    payload.mutable_ticket()->set_subject("bench");
    auto e = kafka::NewEvent(
        ids, clock,
        {.source = "sundesk/ticket", .tenant_id = tenant, .subject = ticket, .sequence = 1},
        payload);
    kafka::EventRecord record = kafka::ToRecord("sundesk.ticket.events.v1", *e);
    if (!dead) {
      due_after[e->event_id()] = absl::Seconds(i / rate);
      ++healthy_sent;
    }
    messages.push_back(kafka::Message{.topic = record.topic,
                                      .key = record.key,
                                      .value = record.value,
                                      .headers = record.headers});
  }
  absl::Time start;
  absl::Duration wall;
  for (auto _ : state) {
    start = absl::Now();
    for (int i = 0; i < n; ++i) {
      // Latency counts from when the event was due at the offered rate, so a pipeline
      // that falls behind shows its backlog in it.
      const absl::Time due = start + absl::Seconds(i / rate);
      const absl::Duration ahead = due - absl::Now();
      if (ahead > absl::ZeroDuration()) absl::SleepFor(ahead);
      if (i % 50 == 0) {
        sender_pending_max = std::max(sender_pending_max, sender.Pending());
        room_min = std::min(room_min, dispatcher.Room());
      }
      absl::MutexLock lock(&mu);
      backlog_max = std::max(backlog_max, arrived_events.size());
      arrived_events.push_back(std::move(messages[static_cast<size_t>(i)]));
    }
    // Wait until every healthy event reached its sink.
    for (;;) {
      int64_t arrived = 0;
      for (size_t i = 0; i < sinks.healthy.size(); ++i) {
        arrived += static_cast<int64_t>(sinks.healthy[i]->RequestCount() - seen_before[i]);
      }
      if (arrived >= healthy_sent || absl::Now() - start > absl::Seconds(120)) break;
      absl::SleepFor(absl::Milliseconds(5));
    }
    wall += absl::Now() - start;
  }
  {
    absl::MutexLock lock(&mu);
    feeding_done = true;
  }
  intake_thread.join();
  if (!intake_error.ok()) state.SkipWithError(intake_error.ToString().c_str());
  dispatcher.Stop();
  dispatch_thread.join();

  std::vector<double> latencies_ms;
  for (size_t i = 0; i < sinks.healthy.size(); ++i) {
    std::vector<testing::HttpSinkRequest> requests = sinks.healthy[i]->Requests();
    for (size_t j = seen_before[i]; j < requests.size(); ++j) {
      auto it = due_after.find(requests[j].headers["sundesk-event-id"]);
      if (it == due_after.end()) continue;
      latencies_ms.push_back(
          absl::ToDoubleMilliseconds(requests[j].received - (start + it->second)));
    }
  }
  const std::string name =
      absl::StrCat("PipelineSteady/", with_dead_endpoint ? "one_dead_endpoint" : "baseline", "/",
                   state.range(0));
  PrintPgStats(*p.pool, name);
  if (const char* file = PgExplainFile()) {
    if (std::FILE* f = std::fopen(file, "w")) {
      const std::string log = p.postgres->Log();
      std::fwrite(log.data(), 1, log.size(), f);
      std::fclose(f);
    }
  }
  Report(state, name, static_cast<double>(latencies_ms.size()) / absl::ToDoubleSeconds(wall),
         Percentile(latencies_ms, 0.99), Percentile(latencies_ms, 0.5));
  state.counters["offered_per_s"] = rate;
  absl::MutexLock lock(&mu);
  state.counters["intake_p50_ms"] = Percentile(intake_ms, 0.5);
  state.counters["intake_p99_ms"] = Percentile(intake_ms, 0.99);
  state.counters["intake_batch_p50"] = Percentile(intake_sizes, 0.5);
  state.counters["intake_backlog_max"] = static_cast<double>(backlog_max);
  state.counters["sender_pending_max"] = sender_pending_max;
  state.counters["dispatcher_room_min"] = room_min;
}

void BM_Saturation_Baseline(benchmark::State& state) { Saturation(state, false); }
void BM_Saturation_OneDead(benchmark::State& state) { Saturation(state, true); }
void BM_Steady_Baseline(benchmark::State& state) { Steady(state, false); }
void BM_Steady_OneDead(benchmark::State& state) { Steady(state, true); }
void BM_Pipeline_Baseline(benchmark::State& state) { PipelineSteady(state, false); }
void BM_Pipeline_OneDead(benchmark::State& state) { PipelineSteady(state, true); }

BENCHMARK(BM_Saturation_Baseline)
    ->Name("WebhooksSaturation/baseline")
    ->Iterations(3)
    ->UseRealTime();
BENCHMARK(BM_Saturation_OneDead)
    ->Name("WebhooksSaturation/one_dead_endpoint")
    ->Iterations(3)
    ->UseRealTime();
BENCHMARK(BM_Steady_Baseline)->Name("WebhooksSteady/baseline")->Iterations(1)->UseRealTime();
BENCHMARK(BM_Steady_OneDead)
    ->Name("WebhooksSteady/one_dead_endpoint")
    ->Iterations(1)
    ->UseRealTime();
BENCHMARK(BM_Pipeline_Baseline)
    ->Name("PipelineSteady/baseline")
    ->Arg(500)
    ->Arg(2000)
    ->Arg(5000)
    ->Iterations(1)
    ->UseRealTime();
BENCHMARK(BM_Pipeline_OneDead)
    ->Name("PipelineSteady/one_dead_endpoint")
    ->Arg(500)
    ->Arg(2000)
    ->Arg(5000)
    ->Iterations(1)
    ->UseRealTime();

}  // namespace
}  // namespace sundesk::notification
