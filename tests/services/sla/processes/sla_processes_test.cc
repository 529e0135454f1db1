// sla-server as separate processes (the built binary), with a real PostgreSQL and devkafka:
// ticket events produced to sundesk.ticket.events.v1, SLA events read back from
// sundesk.sla.events.v1 and counted by event id.
#include <csignal>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "gtest/gtest.h"
#include "libs/core/clock.h"
#include "libs/core/ids.h"
#include "libs/kafka/consumer.h"
#include "libs/kafka/envelope.h"
#include "libs/kafka/producer.h"
#include "libs/pg/migrations.h"
#include "libs/pg/pool.h"
#include "services/sla/domain/settings.h"
#include "services/sla/store/pg_clock_store.h"
#include "services/sla/store/pg_settings_store.h"
#include "tests/support/devkafka_server.h"
#include "tests/support/migrated_database.h"
#include "tests/support/process.h"

namespace sundesk::sla {
namespace {

using testing::WaitFor;

constexpr char kTenant[] = "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a71";
constexpr char kAdminKey[] = "sla-processes-admin-key";

absl::Time FromProtoTime(const google::protobuf::Timestamp& t) {
  return absl::FromUnixSeconds(t.seconds()) + absl::Nanoseconds(t.nanos());
}

// What the SLA events on Kafka say: records per event id, and the event ids per warning or
// breach (ticket, type, metric).
class SlaEventLog {
 public:
  void Add(const events::v1::Event& e) {
    absl::MutexLock lock(&mu_);
    ++records_[e.event_id()];
    int metric = 0;
    if (e.has_sla_warning()) metric = e.sla_warning().metric();
    if (e.has_sla_breached()) metric = e.sla_breached().metric();
    if (metric == 0) return;  // not a warning or a breach
    facts_[{e.subject(), e.type(), metric}].insert(e.event_id());
    due_[{e.subject(), e.type(), metric}] = FromProtoTime(e.time());
  }
  // Facts of `type` seen (each with at least one event id).
  int Facts(const std::string& type) {
    absl::MutexLock lock(&mu_);
    int n = 0;
    for (const auto& [key, ids] : facts_) n += std::get<1>(key) == type;
    return n;
  }
  // Facts with more than one event id: the same warning or breach emitted twice.
  int FactsWithSeveralIds() {
    absl::MutexLock lock(&mu_);
    int n = 0;
    for (const auto& [key, ids] : facts_) n += ids.size() > 1;
    return n;
  }
  // Event ids delivered more than once (a relay retry after a crash may do that; consumers
  // de-duplicate by id).
  int RepeatedRecords() {
    absl::MutexLock lock(&mu_);
    int n = 0;
    for (const auto& [id, count] : records_) n += count > 1;
    return n;
  }
  absl::Time Due(const std::string& ticket, const std::string& type, int metric) {
    absl::MutexLock lock(&mu_);
    auto it = due_.find({ticket, type, metric});
    return it == due_.end() ? absl::InfinitePast() : it->second;
  }

 private:
  using Key = std::tuple<std::string, std::string, int>;
  absl::Mutex mu_;
  std::map<std::string, int> records_ ABSL_GUARDED_BY(mu_);
  std::map<Key, std::set<std::string>> facts_ ABSL_GUARDED_BY(mu_);
  std::map<Key, absl::Time> due_ ABSL_GUARDED_BY(mu_);
};

class SlaProcessesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = testing::MigratedDatabase::Start(
        {.database = "sla_processes",
         .schemas = {{kSlaSchema, SlaMigrations()}},
         .pool = {.size = 4, .connect_timeout = absl::Seconds(2)}});
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = std::move(*db);
    auto kafka = testing::DevKafka::Start();
    ASSERT_TRUE(kafka.ok()) << kafka.status();
    kafka_ = std::move(*kafka);
    auto producer = kafka::Producer::Create({.bootstrap_servers = kafka_->bootstrap()});
    ASSERT_TRUE(producer.ok()) << producer.status();
    producer_ = std::move(*producer);

    auto watcher = kafka::Consumer::Create({.bootstrap_servers = kafka_->bootstrap(),
                                            .group_id = "sla-events-watcher",
                                            .topics = {"sundesk.sla.events.v1"},
                                            .fetch_wait_max = testing::DevKafka::kFetchWaitMax},
                                           [this](const kafka::Message& m) {
                                             auto e = kafka::ParseEvent(m);
                                             if (e.ok()) log_.Add(*e);
                                             return absl::OkStatus();
                                           });
    ASSERT_TRUE(watcher.ok()) << watcher.status();
    watcher_ = std::move(*watcher);
    watcher_thread_ = std::thread([this] { (void)watcher_->Run(); });
  }

