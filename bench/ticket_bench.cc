// What one CreateTicket costs end to end at 64 concurrent calls — gRPC loopback, the real
// TicketServiceHandlers (checks on 64 rpc workers), TicketService and PgTicketStore (record,
// ticket, history and outbox rows as one unit, committed by the store's writer threads in groups
// with the other creates in flight, which finish the calls) on a pg::Pool of 32 — against the
// ceiling of the same PostgreSQL server: 64 threads, each on its own libpq connection, doing
// one-row autocommit INSERTs. A third variant, domain_no_grpc, calls TicketService directly from 64
// threads (same pool), so the database's share shows apart from the RPC layer's.
//
// One throwaway PostgreSQL 15 (tests/support) with fsync=on and synchronous_commit=on (the
// default), so every commit waits for its WAL flush in every variant.
//
// Counters: creates_per_s is calls completed per second of wall time. p50_ms and p99_ms:
// for baseline and domain_no_grpc, each of the 64 threads' own percentile, averaged over
// the threads; for sundesk (one benchmark thread keeping 64 calls in flight), the percentile
// of all calls. pg_cpu_us and app_cpu_us: CPU time per create, in microseconds, of the
// PostgreSQL server (all its processes) and of this process (server, load generator and, for
// baseline, the libpq callers) over the measured loop. Unlike the rate, they hardly move
// with the machine's disk and neighbours, so they show what a change to the code saves.
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "benchmark/benchmark.h"
#include "grpcpp/grpcpp.h"
#include "libs/api/page_token.h"
#include "libs/core/clock.h"
#include "libs/core/ids.h"
#include "libs/pg/connection.h"
#include "libs/pg/migrations.h"
#include "libs/pg/pool.h"
#include "libs/rpc/auth.h"
#include "libs/rpc/client.h"
#include "libs/rpc/server.h"
#include "prometheus/registry.h"
#include "services/ticket/api/ticket_service_handlers.h"
#include "services/ticket/domain/ticket_service.h"
#include "services/ticket/store/pg_ticket_store.h"
#include "services/ticket/store/schema.h"
#include "sundesk/ticket/v1/ticket_service.grpc.pb.h"
#include "tests/support/migrated_database.h"

namespace sundesk {
namespace {

namespace pb = ::sundesk::ticket::v1;

constexpr int kCallers = 64;
constexpr int kPoolSize = 32;
constexpr int kWorkers = 64;
constexpr int kChannels = 4;
constexpr double kMinTimeSeconds = 3.0;
constexpr char kTenant[] = "0190a000-0000-7000-8000-0000000000be";
constexpr char kClientKey[] = "bench-client";

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "ticket_bench setup: %s\n", what.c_str());
  std::exit(1);
}

// Everything both variants share, built once and never torn down (the process exits).
struct Env {
  std::unique_ptr<testing::PostgresServer> postgres;
  std::string dsn;
  std::unique_ptr<pg::Pool> pool;
  rpc::StaticKeyAuthenticator auth;
  prometheus::Registry registry;
  SystemClock clock;
  std::unique_ptr<UuidV7Generator> ids;
  std::unique_ptr<api::PageTokenSigner> page_tokens;
  std::unique_ptr<ticket::TicketMetrics> metrics;
  std::unique_ptr<kafka::OutboxNotifier> notifier;
  std::unique_ptr<ticket::PgTicketStore> store;
  std::unique_ptr<ticket::TicketService> tickets;
  std::unique_ptr<WorkerPool> workers;
  std::unique_ptr<ticket::TicketServiceHandlers> handlers;
  std::unique_ptr<rpc::Server> server;
  std::vector<std::shared_ptr<grpc::Channel>> channels;
};

