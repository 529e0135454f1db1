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
#include <pthread.h>
#include <sys/resource.h>
#include <time.h>

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

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
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

absl::Duration ProcessCpu() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return absl::DurationFromTimeval(usage.ru_utime) + absl::DurationFromTimeval(usage.ru_stime);
}

// CPU time a thread of this process has used so far.
absl::Duration ThreadCpu(pthread_t thread) {
  clockid_t clock;
  timespec ts{};
  if (pthread_getcpuclockid(thread, &clock) != 0 || clock_gettime(clock, &ts) != 0) {
    return absl::ZeroDuration();
  }
  return absl::DurationFromTimespec(ts);
}

// One healthy event's way through the pipeline: due (at the offered rate) -> taken by the
// intake (the broker's side: waiting for the intake to finish its previous batch) -> stored
// (the intake's transaction; the deliveries handed to the dispatcher) -> sent (the
// dispatcher gave it to the sender) -> started (its transfer began: after the sender's
// per-endpoint and total bounds and its loop) -> received by the sink (libcurl, loopback
// TCP, the sink's thread) -> finished (the answer back in the sender).
struct Stages {
  absl::Time due = absl::InfinitePast(), taken = absl::InfinitePast(),
             stored = absl::InfinitePast(), sent = absl::InfinitePast(),
             started = absl::InfinitePast(), received = absl::InfinitePast(),
             finished = absl::InfinitePast();
};

// Per stage: p50 and p99 of its time over every delivered event, and its mean over the
// slowest 1% (due -> received at or above the p99): which stage holds the tail.
void ReportStages(benchmark::State& state, const std::string& name,
                  const std::vector<Stages>& stages) {
  struct Stage {
    const char* label;
    absl::Time Stages::*from;
    absl::Time Stages::*to;
  };
  const Stage kStages[] = {{"intake_wait", &Stages::due, &Stages::taken},
                           {"intake_tx", &Stages::taken, &Stages::stored},
                           {"to_sender", &Stages::stored, &Stages::sent},
                           {"sender_queue", &Stages::sent, &Stages::started},
                           {"to_sink", &Stages::started, &Stages::received},
                           {"answer", &Stages::received, &Stages::finished}};
  std::vector<const Stages*> complete;
  for (const Stages& s : stages) {
    bool all = true;
    for (absl::Time Stages::*t : {&Stages::due, &Stages::taken, &Stages::stored, &Stages::sent,
                                  &Stages::started, &Stages::received, &Stages::finished}) {
      all = all && s.*t != absl::InfinitePast();
    }
    if (all) complete.push_back(&s);
  }
  if (complete.empty()) return;
  std::vector<double> total;
  for (const Stages* s : complete) total.push_back(absl::ToDoubleMilliseconds(s->received - s->due));
  const double tail_from = Percentile(total, 0.99);
  std::fprintf(stderr, "-- %s: stages over %zu events (ms): p50 / p99 / mean in the slowest 1%%\n",
               name.c_str(), complete.size());
  for (const Stage& st : kStages) {
    std::vector<double> v;
    double tail_sum = 0;
    int tail_n = 0;
    for (const Stages* s : complete) {
      const double ms = absl::ToDoubleMilliseconds(s->*st.to - s->*st.from);
      v.push_back(ms);
      if (absl::ToDoubleMilliseconds(s->received - s->due) >= tail_from) {
        tail_sum += ms;
        ++tail_n;
      }
    }
    const double tail_mean = tail_n > 0 ? tail_sum / tail_n : 0;
    std::fprintf(stderr, "   %-13s %8.2f %8.2f %8.2f\n", st.label, Percentile(v, 0.5),
                 Percentile(v, 0.99), tail_mean);
    state.counters[absl::StrCat(st.label, "_p99_ms")] = Percentile(v, 0.99);
    state.counters[absl::StrCat(st.label, "_tail_ms")] = tail_mean;
  }
}