  void TearDown() override {
    servers_.clear();  // SIGTERM before their dependencies go
    if (watcher_ != nullptr) {
      watcher_->Stop();
      watcher_thread_.join();
    }
  }

  // Every ticket of kTenant gets these targets on a 24x7 calendar, warnings at 50 %.
  void AddPolicy(absl::Duration first_response, absl::Duration resolution) {
    PgSettingsStore store(*db_->pool);
    SlaSettings settings(store, clock_, ids_, page_tokens_);
    auto cal = settings.CreateCalendar(
        "", Calendar{.tenant_id = kTenant, .display_name = "24x7", .spec = {.always_open = true}});
    ASSERT_TRUE(cal.ok()) << cal.status();
    auto policy = settings.CreatePolicy("", Policy{.tenant_id = kTenant,
                                                   .display_name = "all",
                                                   .first_response = first_response,
                                                   .resolution = resolution,
                                                   .calendar_id = cal->calendar_id,
                                                   .warn_at_percent = 50});
    ASSERT_TRUE(policy.ok()) << policy.status();
  }

  // Starts an sla-server (or restarts replica `index` on its ports).
  void StartServer(size_t index) {
    if (servers_.size() <= index) servers_.resize(index + 1);
    if (ports_.size() <= index) ports_.push_back({testing::FreePort(), testing::FreePort()});
    if (log_dir_ == nullptr) log_dir_ = std::make_unique<testing::TempDir>();
    auto p = testing::Subprocess::Start(
        {.argv = {testing::BinDir() + "/sla-server"},
         .env = {{"SUNDESK_GRPC_ADDR", absl::StrCat("127.0.0.1:", ports_[index].first)},
                 {"SUNDESK_METRICS_ADDR", absl::StrCat("127.0.0.1:", ports_[index].second)},
                 {"SUNDESK_PG_DSN", db_->dsn},
                 {"SUNDESK_PG_POOL_SIZE", "4"},
                 {"SUNDESK_KAFKA_BOOTSTRAP", kafka_->bootstrap()},
                 {"SUNDESK_KAFKA_FETCH_WAIT", testing::DevKafka::FetchWaitFlag()},
                 // devkafka holds a member that joins while a rebalance is pending for the
                 // session timeout (tools/devkafka/README.md): keep that wait short.
                 {"SUNDESK_KAFKA_SESSION_TIMEOUT", "6s"},
                 {"SUNDESK_ADMIN_KEY", kAdminKey},
                 // Nothing listens there: only keys the ticket service issued would need it.
                 {"SUNDESK_TICKET_ADDR", absl::StrCat("127.0.0.1:", testing::FreePort())},
                 {"SUNDESK_TIMER_INTERVAL", "100ms"},
                 {"SUNDESK_DRAIN_TIMEOUT", "2s"}},
         .log_path = absl::StrCat(log_dir_->path(), "/sla-", index, "-", ++starts_, ".log")});
    ASSERT_TRUE(p.ok()) << p.status();
    servers_[index] = std::move(*p);
    const int port = ports_[index].first;
    ASSERT_TRUE(WaitFor([&] { return testing::PortAccepts(port); }, absl::Seconds(30)))
        << servers_[index]->Log();
  }

  events::v1::Event Created(const std::string& ticket_id, absl::Time t) {
    events::v1::Event e;
    e.set_event_id(ids_.NewId());
    e.set_type("TicketCreated");
    e.set_source("sundesk/ticket");
    e.set_tenant_id(kTenant);
    e.set_subject(ticket_id);
    e.set_sequence(1);
    e.mutable_time()->set_seconds(absl::ToUnixSeconds(t));
    e.mutable_time()->set_nanos(static_cast<int32_t>(
        (t - absl::FromUnixSeconds(absl::ToUnixSeconds(t))) / absl::Nanoseconds(1)));
    auto* ticket = e.mutable_ticket_created()->mutable_ticket();
    ticket->set_ticket_id(ticket_id);
    ticket->set_tenant_id(kTenant);
    ticket->set_priority(common::v1::PRIORITY_HIGH);
    ticket->set_status(ticket::v1::TICKET_STATUS_NEW);
    return e;
  }

