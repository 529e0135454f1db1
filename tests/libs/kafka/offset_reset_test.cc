// Which librdkafka log lines are a consumer skipping records, and counting them.
#include <gtest/gtest.h>

#include "libs/kafka/consumer.h"
#include "libs/kafka/rdkafka_util.h"
#include "prometheus/text_serializer.h"

namespace sundesk::kafka::internal {
namespace {

// As sla-server logged it in sla_bench (librdkafka 2.0, devkafka's log truncated under it).
constexpr char kOutOfRange[] =
    "[thrd:main]: sundesk.ticket.events.v1 [5]: offset reset (at offset 34418, broker 3) to "
    "cached BEGINNING offset 39262: fetch failed due to requested offset not available on the "
    "broker: Broker: Offset out of range";

TEST(SkippingResetTopicTest, AnOutOfRangeResetNamesItsTopic) {
  EXPECT_EQ(SkippingResetTopic(4, "OFFSET", kOutOfRange), "sundesk.ticket.events.v1");
  EXPECT_EQ(SkippingResetTopic(3, "OFFSET", kOutOfRange), "sundesk.ticket.events.v1");
  EXPECT_EQ(SkippingResetTopic(4, "OFFSET",
                               "t [0]: offset reset (at offset 5, broker 1) to BEGINNING: x: y"),
            "t");
}

TEST(SkippingResetTopicTest, DebugResetsAndOtherLinesAreNot) {
  // A group's first start (no committed offset) is logged at debug level and loses nothing.
  EXPECT_EQ(SkippingResetTopic(7, "OFFSET", kOutOfRange), std::nullopt);
  EXPECT_EQ(SkippingResetTopic(4, "FETCH", kOutOfRange), std::nullopt);
  EXPECT_EQ(SkippingResetTopic(4, "OFFSET", "[thrd:main]: t [0]: offset commit failed"),
            std::nullopt);
}

TEST(SkippingResetTopicTest, CountedInTheRegisteredMetricByTopic) {
  auto registry = std::make_shared<prometheus::Registry>();
  RegisterConsumerMetrics(registry);
  const int64_t before = SkippingOffsetResets();
  CountSkippingReset("a");
  CountSkippingReset("a");
  CountSkippingReset("b");
  EXPECT_EQ(SkippingOffsetResets(), before + 3);
  const std::string text = prometheus::TextSerializer().Serialize(registry->Collect());
  EXPECT_NE(text.find("sundesk_kafka_consumer_offset_resets_total{topic=\"a\"} 2"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("sundesk_kafka_consumer_offset_resets_total{topic=\"b\"} 1"),
            std::string::npos)
      << text;
}

TEST(SkippingResetTopicTest, AConsumersTopicsAreSeriesAtZeroFromTheStart) {
  auto registry = std::make_shared<prometheus::Registry>();
  RegisterConsumerMetrics(registry);
  ConsumerOptions o;
  o.bootstrap_servers = "127.0.0.1:1";
  o.group_id = "g";
  o.topics = {"zero.topic"};
  auto consumer = Consumer::Create(o, [](const Message&) { return absl::OkStatus(); });
  ASSERT_TRUE(consumer.ok()) << consumer.status();
  const std::string text = prometheus::TextSerializer().Serialize(registry->Collect());
  EXPECT_NE(text.find("sundesk_kafka_consumer_offset_resets_total{topic=\"zero.topic\"} 0"),
            std::string::npos)
      << text;
  // A registry given later (a service's) gets the topics seen before it.
  auto later = std::make_shared<prometheus::Registry>();
  RegisterConsumerMetrics(later);
  EXPECT_NE(prometheus::TextSerializer().Serialize(later->Collect()).find("zero.topic"),
            std::string::npos);
}

}  // namespace
}  // namespace sundesk::kafka::internal
