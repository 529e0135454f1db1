// Ticket clocks on a real PostgreSQL and devkafka: ticket events consumed from
// sundesk.ticket.events.v1, state and ledger in schema `sla`, warnings and breaches fired by
// timer sweeps into the outbox and relayed to sundesk.sla.events.v1.
#include "services/sla/domain/ticket_clocks.h"

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "libs/core/clock.h"
#include "libs/core/ids.h"
#include "libs/core/status.h"
#include "libs/kafka/consumer.h"
#include "libs/kafka/envelope.h"
#include "libs/kafka/outbox_relay.h"
#include "libs/kafka/producer.h"
#include "libs/pg/migrations.h"
#include "libs/pg/pool.h"
#include "libs/rpc/auth.h"
#include "libs/rpc/client.h"
#include "libs/rpc/server.h"
#include "prometheus/registry.h"
#include "services/sla/api/sla_metrics.h"
#include "services/sla/api/sla_service_handlers.h"
#include "services/sla/api/ticket_events.h"
#include "services/sla/domain/ledger.h"
#include "services/sla/domain/settings.h"
#include "services/sla/domain/sla_engine.h"
#include "services/sla/store/pg_clock_store.h"
#include "services/sla/store/pg_settings_store.h"
#include "tests/support/devkafka_server.h"
#include "tests/support/postgres_server.h"
#include "tests/support/process.h"

namespace sundesk::sla {
namespace {

using testing::WaitFor;

constexpr char kTenant[] = "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a70";
constexpr char kAdminKey[] = "admin-key-for-tests";
constexpr char kClientKey[] = "client-key-for-tests";
constexpr char kOtherClientKey[] = "other-client-key-for-tests";

class TicketClocksTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server = testing::PostgresServer::Start();
    ASSERT_TRUE(server.ok()) << server.status();
    postgres_ = std::move(*server);
    auto dsn = postgres_->CreateDatabase("sla_clocks");
    ASSERT_TRUE(dsn.ok()) << dsn.status();
    dsn_ = *dsn;
    auto pool = pg::Pool::Create({.dsn = dsn_, .size = 8, .connect_timeout = absl::Seconds(2)});
    ASSERT_TRUE(pool.ok()) << pool.status();
    pool_ = std::move(*pool);
    absl::Status migrated = pg::RunMigrations(*pool_, kSlaSchema, SlaMigrations());
    ASSERT_TRUE(migrated.ok()) << migrated;
    settings_store_ = std::make_unique<PgSettingsStore>(*pool_);
    clock_store_ = std::make_unique<PgClockStore>(*pool_);
  }

  // A policy for every ticket of kTenant on `calendar`: the given targets, warning at 50 %.
  void AddPolicy(const calendar::CalendarSpec& spec, absl::Duration first_response,
                 absl::Duration resolution) {
    SlaSettings settings(*settings_store_, system_clock_, ids_, page_tokens_);
    auto cal = settings.CreateCalendar(
        "", Calendar{.tenant_id = kTenant, .display_name = "calendar", .spec = spec});
    ASSERT_TRUE(cal.ok()) << cal.status();
    auto policy = settings.CreatePolicy("", Policy{.tenant_id = kTenant,
                                                   .first_response = first_response,
                                                   .resolution = resolution,
                                                   .calendar_id = cal->calendar_id,
                                                   .warn_at_percent = 50});
    ASSERT_TRUE(policy.ok()) << policy.status();
  }

  events::v1::Event TicketEventProto(const std::string& ticket_id, int64_t sequence, absl::Time t) {
    events::v1::Event e;
    e.set_event_id(ids_.NewId());
    e.set_source("sundesk/ticket");
    e.set_tenant_id(kTenant);
    e.set_subject(ticket_id);
    e.set_sequence(sequence);
    e.mutable_time()->set_seconds(absl::ToUnixSeconds(t));
    e.mutable_time()->set_nanos(static_cast<int32_t>(
        (t - absl::FromUnixSeconds(absl::ToUnixSeconds(t))) / absl::Nanoseconds(1)));
    return e;
  }
  events::v1::Event Created(const std::string& ticket_id, absl::Time t) {
    events::v1::Event e = TicketEventProto(ticket_id, 1, t);
    e.set_type("TicketCreated");
    auto* ticket = e.mutable_ticket_created()->mutable_ticket();
    ticket->set_ticket_id(ticket_id);
    ticket->set_tenant_id(kTenant);
    ticket->set_priority(common::v1::PRIORITY_HIGH);
    ticket->set_status(ticket::v1::TICKET_STATUS_NEW);
    return e;
  }
  events::v1::Event CreatedWithPriority(const std::string& ticket_id, absl::Time t,
                                        common::v1::Priority priority) {
    events::v1::Event e = Created(ticket_id, t);
    e.mutable_ticket_created()->mutable_ticket()->set_priority(priority);
    return e;
  }
  // The ticket's stored SLA, whose ledger chain must verify.
  TicketSla StoredSla(const std::string& ticket_id) {
    auto sla = clock_store_->Get(ticket_id);
    EXPECT_TRUE(sla.ok()) << sla.status();
    if (!sla.ok()) return TicketSla{};
    EXPECT_TRUE(VerifyLedger(sla->ledger).ok());
    return *sla;
  }
  events::v1::Event StatusChanged(const std::string& ticket_id, int64_t sequence, absl::Time t,
                                  ticket::v1::TicketStatus status) {
    events::v1::Event e = TicketEventProto(ticket_id, sequence, t);
    e.set_type("TicketStatusChanged");
    auto* ticket = e.mutable_ticket_status_changed()->mutable_ticket();
    ticket->set_ticket_id(ticket_id);
    ticket->set_tenant_id(kTenant);
    ticket->set_priority(common::v1::PRIORITY_HIGH);
    ticket->set_status(status);
    return e;
  }
  // A ticket's history from t0: created, pending after 5 min, open again after 15, replied
  // to (first response met) after 20, pending after 25.
  std::vector<events::v1::Event> History(const std::string& id, absl::Time t0) {
    return {Created(id, t0),
            StatusChanged(id, 2, t0 + absl::Minutes(5), ticket::v1::TICKET_STATUS_PENDING),
            StatusChanged(id, 3, t0 + absl::Minutes(15), ticket::v1::TICKET_STATUS_OPEN),
            AgentReply(id, 4, t0 + absl::Minutes(20)),
            StatusChanged(id, 5, t0 + absl::Minutes(25), ticket::v1::TICKET_STATUS_PENDING)};
  }
  // Ticket `id` is stored as `expected` (same last sequence, clocks and ledger entries), and
  // its chain verifies.
  void ExpectStoredLike(const std::string& id, const TicketSla& expected) {
    auto b = clock_store_->Get(id);
    ASSERT_TRUE(b.ok()) << b.status();
    EXPECT_EQ(b->last_sequence, expected.last_sequence);
    EXPECT_EQ(b->clocks, expected.clocks);
    ASSERT_EQ(b->ledger.size(), expected.ledger.size());
    for (size_t i = 0; i < expected.ledger.size(); ++i) {
      EXPECT_EQ(b->ledger[i].action(), expected.ledger[i].action()) << i;
      EXPECT_EQ(b->ledger[i].metric(), expected.ledger[i].metric()) << i;
      EXPECT_EQ(b->ledger[i].elapsed().seconds(), expected.ledger[i].elapsed().seconds()) << i;
      EXPECT_EQ(b->ledger[i].time().seconds(), expected.ledger[i].time().seconds()) << i;
    }
    EXPECT_TRUE(VerifyLedger(b->ledger).ok());
  }
  events::v1::Event AgentReply(const std::string& ticket_id, int64_t sequence, absl::Time t) {
    events::v1::Event e = TicketEventProto(ticket_id, sequence, t);
    e.set_type("CommentAdded");
    e.mutable_comment_added()->set_author_kind(ticket::v1::AUTHOR_KIND_AGENT);
    e.mutable_comment_added()->set_public_(true);
    return e;
  }