  void Produce(const events::v1::Event& e) {
    ASSERT_TRUE(kafka::ProduceEvent(*producer_, "sundesk.ticket.events.v1", e, nullptr).ok());
  }

  int64_t Count(const std::string& sql) {
    auto lease = db_->pool->Acquire();
    if (!lease.ok()) return -1;
    auto r = (*lease)->Execute(sql);
    return r.ok() ? *r->Int64(0, 0) : -1;
  }

  // Replica `index` holds ticket-event partitions: its last rebalance ended in an assignment.
  bool HoldsPartitions(size_t index) {
    const std::string log = servers_[index]->Log();
    const size_t assigned = log.rfind("kafka partitions assigned group=sundesk-sla");
    const size_t revoked = log.rfind("kafka partitions revoked group=sundesk-sla");
    return assigned != std::string::npos && (revoked == std::string::npos || revoked < assigned);
  }

  // Produces one ticket and waits until sla stored it: the replicas consume by then.
  void WaitUntilConsuming() {
    const int64_t before = Count("SELECT count(*) FROM sla.ticket_slas");
    Produce(Created(ids_.NewId(), clock_.Now()));
    ASSERT_TRUE(producer_->Flush(absl::Seconds(10)).ok());
    // Joining the group takes devkafka ~3 s per member, and a second member rebalances.
    ASSERT_TRUE(WaitFor([&] { return Count("SELECT count(*) FROM sla.ticket_slas") > before; },
                        absl::Seconds(60)))
        << "sla-server logs:\n"
        << (servers_.size() > 0 ? servers_[0]->Log() : "")
        << (servers_.size() > 1 ? servers_[1]->Log() : "");
  }

  // `n` tickets created at `t`; returns their ids.
  std::vector<std::string> CreateTickets(int n, absl::Time t) {
    std::vector<std::string> ids;
    for (int i = 0; i < n; ++i) {
      ids.push_back(ids_.NewId());
      Produce(Created(ids.back(), t));
    }
    EXPECT_TRUE(producer_->Flush(absl::Seconds(10)).ok());
    return ids;
  }

  SystemClock clock_;
  UuidV7Generator ids_{clock_};
  api::PageTokenSigner page_tokens_{"sla-test-page-tokens"};
  std::unique_ptr<testing::MigratedDatabase> db_;
  std::unique_ptr<testing::DevKafka> kafka_;
  std::unique_ptr<kafka::Producer> producer_;
  std::unique_ptr<kafka::Consumer> watcher_;
  std::thread watcher_thread_;
  SlaEventLog log_;
  std::unique_ptr<testing::TempDir> log_dir_;
  std::vector<std::pair<int, int>> ports_;
  std::vector<std::unique_ptr<testing::Subprocess>> servers_;
  int starts_ = 0;
};

// Two sla-server processes in one consumer group, both sweeping timers: every warning and
// breach reaches Kafka once, at its exact due instant.
TEST_F(SlaProcessesTest, TwoReplicasEmitEachWarningAndBreachOnce) {
  AddPolicy(absl::Seconds(4), absl::Seconds(8));
  StartServer(0);
  StartServer(1);
  // Both replicas consume before the tickets arrive, so a rebalance cannot hold them back.
  ASSERT_TRUE(WaitFor([&] { return HoldsPartitions(0) && HoldsPartitions(1); }, absl::Seconds(60)))
      << servers_[0]->Log() << servers_[1]->Log();
  WaitUntilConsuming();
  const absl::Time t0 = absl::FromUnixMicros(absl::ToUnixMicros(clock_.Now()));
  constexpr int kTickets = 40;
  const std::vector<std::string> tickets = CreateTickets(kTickets, t0);
  // The warm-up ticket's facts count too.
  ASSERT_TRUE(
      WaitFor([&] { return log_.Facts("SlaBreached") >= 2 * (kTickets + 1); }, absl::Seconds(45)))
      << "breaches seen: " << log_.Facts("SlaBreached") << "\n"
      << servers_[0]->Log() << servers_[1]->Log();
  // Anything still in flight would have arrived by the time the outbox is drained.
  ASSERT_TRUE(WaitFor(
      [&] { return Count("SELECT count(*) FROM sla.outbox WHERE published_at IS NULL") == 0; },
      absl::Seconds(20)));
  EXPECT_EQ(log_.Facts("SlaBreached"), 2 * (kTickets + 1));
  EXPECT_EQ(log_.Facts("SlaWarning"), 2 * (kTickets + 1));
  EXPECT_EQ(log_.FactsWithSeveralIds(), 0);
  EXPECT_EQ(log_.RepeatedRecords(), 0);
  EXPECT_EQ(Count("SELECT count(*) FROM sla.outbox WHERE event_type IN ('SlaBreached', "
                  "'SlaWarning')"),
            4 * (kTickets + 1));
  for (const std::string& id : tickets) {
    EXPECT_EQ(log_.Due(id, "SlaBreached", v1::SLA_METRIC_FIRST_RESPONSE), t0 + absl::Seconds(4));
    EXPECT_EQ(log_.Due(id, "SlaBreached", v1::SLA_METRIC_RESOLUTION), t0 + absl::Seconds(8));
    EXPECT_EQ(log_.Due(id, "SlaWarning", v1::SLA_METRIC_RESOLUTION), t0 + absl::Seconds(4));
  }
}

