// Options that would break the delivery guarantees are refused before any connection.
#include <gtest/gtest.h>

#include "libs/kafka/consumer.h"
#include "libs/kafka/producer.h"

namespace sundesk::kafka {
namespace {

ProducerOptions Producing() {
  ProducerOptions o;
  o.bootstrap_servers = "127.0.0.1:1";
  return o;
}

ConsumerOptions Consuming(std::string group, std::vector<std::string> topics) {
  ConsumerOptions o;
  o.bootstrap_servers = "127.0.0.1:1";
  o.group_id = std::move(group);
  o.topics = std::move(topics);
  return o;
}

absl::Status Ok(const Message&) { return absl::OkStatus(); }

TEST(ProducerOptionsTest, IdempotenceAndAcksAllCannotBeTurnedOff) {
  for (auto [name, value] : {std::pair{"acks", "1"}, {"enable.idempotence", "false"}}) {
    ProducerOptions o = Producing();
    o.properties[name] = value;
    auto p = Producer::Create(o);
    EXPECT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument) << name;
  }
}

TEST(ProducerOptionsTest, UnknownPropertyNamesIt) {
  ProducerOptions o = Producing();
  o.properties["no.such.property"] = "1";
  auto p = Producer::Create(o);
  ASSERT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(p.status().message().find("no.such.property"), absl::string_view::npos);
}

TEST(ProducerOptionsTest, NeedsBootstrapServers) {
  EXPECT_EQ(Producer::Create({}).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(ConsumerOptionsTest, AtLeastOnceSettingsCannotBeChanged) {
  for (auto [name, value] :
       {std::pair{"enable.auto.offset.store", "true"}, {"enable.auto.commit", "false"}}) {
    ConsumerOptions o = Consuming("g", {"t"});
    o.properties[name] = value;
    auto c = Consumer::Create(o, Ok);
    EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument) << name;
  }
}

TEST(ConsumerOptionsTest, NeedsGroupTopicsAndHandler) {
  EXPECT_FALSE(Consumer::Create(Consuming("", {"t"}), Ok).ok());
  EXPECT_FALSE(Consumer::Create(Consuming("g", {}), Ok).ok());
  EXPECT_FALSE(Consumer::Create(Consuming("g", {"t"}), nullptr).ok());
}

}  // namespace
}  // namespace sundesk::kafka