  // What a batched ticket must end as: History(t0) applied one event at a time to a fresh
  // ticket, as stored (every history ends at sequence 5).
  TicketSla OneAtATime(TicketClocks& clocks, absl::Time t0) {
    const std::string id = ids_.NewId();
    for (const events::v1::Event& e : History(id, t0)) EXPECT_TRUE(clocks.Apply(FromEvent(e)).ok());
    auto stored = clock_store_->Get(id);
    EXPECT_TRUE(stored.ok()) << stored.status();
    EXPECT_EQ(stored.ok() ? stored->last_sequence : 0, 5);
    return stored.ok() ? *std::move(stored) : TicketSla{};
  }

  // Delivering the same batches once more writes no ledger or outbox row.
  void ExpectAppliedAgainChangesNothing(const std::function<absl::Status()>& apply_again) {
    const int64_t ledger_rows = Count("SELECT count(*) FROM sla.ledger");
    const int64_t outbox_rows = Count("SELECT count(*) FROM sla.outbox");
    ASSERT_TRUE(apply_again().ok());
    EXPECT_EQ(Count("SELECT count(*) FROM sla.ledger"), ledger_rows);
    EXPECT_EQ(Count("SELECT count(*) FROM sla.outbox"), outbox_rows);
  }

  // sundesk_sla_clocks{state} as CountClocks folds it from the ticket rows, against the
  // sla.clocks view counted clock by clock, for whatever clocks the test left.
  void ExpectClockCountsMatchTheView() {
    auto counts = clock_store_->CountClocks();
    ASSERT_TRUE(counts.ok()) << counts.status();
    const std::string live = "FROM sla.clocks WHERE NOT breached AND NOT met AND NOT canceled";
    EXPECT_EQ((*counts)[ClockState::kBreached],
              Count("SELECT count(*) FROM sla.clocks WHERE breached"));
    EXPECT_EQ((*counts)[ClockState::kMet],
              Count("SELECT count(*) FROM sla.clocks WHERE met AND NOT breached"));
    EXPECT_EQ((*counts)[ClockState::kRunning], Count("SELECT count(*) " + live + " AND counting"));
    EXPECT_EQ((*counts)[ClockState::kPaused],
              Count("SELECT count(*) " + live + " AND NOT counting"));
    EXPECT_GT(Count("SELECT count(*) FROM sla.clocks"), 0);
  }

  int64_t Count(const std::string& sql) {
    auto lease = pool_->Acquire();
    if (!lease.ok()) return -1;
    auto r = (*lease)->Execute(sql);
    return r.ok() ? *r->Int64(0, 0) : -1;
  }

  SystemClock system_clock_;
  UuidV7Generator ids_{system_clock_};
  api::PageTokenSigner page_tokens_{"sla-test-page-tokens"};
  std::unique_ptr<testing::PostgresServer> postgres_;
  std::string dsn_;
  std::unique_ptr<pg::Pool> pool_;
  std::unique_ptr<PgSettingsStore> settings_store_;
  std::unique_ptr<PgClockStore> clock_store_;
};

// Kafka in and out: created → clocks started; the warning and the breach fire at their
// instants through the outbox; a redelivered event changes nothing; GetTicketSla shows the
// clocks and a ledger whose chain verifies.
TEST_F(TicketClocksTest, TicketEventsInSlaEventsOut) {
  calendar::CalendarSpec always{.always_open = true};
  AddPolicy(always, absl::Seconds(3), absl::Hours(1));
  SlaEngine engine(*settings_store_, system_clock_);
  TicketClocks clocks(*clock_store_, engine);

  auto kafka = testing::DevKafka::Start();
  ASSERT_TRUE(kafka.ok()) << kafka.status();
  auto producer = kafka::Producer::Create({.bootstrap_servers = (*kafka)->bootstrap()});
  ASSERT_TRUE(producer.ok()) << producer.status();
  prometheus::Registry registry;
  auto relay = kafka::OutboxRelay::Create(
      {.dsn = dsn_, .schema = kSlaSchema, .poll_interval = absl::Milliseconds(100)}, **producer,
      registry);
  ASSERT_TRUE(relay.ok()) << relay.status();
  std::thread relay_thread([&] { (void)(*relay)->Run(); });

  // As the service consumes: what has arrived, in batches.
  auto consumer = kafka::Consumer::CreateBatched(
      {.bootstrap_servers = (*kafka)->bootstrap(),
       .group_id = "sla",
       .topics = {"sundesk.ticket.events.v1"},
       .fetch_wait_max = testing::DevKafka::kFetchWaitMax},
      [&](absl::Span<const kafka::Message> batch) {
        return HandleTicketEventRecords(clocks, batch, /*shards=*/2);  // as the service
      },
      100);
  ASSERT_TRUE(consumer.ok()) << consumer.status();
  std::thread consumer_thread([&] { (void)(*consumer)->Run(); });

  std::atomic<bool> stop{false};
  std::thread timers([&] {
    while (!stop.load()) {
      (void)clocks.FireDue(system_clock_.Now(), 100);
      absl::SleepFor(absl::Milliseconds(50));
    }
  });

  absl::Mutex mu;
  std::map<std::string, events::v1::Event> sla_events;  // by event id
  int deliveries = 0;
  auto watcher = kafka::Consumer::Create({.bootstrap_servers = (*kafka)->bootstrap(),
                                          .group_id = "sla-events-watcher",
                                          .topics = {"sundesk.sla.events.v1"},
                                          .fetch_wait_max = testing::DevKafka::kFetchWaitMax},
                                         [&](const kafka::Message& m) {
                                           auto e = kafka::ParseEvent(m);
                                           if (e.ok()) {
                                             absl::MutexLock lock(&mu);
                                             ++deliveries;
                                             sla_events[e->event_id()] = *e;
                                           }
                                           return absl::OkStatus();
                                         });
  ASSERT_TRUE(watcher.ok()) << watcher.status();
  std::thread watcher_thread([&] { (void)(*watcher)->Run(); });

  const std::string ticket_id = ids_.NewId();
  const absl::Time created_at = absl::FromUnixMicros(absl::ToUnixMicros(system_clock_.Now()));
  const events::v1::Event created = Created(ticket_id, created_at);
  auto produce = [&](const events::v1::Event& e) {
    ASSERT_TRUE(kafka::ProduceEvent(**producer, "sundesk.ticket.events.v1", e, nullptr).ok());
    ASSERT_TRUE((*producer)->Flush(absl::Seconds(10)).ok());
  };
  produce(created);

  auto types = [&] {
    absl::MutexLock lock(&mu);
    std::multiset<std::string> out;
    for (const auto& [id, e] : sla_events) out.insert(e.type());
    return out;
  };
  ASSERT_TRUE(WaitFor([&] { return types().count("SlaBreached") == 1; }, absl::Seconds(40)))
      << "sla events seen: " << types().size();
  {
    absl::MutexLock lock(&mu);
    for (const auto& [id, e] : sla_events) {
      if (e.type() == "SlaWarning") {
        EXPECT_EQ(e.time().seconds() * 1'000'000 + e.time().nanos() / 1000,
                  absl::ToUnixMicros(created_at + absl::Milliseconds(1500)));
        EXPECT_EQ(e.sla_warning().percent_elapsed(), 50);
      }
      if (e.type() == "SlaBreached") {
        EXPECT_EQ(e.sla_breached().metric(), v1::SLA_METRIC_FIRST_RESPONSE);
        EXPECT_EQ(e.sla_breached().deadline().seconds() * 1'000'000 +
                      e.sla_breached().deadline().nanos() / 1000,
                  absl::ToUnixMicros(created_at + absl::Seconds(3)));
        EXPECT_EQ(e.subject(), ticket_id);
      }
    }
  }
  EXPECT_EQ(types().count("SlaClockStarted"), 2u);
  EXPECT_EQ(types().count("SlaWarning"), 1u);  // resolution's warning is 30 minutes away

  // The created event again (same id), then the late reply.
  const int64_t ledger_before = Count("SELECT count(*) FROM sla.ledger");
  produce(created);
  produce(AgentReply(ticket_id, 2, system_clock_.Now()));
  ASSERT_TRUE(WaitFor(
      [&] {
        auto sla = clock_store_->Get(ticket_id);
        return sla.ok() && sla->last_sequence == 2;
      },
      absl::Seconds(30)));
  // The reply added one entry (the breached clock stopped); the redelivery none.
  EXPECT_EQ(Count("SELECT count(*) FROM sla.ledger"), ledger_before + 1);

  // GetTicketSla through gRPC: the clocks, the ledger on request, tenant scope.
  SlaSettings settings(*settings_store_, system_clock_, ids_, page_tokens_);
  rpc::StaticKeyAuthenticator auth;
  auth.Add(kAdminKey, {.role = rpc::Role::kAdmin, .key_id = "admin"});
  auth.Add(kClientKey, {.role = rpc::Role::kClient, .tenant_id = kTenant, .key_id = "c"});
  auth.Add(kOtherClientKey, {.role = rpc::Role::kClient, .tenant_id = ids_.NewId(), .key_id = "o"});
  SlaServiceHandlers handlers(settings, clocks, auth);
  rpc::ServerOptions options;
  options.services = {{v1::SlaService::service_full_name(), &handlers}};
  auto server = rpc::Server::Start(std::move(options), registry);
  ASSERT_TRUE(server.ok()) << server.status();
  auto channel = rpc::MakeChannel({.target = absl::StrCat("127.0.0.1:", (*server)->port())});
  ASSERT_TRUE(channel.ok());
  auto stub = v1::SlaService::NewStub(*channel);
  v1::GetTicketSlaRequest req;
  req.set_ticket_id(ticket_id);
  req.set_include_ledger(true);
  v1::TicketSla got;
  grpc::Status st = stub->GetTicketSla(
      rpc::NewClientContext({.timeout = absl::Seconds(10), .api_key = kClientKey}).get(), req,
      &got);
  ASSERT_TRUE(st.ok()) << st.error_message();
  ASSERT_EQ(got.clocks_size(), 2);
  for (const v1::SlaClock& c : got.clocks()) {
    if (c.metric() == v1::SLA_METRIC_FIRST_RESPONSE) {
      EXPECT_EQ(c.state(), v1::CLOCK_STATE_BREACHED);
      EXPECT_TRUE(c.has_stop_time());
    } else {
      EXPECT_EQ(c.state(), v1::CLOCK_STATE_RUNNING);
      EXPECT_TRUE(c.has_deadline());
    }
  }
  std::vector<LedgerEntry> ledger(got.ledger().begin(), got.ledger().end());
  EXPECT_EQ(ledger.size(), 5u);  // 2 started, warned, breached, stopped
  EXPECT_TRUE(VerifyLedger(ledger).ok());
  st = stub->GetTicketSla(
      rpc::NewClientContext({.timeout = absl::Seconds(10), .api_key = kOtherClientKey}).get(), req,
      &got);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::NOT_FOUND);

  stop = true;
  timers.join();
  (*server)->Shutdown();
  for (auto* c : {consumer->get(), watcher->get()}) c->Stop();
  consumer_thread.join();
  watcher_thread.join();
  (*relay)->Stop();
  relay_thread.join();
  absl::MutexLock lock(&mu);
  EXPECT_EQ(sla_events.size(), 4u);  // 2 started, 1 warning, 1 breach: no duplicate fact
}