Env& GetEnv() {
  static Env* env = [] {
    // As the services run (libs/runtime): without abseil's Mutex deadlock detection.
    absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
    auto* e = new Env();
    auto server = testing::PostgresServer::Start({.fsync = true});
    if (!server.ok()) Die(server.status().ToString());
    e->postgres = std::move(*server);
    auto dsn = e->postgres->CreateDatabase("tickets");
    if (!dsn.ok()) Die(dsn.status().ToString());
    e->dsn = *dsn;
    auto pool = pg::Pool::Create({.dsn = e->dsn, .size = kPoolSize});
    if (!pool.ok()) Die(pool.status().ToString());
    e->pool = std::move(*pool);

    if (auto s = pg::RunMigrations(*e->pool, ticket::kSchema, ticket::AllMigrations()); !s.ok()) {
      Die(s.ToString());
    }
    {
      auto lease = e->pool->Acquire();
      if (!lease.ok()) Die(lease.status().ToString());
      auto r = (*lease)->Execute(
          "INSERT INTO ticket.tenants (tenant_id, name, time_zone, default_language, "
          "routing_mode, create_time, update_time) VALUES ($1, 'Bench client', "
          "'Europe/Stockholm', 'sv', 1, now(), now())",
          {kTenant});
      if (!r.ok()) Die(r.status().ToString());
      if (auto s = (*lease)->ExecuteScript(
              "CREATE TABLE bench_ceiling (id bigint PRIMARY KEY, body text NOT NULL)");
          !s.ok()) {
        Die(s.ToString());
      }
    }

    e->auth.Add(kClientKey, {.role = rpc::Role::kClient, .tenant_id = kTenant, .key_id = "kb"});
    e->ids = std::make_unique<UuidV7Generator>(e->clock);
    e->page_tokens = std::make_unique<api::PageTokenSigner>("bench-page-token-key");
    e->metrics = std::make_unique<ticket::TicketMetrics>(e->registry);
    e->notifier = std::make_unique<kafka::OutboxNotifier>(*e->pool, "ticket");
    e->workers = std::make_unique<WorkerPool>(kWorkers, "bench");
    e->store =
        std::make_unique<ticket::PgTicketStore>(*e->pool, e->notifier.get(), e->workers.get());
    e->tickets =
        std::make_unique<ticket::TicketService>(*e->store, e->clock, *e->ids, *e->page_tokens,
                                                ticket::TicketServiceOptions{}, e->metrics.get());
    e->handlers =
        std::make_unique<ticket::TicketServiceHandlers>(e->auth, *e->tickets, e->workers.get());
    rpc::ServerOptions options;
    options.services = {{pb::TicketService::service_full_name(), e->handlers.get()}};
    auto grpc_server = rpc::Server::Start(std::move(options), e->registry);
    if (!grpc_server.ok()) Die(grpc_server.status().ToString());
    e->server = std::move(*grpc_server);
    // Several client connections, as many client systems would open: one HTTP/2
    // connection is handled by one thread at a time on each side.
    for (int i = 0; i < kChannels; ++i) {
      grpc::ChannelArguments args;
      args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);  // a connection of its own
      e->channels.push_back(grpc::CreateCustomChannel(absl::StrCat("127.0.0.1:", e->server->port()),
                                                      grpc::InsecureChannelCredentials(), args));
    }
    return e;
  }();
  return *env;
}

// Per-call latencies of one thread; sets that thread's share of the counters.
class Latencies {
 public:
  Latencies() { ms_.reserve(1 << 14); }
  void Add(std::chrono::steady_clock::duration d) {
    ms_.push_back(std::chrono::duration<double, std::milli>(d).count());
  }
  void Report(benchmark::State& state) {
    state.counters["creates_per_s"] =
        benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
    state.counters["p50_ms"] =
        benchmark::Counter(Percentile(0.50), benchmark::Counter::kAvgThreads);
    state.counters["p99_ms"] =
        benchmark::Counter(Percentile(0.99), benchmark::Counter::kAvgThreads);
  }

 private:
  double Percentile(double q) {
    if (ms_.empty()) return 0;
    size_t k = std::min(ms_.size() - 1, static_cast<size_t>(q * static_cast<double>(ms_.size())));
    std::nth_element(ms_.begin(), ms_.begin() + static_cast<ptrdiff_t>(k), ms_.end());
    return ms_[k];
  }
  std::vector<double> ms_;
};

// CPU time per operation over one benchmark run, of PostgreSQL and of this process. Measured
// by the first thread around its loop (Google Benchmark starts and ends every thread's loop
// together), reported once for all threads.
class CpuPerOp {
 public:
  explicit CpuPerOp(const benchmark::State& state)
      : measuring_(state.thread_index() == 0),
        pg_start_(measuring_ ? GetEnv().postgres->CpuTime() : absl::ZeroDuration()),
        app_start_(measuring_ ? ProcessCpu() : absl::ZeroDuration()) {}

