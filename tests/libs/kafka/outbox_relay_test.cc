// The outbox relay between a real PostgreSQL and a real devkafka.
#include "libs/kafka/outbox_relay.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <set>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "libs/core/status.h"
#include "libs/kafka/envelope.h"
#include "libs/kafka/outbox.h"
#include "libs/pg/migrations.h"
#include "libs/pg/pool.h"
#include "libs/pg/transaction.h"
#include "prometheus/registry.h"
#include "tests/libs/kafka/topic_reader.h"
#include "tests/support/devkafka_server.h"
#include "tests/support/postgres_server.h"
#include "tests/support/process.h"

namespace sundesk::kafka {
namespace {

using ::sundesk::testing::DevKafka;
using ::sundesk::testing::PostgresServer;
using ::sundesk::testing::WaitFor;

constexpr char kTopic[] = "sundesk.ticket.events.v1";
constexpr int kPartitions = 6;
constexpr char kSchema[] = "ticket";

// Runs a relay on its own thread; Stop() (or the destructor) stops and joins it.
class RunningRelay {
 public:
  RunningRelay(OutboxRelayOptions options, Producer& producer) {
    auto relay = OutboxRelay::Create(std::move(options), producer, registry_);
    EXPECT_TRUE(relay.ok()) << relay.status();
    relay_ = std::move(*relay);
    thread_ = std::thread([this] { EXPECT_TRUE(relay_->Run().ok()); });
  }
  ~RunningRelay() { Stop(); }
  void Stop() {
    if (!thread_.joinable()) return;
    relay_->Stop();
    thread_.join();
  }
  bool active() const { return relay_->active(); }

  double Metric(const std::string& name) const {
    for (const auto& family : registry_.Collect()) {
      if (family.name != name || family.metric.empty()) continue;
      const auto& m = family.metric.front();
      if (family.type == prometheus::MetricType::Gauge) return m.gauge.value;
      if (family.type == prometheus::MetricType::Counter) return m.counter.value;
      if (family.type == prometheus::MetricType::Histogram) {
        return static_cast<double>(m.histogram.sample_count);
      }
    }
    return -1;
  }

 private:
  prometheus::Registry registry_;
  std::unique_ptr<OutboxRelay> relay_;
  std::thread thread_;
};

class OutboxRelayTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto server = PostgresServer::Start();
    ASSERT_TRUE(server.ok()) << server.status();
    postgres_ = server->release();
  }
  static void TearDownTestSuite() {
    delete postgres_;
    postgres_ = nullptr;
  }

  void SetUp() override {
    ASSERT_NE(postgres_, nullptr);
    auto dsn = postgres_->CreateDatabase(
        absl::AsciiStrToLower(::testing::UnitTest::GetInstance()->current_test_info()->name()));
    ASSERT_TRUE(dsn.ok()) << dsn.status();
    dsn_ = *dsn;
    auto pool = pg::Pool::Create({.dsn = dsn_, .size = 4});
    ASSERT_TRUE(pool.ok()) << pool.status();
    pool_ = std::move(*pool);
    ASSERT_TRUE(pg::RunMigrations(*pool_, kSchema, {OutboxMigration(1)}).ok());

    auto kafka = DevKafka::Start();
    ASSERT_TRUE(kafka.ok()) << kafka.status();
    kafka_ = std::move(*kafka);
    producer_ = NewProducer();
  }

  std::unique_ptr<Producer> NewProducer(absl::Duration delivery_timeout = absl::Seconds(30)) {
    ProducerOptions o;
    o.bootstrap_servers = kafka_->bootstrap();
    o.client_id = "outbox-test";
    o.delivery_timeout = delivery_timeout;
    o.properties["reconnect.backoff.max.ms"] = "200";
    auto p = Producer::Create(o);
    EXPECT_TRUE(p.ok()) << p.status();
    return std::move(*p);
  }

  OutboxRelayOptions RelayOptions() {
    OutboxRelayOptions o;
    o.dsn = dsn_;
    o.schema = kSchema;
    o.poll_interval = absl::Milliseconds(200);
    o.retry_backoff_initial = absl::Milliseconds(50);
    o.retry_backoff_max = absl::Milliseconds(500);
    return o;
  }

