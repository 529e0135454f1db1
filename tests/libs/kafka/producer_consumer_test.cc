// Producer and Consumer against a real devkafka process.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <map>
#include <set>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "libs/kafka/consumer.h"
#include "libs/kafka/envelope.h"
#include "libs/kafka/producer.h"
#include "tests/libs/kafka/topic_reader.h"
#include "tests/support/devkafka_server.h"
#include "tests/support/process.h"

namespace sundesk::kafka {
namespace {

using ::sundesk::testing::DevKafka;
using ::sundesk::testing::WaitFor;

// Runs a consumer on its own thread; Stop() (or the destructor) stops and joins it.
class RunningConsumer {
 public:
  RunningConsumer(ConsumerOptions options, MessageHandler handler)
      : RunningConsumer(Consumer::Create(std::move(options), std::move(handler))) {}
  explicit RunningConsumer(absl::StatusOr<std::unique_ptr<Consumer>> c) {
    EXPECT_TRUE(c.ok()) << c.status();
    if (!c.ok()) return;
    consumer_ = std::move(*c);
    thread_ = std::thread([this] { EXPECT_TRUE(consumer_->Run().ok()); });
  }
  ~RunningConsumer() { Stop(); }
  void Stop() {
    if (!thread_.joinable()) return;
    consumer_->Stop();
    thread_.join();
  }
  bool Ready() const { return consumer_ != nullptr && consumer_->Ready(); }

 private:
  std::unique_ptr<Consumer> consumer_;
  std::thread thread_;
};

// Messages seen by a handler, safe to read from the test thread.
class Seen {
 public:
  void Add(const Message& m) {
    absl::MutexLock lock(&mu_);
    messages_.push_back(m);
  }
  std::vector<Message> All() const {
    absl::MutexLock lock(&mu_);
    return messages_;
  }
  size_t Count() const {
    absl::MutexLock lock(&mu_);
    return messages_.size();
  }
  bool WaitForCount(size_t n, absl::Duration timeout = absl::Seconds(20)) const {
    return WaitFor([&] { return Count() >= n; }, timeout);
  }

 private:
  mutable absl::Mutex mu_;
  std::vector<Message> messages_;
};

class KafkaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto kafka = DevKafka::Start();
    ASSERT_TRUE(kafka.ok()) << kafka.status();
    kafka_ = std::move(*kafka);
  }

  void CreateTopic(const std::string& name, int partitions) {
    ASSERT_TRUE(kafka_->ControlOk(absl::StrCat("topic-create ", name, " ", partitions)).ok());
  }

  std::unique_ptr<Producer> NewProducer() {
    ProducerOptions o;
    o.bootstrap_servers = kafka_->bootstrap();
    o.client_id = "test-producer";
    // librdkafka backs off reconnects up to 10 s by default; outages here last moments.
    o.properties["reconnect.backoff.max.ms"] = "200";
    auto p = Producer::Create(o);
    EXPECT_TRUE(p.ok()) << p.status();
    return p.ok() ? std::move(*p) : nullptr;
  }

  ConsumerOptions Consuming(const std::string& group, const std::string& topic) {
    ConsumerOptions o;
    o.bootstrap_servers = kafka_->bootstrap();
    o.group_id = group;
    o.topics = {topic};
    o.client_id = "test-consumer";
    o.fetch_wait_max = DevKafka::kFetchWaitMax;
    o.retry_backoff_initial = absl::Milliseconds(20);
    o.retry_backoff_max = absl::Milliseconds(100);
    // The mock waits (session timeout - 1 s) for members to rejoin after one left.
    o.properties = {{"session.timeout.ms", "4000"}, {"heartbeat.interval.ms", "500"}};
    return o;
  }

  std::unique_ptr<DevKafka> kafka_;
};

// Delivery reports, safe to read from the test thread.
class Deliveries {
 public:
  DeliveryCallback Callback() {
    return [this](const Delivery& d) {
      absl::MutexLock lock(&mu_);
      all_.push_back(d);
    };
  }
  std::vector<Delivery> All() const {
    absl::MutexLock lock(&mu_);
    return all_;
  }
  size_t Count() const {
    absl::MutexLock lock(&mu_);
    return all_.size();
  }

 private:
  mutable absl::Mutex mu_;
  std::vector<Delivery> all_;
};