  // After the loop.
  void Report(benchmark::State& state) {
    if (!measuring_ || state.iterations() == 0) return;
    const double ops = static_cast<double>(state.iterations()) * state.threads();
    state.counters["pg_cpu_us"] =
        absl::ToDoubleMicroseconds(GetEnv().postgres->CpuTime() - pg_start_) / ops;
    state.counters["app_cpu_us"] = absl::ToDoubleMicroseconds(ProcessCpu() - app_start_) / ops;
  }

 private:
  static absl::Duration ProcessCpu() {
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    return absl::DurationFromTimeval(usage.ru_utime) + absl::DurationFromTimeval(usage.ru_stime);
  }
  const bool measuring_;
  const absl::Duration pg_start_;
  const absl::Duration app_start_;
};

// The ceiling: each caller thread its own libpq session, one-row autocommit INSERTs.
void BM_CreateTicket_Baseline(benchmark::State& state) {
  Env& env = GetEnv();
  // Kept across Google Benchmark's repeated runs of this function, one per thread index.
  static std::vector<std::unique_ptr<pg::Connection>> connections(kCallers);
  static std::atomic<int64_t> next_id{1};
  auto& conn = connections[static_cast<size_t>(state.thread_index())];
  if (conn == nullptr) {
    auto c = pg::Connection::Open({.dsn = env.dsn}, absl::Now() + absl::Seconds(10));
    if (!c.ok()) {
      state.SkipWithError(c.status().ToString().c_str());
      for (auto _ : state) {
      }
      return;
    }
    conn = std::move(*c);
  }
  const std::string body =
      "VPN drops every hour | Since Monday. | cust-9 ana@example.com pt-BR | high email | vpn "
      "| plan=gold";
  Latencies latencies;
  CpuPerOp cpu(state);
  for (auto _ : state) {
    auto start = std::chrono::steady_clock::now();
    auto r = conn->Execute("INSERT INTO bench_ceiling (id, body) VALUES ($1, $2)",
                           {next_id.fetch_add(1, std::memory_order_relaxed), body});
    latencies.Add(std::chrono::steady_clock::now() - start);
    if (!r.ok()) {
      state.SkipWithError(r.status().ToString().c_str());
      break;
    }
  }
  latencies.Report(state);
  cpu.Report(state);
}

// sundesk: TicketService/CreateTicket over gRPC loopback on kChannels connections, with kCallers
// calls always in flight. The load generator uses gRPC's callback API (each completion starts the
// next call) rather than 64 blocked threads, so it costs the shared machine little; the
// benchmark's one thread counts completions.
class InFlightCalls {
 public:
  InFlightCalls(std::vector<std::unique_ptr<pb::TicketService::Stub>> stubs,
                const pb::CreateTicketRequest& prototype)
      : stubs_(std::move(stubs)), prototype_(prototype) {}

  void Start(int n) {
    for (int i = 0; i < n; ++i) StartOne();
  }
  // Waits for the next completion; false if it failed (its message in `error`).
  bool Next(std::chrono::steady_clock::duration* latency, std::string* error) {
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(
        +[](std::deque<Done>* d) { return !d->empty(); }, &done_));
    Done d = std::move(done_.front());
    done_.pop_front();
    *latency = d.latency;
    *error = std::move(d.error);
    return error->empty();
  }
  // Stops starting calls and waits for those in flight.
  void Drain() {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    mu_.Await(absl::Condition(
        +[](int* n) { return *n == 0; }, &in_flight_));
  }

 private:
  struct Call {
    std::unique_ptr<grpc::ClientContext> ctx;
    pb::CreateTicketRequest request;
    pb::Ticket response;
    std::chrono::steady_clock::time_point start;
  };
  struct Done {
    std::chrono::steady_clock::duration latency;
    std::string error;
  };

  void StartOne() {
    auto* call = new Call();
    call->request = prototype_;
    const int64_t n = next_request_.fetch_add(1, std::memory_order_relaxed);
    call->request.set_request_id(absl::StrCat("bench-", n));
    call->ctx = rpc::NewClientContext({.timeout = absl::Seconds(30), .api_key = kClientKey});
    {
      absl::MutexLock lock(&mu_);
      ++in_flight_;
    }
    call->start = std::chrono::steady_clock::now();
    stubs_[static_cast<size_t>(n) % stubs_.size()]->async()->CreateTicket(
        call->ctx.get(), &call->request, &call->response, [this, call](grpc::Status st) {
          Done d{.latency = std::chrono::steady_clock::now() - call->start,
                 .error = st.ok() ? "" : st.error_message()};
          delete call;
          bool again;
          {
            absl::MutexLock lock(&mu_);
            done_.push_back(std::move(d));
            --in_flight_;
            again = !stopping_;
          }
          if (again) StartOne();
        });
  }

  const std::vector<std::unique_ptr<pb::TicketService::Stub>> stubs_;
  const pb::CreateTicketRequest prototype_;
  static inline std::atomic<int64_t> next_request_{1};
  absl::Mutex mu_;
  std::deque<Done> done_ ABSL_GUARDED_BY(mu_);
  int in_flight_ ABSL_GUARDED_BY(mu_) = 0;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
};

