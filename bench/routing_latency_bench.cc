// End-to-end routing latency through the real services: ticket-server and routing-server as
// processes (the built binaries) on a real PostgreSQL, redis-server and devkafka. A client
// calls TicketService.CreateTicket over gRPC at a steady rate (SUNDESK_ROUTING_BENCH_RATE,
// default 200/s, SUNDESK_ROUTING_BENCH_TICKETS tickets, default 600); the time from the call
// to the OfferMade event arriving at a consumer of sundesk.routing.events.v1 is one sample.
// That path is: the ticket's outbox row -> relay -> Kafka -> routing's queue consumer ->
// routing.tickets -> the dispatcher (every --dispatch-interval, default 200 ms) -> Router ->
// the offer and its OfferMade in routing's outbox -> relay -> Kafka -> the bench's consumer.
// Issue 4's aim: p99 <= 50 ms at 200 tickets/s.
//
//   RoutingLatency/baseline           a bare Kafka round trip in the same run: an event
//                                     produced at the same rate, timed from ProduceEvent to
//                                     a consumer with the same fetch settings. Two of these
//                                     (ticket events in, routing events out) are the floor
//                                     of the path above.
//   RoutingLatency/create_to_offer_made
//
// Manual time is the p99 in seconds; counters p50_ms, p99_ms and the rate achieved.
// The tenant (OFFER mode) and 20 agents of capacity 1000 are written straight into
// PostgreSQL, their presence straight into Redis: only the measured path runs through the
// services.
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
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
#include "libs/kafka/consumer.h"
#include "libs/kafka/envelope.h"
#include "libs/kafka/outbox.h"
#include "libs/kafka/producer.h"
#include "libs/pg/migrations.h"
#include "libs/pg/pool.h"
#include "libs/redis/pool.h"
#include "libs/rpc/client.h"
#include "services/routing/domain/agent_directory.h"
#include "services/routing/store/migrations.h"
#include "services/routing/store/pg_agent_store.h"
#include "services/routing/store/redis_presence_store.h"
#include "services/ticket/domain/tenant_registry.h"
#include "services/ticket/store/migrations.h"
#include "services/ticket/store/pg_tenant_store.h"
#include "sundesk/ticket/v1/ticket_service.grpc.pb.h"
#include "tests/support/devkafka_server.h"
#include "tests/support/postgres_server.h"
#include "tests/support/process.h"
#include "tests/support/redis_server.h"

namespace sundesk {
namespace {

constexpr char kAdminKey[] = "routing-bench-admin";
constexpr char kServiceKey[] = "routing-bench-service";
constexpr char kRoundTripTopic[] = "bench.routing.roundtrip";
constexpr int kAgents = 20;

int EnvInt(const char* name, int fallback) {
  const char* v = std::getenv(name);
  int n = 0;
  return v != nullptr && absl::SimpleAtoi(v, &n) && n > 0 ? n : fallback;
}

// fetch.wait.max.ms of every consumer on the path (routing's queue consumer and the bench's):
// SUNDESK_ROUTING_BENCH_FETCH_WAIT_MS, else what the tests use against devkafka.
int FetchWaitMs() {
  return EnvInt("SUNDESK_ROUTING_BENCH_FETCH_WAIT_MS",
                static_cast<int>(absl::ToInt64Milliseconds(testing::DevKafka::kFetchWaitMax)));
}

// The machine's CPU time since boot, busy and total, in clock ticks (/proc/stat's "cpu" line).
std::pair<int64_t, int64_t> MachineTicks() {
  std::ifstream in("/proc/stat");
  std::string cpu;
  in >> cpu;
  int64_t busy = 0, total = 0, v = 0;
  for (int i = 0; i < 8 && (in >> v); ++i) {  // user nice system idle iowait irq softirq steal
    total += v;
    if (i != 3 && i != 4) busy += v;
  }
  return {busy, total};
}

// A process's own user + system CPU time, in clock ticks (/proc/<pid>/stat fields 14, 15).
int64_t ProcessTicks(pid_t pid) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/stat"));
  std::string line;
  std::getline(in, line);
  const size_t close = line.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream rest(line.substr(close + 2));
  std::string field;
  int64_t utime = 0, stime = 0;
  for (int i = 3; i <= 15 && (rest >> field); ++i) {
    if (i == 14) utime = std::atoll(field.c_str());
    if (i == 15) stime = std::atoll(field.c_str());
  }
  return utime + stime;
}

// Arrival times by key, for the consumers' callbacks.
class Arrivals {
 public:
  void Add(const std::string& key, absl::Time at = absl::Now()) {
    absl::MutexLock lock(&mu_);
    at_.emplace(key, at);
  }
  std::optional<absl::Time> Get(const std::string& key) {
    absl::MutexLock lock(&mu_);
    auto it = at_.find(key);
    if (it == at_.end()) return std::nullopt;
    return it->second;
  }
  // Waits until every key of `keys` arrived, or `timeout`.
  bool WaitAll(const std::vector<std::string>& keys, absl::Duration timeout) {
    return testing::WaitFor(
        [&] {
          absl::MutexLock lock(&mu_);
          for (const std::string& k : keys) {
            if (at_.count(k) == 0) return false;
          }
          return true;
        },
        timeout);
  }