TEST_F(KafkaTest, RoundTripKeepsKeyValueHeadersAndPlace) {
  CreateTopic("roundtrip", 3);
  auto producer = NewProducer();
  ASSERT_NE(producer, nullptr);
  Deliveries deliveries;
  const std::string binary("a\0b\xff", 4);
  Headers headers = {{"trace", "t-1"}, {"bin", binary}, {"empty", ""}, {"trace", "t-2"}};
  ASSERT_TRUE(
      producer->Produce("roundtrip", "ticket-1", binary, headers, deliveries.Callback()).ok());
  ASSERT_TRUE(producer->Produce("roundtrip", "ticket-2", "second", {}, deliveries.Callback()).ok());
  SystemClock clock;
  UuidV7Generator ids(clock);
  events::v1::TicketCreated payload;
  payload.mutable_ticket()->set_ticket_id("ticket-3");
  auto event = NewEvent(
      ids, clock,
      {.source = "sundesk/ticket", .tenant_id = "acme", .subject = "ticket-3", .sequence = 1},
      payload);
  ASSERT_TRUE(event.ok());
  ASSERT_TRUE(ProduceEvent(*producer, "roundtrip", *event, deliveries.Callback()).ok());
  ASSERT_TRUE(producer->Flush(absl::Seconds(10)).ok());
  ASSERT_EQ(deliveries.Count(), 3u);
  std::set<std::pair<int32_t, int64_t>> placed;
  for (const Delivery& d : deliveries.All()) {
    EXPECT_TRUE(d.status.ok()) << d.status;
    EXPECT_EQ(d.topic, "roundtrip");
    placed.insert({d.partition, d.offset});
  }
  ASSERT_EQ(placed.size(), 3u);

  Seen seen;
  RunningConsumer consumer(Consuming("roundtrip-group", "roundtrip"), [&](const Message& m) {
    seen.Add(m);
    return absl::OkStatus();
  });
  ASSERT_TRUE(seen.WaitForCount(3));
  EXPECT_TRUE(consumer.Ready());
  std::map<std::string, Message> by_key;
  for (const Message& m : seen.All()) {
    by_key[m.key] = m;
    EXPECT_TRUE(placed.contains({m.partition, m.offset})) << m.key;
    EXPECT_EQ(m.topic, "roundtrip");
    EXPECT_NE(m.timestamp, absl::InfinitePast());
  }
  EXPECT_EQ(by_key["ticket-1"].value, binary);
  EXPECT_EQ(by_key["ticket-1"].headers, headers);
  EXPECT_EQ(by_key["ticket-2"].value, "second");
  EXPECT_TRUE(by_key["ticket-2"].headers.empty());
  auto received = ParseEvent(by_key["ticket-3"]);
  ASSERT_TRUE(received.ok()) << received.status();
  EXPECT_EQ(received->event_id(), event->event_id());
  EXPECT_EQ(received->ticket_created().ticket().ticket_id(), "ticket-3");
  auto ce = ParseEventHeaders(by_key["ticket-3"].headers);
  ASSERT_TRUE(ce.ok()) << ce.status();
  EXPECT_EQ(ce->type, "TicketCreated");
  consumer.Stop();
  EXPECT_FALSE(consumer.Ready());
}

// Two groups read the same topic side by side (each join costs devkafka 3 s): "retried"
// succeeds on the third call, "abandoned" is stopped while its handler still fails.
TEST_F(KafkaTest, OffsetIsCommittedOnlyAfterTheHandlerSucceeds) {
  CreateTopic("alo", 1);
  auto producer = NewProducer();
  ASSERT_NE(producer, nullptr);
  ASSERT_TRUE(producer->Produce("alo", "ticket-1", "first", {}, nullptr).ok());
  ASSERT_TRUE(producer->Flush(absl::Seconds(10)).ok());

  Seen retried;
  std::atomic<int> abandoned_calls{0};
  {
    std::atomic<int> calls{0};
    RunningConsumer a(Consuming("retried", "alo"), [&](const Message& m) {
      retried.Add(m);
      return ++calls <= 2 ? absl::UnavailableError("flaky database") : absl::OkStatus();
    });
    RunningConsumer b(Consuming("abandoned", "alo"), [&](const Message&) {
      ++abandoned_calls;
      return absl::UnavailableError("database down");
    });
    ASSERT_TRUE(retried.WaitForCount(3));
    ASSERT_TRUE(WaitFor([&] { return abandoned_calls >= 2; }, absl::Seconds(20)));
  }
  // The same message three times: two failures, then success.
  ASSERT_EQ(retried.Count(), 3u);
  for (const Message& m : retried.All()) {
    EXPECT_EQ(m.value, "first");
    EXPECT_EQ(m.offset, 0);
  }

  // Restarted members: "retried" committed after success and starts after it; the second
  // message has the same key, so it sits in the same partition, after the first.
  // "abandoned" committed nothing and sees the first message again.
  ASSERT_TRUE(producer->Produce("alo", "ticket-1", "second", {}, nullptr).ok());
  ASSERT_TRUE(producer->Flush(absl::Seconds(10)).ok());
  Seen retried_again;
  Seen abandoned_again;
  RunningConsumer a(Consuming("retried", "alo"), [&](const Message& m) {
    retried_again.Add(m);
    return absl::OkStatus();
  });
  RunningConsumer b(Consuming("abandoned", "alo"), [&](const Message& m) {
    abandoned_again.Add(m);
    return absl::OkStatus();
  });
  ASSERT_TRUE(retried_again.WaitForCount(1));
  ASSERT_TRUE(abandoned_again.WaitForCount(2));
  EXPECT_EQ(retried_again.All().front().value, "second");
  EXPECT_EQ(abandoned_again.All()[0].value, "first");
  EXPECT_EQ(abandoned_again.All()[1].value, "second");
}