void PipelineSteady(benchmark::State& state, bool with_dead_endpoint) {
  Pipeline& p = SharedPipeline();
  Sinks& sinks = SharedSinks();
  SystemClock clock;
  UuidV7Generator ids(clock);
  PgDeliveryStore store(*p.pool, ids);
  // Where each event's time went (see Stages below), by event index.
  const double rate = static_cast<double>(state.range(0));
  const int n = static_cast<int>(rate * 5);  // five seconds
  std::vector<Stages> stages(static_cast<size_t>(n));
  std::map<std::string, int> index_of;  // event id -> index
  absl::Mutex stages_mu;  // the sender's writes (a dead endpoint's finish late) vs reads
  std::atomic<bool> sender_known{false};
  pthread_t sender_thread{};
  WebhookSenderOptions sender_options = SenderOptions();
  sender_options.on_finished = [&](const std::string& event_id, absl::Time sent,
                                   absl::Time started, absl::Time finished) {
    if (!sender_known.load(std::memory_order_relaxed)) {
      sender_thread = pthread_self();
      sender_known = true;
    }
    // The sender's thread; index_of is complete before the first event is handed over.
    auto it = index_of.find(event_id);
    if (it == index_of.end()) return;
    absl::MutexLock lock(&stages_mu);
    Stages& s = stages[static_cast<size_t>(it->second)];
    s.sent = sent;
    s.started = started;
    s.finished = finished;
  };
  WebhookSender sender(clock, sender_options);
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
      const absl::Time stored = absl::Now();
      const double took_ms = absl::ToDoubleMilliseconds(stored - began);
      absl::MutexLock lock(&mu);
      for (const kafka::Message& m : batch) {
        stages[static_cast<size_t>(m.offset)].taken = began;
        stages[static_cast<size_t>(m.offset)].stored = stored;
      }
      intake_ms.push_back(took_ms);
      intake_sizes.push_back(static_cast<double>(batch.size()));
      if (!st.ok()) intake_error = st;
    }
  });

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
    index_of[e->event_id()] = i;
    messages.push_back(kafka::Message{.topic = record.topic,
                                      .offset = i,
                                      .key = record.key,
                                      .value = record.value,
                                      .headers = record.headers});
  }
  absl::Time start;
  absl::Duration wall;
  // CPU per delivery: PostgreSQL (all its processes), this whole process (the service's
  // threads, the 100 sinks, the feeding loop), and the service's threads one by one (the
  // dispatcher's recorder thread is not among them: it is inside Dispatcher::Run).
  const absl::Duration pg_cpu_start = p.postgres->CpuTime();
  const absl::Duration process_cpu_start = ProcessCpu();
  const absl::Duration dispatcher_cpu_start = ThreadCpu(dispatch_thread.native_handle());
  const absl::Duration intake_cpu_start = ThreadCpu(intake_thread.native_handle());
  absl::Duration pg_cpu, process_cpu, dispatcher_cpu, intake_cpu, sender_cpu;
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
  pg_cpu = p.postgres->CpuTime() - pg_cpu_start;
  process_cpu = ProcessCpu() - process_cpu_start;
  dispatcher_cpu = ThreadCpu(dispatch_thread.native_handle()) - dispatcher_cpu_start;
  intake_cpu = ThreadCpu(intake_thread.native_handle()) - intake_cpu_start;
  // The sender's whole life (it idles before the first event: a wake-up per 100 ms).
  if (sender_known) sender_cpu = ThreadCpu(sender_thread);
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
      const std::string& event_id = requests[j].headers["sundesk-event-id"];
      auto it = due_after.find(event_id);
      if (it == due_after.end()) continue;
      latencies_ms.push_back(
          absl::ToDoubleMilliseconds(requests[j].received - (start + it->second)));
      absl::MutexLock lock(&stages_mu);
      Stages& s = stages[static_cast<size_t>(index_of.find(event_id)->second)];
      s.due = start + it->second;
      s.received = requests[j].received;
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
  const double delivered = static_cast<double>(std::max<size_t>(1, latencies_ms.size()));
  state.counters["pg_cpu_us"] = absl::ToDoubleMicroseconds(pg_cpu) / delivered;
  state.counters["process_cpu_us"] = absl::ToDoubleMicroseconds(process_cpu) / delivered;
  state.counters["sender_cpu_us"] = absl::ToDoubleMicroseconds(sender_cpu) / delivered;
  state.counters["dispatcher_cpu_us"] = absl::ToDoubleMicroseconds(dispatcher_cpu) / delivered;
  state.counters["intake_cpu_us"] = absl::ToDoubleMicroseconds(intake_cpu) / delivered;
  absl::MutexLock lock(&mu);
  state.counters["intake_p50_ms"] = Percentile(intake_ms, 0.5);
  state.counters["intake_p99_ms"] = Percentile(intake_ms, 0.99);
  state.counters["intake_batch_p50"] = Percentile(intake_sizes, 0.5);
  state.counters["intake_backlog_max"] = static_cast<double>(backlog_max);
  state.counters["sender_pending_max"] = sender_pending_max;
  state.counters["dispatcher_room_min"] = room_min;
  absl::MutexLock stages_lock(&stages_mu);
  ReportStages(state, name, stages);
}

void BM_Saturation_Baseline(benchmark::State& state) { Saturation(state, false); }
void BM_Saturation_OneDead(benchmark::State& state) { Saturation(state, true); }
void BM_Steady_Baseline(benchmark::State& state) { Steady(state, false); }
void BM_Steady_OneDead(benchmark::State& state) { Steady(state, true); }
void BM_Pipeline_Baseline(benchmark::State& state) { PipelineSteady(state, false); }
void BM_Pipeline_OneDead(benchmark::State& state) { PipelineSteady(state, true); }

// 500, 2,000 and 5,000 events/s, and the rates in SUNDESK_NOTIFICATION_BENCH_RATES (comma-
// separated, e.g. "7500,10000"): how far above the aim the pipeline still keeps up.
void PipelineRates(benchmark::internal::Benchmark* b) {
  for (int rate : {500, 2000, 5000}) b->Arg(rate);
  if (const char* more = std::getenv("SUNDESK_NOTIFICATION_BENCH_RATES")) {
    for (absl::string_view r : absl::StrSplit(more, ',', absl::SkipEmpty())) {
      int rate = 0;
      if (absl::SimpleAtoi(r, &rate) && rate > 0) b->Arg(rate);
    }
  }
}

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
    ->Apply(PipelineRates)
    ->Iterations(1)
    ->UseRealTime();
BENCHMARK(BM_Pipeline_OneDead)
    ->Name("PipelineSteady/one_dead_endpoint")
    ->Apply(PipelineRates)
    ->Iterations(1)
    ->UseRealTime();

}  // namespace
}  // namespace sundesk::notification