 private:
  absl::Mutex mu_;
  std::map<std::string, absl::Time> at_ ABSL_GUARDED_BY(mu_);
};

struct Stack {
  std::unique_ptr<testing::PostgresServer> postgres;
  std::string dsn;
  std::unique_ptr<pg::Pool> pool;
  std::unique_ptr<testing::RedisServer> redis_server;
  std::unique_ptr<redis::Pool> redis;
  std::unique_ptr<testing::DevKafka> kafka;
  std::unique_ptr<kafka::Producer> producer;
  testing::TempDir logs;
  std::unique_ptr<testing::Subprocess> ticket_server;
  std::unique_ptr<testing::Subprocess> routing_server;
  std::unique_ptr<ticket::v1::TicketService::Stub> tickets;
  std::string tenant_id;
  Arrivals offers;  // by ticket id: OfferMade seen
  // Where the time goes, by ticket id, from the events' own times (one machine, one clock):
  // TicketQueued is written when routing's queue consumer applies the ticket, OfferMade when
  // the dispatcher commits the offer.
  Arrivals queued_at;
  Arrivals offer_committed_at;
  // When the relays produced the events (the Kafka record's create time, set by Produce),
  // and when a consumer with the services' fetch settings saw TicketCreated.
  Arrivals offer_produced_at;
  Arrivals created_produced_at;
  Arrivals created_seen_at;
  Arrivals round_trip;  // by event id: the baseline's events seen
  std::unique_ptr<kafka::Consumer> offer_consumer;
  std::unique_ptr<kafka::Consumer> round_trip_consumer;
  std::unique_ptr<kafka::Consumer> ticket_consumer;
  std::vector<std::thread> threads;
  std::string error;

  ~Stack() {
    for (kafka::Consumer* c :
         {offer_consumer.get(), round_trip_consumer.get(), ticket_consumer.get()}) {
      if (c != nullptr) c->Stop();
    }
    for (std::thread& t : threads) t.join();
    routing_server.reset();
    ticket_server.reset();
  }

  std::map<std::string, std::string> Env(int grpc_port, int metrics_port) const {
    return {{"SUNDESK_GRPC_ADDR", absl::StrCat("127.0.0.1:", grpc_port)},
            {"SUNDESK_METRICS_ADDR", absl::StrCat("127.0.0.1:", metrics_port)},
            {"SUNDESK_PG_DSN", dsn},
            {"SUNDESK_KAFKA_BOOTSTRAP", kafka->bootstrap()},
            {"SUNDESK_KAFKA_FETCH_WAIT", absl::StrCat(FetchWaitMs(), "ms")},
            {"SUNDESK_REDIS_ADDR", absl::StrCat("127.0.0.1:", redis_server->port())},
            {"SUNDESK_ADMIN_KEY", kAdminKey},
            {"SUNDESK_SERVICE_KEY", kServiceKey},
            {"SUNDESK_PAGE_TOKEN_KEY", "routing-bench"},
            {"SUNDESK_DRAIN_TIMEOUT", "1s"}};
  }