TEST_F(KafkaTest, BatchedConsumerHandsOverWhatIsFetchedAndCommitsAfterEachBatch) {
  CreateTopic("batched", 2);
  auto producer = NewProducer();
  ASSERT_NE(producer, nullptr);
  for (int i = 0; i < 200; ++i) {
    ASSERT_TRUE(
        producer->Produce("batched", absl::StrCat("ticket-", i % 7), absl::StrCat(i), {}, nullptr)
            .ok());
  }
  ASSERT_TRUE(producer->Flush(absl::Seconds(10)).ok());

  absl::Mutex mu;
  std::vector<size_t> sizes;
  std::set<std::pair<int32_t, int64_t>> handled;
  bool failed_once = false;
  auto handler = [&](absl::Span<const Message> batch) -> absl::Status {
    absl::MutexLock lock(&mu);
    sizes.push_back(batch.size());
    if (!failed_once) {  // the first batch fails once and must come back whole
      failed_once = true;
      return absl::UnavailableError("flaky database");
    }
    for (const Message& m : batch) handled.insert({m.partition, m.offset});
    return absl::OkStatus();
  };
  {
    RunningConsumer c(Consumer::CreateBatched(Consuming("batches", "batched"), handler, 50));
    ASSERT_TRUE(WaitFor(
        [&] {
          absl::MutexLock lock(&mu);
          return handled.size() == 200;
        },
        absl::Seconds(30)));
  }
  absl::MutexLock lock(&mu);
  ASSERT_GE(sizes.size(), 2u);
  EXPECT_EQ(sizes[0], sizes[1]) << "the failed batch was retried as it was";
  EXPECT_LE(*std::max_element(sizes.begin(), sizes.end()), 50u);
  EXPECT_GT(*std::max_element(sizes.begin(), sizes.end()), 1u)
      << "a backlog is handed over in batches, not one by one";

  // A restarted member of the group starts after what the batches committed.
  ASSERT_TRUE(producer->Produce("batched", "ticket-0", "after", {}, nullptr).ok());
  ASSERT_TRUE(producer->Flush(absl::Seconds(10)).ok());
  Seen again;
  RunningConsumer c(Consuming("batches", "batched"), [&](const Message& m) {
    again.Add(m);
    return absl::OkStatus();
  });
  ASSERT_TRUE(again.WaitForCount(1));
  EXPECT_EQ(again.All().front().value, "after");
}

// devkafka keeps only the last 5 MB of a partition. A member whose committed offset fell off
// the log is moved to the oldest record left; the records in between are lost to it, and
// that is counted and logged, not silent.
TEST_F(KafkaTest, AnOffsetDeletedUnderRetentionIsCountedAsSkippedRecords) {
  CreateTopic("retained", 1);
  auto producer = NewProducer();
  ASSERT_NE(producer, nullptr);
  ASSERT_TRUE(producer->Produce("retained", "k", "first", {}, nullptr).ok());
  ASSERT_TRUE(producer->Flush(absl::Seconds(10)).ok());
  {
    Seen seen;
    RunningConsumer a(Consuming("behind", "retained"), [&](const Message& m) {
      seen.Add(m);
      return absl::OkStatus();
    });
    ASSERT_TRUE(seen.WaitForCount(1));
  }  // stopped: offset 1 committed

  // 8 MB while the member is away: the oldest message sets, offset 1 among them, are deleted.
  const std::string value(64 * 1024, 'x');
  for (int i = 0; i < 128; ++i) {
    ASSERT_TRUE(producer->Produce("retained", "k", value, {}, nullptr).ok());
  }
  ASSERT_TRUE(producer->Flush(absl::Seconds(30)).ok());

  const int64_t resets_before = SkippingOffsetResets();
  Seen seen;
  RunningConsumer b(Consuming("behind", "retained"), [&](const Message& m) {
    seen.Add(m);
    return absl::OkStatus();
  });
  ASSERT_TRUE(seen.WaitForCount(1));
  EXPECT_TRUE(WaitFor([&] { return SkippingOffsetResets() > resets_before; }, absl::Seconds(10)));
  EXPECT_GT(seen.All().front().offset, 1);
}