  // One transaction per call: `count` events of ticket `key`, sequences first..first+count-1.
  absl::Status Enqueue(const std::string& key, int first, int count) {
    return pg::WithTransaction(*pool_, [&](pg::Connection& tx) -> absl::Status {
      for (int seq = first; seq < first + count; ++seq) {
        events::v1::TicketUpdated payload;
        payload.add_changed_fields("priority");
        SUNDESK_ASSIGN_OR_RETURN(
            events::v1::Event e,
            NewEvent(
                ids_, clock_,
                {.source = "sundesk/ticket", .tenant_id = "acme", .subject = key, .sequence = seq},
                payload));
        SUNDESK_RETURN_IF_ERROR(InsertOutboxEvent(tx, kSchema, kTopic, e));
      }
      return absl::OkStatus();
    });
  }

  int64_t Count(const std::string& where) {
    auto conn = pool_->Acquire();
    EXPECT_TRUE(conn.ok());
    auto r = (*conn)->Execute(absl::StrCat("SELECT count(*) FROM ticket.outbox WHERE ", where));
    EXPECT_TRUE(r.ok()) << r.status();
    return *r->Int64(0, 0);
  }

  // key -> sequences in the order they were read, duplicates dropped.
  static std::map<std::string, std::vector<int64_t>> SequencesByKey(
      const std::vector<Message>& messages) {
    std::map<std::string, std::vector<int64_t>> out;
    std::set<std::string> seen_ids;
    for (const Message& m : messages) {
      auto e = ParseEvent(m);
      EXPECT_TRUE(e.ok()) << e.status();
      if (!e.ok() || !seen_ids.insert(e->event_id()).second) continue;
      EXPECT_EQ(m.key, e->subject());
      out[m.key].push_back(e->sequence());
    }
    return out;
  }

  // Reads on until `n` distinct events (by id) were read, or `timeout`; then SequencesByKey.
  static std::map<std::string, std::vector<int64_t>> ReadDistinct(
      TopicReader& reader, size_t n, absl::Duration timeout = absl::Seconds(30)) {
    const absl::Time deadline = absl::Now() + timeout;
    while (true) {
      const std::vector<Message>& read = reader.ReadUntil(0);
      std::set<std::string> ids;
      for (const Message& m : read) {
        auto e = ParseEvent(m);
        if (e.ok()) ids.insert(e->event_id());
      }
      if (ids.size() >= n || absl::Now() >= deadline) return SequencesByKey(read);
      reader.ReadUntil(read.size() + 1, absl::Milliseconds(500));
    }
  }

  void SetBrokers(absl::string_view state) {
    for (int id = 1; id <= 3; ++id) {
      ASSERT_TRUE(kafka_->ControlOk(absl::StrCat("broker-", state, " ", id)).ok());
    }
  }

  static std::vector<int64_t> Range(int64_t first, int64_t count) {
    std::vector<int64_t> v;
    for (int64_t i = first; i < first + count; ++i) v.push_back(i);
    return v;
  }

  static PostgresServer* postgres_;
  std::string dsn_;
  std::unique_ptr<pg::Pool> pool_;
  std::unique_ptr<DevKafka> kafka_;
  std::unique_ptr<Producer> producer_;
  SystemClock clock_;
  UuidV7Generator ids_{clock_};
};

PostgresServer* OutboxRelayTest::postgres_ = nullptr;

