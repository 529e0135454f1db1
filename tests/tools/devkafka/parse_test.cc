#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tools/devkafka/cluster.h"

namespace sundesk::devkafka {
namespace {

using ::testing::HasSubstr;

TEST(StandardTopicsTest, AreTheFourEventTopics) {
  std::vector<std::string> names;
  for (const auto& t : StandardTopics(6)) {
    names.push_back(t.name);
    EXPECT_EQ(t.partitions, 6);
  }
  EXPECT_THAT(names,
              ::testing::ElementsAre("sundesk.ticket.events.v1", "sundesk.routing.events.v1",
                                     "sundesk.sla.events.v1", "sundesk.notification.dlq.v1"));
}

TEST(ParseTopicSpecTest, NameAloneGetsDefaultPartitions) {
  auto t = ParseTopicSpec("orders", 6);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->name, "orders");
  EXPECT_EQ(t->partitions, 6);
}

TEST(ParseTopicSpecTest, NameWithPartitions) {
  auto t = ParseTopicSpec("sundesk.test_x-1:3", 6);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->name, "sundesk.test_x-1");
  EXPECT_EQ(t->partitions, 3);
}

TEST(ParseTopicSpecTest, RejectsBadNamesAndCounts) {
  for (const char* bad : {"", ":3", "a b", "a/b", "..", "t:0", "t:x", "t:-1", "t:1001"}) {
    EXPECT_FALSE(ParseTopicSpec(bad, 6).ok()) << bad;
  }
  EXPECT_FALSE(ParseTopicSpec(std::string(250, 'a'), 6).ok());
}

TEST(ParseKafkaErrorTest, ByNameAnyCaseWithOrWithoutPrefix) {
  EXPECT_EQ(*ParseKafkaError("NOT_LEADER_FOR_PARTITION"),
            RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION);
  EXPECT_EQ(*ParseKafkaError("not_leader_or_follower"), RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION);
  EXPECT_EQ(*ParseKafkaError("request_timed_out"), RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT);
  EXPECT_EQ(*ParseKafkaError("RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS"),
            RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS);
}

TEST(ParseKafkaErrorTest, ByCode) {
  EXPECT_EQ(*ParseKafkaError("7"), RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT);
}

TEST(ParseKafkaErrorTest, RejectsUnknownInternalAndNonPositive) {
  EXPECT_THAT(ParseKafkaError("NO_SUCH_ERROR").status().message(),
              HasSubstr("unknown Kafka error"));
  EXPECT_FALSE(ParseKafkaError("_MSG_TIMED_OUT").ok());  // client-side, never sent by a broker
  EXPECT_FALSE(ParseKafkaError("0").ok());
  EXPECT_FALSE(ParseKafkaError("-1").ok());
}

}  // namespace
}  // namespace sundesk::devkafka