  absl::Status Start() {
    // SUNDESK_ROUTING_BENCH_PG_SETTINGS="name=value,...": extra server settings, for
    // diagnosis only (e.g. synchronous_commit=off to see what commits cost).
    testing::PostgresServerOptions pg_options;
    if (const char* extra = std::getenv("SUNDESK_ROUTING_BENCH_PG_SETTINGS")) {
      for (absl::string_view kv : absl::StrSplit(extra, ',', absl::SkipEmpty())) {
        std::pair<std::string, std::string> p = absl::StrSplit(kv, absl::MaxSplits('=', 1));
        pg_options.settings[p.first] = p.second;
      }
    }
    auto pg_server = testing::PostgresServer::Start(pg_options);
    if (!pg_server.ok()) return pg_server.status();
    postgres = std::move(*pg_server);
    auto created = postgres->CreateDatabase("sundesk");
    if (!created.ok()) return created.status();
    dsn = *created;
    auto p = pg::Pool::Create({.dsn = dsn, .size = 4});
    if (!p.ok()) return p.status();
    pool = std::move(*p);
    if (absl::Status st = pg::RunMigrations(*pool, "routing", routing::Migrations()); !st.ok()) {
      return st;
    }
    std::vector<pg::Migration> ticket_migrations = {kafka::OutboxMigration(1)};
    for (auto& m : ticket::Migrations()) ticket_migrations.push_back(std::move(m));
    if (absl::Status st = pg::RunMigrations(*pool, "ticket", std::move(ticket_migrations));
        !st.ok()) {
      return st;
    }
    auto r = testing::RedisServer::Start();
    if (!r.ok()) return r.status();
    redis_server = std::move(*r);
    auto rp = redis::Pool::Create({.port = redis_server->port(), .size = 2});
    if (!rp.ok()) return rp.status();
    redis = std::move(*rp);
    auto k = testing::DevKafka::Start();
    if (!k.ok()) return k.status();
    kafka = std::move(*k);
    auto prod = kafka::Producer::Create({.bootstrap_servers = kafka->bootstrap()});
    if (!prod.ok()) return prod.status();
    producer = std::move(*prod);

    // The client company and its agents, straight into the stores.
    SystemClock clock;
    UuidV7Generator ids(clock);
    api::PageTokenSigner tokens("routing-bench");
    ticket::PgTenantStore tenant_store(*pool);
    ticket::TenantRegistry tenants(tenant_store, clock, ids, tokens);
    ticket::Tenant t;
    t.name = "Bench AB";
    t.time_zone = "Europe/Stockholm";
    t.default_language = "sv";
    t.languages = {"sv"};
    t.guidelines = "Answer within the hour.";
    t.routing_mode = ticket::RoutingMode::kOffer;
    auto tenant = tenants.CreateTenant("", t);
    if (!tenant.ok()) return tenant.status();
    tenant_id = tenant->tenant_id;
    routing::PgAgentStore agent_store(*pool);
    routing::AgentDirectory directory(agent_store, clock, ids, tokens);
    routing::RedisPresenceStore presence(*redis);
    for (int i = 0; i < kAgents; ++i) {
      routing::Agent a;
      a.display_name = absl::StrCat("agent-", i);
      a.languages = {{"sv", 5}};
      a.capacity = 1000;
      a.time_zone = "Europe/Stockholm";
      a.tier = 1;
      a.certifications = {{tenant_id, std::nullopt}};
      auto made = directory.CreateAgent("", a, a.display_name);
      if (!made.ok()) return made.status();
      auto set = presence.SetStatus(a.display_name, routing::PresenceStatus::kAvailable,
                                    clock.Now(), absl::Hours(1));
      if (!set.ok()) return set.status();
    }

    // The services.
    const int ticket_port = testing::FreePort();
    const int routing_port = testing::FreePort();
    auto ts = testing::Subprocess::Start({.argv = {testing::BinDir() + "/ticket-server"},
                                          .env = Env(ticket_port, testing::FreePort()),
                                          .log_path = logs.path() + "/ticket.log"});
    if (!ts.ok()) return ts.status();
    ticket_server = std::move(*ts);
    std::map<std::string, std::string> routing_env = Env(routing_port, testing::FreePort());
    routing_env["SUNDESK_TICKET_ADDR"] = absl::StrCat("127.0.0.1:", ticket_port);
    // SUNDESK_ROUTING_BENCH_ROUTING_ENV="NAME=value,...": routing-server's flags for an A/B
    // with the same binaries, e.g. SUNDESK_OUTBOX_NOTIFY_INTERVAL=5ms.
    if (const char* extra = std::getenv("SUNDESK_ROUTING_BENCH_ROUTING_ENV")) {
      for (absl::string_view kv : absl::StrSplit(extra, ',', absl::SkipEmpty())) {
        std::pair<std::string, std::string> p = absl::StrSplit(kv, absl::MaxSplits('=', 1));
        routing_env[p.first] = p.second;
      }
    }
    auto rs = testing::Subprocess::Start({.argv = {testing::BinDir() + "/routing-server"},
                                          .env = routing_env,
                                          .log_path = logs.path() + "/routing.log"});
    if (!rs.ok()) return rs.status();
    routing_server = std::move(*rs);
    for (int port : {ticket_port, routing_port}) {
      if (!testing::WaitFor([&] { return testing::PortAccepts(port); }, absl::Seconds(30))) {
        return absl::DeadlineExceededError(
            absl::StrCat("a server did not start:\n", ticket_server->Log(), routing_server->Log()));
      }
    }
    auto channel = rpc::MakeChannel({.target = absl::StrCat("127.0.0.1:", ticket_port)});
    if (!channel.ok()) return channel.status();
    tickets = ticket::v1::TicketService::NewStub(*channel);

    auto oc = kafka::Consumer::Create({.bootstrap_servers = kafka->bootstrap(),
                                       .group_id = "routing-bench-offers",
                                       .topics = {"sundesk.routing.events.v1"},
                                       .fetch_wait_max = absl::Milliseconds(FetchWaitMs())},
                                      [this](const kafka::Message& m) {
                                        auto e = kafka::ParseEvent(m);
                                        if (!e.ok()) return absl::OkStatus();
                                        const absl::Time at =
                                            absl::FromUnixSeconds(e->time().seconds()) +
                                            absl::Nanoseconds(e->time().nanos());
                                        if (e->has_ticket_queued()) {
                                          queued_at.Add(e->subject(), at);
                                        } else if (e->has_offer_made()) {
                                          offers.Add(e->subject());
                                          offer_committed_at.Add(e->subject(), at);
                                          offer_produced_at.Add(e->subject(), m.timestamp);
                                        }
                                        return absl::OkStatus();
                                      });
    if (!oc.ok()) return oc.status();
    offer_consumer = std::move(*oc);
    auto rc = kafka::Consumer::Create({.bootstrap_servers = kafka->bootstrap(),
                                       .group_id = "routing-bench-roundtrip",
                                       .topics = {kRoundTripTopic},
                                       .fetch_wait_max = absl::Milliseconds(FetchWaitMs())},
                                      [this](const kafka::Message& m) {
                                        auto e = kafka::ParseEvent(m);
                                        if (e.ok()) round_trip.Add(e->event_id());
                                        return absl::OkStatus();
                                      });
    if (!rc.ok()) return rc.status();
    round_trip_consumer = std::move(*rc);
    auto tc = kafka::Consumer::Create({.bootstrap_servers = kafka->bootstrap(),
                                       .group_id = "routing-bench-tickets",
                                       .topics = {"sundesk.ticket.events.v1"},
                                       .fetch_wait_max = absl::Milliseconds(FetchWaitMs())},
                                      [this](const kafka::Message& m) {
                                        const absl::Time now = absl::Now();
                                        auto e = kafka::ParseEvent(m);
                                        if (e.ok() && e->has_ticket_created()) {
                                          created_seen_at.Add(e->subject(), now);
                                          created_produced_at.Add(e->subject(), m.timestamp);
                                        }
                                        return absl::OkStatus();
                                      });
    if (!tc.ok()) return tc.status();
    ticket_consumer = std::move(*tc);
    threads.emplace_back([this] { (void)offer_consumer->Run(); });
    threads.emplace_back([this] { (void)round_trip_consumer->Run(); });
    threads.emplace_back([this] { (void)ticket_consumer->Run(); });

    // Warm up: both paths answer once (consumer groups joined, connections open).
    auto first = CreateTicket();
    if (!first.ok()) return first.status();
    if (!offers.WaitAll({*first}, absl::Seconds(60))) {
      return absl::DeadlineExceededError(
          absl::StrCat("no OfferMade for the warm-up ticket:\n", routing_server->Log()));
    }
    const std::string warm = ProduceRoundTrip();
    if (!round_trip.WaitAll({warm}, absl::Seconds(60))) {
      return absl::DeadlineExceededError("the round-trip consumer got nothing");
    }
    return absl::OkStatus();
  }