TEST_F(OutboxRelayTest, InsertOutsideATransactionIsRefused) {
  auto conn = pool_->Acquire();
  ASSERT_TRUE(conn.ok());
  EventRecord r{kTopic, "tk-1", "payload", {}};
  EXPECT_EQ(InsertOutboxRecord(**conn, kSchema, r).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(Count("true"), 0);
}

TEST_F(OutboxRelayTest, PublishesCommittedRowsInOrderPerKeyAndMarksThemAfterDelivery) {
  ASSERT_TRUE(Enqueue("tk-a", 1, 5).ok());
  ASSERT_TRUE(Enqueue("tk-b", 1, 5).ok());
  ASSERT_TRUE(Enqueue("tk-a", 6, 5).ok());
  // A rolled-back change announces nothing.
  absl::Status rolled_back = pg::WithTransaction(*pool_, [&](pg::Connection& tx) -> absl::Status {
    SUNDESK_RETURN_IF_ERROR(InsertOutboxRecord(tx, kSchema, {kTopic, "tk-ghost", "x", {}}));
    return absl::AbortedError("the change failed");
  });
  ASSERT_EQ(rolled_back.code(), absl::StatusCode::kAborted);

  RunningRelay relay(RelayOptions(), *producer_);
  // Rows committed while the relay runs are woken by NOTIFY.
  ASSERT_TRUE(Enqueue("tk-c", 1, 10).ok());
  TopicReader reader(kafka_->bootstrap(), kTopic, kPartitions);
  const auto& messages = reader.ReadUntil(25);
  ASSERT_EQ(messages.size(), 25u);
  EXPECT_TRUE(relay.active());

  auto by_key = SequencesByKey(messages);
  EXPECT_EQ(by_key["tk-a"], Range(1, 10));
  EXPECT_EQ(by_key["tk-b"], Range(1, 5));
  EXPECT_EQ(by_key["tk-c"], Range(1, 10));
  EXPECT_FALSE(by_key.contains("tk-ghost"));
  auto ce = ParseEventHeaders(messages.front().headers);
  ASSERT_TRUE(ce.ok()) << ce.status();
  EXPECT_EQ(ce->type, "TicketUpdated");

  ASSERT_TRUE(WaitFor([&] { return Count("published_at IS NULL") == 0; }, absl::Seconds(10)));
  EXPECT_EQ(Count("published_at IS NOT NULL"), 25);
  EXPECT_TRUE(WaitFor([&] { return relay.Metric("sundesk_outbox_pending_events") == 0; },
                      absl::Seconds(5)));
  EXPECT_EQ(relay.Metric("sundesk_outbox_publish_delay_seconds"), 25);
  EXPECT_EQ(relay.Metric("sundesk_outbox_publish_failures_total"), 0);
  EXPECT_EQ(reader.LogSize(), 25);
}

TEST_F(OutboxRelayTest, ZeroRetentionDeletesRowsOncePublished) {
  OutboxRelayOptions options = RelayOptions();
  options.retention = absl::ZeroDuration();
  RunningRelay relay(options, *producer_);
  ASSERT_TRUE(Enqueue("tk-a", 1, 3).ok());
  TopicReader reader(kafka_->bootstrap(), kTopic, kPartitions);
  ASSERT_EQ(reader.ReadUntil(3).size(), 3u);
  EXPECT_TRUE(WaitFor([&] { return Count("true") == 0; }, absl::Seconds(10)));
}

TEST_F(OutboxRelayTest, RowsWaitWhileKafkaIsDownThenAllGoOut) {
  // A short delivery timeout, so that the outage fails batches quickly.
  producer_ = NewProducer(absl::Milliseconds(800));
  RunningRelay relay(RelayOptions(), *producer_);
  ASSERT_TRUE(Enqueue("tk-warm", 1, 1).ok());
  TopicReader reader(kafka_->bootstrap(), kTopic, kPartitions);
  ASSERT_EQ(reader.ReadUntil(1).size(), 1u);

  for (int id = 1; id <= 3; ++id)
    ASSERT_TRUE(kafka_->ControlOk(absl::StrCat("broker-down ", id)).ok());
  ASSERT_TRUE(Enqueue("tk-a", 1, 5).ok());
  ASSERT_TRUE(Enqueue("tk-b", 1, 5).ok());
  ASSERT_TRUE(WaitFor([&] { return relay.Metric("sundesk_outbox_publish_failures_total") >= 2; },
                      absl::Seconds(20)));
  // Writes still commit; nothing is marked while Kafka has not acknowledged it.
  ASSERT_TRUE(Enqueue("tk-a", 6, 5).ok());
  EXPECT_EQ(Count("published_at IS NULL"), 15);
  EXPECT_TRUE(WaitFor([&] { return relay.Metric("sundesk_outbox_pending_events") == 15; },
                      absl::Seconds(5)));

  for (int id = 1; id <= 3; ++id)
    ASSERT_TRUE(kafka_->ControlOk(absl::StrCat("broker-up ", id)).ok());
  ASSERT_TRUE(WaitFor([&] { return Count("published_at IS NULL") == 0; }, absl::Seconds(30)));
  auto by_key = SequencesByKey(reader.ReadUntil(16));
  EXPECT_EQ(by_key["tk-a"], Range(1, 10));
  EXPECT_EQ(by_key["tk-b"], Range(1, 5));
}

TEST_F(OutboxRelayTest, InjectedProduceErrorsAreRetriedWithoutLossDuplicatesOrReordering) {
  ASSERT_TRUE(kafka_->ControlOk("produce-errors 4 NOT_LEADER_FOR_PARTITION").ok());
  ASSERT_TRUE(kafka_->ControlOk("produce-errors 2 REQUEST_TIMED_OUT").ok());
  ASSERT_TRUE(Enqueue("tk-a", 1, 20).ok());
  ASSERT_TRUE(Enqueue("tk-b", 1, 20).ok());
  RunningRelay relay(RelayOptions(), *producer_);
  TopicReader reader(kafka_->bootstrap(), kTopic, kPartitions);
  auto by_key = SequencesByKey(reader.ReadUntil(40));
  EXPECT_EQ(by_key["tk-a"], Range(1, 20));
  EXPECT_EQ(by_key["tk-b"], Range(1, 20));
  ASSERT_TRUE(WaitFor([&] { return Count("published_at IS NULL") == 0; }, absl::Seconds(10)));
  EXPECT_EQ(reader.LogSize(), 40);
}

TEST_F(OutboxRelayTest, TwoRelaysOnOneSchemaPublishEachEventOnceAndFailOver) {
  auto other_producer = NewProducer();
  auto first = std::make_unique<RunningRelay>(RelayOptions(), *producer_);
  RunningRelay second(RelayOptions(), *other_producer);
  for (int batch = 0; batch < 5; ++batch) {
    ASSERT_TRUE(Enqueue("tk-a", 1 + batch * 5, 5).ok());
    ASSERT_TRUE(Enqueue("tk-b", 1 + batch * 5, 5).ok());
  }
  TopicReader reader(kafka_->bootstrap(), kTopic, kPartitions);
  ASSERT_EQ(reader.ReadUntil(50).size(), 50u);
  ASSERT_TRUE(WaitFor([&] { return Count("published_at IS NULL") == 0; }, absl::Seconds(10)));
  EXPECT_EQ(reader.LogSize(), 50);
  EXPECT_NE(first->active(), second.active());

  // The active relay goes away; the standby takes over.
  bool first_was_active = first->active();
  RunningRelay* standby = first_was_active ? &second : first.get();
  if (first_was_active) {
    first.reset();
  } else {
    second.Stop();
  }
  ASSERT_TRUE(Enqueue("tk-a", 26, 5).ok());
  auto by_key = SequencesByKey(reader.ReadUntil(55));
  EXPECT_EQ(by_key["tk-a"], Range(1, 30));
  EXPECT_EQ(by_key["tk-b"], Range(1, 25));
  EXPECT_TRUE(standby->active());
  EXPECT_EQ(reader.LogSize(), 55);
}

// A pipeline of many batches: while nothing is acknowledged (brokers down) the relay goes on
// reading and producing batch after batch, up to max_in_flight rows and no more; once
// Kafka is back every row goes out and each key's events arrive in order.
TEST_F(OutboxRelayTest, ManyBatchesInFlightKeepEachKeysOrderAndTheBound) {
  OutboxRelayOptions options = RelayOptions();
  options.batch_size = 5;
  options.max_in_flight = 40;
  RunningRelay relay(options, *producer_);
  ASSERT_TRUE(Enqueue("tk-warm", 1, 1).ok());
  TopicReader reader(kafka_->bootstrap(), kTopic, kPartitions);
  ASSERT_EQ(reader.ReadUntil(1).size(), 1u);
  ASSERT_TRUE(WaitFor([&] { return producer_->InFlight() == 0; }, absl::Seconds(10)));

  SetBrokers("down");
  // 10 keys x 10 events, interleaved: 50 transactions of 2 events each.
  for (int round = 0; round < 5; ++round) {
    for (int k = 0; k < 10; ++k) {
      ASSERT_TRUE(Enqueue(absl::StrCat("tk-", k), 1 + round * 2, 2).ok());
    }
  }
  // Eight batches of five produced without a single report; the other 60 rows wait.
  ASSERT_TRUE(WaitFor([&] { return producer_->InFlight() >= 40; }, absl::Seconds(10)))
      << producer_->InFlight();
  // Exactly the bound (an error event waiting for the producer's poll thread may count for a
  // moment in InFlight, never a 41st row).
  EXPECT_TRUE(WaitFor([&] { return producer_->InFlight() == 40; }, absl::Seconds(5)))
      << producer_->InFlight();
  EXPECT_EQ(Count("published_at IS NULL"), 100);

  SetBrokers("up");
  ASSERT_TRUE(WaitFor([&] { return Count("published_at IS NULL") == 0; }, absl::Seconds(30)));
  auto by_key = ReadDistinct(reader, 101);
  for (int k = 0; k < 10; ++k) {
    EXPECT_EQ(by_key[absl::StrCat("tk-", k)], Range(1, 10)) << "tk-" << k;
  }
  EXPECT_EQ(relay.Metric("sundesk_outbox_publish_failures_total"), 0);
  EXPECT_EQ(reader.LogSize(), 101);  // no failure, so nothing was sent twice
}

// Kafka goes away while a writer keeps committing and the pipeline is full of rows in
// flight: their reports fail, the relay settles, backs off and restarts from the first
// unpublished row. Afterwards no row is lost and no key's events were reordered (some may
// have been published twice).
TEST_F(OutboxRelayTest, AFailureMidPipelineLosesNothingAndReordersNoKey) {
  producer_ = NewProducer(absl::Milliseconds(800));
  OutboxRelayOptions options = RelayOptions();
  options.batch_size = 5;
  options.max_in_flight = 40;
  RunningRelay relay(options, *producer_);
  TopicReader reader(kafka_->bootstrap(), kTopic, kPartitions);

  constexpr int kKeys = 10;
  std::atomic<bool> writing{true};
  std::atomic<int> rounds{0};
  std::thread writer([&] {
    while (writing.load()) {
      const int round = rounds.load();
      for (int k = 0; k < kKeys; ++k) {
        EXPECT_TRUE(Enqueue(absl::StrCat("tk-", k), round + 1, 1).ok());
      }
      rounds = round + 1;
      absl::SleepFor(absl::Milliseconds(5));
    }
  });
  ASSERT_GE(reader.ReadUntil(50).size(), 50u);
  SetBrokers("down");
  ASSERT_TRUE(WaitFor([&] { return relay.Metric("sundesk_outbox_publish_failures_total") >= 1; },
                      absl::Seconds(20)));
  SetBrokers("up");
  const int rounds_before_up = rounds.load();
  ASSERT_TRUE(WaitFor([&] { return rounds.load() >= rounds_before_up + 20; }, absl::Seconds(20)));
  writing = false;
  writer.join();

  const int total = rounds.load() * kKeys;
  ASSERT_TRUE(WaitFor([&] { return Count("published_at IS NULL") == 0; }, absl::Seconds(30)));
  EXPECT_EQ(Count("true"), total);
  auto by_key = ReadDistinct(reader, static_cast<size_t>(total));
  for (int k = 0; k < kKeys; ++k) {
    EXPECT_EQ(by_key[absl::StrCat("tk-", k)], Range(1, rounds.load())) << "tk-" << k;
  }
  EXPECT_GE(reader.LogSize(), total);
}

// Stop() does not wait for the reports in flight (Kafka is down and the producer would wait
// up to its 30 s delivery timeout); nothing unacknowledged is marked, and the standby that
// takes over publishes every row, each key in order.
TEST_F(OutboxRelayTest, StopWithReportsOutstandingReturnsAndTheStandbyPublishesEverything) {
  auto other_producer = NewProducer();
  OutboxRelayOptions options = RelayOptions();
  options.batch_size = 5;
  auto first = std::make_unique<RunningRelay>(options, *producer_);
  ASSERT_TRUE(WaitFor([&] { return first->active(); }, absl::Seconds(10)));
  RunningRelay standby(options, *other_producer);
  ASSERT_TRUE(Enqueue("tk-warm", 1, 1).ok());
  TopicReader reader(kafka_->bootstrap(), kTopic, kPartitions);
  ASSERT_EQ(reader.ReadUntil(1).size(), 1u);

  SetBrokers("down");
  ASSERT_TRUE(Enqueue("tk-a", 1, 10).ok());
  ASSERT_TRUE(Enqueue("tk-b", 1, 10).ok());
  ASSERT_TRUE(WaitFor([&] { return producer_->InFlight() >= 20; }, absl::Seconds(10)));
  std::atomic<bool> stopped{false};
  std::thread stopper([&] {
    first->Stop();
    stopped = true;
  });
  // Well inside the producer's delivery timeout: Stop() did not wait for the reports.
  EXPECT_TRUE(WaitFor([&] { return stopped.load(); }, absl::Seconds(10)));
  stopper.join();
  EXPECT_EQ(Count("published_at IS NULL"), 20);

  SetBrokers("up");
  ASSERT_TRUE(WaitFor([&] { return standby.active(); }, absl::Seconds(10)));
  ASSERT_TRUE(Enqueue("tk-a", 11, 5).ok());
  ASSERT_TRUE(WaitFor([&] { return Count("published_at IS NULL") == 0; }, absl::Seconds(30)));
  auto by_key = ReadDistinct(reader, 26);
  EXPECT_EQ(by_key["tk-a"], Range(1, 15));
  EXPECT_EQ(by_key["tk-b"], Range(1, 10));
  first.reset();  // the stopped relay's producer still holds its rows: they go out now too
}

// A transaction that took its outbox id early but commits after later rows are already in
// flight is not skipped: the relay reads what is unpublished and not in flight, not "ids
// above the last produced".
TEST_F(OutboxRelayTest, ARowCommittedLateWithALowerIdIsPublished) {
  RunningRelay relay(RelayOptions(), *producer_);
  ASSERT_TRUE(Enqueue("tk-warm", 1, 1).ok());
  TopicReader reader(kafka_->bootstrap(), kTopic, kPartitions);
  ASSERT_EQ(reader.ReadUntil(1).size(), 1u);

  auto late = pool_->Acquire();
  ASSERT_TRUE(late.ok());
  ASSERT_TRUE((*late)->Execute("BEGIN").ok());
  ASSERT_TRUE(InsertOutboxRecord(**late, kSchema, {kTopic, "tk-late", "late", {}}).ok());
  SetBrokers("down");
  ASSERT_TRUE(Enqueue("tk-a", 1, 5).ok());
  ASSERT_TRUE(WaitFor([&] { return producer_->InFlight() >= 5; }, absl::Seconds(10)));
  ASSERT_TRUE((*late)->Execute("COMMIT").ok());
  // The late row joins the five in flight.
  EXPECT_TRUE(WaitFor([&] { return producer_->InFlight() >= 6; }, absl::Seconds(10)));
  SetBrokers("up");
  ASSERT_TRUE(WaitFor([&] { return Count("published_at IS NULL") == 0; }, absl::Seconds(30)));
  const auto& messages = reader.ReadUntil(7);
  ASSERT_EQ(messages.size(), 7u);
  EXPECT_EQ(std::count_if(messages.begin(), messages.end(),
                          [](const Message& m) { return m.key == "tk-late"; }),
            1);
}

}  // namespace
}  // namespace sundesk::kafka