void BM_CreateTicket_Sundesk(benchmark::State& state) {
  Env& env = GetEnv();
  std::vector<std::unique_ptr<pb::TicketService::Stub>> stubs;
  for (const auto& channel : env.channels) stubs.push_back(pb::TicketService::NewStub(channel));
  pb::CreateTicketRequest request;
  request.set_subject("VPN drops every hour");
  request.set_description("Since Monday.");
  request.mutable_requester()->set_external_id("cust-9");
  request.mutable_requester()->set_email("ana@example.com");
  request.mutable_requester()->set_language("pt-BR");
  request.set_priority(common::v1::PRIORITY_HIGH);
  request.set_channel(common::v1::CHANNEL_EMAIL);
  request.add_tags("vpn");
  (*request.mutable_custom_fields())["plan"] = "gold";
  InFlightCalls calls(std::move(stubs), request);
  calls.Start(kCallers);
  Latencies latencies;
  CpuPerOp cpu(state);
  std::string error;
  for (auto _ : state) {
    std::chrono::steady_clock::duration latency;
    if (!calls.Next(&latency, &error)) {
      state.SkipWithError(error.c_str());
      break;
    }
    latencies.Add(latency);
  }
  calls.Drain();
  latencies.Report(state);
  cpu.Report(state);
}

// The same create without gRPC: TicketService (domain + PgTicketStore) called directly by
// each thread, to tell the database's share of the cost from the RPC layer's.
void BM_CreateTicket_Domain(benchmark::State& state) {
  Env& env = GetEnv();
  static std::atomic<int64_t> next_request{1};
  const ticket::Caller caller{
      .role = ticket::CallerRole::kClient, .tenant_id = kTenant, .key_id = "kb"};
  ticket::CreateTicketInput in;
  in.subject = "VPN drops every hour";
  in.description = "Since Monday.";
  in.requester.external_id = "cust-9";
  in.requester.email = "ana@example.com";
  in.requester.language = "pt-BR";
  in.priority = ticket::Priority::kHigh;
  in.channel = ticket::Channel::kEmail;
  in.tags = {"vpn"};
  in.custom_fields = {{"plan", "gold"}};
  Latencies latencies;
  CpuPerOp cpu(state);
  for (auto _ : state) {
    in.request_id = absl::StrCat("domain-", next_request.fetch_add(1, std::memory_order_relaxed));
    auto start = std::chrono::steady_clock::now();
    auto t = env.tickets->CreateTicket(caller, in);
    latencies.Add(std::chrono::steady_clock::now() - start);
    if (!t.ok()) {
      state.SkipWithError(t.status().ToString().c_str());
      break;
    }
  }
  latencies.Report(state);
  cpu.Report(state);
}

// The server and PostgreSQL start on the main thread (Setup runs there): PostgresServer's
// postmaster dies with the thread that spawned it (PR_SET_PDEATHSIG), and Google Benchmark
// ends its worker threads after every run.
void StartEnv(const benchmark::State&) { GetEnv(); }

BENCHMARK(BM_CreateTicket_Baseline)
    ->Name("CreateTicket/baseline")
    ->Setup(StartEnv)
    ->Threads(kCallers)
    ->MinTime(kMinTimeSeconds)
    ->UseRealTime();
BENCHMARK(BM_CreateTicket_Domain)
    ->Name("CreateTicket/domain_no_grpc")
    ->Setup(StartEnv)
    ->Threads(kCallers)
    ->MinTime(kMinTimeSeconds)
    ->UseRealTime();
BENCHMARK(BM_CreateTicket_Sundesk)
    ->Name("CreateTicket/sundesk")
    ->Setup(StartEnv)
    ->MinTime(kMinTimeSeconds)
    ->UseRealTime();

}  // namespace
}  // namespace sundesk