  absl::StatusOr<std::string> CreateTicket() {
    ticket::v1::CreateTicketRequest req;
    req.set_tenant_id(tenant_id);
    req.set_subject("Skrivaren skriver ut tomma sidor");
    req.set_language("sv");
    req.mutable_requester()->set_email("kund@example.se");
    ticket::v1::Ticket ticket;
    auto ctx = rpc::NewClientContext({.timeout = absl::Seconds(10), .api_key = kAdminKey});
    grpc::Status st = tickets->CreateTicket(ctx.get(), req, &ticket);
    if (!st.ok()) return absl::UnavailableError(st.error_message());
    return ticket.ticket_id();
  }

  // Produces one event to the round-trip topic; returns its id.
  std::string ProduceRoundTrip() {
    static SystemClock clock;
    static UuidV7Generator ids(clock);
    events::v1::Event e;
    e.set_event_id(ids.NewId());
    e.set_type("BenchRoundTrip");
    e.set_source("bench");
    e.set_subject(e.event_id());
    (void)kafka::ProduceEvent(*producer, kRoundTripTopic, e, nullptr);
    return e.event_id();
  }
};

Stack* GetStack() {
  static Stack* stack = [] {
    auto* s = new Stack();
    if (absl::Status st = s->Start(); !st.ok()) s->error = st.ToString();
    return s;
  }();
  return stack;
}

// Sends `n` at `rate` per second from one paced thread; `send` returns the sample's key.
// Returns (key, sent time) pairs.
std::vector<std::pair<std::string, absl::Time>> Paced(int n, int rate,
                                                      const std::function<std::string()>& send) {
  std::vector<std::pair<std::string, absl::Time>> sent;
  const absl::Time start = absl::Now();
  for (int i = 0; i < n; ++i) {
    const absl::Time due = start + absl::Seconds(1) * i / rate;
    const absl::Time now = absl::Now();
    if (due > now) absl::SleepFor(due - now);
    const absl::Time t0 = absl::Now();
    std::string key = send();
    if (!key.empty()) sent.emplace_back(std::move(key), t0);
  }
  return sent;
}

void Report(benchmark::State& state, Arrivals& arrivals,
            const std::vector<std::pair<std::string, absl::Time>>& sent, absl::Duration took) {
  std::vector<std::string> keys;
  for (const auto& [k, t] : sent) keys.push_back(k);
  if (!arrivals.WaitAll(keys, absl::Seconds(60))) {
    state.SkipWithError("not every sample arrived within 60 s");
    return;
  }
  std::vector<double> ms;
  for (const auto& [k, t0] : sent) ms.push_back(absl::ToDoubleMilliseconds(*arrivals.Get(k) - t0));
  std::sort(ms.begin(), ms.end());
  const double p50 = ms[ms.size() / 2];
  const double p99 = ms[std::min(ms.size() - 1, ms.size() * 99 / 100)];
  state.SetIterationTime(p99 / 1000.0);
  state.counters["p50_ms"] = p50;
  state.counters["p99_ms"] = p99;
  state.counters["max_ms"] = ms.back();
  state.counters["samples"] = static_cast<double>(ms.size());
  state.counters["rate_per_s"] = static_cast<double>(sent.size()) / absl::ToDoubleSeconds(took);
}

// p50/p99 of the path's three legs, as counters <name>_p50_ms / <name>_p99_ms:
//   to_queue   CreateTicket called -> applied by routing's queue consumer (ticket commit,
//              ticket relay, Kafka, the consumer's transaction)
//   to_offer   applied -> offer committed (waiting for a dispatcher pass, the decision)
//   to_arrive  offer committed -> OfferMade at the bench's consumer (routing relay, Kafka)
// and those legs split by the outbox rows' times (created_at = insert, published_at = marked
// after Kafka's acknowledgement):
//   q1_ticket_commit   call -> the TicketCreated outbox row (gRPC, the ticket's transaction)
//   q2_ticket_relay    that row inserted -> published (notify, relay read, produce, ack)
//   q3_kafka_consumer  published -> applied by routing's consumer (fetch, the transaction)
//   a1_routing_relay   the OfferMade row inserted -> published
//   a2_kafka           published -> at the bench's consumer
// and by the Kafka records' create time (when the relay called Produce):
//   q2p_ticket_pickup  TicketCreated row inserted -> produced (notify, relay wake, read)
//   q2k_ticket_kafka   produced -> seen by the bench's ticket consumer (same fetch settings
//                      as routing's)
//   a1p_routing_pickup OfferMade row inserted -> produced
//   a1k_routing_kafka  produced -> at the bench's consumer
void ReportLegs(benchmark::State& state, Stack& s,
                const std::vector<std::pair<std::string, absl::Time>>& sent, absl::Time start) {
  std::vector<double> to_queue, to_offer, to_arrive;
  for (const auto& [k, t0] : sent) {
    std::optional<absl::Time> queued = s.queued_at.Get(k);
    std::optional<absl::Time> committed = s.offer_committed_at.Get(k);
    std::optional<absl::Time> arrived = s.offers.Get(k);
    if (!queued || !committed || !arrived) continue;
    to_queue.push_back(absl::ToDoubleMilliseconds(*queued - t0));
    to_offer.push_back(absl::ToDoubleMilliseconds(*committed - *queued));
    to_arrive.push_back(absl::ToDoubleMilliseconds(*arrived - *committed));
  }
  // The two relays' share, from the outbox rows (kept after publishing): created_at is the
  // row's insert, published_at the mark after Kafka acknowledged it.
  std::vector<double> ticket_commit, ticket_relay, kafka_in, routing_relay, kafka_out;
  std::vector<double> ticket_pickup, ticket_kafka, routing_pickup, routing_kafka;
  // Per ticket: total, sent at (since start), then the legs in path order.
  std::vector<std::array<double, 8>> slow;
  auto outbox_times =
      [&](absl::string_view schema,
          absl::string_view type) -> std::map<std::string, std::pair<absl::Time, absl::Time>> {
    std::map<std::string, std::pair<absl::Time, absl::Time>> by_key;
    auto conn = s.pool->Acquire();
    if (!conn.ok()) return by_key;
    auto r = (*conn)->Execute(absl::StrCat("SELECT key, created_at, published_at FROM ", schema,
                                           ".outbox WHERE event_type LIKE $1 AND published_at "
                                           "IS NOT NULL"),
                              {absl::StrCat("%", type)});
    if (!r.ok()) return by_key;
    for (int i = 0; i < r->rows(); ++i) {
      auto created = r->Time(i, "created_at");
      auto published = r->Time(i, "published_at");
      if (created.ok() && published.ok()) {
        by_key.emplace(std::string(r->Text(i, "key")), std::pair(*created, *published));
      }
    }
    return by_key;
  };
  const auto created_rows = outbox_times("ticket", "TicketCreated");
  const auto offer_rows = outbox_times("routing", "OfferMade");
  for (const auto& [k, t0] : sent) {
    std::optional<absl::Time> queued = s.queued_at.Get(k);
    std::optional<absl::Time> arrived = s.offers.Get(k);
    auto c = created_rows.find(k);
    auto o = offer_rows.find(k);
    if (!queued || !arrived || c == created_rows.end() || o == offer_rows.end()) continue;
    ticket_commit.push_back(absl::ToDoubleMilliseconds(c->second.first - t0));
    ticket_relay.push_back(absl::ToDoubleMilliseconds(c->second.second - c->second.first));
    kafka_in.push_back(absl::ToDoubleMilliseconds(*queued - c->second.second));
    routing_relay.push_back(absl::ToDoubleMilliseconds(o->second.second - o->second.first));
    kafka_out.push_back(absl::ToDoubleMilliseconds(*arrived - o->second.second));
    std::optional<absl::Time> created_produced = s.created_produced_at.Get(k);
    std::optional<absl::Time> created_seen = s.created_seen_at.Get(k);
    std::optional<absl::Time> offer_produced = s.offer_produced_at.Get(k);
    if (created_produced && created_seen && offer_produced) {
      ticket_pickup.push_back(absl::ToDoubleMilliseconds(*created_produced - c->second.first));
      ticket_kafka.push_back(absl::ToDoubleMilliseconds(*created_seen - *created_produced));
      routing_pickup.push_back(absl::ToDoubleMilliseconds(*offer_produced - o->second.first));
      routing_kafka.push_back(absl::ToDoubleMilliseconds(*arrived - *offer_produced));
      std::optional<absl::Time> committed = s.offer_committed_at.Get(k);
      if (committed) {
        auto ms = [](absl::Time a, absl::Time b) { return absl::ToDoubleMilliseconds(b - a); };
        slow.push_back({ms(t0, *arrived), ms(start, t0), ms(t0, c->second.first),
                        ms(c->second.first, *created_produced), ms(*created_produced, *queued),
                        ms(*queued, *committed), ms(o->second.first, *offer_produced),
                        ms(*offer_produced, *arrived)});
      }
    }
  }
  // The slowest tickets, leg by leg, and when they were sent: a stall of the whole machine
  // shows as neighbours in time slow in every leg, one component's tail as one leg.
  std::sort(slow.begin(), slow.end(), [](const auto& a, const auto& b) { return a[0] > b[0]; });
  const int show = std::min<int>(EnvInt("SUNDESK_ROUTING_BENCH_SLOWEST", 12), slow.size());
  if (show > 0) {
    std::fprintf(stderr,
                 "slowest tickets (ms): total  sent_at  commit  t_pickup  t_kafka+apply  "
                 "to_offer  r_pickup  r_kafka\n");
    for (int i = 0; i < show; ++i) {
      const auto& r = slow[i];
      std::fprintf(stderr, "  %7.1f %8.1f %7.1f %8.1f %13.1f %9.1f %9.1f %8.1f\n", r[0], r[1], r[2],
                   r[3], r[4], r[5], r[6], r[7]);
    }
  }
  for (auto& [name, v] : std::vector<std::pair<std::string, std::vector<double>*>>{
           {"to_queue", &to_queue},
           {"to_offer", &to_offer},
           {"to_arrive", &to_arrive},
           {"q1_ticket_commit", &ticket_commit},
           {"q2_ticket_relay", &ticket_relay},
           {"q3_kafka_consumer", &kafka_in},
           {"a1_routing_relay", &routing_relay},
           {"a2_kafka", &kafka_out},
           {"q2p_ticket_pickup", &ticket_pickup},
           {"q2k_ticket_kafka", &ticket_kafka},
           {"a1p_routing_pickup", &routing_pickup},
           {"a1k_routing_kafka", &routing_kafka}}) {
    if (v->empty()) continue;
    std::sort(v->begin(), v->end());
    state.counters[name + "_p50_ms"] = (*v)[v->size() / 2];
    state.counters[name + "_p99_ms"] = (*v)[std::min(v->size() - 1, v->size() * 99 / 100)];
  }
}

void BM_Baseline(benchmark::State& state) {
  Stack* s = GetStack();
  if (!s->error.empty()) {
    state.SkipWithError(s->error.c_str());
    return;
  }
  const int n = EnvInt("SUNDESK_ROUTING_BENCH_TICKETS", 600);
  const int rate = EnvInt("SUNDESK_ROUTING_BENCH_RATE", 200);
  for (auto _ : state) {
    const absl::Time start = absl::Now();
    auto sent = Paced(n, rate, [&] { return s->ProduceRoundTrip(); });
    Report(state, s->round_trip, sent, absl::Now() - start);
  }
}

void BM_CreateToOfferMade(benchmark::State& state) {
  Stack* s = GetStack();
  if (!s->error.empty()) {
    state.SkipWithError(s->error.c_str());
    return;
  }
  const int n = EnvInt("SUNDESK_ROUTING_BENCH_TICKETS", 600);
  const int rate = EnvInt("SUNDESK_ROUTING_BENCH_RATE", 200);
  for (auto _ : state) {
    const auto machine_before = MachineTicks();
    const absl::Duration pg_before = s->postgres->CpuTime();
    const int64_t routing_before = ProcessTicks(s->routing_server->pid());
    const int64_t ticket_before = ProcessTicks(s->ticket_server->pid());
    const int64_t bench_before = ProcessTicks(getpid());
    const absl::Time start = absl::Now();
    // Calls from 4 paced threads, so one slow call does not hold the rate down.
    std::vector<std::vector<std::pair<std::string, absl::Time>>> parts(4);
    std::vector<std::thread> senders;
    for (int i = 0; i < 4; ++i) {
      senders.emplace_back([&, i] {
        parts[i] = Paced(n / 4, std::max(1, rate / 4), [&] {
          auto id = s->CreateTicket();
          return id.ok() ? *id : std::string();
        });
      });
    }
    for (std::thread& t : senders) t.join();
    std::vector<std::pair<std::string, absl::Time>> sent;
    for (auto& p : parts) sent.insert(sent.end(), p.begin(), p.end());
    Report(state, s->offers, sent, absl::Now() - start);
    // CPU over the run (sending, and waiting for the last offers): the machine's busy share
    // and each process's CPU per ticket.
    const auto machine_after = MachineTicks();
    const double tick_us = 1e6 / static_cast<double>(sysconf(_SC_CLK_TCK));
    const double per_ticket = tick_us / static_cast<double>(std::max<size_t>(1, sent.size()));
    state.counters["machine_busy_pct"] =
        100.0 * static_cast<double>(machine_after.first - machine_before.first) /
        static_cast<double>(std::max<int64_t>(1, machine_after.second - machine_before.second));
    state.counters["pg_cpu_us"] = absl::ToDoubleMicroseconds(s->postgres->CpuTime() - pg_before) /
                                  static_cast<double>(std::max<size_t>(1, sent.size()));
    state.counters["routing_cpu_us"] =
        static_cast<double>(ProcessTicks(s->routing_server->pid()) - routing_before) * per_ticket;
    state.counters["ticket_cpu_us"] =
        static_cast<double>(ProcessTicks(s->ticket_server->pid()) - ticket_before) * per_ticket;
    state.counters["bench_cpu_us"] =
        static_cast<double>(ProcessTicks(getpid()) - bench_before) * per_ticket;
    ReportLegs(state, *s, sent, start);
  }
}

BENCHMARK(BM_Baseline)->Name("RoutingLatency/baseline")->Iterations(1)->UseManualTime();
BENCHMARK(BM_CreateToOfferMade)
    ->Name("RoutingLatency/create_to_offer_made")
    ->Iterations(1)
    ->UseManualTime();

}  // namespace
}  // namespace sundesk