// The only replica is SIGKILLed after the first-response breaches and before the resolution
// warnings and breaches fall due; restarted after they passed, it fires each of them once.
TEST_F(SlaProcessesTest, SigkilledReplicaMissesNothingAndRepeatsNothing) {
  // Resolution warnings at t0 + 7 s, breaches at t0 + 14 s: the kill falls after the first
  // response breaches (t0 + 2 s) and before the warnings.
  AddPolicy(absl::Seconds(2), absl::Seconds(14));
  StartServer(0);
  WaitUntilConsuming();
  const absl::Time t0 = absl::FromUnixMicros(absl::ToUnixMicros(clock_.Now()));
  constexpr int kTickets = 40;
  const std::vector<std::string> tickets = CreateTickets(kTickets, t0);
  const std::string first_response_breaches =
      "SELECT count(*) FROM sla.clocks WHERE metric = 1 AND breached";
  ASSERT_TRUE(
      WaitFor([&] { return Count(first_response_breaches) >= kTickets + 1; }, absl::Seconds(30)))
      << servers_[0]->Log();
  servers_[0]->Signal(SIGKILL);
  ASSERT_TRUE(servers_[0]->Wait(absl::Seconds(10)).ok());
  const absl::Time killed = clock_.Now();
  // The resolution warnings (t0 + 7 s) and breaches (t0 + 14 s) fall while it is down.
  ASSERT_LT(killed, t0 + absl::Seconds(7)) << "too slow to kill before the warnings were due";
  EXPECT_EQ(Count("SELECT count(*) FROM sla.clocks WHERE metric = 4 AND (warned OR breached) "
                  "AND ticket_id IN (SELECT ticket_id FROM sla.ticket_slas WHERE create_time = "
                  "'" +
                  absl::FormatTime(absl::RFC3339_full, t0, absl::UTCTimeZone()) + "')"),
            0);
  ASSERT_TRUE(WaitFor([&] { return clock_.Now() > t0 + absl::Seconds(15); }, absl::Seconds(30)));
  StartServer(0);
  ASSERT_TRUE(
      WaitFor([&] { return log_.Facts("SlaBreached") >= 2 * (kTickets + 1); }, absl::Seconds(30)))
      << "breaches seen: " << log_.Facts("SlaBreached") << "\n"
      << servers_[0]->Log();
  ASSERT_TRUE(WaitFor(
      [&] { return Count("SELECT count(*) FROM sla.outbox WHERE published_at IS NULL") == 0; },
      absl::Seconds(20)));
  EXPECT_EQ(log_.Facts("SlaBreached"), 2 * (kTickets + 1));
  EXPECT_EQ(log_.Facts("SlaWarning"), 2 * (kTickets + 1));
  EXPECT_EQ(log_.FactsWithSeveralIds(), 0);
  EXPECT_EQ(Count("SELECT count(*) FROM (SELECT event_id FROM sla.outbox GROUP BY event_id "
                  "HAVING count(*) > 1) d"),
            0);
  for (const std::string& id : tickets) {
    // Fired late, but carrying their own due instants.
    EXPECT_EQ(log_.Due(id, "SlaWarning", v1::SLA_METRIC_RESOLUTION), t0 + absl::Seconds(7));
    EXPECT_EQ(log_.Due(id, "SlaBreached", v1::SLA_METRIC_RESOLUTION), t0 + absl::Seconds(14));
  }
  // Relay retries after the kill may repeat a record; consumers de-duplicate by id.
  std::printf("records repeated after the SIGKILL: %d\n", log_.RepeatedRecords());
}

}  // namespace
}  // namespace sundesk::sla