TEST_F(KafkaTest, IdempotentProducerSurvivesInjectedErrorsWithoutDuplicatesInOrder) {
  CreateTopic("idem", 3);
  auto producer = NewProducer();
  ASSERT_NE(producer, nullptr);
  ASSERT_TRUE(kafka_->ControlOk("produce-errors 3 NOT_LEADER_FOR_PARTITION").ok());
  ASSERT_TRUE(kafka_->ControlOk("produce-errors 3 REQUEST_TIMED_OUT").ok());
  constexpr int kKeys = 4;
  constexpr int kPerKey = 50;
  Deliveries deliveries;
  for (int i = 0; i < kPerKey; ++i) {
    for (int k = 0; k < kKeys; ++k) {
      ASSERT_TRUE(producer
                      ->Produce("idem", absl::StrCat("ticket-", k), absl::StrCat(i), {},
                                deliveries.Callback())
                      .ok());
    }
  }
  ASSERT_TRUE(producer->Flush(absl::Seconds(30)).ok());
  ASSERT_EQ(deliveries.Count(), size_t{kKeys * kPerKey});
  for (const Delivery& d : deliveries.All()) ASSERT_TRUE(d.status.ok()) << d.status;

  TopicReader reader(kafka_->bootstrap(), "idem", 3);
  const std::vector<Message>& read = reader.ReadUntil(kKeys * kPerKey);
  ASSERT_EQ(read.size(), size_t{kKeys * kPerKey});
  EXPECT_EQ(reader.LogSize(), kKeys * kPerKey);  // nothing more than was read: no duplicates
  std::map<std::string, std::vector<int>> per_key;
  for (const Message& m : read) {
    int v = -1;
    ASSERT_TRUE(absl::SimpleAtoi(m.value, &v));
    per_key[m.key].push_back(v);
  }
  std::vector<int> expected(kPerKey);
  for (int i = 0; i < kPerKey; ++i) expected[i] = i;
  for (const auto& [key, values] : per_key) EXPECT_EQ(values, expected) << key;
}

TEST_F(KafkaTest, ProducerHoldsMessagesWhileBrokersAreDownThenDeliversAll) {
  CreateTopic("outage", 3);
  auto producer = NewProducer();
  ASSERT_NE(producer, nullptr);
  // Connect first, so the outage hits a live producer.
  ASSERT_TRUE(producer->Produce("outage", "warm-up", "x", {}, nullptr).ok());
  ASSERT_TRUE(producer->Flush(absl::Seconds(10)).ok());

  EXPECT_TRUE(producer->Ping(absl::Seconds(5)).ok());
  for (int id = 1; id <= 3; ++id)
    ASSERT_TRUE(kafka_->ControlOk(absl::StrCat("broker-down ", id)).ok());
  EXPECT_EQ(producer->Ping(absl::Milliseconds(300)).code(), absl::StatusCode::kUnavailable);
  Deliveries deliveries;
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(
        producer->Produce("outage", absl::StrCat("ticket-", i), "v", {}, deliveries.Callback())
            .ok());
  }
  EXPECT_FALSE(producer->Flush(absl::Milliseconds(300)).ok());
  EXPECT_EQ(deliveries.Count(), 0u);
  for (int id = 1; id <= 3; ++id)
    ASSERT_TRUE(kafka_->ControlOk(absl::StrCat("broker-up ", id)).ok());
  ASSERT_TRUE(producer->Flush(absl::Seconds(20)).ok());
  ASSERT_EQ(deliveries.Count(), 10u);
  for (const Delivery& d : deliveries.All()) EXPECT_TRUE(d.status.ok()) << d.status;
  EXPECT_EQ(TopicReader(kafka_->bootstrap(), "outage", 3).LogSize(), 11);
}

}  // namespace
}  // namespace sundesk::kafka