// Events applied in batches (one transaction each) give each ticket the same clocks, ledger
// and signals as one event at a time, also when a batch holds several events of one ticket,
// an event twice, an event delivered again from an earlier batch, and an older event after a
// newer one.
TEST_F(TicketClocksTest, BatchesOfEventsApplyAsOneAtATime) {
  calendar::CalendarSpec always{.always_open = true};
  AddPolicy(always, absl::Hours(1), absl::Hours(8));
  const absl::Time t0 = absl::FromUnixSeconds(1'767'258'000);
  FakeClock clock(t0 + absl::Minutes(30));
  SlaEngine engine(*settings_store_, clock);
  TicketClocks clocks(*clock_store_, engine);
  const TicketSla a = OneAtATime(clocks, t0);

  const std::string batched = ids_.NewId();
  const std::string other = ids_.NewId();
  const std::vector<events::v1::Event> h = History(batched, t0);
  const std::vector<events::v1::Event> o = History(other, t0);
  // An older event (sequence 2) under a new id, as a reordered delivery would bring it.
  events::v1::Event stale = h[1];
  stale.set_event_id(ids_.NewId());
  std::vector<TicketEvent> first = {FromEvent(h[0]), FromEvent(o[0]), FromEvent(h[1]),
                                    FromEvent(h[1]), FromEvent(h[2]), FromEvent(o[1])};
  ASSERT_TRUE(clocks.ApplyBatch(first).ok());
  std::vector<TicketEvent> second = {FromEvent(h[2]), FromEvent(h[3]), FromEvent(stale),
                                     FromEvent(h[0]), FromEvent(h[4]), FromEvent(o[2]),
                                     FromEvent(o[3]), FromEvent(o[4])};
  ASSERT_TRUE(clocks.ApplyBatch(second).ok());

  for (const std::string& id : {batched, other}) {
    ExpectStoredLike(id, a);
    EXPECT_EQ(Count(absl::StrCat("SELECT count(*) FROM sla.outbox WHERE key = '", id, "'")),
              Count(absl::StrCat("SELECT count(*) FROM sla.outbox WHERE key = '",
                                 a.ticket.ticket_id, "'")));
  }
  const SlaClock* fr = a.Find(Metric::kFirstResponse);
  ASSERT_NE(fr, nullptr);
  EXPECT_TRUE(fr->met);
  EXPECT_EQ(fr->elapsed, absl::Minutes(10));  // 5 min, paused 10, 5 more
  const SlaClock* res = a.Find(Metric::kResolution);
  ASSERT_NE(res, nullptr);
  EXPECT_FALSE(res->counting);
  EXPECT_EQ(res->elapsed, absl::Minutes(15));

  // The whole of both batches again: nothing changes.
  ExpectAppliedAgainChangesNothing([&] {
    SUNDESK_RETURN_IF_ERROR(clocks.ApplyBatch(first));
    return clocks.ApplyBatch(second);
  });
  ExpectClockCountsMatchTheView();  // the clocks the batches left
}

// A batch of records split by ticket into parts applied at once (the service's
// --event-shards): each ticket ends as if its events were applied one at a time, and the
// whole batch again changes nothing.
TEST_F(TicketClocksTest, ShardedBatchesApplyAsOneAtATime) {
  calendar::CalendarSpec always{.always_open = true};
  AddPolicy(always, absl::Hours(1), absl::Hours(8));
  const absl::Time t0 = absl::FromUnixSeconds(1'767'258'000);
  FakeClock clock(t0 + absl::Minutes(30));
  SlaEngine engine(*settings_store_, clock);
  TicketClocks clocks(*clock_store_, engine);
  const TicketSla a = OneAtATime(clocks, t0);

  // Twelve tickets' histories interleaved in one batch, every event twice.
  std::vector<std::string> tickets;
  std::vector<std::vector<events::v1::Event>> histories;
  for (int i = 0; i < 12; ++i) {
    tickets.push_back(ids_.NewId());
    histories.push_back(History(tickets.back(), t0));
  }
  std::vector<kafka::Message> batch;
  for (size_t step = 0; step < histories[0].size(); ++step) {
    for (const auto& h : histories) {
      const kafka::EventRecord record = kafka::ToRecord("sundesk.ticket.events.v1", h[step]);
      for (int copy = 0; copy < 2; ++copy) {
        batch.push_back(kafka::Message{.topic = record.topic,
                                       .partition = 0,
                                       .offset = static_cast<int64_t>(batch.size()),
                                       .key = record.key,
                                       .value = record.value,
                                       .headers = record.headers});
      }
    }
  }
  ASSERT_TRUE(HandleTicketEventRecords(clocks, batch, /*shards=*/3).ok());

  for (const std::string& id : tickets) ExpectStoredLike(id, a);
  ExpectAppliedAgainChangesNothing(
      [&] { return HandleTicketEventRecords(clocks, batch, /*shards=*/3); });
}

// Two replicas sweeping the same due timers: every breach goes to the outbox exactly once.
TEST_F(TicketClocksTest, TwoReplicasFireEachTimerOnce) {
  calendar::CalendarSpec always{.always_open = true};
  AddPolicy(always, absl::Seconds(10), absl::Seconds(20));
  FakeClock clock(absl::FromUnixSeconds(1'767'258'000));
  SlaEngine engine(*settings_store_, clock);
  prometheus::Registry registry;
  SlaMetrics metrics_a(registry, clock);
  prometheus::Registry other_registry;
  SlaMetrics metrics_b(other_registry, clock);
  TicketClocks replica_a(*clock_store_, engine, &metrics_a);
  PgClockStore other_store(*pool_);
  TicketClocks replica_b(other_store, engine, &metrics_b);

  constexpr int kTickets = 60;
  for (int i = 0; i < kTickets; ++i) {
    const events::v1::Event e = Created(ids_.NewId(), clock.Now() + absl::Seconds(i % 5));
    ASSERT_TRUE(replica_a.Apply(FromEvent(e)).ok());
  }
  clock.Advance(absl::Minutes(5));  // every warning and breach is due
  auto sweep = [&](TicketClocks& clocks) {
    for (;;) {
      auto n = clocks.FireDue(clock.Now(), 7);
      ASSERT_TRUE(n.ok()) << n.status();
      if (*n == 0) return;
    }
  };
  std::thread a([&] { sweep(replica_a); });
  std::thread b([&] { sweep(replica_b); });
  a.join();
  b.join();
  EXPECT_EQ(Count("SELECT count(*) FROM sla.outbox WHERE event_type = 'SlaBreached'"),
            2 * kTickets);
  EXPECT_EQ(Count("SELECT count(*) FROM sla.outbox WHERE event_type = 'SlaWarning'"), 2 * kTickets);
  EXPECT_EQ(Count("SELECT count(*) FROM (SELECT event_id FROM sla.outbox GROUP BY event_id "
                  "HAVING count(*) > 1) d"),
            0);
  EXPECT_EQ(Count("SELECT count(*) FROM sla.timers"), 0);

  // sundesk_sla_clocks{state}: every clock breached (and still counting until stopped).
  auto counts = clock_store_->CountClocks();
  ASSERT_TRUE(counts.ok()) << counts.status();
  EXPECT_EQ((*counts)[ClockState::kBreached], 2 * kTickets);
  EXPECT_EQ((*counts)[ClockState::kRunning], 0);
  EXPECT_EQ((*counts)[ClockState::kPaused], 0);
  EXPECT_EQ((*counts)[ClockState::kMet], 0);
  metrics_a.SetClocks(*counts);
  double breached_gauge = -1;
  for (const auto& f : registry.Collect()) {
    if (f.name != "sundesk_sla_clocks") continue;
    for (const auto& m : f.metric) {
      for (const auto& l : m.label) {
        if (l.name == "state" && l.value == "breached") breached_gauge = m.gauge.value;
      }
    }
  }
  EXPECT_EQ(breached_gauge, 2 * kTickets);

  // Metrics count each committed breach once, across the two replicas.
  auto sum = [](prometheus::Registry& r, const std::string& family, const std::string& metric) {
    double total = 0;
    for (const auto& f : r.Collect()) {
      if (f.name != family) continue;
      for (const auto& m : f.metric) {
        for (const auto& l : m.label) {
          if (l.name == "metric" && l.value == metric) total += m.counter.value;
        }
      }
    }
    return total;
  };
  for (const char* metric : {"first_response", "resolution"}) {
    EXPECT_EQ(sum(registry, "sundesk_sla_breaches_total", metric) +
                  sum(other_registry, "sundesk_sla_breaches_total", metric),
              kTickets)
        << metric;
    EXPECT_EQ(sum(registry, "sundesk_sla_verdicts_total", metric) +
                  sum(other_registry, "sundesk_sla_verdicts_total", metric),
              kTickets)
        << metric;
  }
}

// UpdatePolicy changing a policy's match fields re-matches the tenant's running tickets: those
// it covered and no longer does move to the policy they match now, those it covers now move
// to it (keeping their elapsed time). A target added to a policy starts on its running
// tickets at the change (first_response only where no agent has replied).
TEST_F(TicketClocksTest, PolicyMatchChangesRematchAndAddedTargetsStart) {
  FakeClock clock(absl::FromUnixSeconds(1'767'258'000));
  const absl::Time t0 = clock.Now();
  SlaSettings settings(*settings_store_, clock, ids_, page_tokens_);
  auto cal = settings.CreateCalendar(
      "", Calendar{.tenant_id = kTenant, .display_name = "desk", .spec = {.always_open = true}});
  ASSERT_TRUE(cal.ok()) << cal.status();
  auto high = settings.CreatePolicy("", Policy{.tenant_id = kTenant,
                                               .display_name = "high",
                                               .priority = Priority::kHigh,
                                               .first_response = absl::Hours(1),
                                               .resolution = absl::Hours(8),
                                               .calendar_id = cal->calendar_id});
  ASSERT_TRUE(high.ok()) << high.status();
  auto any = settings.CreatePolicy("", Policy{.tenant_id = kTenant,
                                              .display_name = "any",
                                              .resolution = absl::Hours(24),
                                              .calendar_id = cal->calendar_id});
  ASSERT_TRUE(any.ok()) << any.status();
  SlaEngine engine(*settings_store_, clock);
  TicketClocks clocks(*clock_store_, engine);
  auto created = [&](const std::string& id, common::v1::Priority priority) {
    return CreatedWithPriority(id, t0, priority);
  };
  const std::string urgent = ids_.NewId();    // HIGH: under "high"
  const std::string low = ids_.NewId();       // LOW: under "any"
  const std::string answered = ids_.NewId();  // NORMAL: under "any", replied to
  ASSERT_TRUE(clocks.Apply(FromEvent(created(urgent, common::v1::PRIORITY_HIGH))).ok());
  ASSERT_TRUE(clocks.Apply(FromEvent(created(low, common::v1::PRIORITY_LOW))).ok());
  ASSERT_TRUE(clocks.Apply(FromEvent(created(answered, common::v1::PRIORITY_NORMAL))).ok());
  ASSERT_TRUE(clocks.Apply(FromEvent(AgentReply(answered, 2, t0 + absl::Minutes(1)))).ok());
  auto sla_of = [&](const std::string& id) { return StoredSla(id); };
  auto sweep = [&] {
    for (;;) {
      auto n = clocks.Replan(2);  // several commits
      ASSERT_TRUE(n.ok()) << n.status();
      if (*n == 0) return;
    }
  };

  // At +10 min "high" is for LOW tickets instead.
  clock.Advance(absl::Minutes(10));
  const absl::Time change = clock.Now();
  Policy to_low{.policy_id = high->policy_id, .priority = Priority::kLow};
  ASSERT_TRUE(settings.UpdatePolicy(to_low, {"priority"}, "").ok());
  sweep();
  TicketSla u = sla_of(urgent);
  EXPECT_EQ(u.policy_id, any->policy_id);
  ASSERT_NE(u.Find(Metric::kResolution), nullptr);
  EXPECT_EQ(u.Find(Metric::kResolution)->target, absl::Hours(24));
  EXPECT_EQ(u.Find(Metric::kResolution)->deadline, t0 + absl::Hours(24));  // 10 min kept
  ASSERT_NE(u.Find(Metric::kFirstResponse), nullptr);
  EXPECT_TRUE(u.Find(Metric::kFirstResponse)->canceled);
  EXPECT_EQ(u.ledger.back().cause_setting(), absl::StrCat("policies/", high->policy_id, "@2"));
  TicketSla l = sla_of(low);
  EXPECT_EQ(l.policy_id, high->policy_id);
  EXPECT_EQ(l.Find(Metric::kResolution)->deadline, t0 + absl::Hours(8));
  ASSERT_NE(l.Find(Metric::kFirstResponse), nullptr);  // a target "any" lacked: from the change
  EXPECT_EQ(l.Find(Metric::kFirstResponse)->start_time, change);
  EXPECT_EQ(l.Find(Metric::kFirstResponse)->deadline, change + absl::Hours(1));
  EXPECT_EQ(sla_of(answered).policy_id, any->policy_id);
  EXPECT_EQ(Count(absl::StrCat("SELECT count(*) FROM sla.outbox WHERE key = '", low,
                               "' AND event_type = 'SlaClockStarted'")),
            2);

  // At +20 min "any" gains a 2 h first response: it starts on `urgent` (its canceled one
  // again, cycle 2) but not on `answered`.
  clock.Advance(absl::Minutes(10));
  Policy with_first{.policy_id = any->policy_id, .first_response = absl::Hours(2)};
  ASSERT_TRUE(settings.UpdatePolicy(with_first, {"first_response"}, "").ok());
  sweep();
  u = sla_of(urgent);
  const SlaClock* fr = u.Find(Metric::kFirstResponse);
  ASSERT_NE(fr, nullptr);
  EXPECT_EQ(fr->cycle, 2);
  EXPECT_TRUE(fr->counting);
  EXPECT_EQ(fr->deadline, clock.Now() + absl::Hours(2));
  EXPECT_EQ(sla_of(answered).Find(Metric::kFirstResponse), nullptr);
  EXPECT_EQ(Count("SELECT count(*) FROM sla.replans WHERE NOT done"), 0);
}

// CreatePolicy re-matches the tenant's running tickets: those the new policy covers now
// (matched by no policy before, or by a less specific one) move to it, by the sweep or
// first thing when an event touches the ticket. Targets they were not measured against start
// at the policy's creation with nothing elapsed (first_response only where no agent has
// replied); clocks they had keep their elapsed time.
TEST_F(TicketClocksTest, NewPolicyCoversRunningTickets) {
  FakeClock clock(absl::FromUnixSeconds(1'767'258'000));
  const absl::Time t0 = clock.Now();
  SlaSettings settings(*settings_store_, clock, ids_, page_tokens_);
  auto cal = settings.CreateCalendar(
      "", Calendar{.tenant_id = kTenant, .display_name = "desk", .spec = {.always_open = true}});
  ASSERT_TRUE(cal.ok()) << cal.status();
  auto any = settings.CreatePolicy("", Policy{.tenant_id = kTenant,
                                              .display_name = "any",
                                              .priority = Priority::kHigh,
                                              .first_response = absl::Hours(1),
                                              .resolution = absl::Hours(8),
                                              .calendar_id = cal->calendar_id});
  ASSERT_TRUE(any.ok()) << any.status();
  SlaEngine engine(*settings_store_, clock);
  TicketClocks clocks(*clock_store_, engine);
  auto created = [&](const std::string& id, common::v1::Priority priority) {
    return CreatedWithPriority(id, t0, priority);
  };
  const std::string urgent = ids_.NewId();    // HIGH: under "any"
  const std::string low = ids_.NewId();       // LOW: no policy, no clocks
  const std::string answered = ids_.NewId();  // LOW, replied to
  const std::string touched = ids_.NewId();   // LOW, an event before the sweep
  ASSERT_TRUE(clocks.Apply(FromEvent(created(urgent, common::v1::PRIORITY_HIGH))).ok());
  for (const std::string& id : {low, answered, touched}) {
    ASSERT_TRUE(clocks.Apply(FromEvent(created(id, common::v1::PRIORITY_LOW))).ok());
  }
  ASSERT_TRUE(clocks.Apply(FromEvent(AgentReply(answered, 2, t0 + absl::Minutes(1)))).ok());
  auto sla_of = [&](const std::string& id) { return StoredSla(id); };
  EXPECT_TRUE(sla_of(low).clocks.empty());
  const size_t urgent_entries = sla_of(urgent).ledger.size();

  // At +10 min a policy for LOW tickets is created (a retry of the request is the same
  // policy and re-matches nothing more).
  clock.Advance(absl::Minutes(10));
  const absl::Time change = clock.Now();
  const Policy low_policy{.tenant_id = kTenant,
                          .display_name = "low",
                          .priority = Priority::kLow,
                          .first_response = absl::Hours(2),
                          .resolution = absl::Hours(24),
                          .calendar_id = cal->calendar_id,
                          .warn_at_percent = 50};
  auto lows = settings.CreatePolicy("req-low", low_policy);
  ASSERT_TRUE(lows.ok()) << lows.status();
  auto again = settings.CreatePolicy("req-low", low_policy);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->policy_id, lows->policy_id);
  EXPECT_EQ(Count(absl::StrCat("SELECT count(*) FROM sla.replans WHERE policy_id = '",
                               lows->policy_id, "'")),
            1);

  // At +15 min `touched` goes PENDING before any sweep: the new policy applies first, at its
  // creation, so 5 minutes count.
  clock.Advance(absl::Minutes(5));
  ASSERT_TRUE(clocks
                  .Apply(FromEvent(
                      StatusChanged(touched, 2, clock.Now(), ticket::v1::TICKET_STATUS_PENDING)))
                  .ok());
  TicketSla t = sla_of(touched);
  EXPECT_EQ(t.policy_id, lows->policy_id);
  ASSERT_NE(t.Find(Metric::kResolution), nullptr);
  EXPECT_EQ(t.Find(Metric::kResolution)->start_time, change);
  EXPECT_EQ(t.Find(Metric::kResolution)->elapsed, absl::Minutes(5));
  EXPECT_FALSE(t.Find(Metric::kResolution)->counting);

  for (;;) {  // the sweep, several commits (0: no replan pending)
    auto n = clocks.Replan(2);
    ASSERT_TRUE(n.ok()) << n.status();
    if (*n == 0) break;
  }
  EXPECT_EQ(Count("SELECT count(*) FROM sla.replans WHERE NOT done"), 0);
  TicketSla l = sla_of(low);
  EXPECT_EQ(l.policy_id, lows->policy_id);
  EXPECT_EQ(l.calendar_id, cal->calendar_id);
  EXPECT_EQ(l.warn_at_percent, 50);
  for (Metric m : {Metric::kFirstResponse, Metric::kResolution}) {
    const SlaClock* c = l.Find(m);
    ASSERT_NE(c, nullptr);
    EXPECT_EQ(c->start_time, change);
    EXPECT_EQ(c->elapsed, absl::ZeroDuration());
    EXPECT_TRUE(c->counting);
    EXPECT_EQ(c->deadline,
              change + (m == Metric::kFirstResponse ? absl::Hours(2) : absl::Hours(24)));
    EXPECT_EQ(c->warn_time,
              change + (m == Metric::kFirstResponse ? absl::Hours(1) : absl::Hours(12)));
  }
  ASSERT_FALSE(l.ledger.empty());
  EXPECT_EQ(l.ledger.back().cause_setting(), absl::StrCat("policies/", lows->policy_id, "@1"));
  EXPECT_EQ(Count(absl::StrCat("SELECT count(*) FROM sla.outbox WHERE key = '", low,
                               "' AND event_type = 'SlaClockStarted'")),
            2);
  // Replied to before: only resolution starts.
  TicketSla a = sla_of(answered);
  EXPECT_EQ(a.policy_id, lows->policy_id);
  EXPECT_EQ(a.Find(Metric::kFirstResponse), nullptr);
  ASSERT_NE(a.Find(Metric::kResolution), nullptr);
  EXPECT_EQ(a.Find(Metric::kResolution)->deadline, change + absl::Hours(24));
  // Still matched by "any": unchanged.
  TicketSla u = sla_of(urgent);
  EXPECT_EQ(u.policy_id, any->policy_id);
  EXPECT_EQ(u.ledger.size(), urgent_entries);
  EXPECT_EQ(u.Find(Metric::kFirstResponse)->deadline, t0 + absl::Hours(1));
  // `touched` was re-matched once (by its event), not again by the sweep.
  EXPECT_EQ(sla_of(touched).ledger.size(), t.ledger.size());
}

// UpdateCalendar and UpdatePolicy re-plan the running clocks of their tickets: by the sweep,
// or first thing when an event touches the ticket; one ledger entry per re-planned clock.
TEST_F(TicketClocksTest, CalendarAndPolicyUpdatesReplanRunningClocks) {
  FakeClock clock(absl::FromCivil(absl::CivilMinute(2026, 1, 8, 16, 0), absl::UTCTimeZone()));
  const absl::Time t0 = clock.Now();  // Thursday 16:00 UTC
  SlaSettings settings(*settings_store_, clock, ids_, page_tokens_);
  auto cal = settings.CreateCalendar(
      "", Calendar{.tenant_id = kTenant, .display_name = "desk", .spec = {.always_open = true}});
  ASSERT_TRUE(cal.ok()) << cal.status();
  auto policy = settings.CreatePolicy("", Policy{.tenant_id = kTenant,
                                                 .display_name = "all",
                                                 .first_response = absl::Hours(2),
                                                 .calendar_id = cal->calendar_id,
                                                 .warn_at_percent = 50});
  ASSERT_TRUE(policy.ok()) << policy.status();
  SlaEngine engine(*settings_store_, clock);
  TicketClocks clocks(*clock_store_, engine);
  ASSERT_EQ(*clocks.Replan(100), 0);  // the policy's creation: no tickets to re-match yet
  EXPECT_EQ(Count("SELECT count(*) FROM sla.replans WHERE NOT done"), 0);
  const std::string a = ids_.NewId();
  const std::string b = ids_.NewId();
  ASSERT_TRUE(clocks.Apply(FromEvent(Created(a, t0))).ok());
  ASSERT_TRUE(clocks.Apply(FromEvent(Created(b, t0))).ok());
  auto deadline_of = [&](const std::string& ticket) {
    auto sla = clock_store_->Get(ticket);
    EXPECT_TRUE(sla.ok()) << sla.status();
    return sla.ok() ? sla->clocks.at(0).deadline : absl::InfinitePast();
  };
  auto replanned_entries = [&](const std::string& ticket, v1::LedgerAction action) {
    auto sla = clock_store_->Get(ticket);
    EXPECT_TRUE(sla.ok());
    EXPECT_TRUE(VerifyLedger(sla->ledger).ok());
    std::vector<LedgerEntry> out;
    for (const LedgerEntry& e : sla->ledger) {
      if (e.action() == action) out.push_back(e);
    }
    return out;
  };
  EXPECT_EQ(deadline_of(a), t0 + absl::Hours(2));

  // At 16:30 the desk moves to office hours (09–17 UTC on weekdays): 30 min counted, the
  // remaining 90 run 16:30–17:00 and Friday 09:00–10:00.
  clock.Advance(absl::Minutes(30));
  Calendar office{.calendar_id = cal->calendar_id, .spec = {.time_zone = "UTC"}};
  for (int wd = 1; wd <= 5; ++wd) office.spec.hours.push_back({wd, "09:00", "17:00"});
  auto updated = settings.UpdateCalendar(office, {"always_open", "time_zone", "hours"}, "");
  ASSERT_TRUE(updated.ok()) << updated.status();
  EXPECT_EQ(Count("SELECT count(*) FROM sla.replans WHERE NOT done"), 1);
  const absl::Time friday_ten =
      absl::FromCivil(absl::CivilMinute(2026, 1, 9, 10, 0), absl::UTCTimeZone());

  // A customer comment on `a` applies the replan first, before the sweep comes.
  clock.Advance(absl::Minutes(1));
  events::v1::Event comment = TicketEventProto(a, 2, clock.Now());
  comment.set_type("CommentAdded");
  comment.mutable_comment_added()->set_author_kind(ticket::v1::AUTHOR_KIND_CUSTOMER);
  comment.mutable_comment_added()->set_public_(true);
  ASSERT_TRUE(clocks.Apply(FromEvent(comment)).ok());
  EXPECT_EQ(deadline_of(a), friday_ten);
  EXPECT_EQ(deadline_of(b), t0 + absl::Hours(2));  // not yet re-planned

  auto swept = clocks.Replan(100);
  ASSERT_TRUE(swept.ok()) << swept.status();
  EXPECT_EQ(*swept, 2);
  EXPECT_EQ(Count("SELECT count(*) FROM sla.replans WHERE NOT done"), 0);
  EXPECT_EQ(*clocks.Replan(100), 0);
  EXPECT_EQ(deadline_of(b), friday_ten);
  for (const std::string& ticket : {a, b}) {
    const std::vector<LedgerEntry> entries = replanned_entries(ticket, v1::LEDGER_ACTION_REPLANNED);
    ASSERT_EQ(entries.size(), 1u) << ticket;
    EXPECT_EQ(entries[0].cause_setting(), absl::StrCat("calendars/", cal->calendar_id, "@2"));
    EXPECT_EQ(entries[0].elapsed().seconds(), 30 * 60);
    EXPECT_EQ(entries[0].time().seconds(), absl::ToUnixSeconds(t0 + absl::Minutes(30)));
  }
  // The ticket rows' next timer follows the new plan (the 50 % warning: 17:00).
  EXPECT_EQ(Count(absl::StrCat("SELECT extract(epoch FROM next_due)::bigint FROM "
                               "sla.timers WHERE ticket_id = '",
                               b, "'")),
            absl::ToUnixSeconds(t0 + absl::Hours(1)));

  // At 16:40 the policy's first response becomes 1 h: 40 min counted, due at 17:00.
  clock.Advance(absl::Minutes(9));
  Policy changes{.policy_id = policy->policy_id, .first_response = absl::Hours(1)};
  auto new_policy = settings.UpdatePolicy(changes, {"first_response"}, "");
  ASSERT_TRUE(new_policy.ok()) << new_policy.status();
  ASSERT_EQ(*clocks.Replan(100), 2);
  EXPECT_EQ(deadline_of(b), t0 + absl::Hours(1));
  const std::vector<LedgerEntry> retargeted = replanned_entries(b, v1::LEDGER_ACTION_RETARGETED);
  ASSERT_EQ(retargeted.size(), 1u);
  EXPECT_EQ(retargeted[0].cause_setting(), absl::StrCat("policies/", policy->policy_id, "@2"));
  EXPECT_EQ(retargeted[0].elapsed().seconds(), 40 * 60);

  // A display-name change re-plans nothing.
  Calendar renamed{.calendar_id = cal->calendar_id, .display_name = "renamed"};
  ASSERT_TRUE(settings.UpdateCalendar(renamed, {"display_name"}, "").ok());
  EXPECT_EQ(Count("SELECT count(*) FROM sla.replans WHERE NOT done"), 0);
}

// GetTicketSla for an AGENT key: the tickets assigned to its agent, like GetTicket; another
// agent's or an unassigned ticket is NOT_FOUND.
TEST_F(TicketClocksTest, AgentKeysSeeTheTicketsAssignedToThem) {
  calendar::CalendarSpec always{.always_open = true};
  AddPolicy(always, absl::Hours(1), absl::Hours(8));
  FakeClock clock(absl::FromUnixSeconds(1'767'258'000));
  SlaEngine engine(*settings_store_, clock);
  TicketClocks clocks(*clock_store_, engine);
  const std::string ticket_id = ids_.NewId();
  ASSERT_TRUE(clocks.Apply(FromEvent(Created(ticket_id, clock.Now()))).ok());

  SlaSettings settings(*settings_store_, clock, ids_, page_tokens_);
  rpc::StaticKeyAuthenticator auth;
  auth.Add("agent-1-key", {.role = rpc::Role::kAgent, .agent_id = "agent-1", .key_id = "a1"});
  auth.Add("agent-2-key", {.role = rpc::Role::kAgent, .agent_id = "agent-2", .key_id = "a2"});
  SlaServiceHandlers handlers(settings, clocks, auth);
  prometheus::Registry registry;
  rpc::ServerOptions options;
  options.services = {{v1::SlaService::service_full_name(), &handlers}};
  auto server = rpc::Server::Start(std::move(options), registry);
  ASSERT_TRUE(server.ok()) << server.status();
  auto channel = rpc::MakeChannel({.target = absl::StrCat("127.0.0.1:", (*server)->port())});
  ASSERT_TRUE(channel.ok());
  auto stub = v1::SlaService::NewStub(*channel);
  auto get = [&](const char* key) {
    v1::GetTicketSlaRequest req;
    req.set_ticket_id(ticket_id);
    v1::TicketSla got;
    return stub
        ->GetTicketSla(rpc::NewClientContext({.timeout = absl::Seconds(10), .api_key = key}).get(),
                       req, &got)
        .error_code();
  };
  EXPECT_EQ(get("agent-1-key"), grpc::StatusCode::NOT_FOUND);  // unassigned

  events::v1::Event assigned = TicketEventProto(ticket_id, 2, clock.Now());
  assigned.set_type("TicketAssigned");
  assigned.mutable_ticket_assigned()->set_agent_id("agent-1");
  ASSERT_TRUE(clocks.Apply(FromEvent(assigned)).ok());
  EXPECT_EQ(get("agent-1-key"), grpc::StatusCode::OK);
  EXPECT_EQ(get("agent-2-key"), grpc::StatusCode::NOT_FOUND);

  events::v1::Event unassigned = TicketEventProto(ticket_id, 3, clock.Now());
  unassigned.set_type("TicketUnassigned");
  unassigned.mutable_ticket_unassigned()->set_previous_agent_id("agent-1");
  ASSERT_TRUE(clocks.Apply(FromEvent(unassigned)).ok());
  EXPECT_EQ(get("agent-1-key"), grpc::StatusCode::NOT_FOUND);
  (*server)->Shutdown();
}

// A ticket stored before migration 8 (clock rows in sla.clocks, one ledger row per entry, no
// ledger tail in the ticket row) keeps its clocks and chain through the migration, and its
// next event continues the chain from the last stored entry.
TEST_F(TicketClocksTest, TicketStoredBeforeClocksMovedIntoRowsKeepsClocksAndChain) {
  auto dsn = postgres_->CreateDatabase("sla_before_8");
  ASSERT_TRUE(dsn.ok()) << dsn.status();
  auto pool = pg::Pool::Create({.dsn = *dsn, .size = 2, .connect_timeout = absl::Seconds(2)});
  ASSERT_TRUE(pool.ok()) << pool.status();
  std::vector<pg::Migration> up_to_7;
  for (const pg::Migration& m : SlaMigrations()) {
    if (m.version <= 7) up_to_7.push_back(m);
  }
  ASSERT_TRUE(pg::RunMigrations(**pool, kSlaSchema, up_to_7).ok());
  PgSettingsStore settings_store(**pool);
  SlaSettings settings(settings_store, system_clock_, ids_, page_tokens_);
  auto cal = settings.CreateCalendar(
      "", Calendar{.tenant_id = kTenant, .display_name = "24x7", .spec = {.always_open = true}});
  ASSERT_TRUE(cal.ok()) << cal.status();
  auto policy = settings.CreatePolicy("", Policy{.tenant_id = kTenant,
                                                 .first_response = absl::Hours(1),
                                                 .resolution = absl::Hours(4),
                                                 .calendar_id = cal->calendar_id,
                                                 .warn_at_percent = 50});
  ASSERT_TRUE(policy.ok()) << policy.status();

  // As migration 7's store wrote a ticket created at t0: both clocks counting, two ledger
  // rows, the timers row at the first response's warning.
  const absl::Time t0 = absl::FromUnixMicros(1'767'258'000'123'456);
  const std::string ticket_id = ids_.NewId();
  std::vector<LedgerEntry> chain;
  for (auto [metric, target] : {std::make_pair(v1::SLA_METRIC_FIRST_RESPONSE, absl::Hours(1)),
                                std::make_pair(v1::SLA_METRIC_RESOLUTION, absl::Hours(4))}) {
    LedgerEntry e;
    e.mutable_time()->set_seconds(absl::ToUnixSeconds(t0));
    e.set_metric(metric);
    e.set_action(v1::LEDGER_ACTION_STARTED);
    e.mutable_deadline()->set_seconds(absl::ToUnixSeconds(t0 + target));
    e.set_cause_event_id("created-event");
    e.set_policy_id(policy->policy_id);
    AppendToLedger(chain, e);
  }
  {
    auto lease = (*pool)->Acquire();
    ASSERT_TRUE(lease.ok());
    ASSERT_TRUE((*lease)->Execute("UPDATE sla.replans SET done = true").ok());
    ASSERT_TRUE(
        (*lease)
            ->Execute("INSERT INTO sla.ticket_slas (ticket_id, tenant_id, created, "
                      "last_sequence, create_time, priority, channel, status, policy_id, "
                      "calendar_id, warn_at_percent) VALUES ($1, $2, true, 1, $3, 3, 0, 1, $4, "
                      "$5, 50)",
                      {ticket_id, kTenant, t0, policy->policy_id, cal->calendar_id})
            .ok());
    for (auto [metric, hours] : {std::make_pair(1, 1), std::make_pair(4, 4)}) {
      ASSERT_TRUE((*lease)
                      ->Execute("INSERT INTO sla.clocks (ticket_id, metric, cycle, target_ns, "
                                "elapsed_ns, counted_until, counting, warned, breached, met, "
                                "canceled, start_time, stop_time, deadline, warn_time) VALUES "
                                "($1, $2, 1, $3, 0, $4, true, false, false, false, false, $4, "
                                "NULL, $5, $6)",
                                {ticket_id, metric, absl::ToInt64Nanoseconds(absl::Hours(hours)),
                                 t0, t0 + absl::Hours(hours), t0 + absl::Hours(hours) / 2})
                      .ok());
    }
    for (const LedgerEntry& e : chain) {
      ASSERT_TRUE((*lease)
                      ->Execute("INSERT INTO sla.ledger (ticket_id, sequence, entry) VALUES "
                                "($1, $2, $3)",
                                {ticket_id, e.sequence(), pg::Param::Bytea(e.SerializeAsString())})
                      .ok());
    }
    ASSERT_TRUE((*lease)
                    ->Execute("INSERT INTO sla.timers (ticket_id, next_due) VALUES ($1, $2)",
                              {ticket_id, t0 + absl::Minutes(30)})
                    .ok());
  }
  ASSERT_TRUE(pg::RunMigrations(**pool, kSlaSchema, SlaMigrations()).ok());

  PgClockStore store(**pool);
  auto migrated = store.Get(ticket_id);
  ASSERT_TRUE(migrated.ok()) << migrated.status();
  ASSERT_EQ(migrated->clocks.size(), 2u);
  const SlaClock* fr = migrated->Find(Metric::kFirstResponse);
  ASSERT_NE(fr, nullptr);
  EXPECT_EQ(fr->target, absl::Hours(1));
  EXPECT_EQ(fr->start_time, t0);
  EXPECT_EQ(fr->counted_until, t0);
  EXPECT_TRUE(fr->counting);
  EXPECT_FALSE(fr->warned || fr->breached || fr->met || fr->canceled || fr->stopped());
  EXPECT_EQ(fr->deadline, t0 + absl::Hours(1));
  EXPECT_EQ(fr->warn_time, t0 + absl::Minutes(30));
  const SlaClock* res = migrated->Find(Metric::kResolution);
  ASSERT_NE(res, nullptr);
  EXPECT_EQ(res->deadline, t0 + absl::Hours(4));
  ASSERT_EQ(migrated->ledger.size(), 2u);
  EXPECT_EQ(migrated->ledger[1].hash(), chain[1].hash());

  // Ten minutes later the ticket waits on the customer: both clocks pause, the chain goes on
  // from the stored entries (one new ledger row holding both), and nothing is due any more.
  FakeClock clock(t0 + absl::Minutes(10));
  SlaEngine engine(settings_store, clock);
  TicketClocks clocks(store, engine);
  ASSERT_TRUE(clocks
                  .Apply(FromEvent(
                      StatusChanged(ticket_id, 2, clock.Now(), ticket::v1::TICKET_STATUS_PENDING)))
                  .ok());
  auto paused = store.Get(ticket_id);
  ASSERT_TRUE(paused.ok()) << paused.status();
  ASSERT_EQ(paused->ledger.size(), 4u);
  EXPECT_TRUE(VerifyLedger(paused->ledger).ok()) << VerifyLedger(paused->ledger);
  EXPECT_EQ(paused->ledger[2].action(), v1::LEDGER_ACTION_PAUSED);
  EXPECT_EQ(paused->ledger[3].action(), v1::LEDGER_ACTION_PAUSED);
  for (const SlaClock& c : paused->clocks) {
    EXPECT_FALSE(c.counting);
    EXPECT_EQ(c.elapsed, absl::Minutes(10));
  }
  auto lease = (*pool)->Acquire();
  ASSERT_TRUE(lease.ok());
  auto rows = (*lease)->Execute(
      "SELECT (SELECT count(*) FROM sla.ledger WHERE ticket_id = $1), "
      "(SELECT count(*) FROM sla.timers WHERE ticket_id = $1), "
      "(SELECT count(*) FROM sla.clocks WHERE ticket_id = $1 AND NOT counting AND "
      "elapsed_ns = $2)",
      {ticket_id, absl::ToInt64Nanoseconds(absl::Minutes(10))});
  ASSERT_TRUE(rows.ok()) << rows.status();
  EXPECT_EQ(*rows->Int64(0, 0), 3);  // two rows from before, one for the pause
  // The pause leaves the timers row (stale) in place: the sweep removes it at its instant.
  EXPECT_EQ(*rows->Int64(0, 1), 1);
  EXPECT_EQ(*rows->Int64(0, 2), 2);   // the sla.clocks view over the ticket row
  auto counts = store.CountClocks();  // sundesk_sla_clocks{state}
  ASSERT_TRUE(counts.ok()) << counts.status();
  EXPECT_EQ((*counts)[ClockState::kPaused], 2);
  EXPECT_EQ((*counts)[ClockState::kRunning] + (*counts)[ClockState::kMet] +
                (*counts)[ClockState::kBreached],
            0);

  // At the stale instant (the warning the pause prevented) the sweep claims the ticket,
  // fires nothing, writes no ledger entry and deletes the timers row.
  clock.Advance(absl::Minutes(25));
  auto swept = clocks.FireDue(clock.Now(), 100);
  ASSERT_TRUE(swept.ok()) << swept.status();
  EXPECT_EQ(*swept, 1);
  auto after = (*lease)->Execute(
      "SELECT (SELECT count(*) FROM sla.ledger WHERE ticket_id = $1), "
      "(SELECT count(*) FROM sla.timers WHERE ticket_id = $1), "
      "(SELECT count(*) FROM sla.outbox WHERE event_type <> 'SlaClockStarted'), "
      "(SELECT timer_due IS NULL FROM sla.ticket_slas WHERE ticket_id = $1)",
      {ticket_id});
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_EQ(*after->Int64(0, 0), 3);
  EXPECT_EQ(*after->Int64(0, 1), 0);
  EXPECT_EQ(*after->Int64(0, 2), 0) << "no warning for a paused clock";
  EXPECT_EQ(*after->Bool(0, 3), true);
  EXPECT_EQ(*clocks.NextDue(), absl::InfiniteFuture());
}

TEST_F(TicketClocksTest, TamperedLedgerRowIsDetected) {
  calendar::CalendarSpec always{.always_open = true};
  AddPolicy(always, absl::Seconds(10), absl::Seconds(20));
  FakeClock clock(absl::FromUnixSeconds(1'767'258'000));
  SlaEngine engine(*settings_store_, clock);
  TicketClocks clocks(*clock_store_, engine);
  const std::string ticket_id = ids_.NewId();
  ASSERT_TRUE(clocks.Apply(FromEvent(Created(ticket_id, clock.Now()))).ok());
  clock.Advance(absl::Seconds(30));
  ASSERT_TRUE(clocks.FireDue(clock.Now(), 10).ok());
  auto sla = clock_store_->Get(ticket_id);
  ASSERT_TRUE(sla.ok());
  ASSERT_EQ(sla->ledger.size(), 6u);  // 2 started, 2 warned, 2 breached
  EXPECT_TRUE(VerifyLedger(sla->ledger).ok());

  // Someone rewrites history: the first warning "came later" (elapsed shortened). It is the
  // first of the timer's commit's entries, its ledger row's `entry`; the breaches after it
  // are in that row's `more`.
  LedgerEntry forged = sla->ledger[2];
  forged.mutable_elapsed()->set_seconds(1);
  {
    auto lease = pool_->Acquire();
    ASSERT_TRUE(lease.ok());
    ASSERT_TRUE(
        (*lease)
            ->Execute("UPDATE sla.ledger SET entry = $3 WHERE ticket_id = $1 AND "
                      "sequence = $2",
                      {ticket_id, forged.sequence(), pg::Param::Bytea(forged.SerializeAsString())})
            .ok());
  }
  sla = clock_store_->Get(ticket_id);
  ASSERT_TRUE(sla.ok());
  const absl::Status verified = VerifyLedger(sla->ledger);
  EXPECT_EQ(verified.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(verified.message(),
              ::testing::HasSubstr(absl::StrCat("ledger entry ", forged.sequence())));
}

}  // namespace
}  // namespace sundesk::sla
