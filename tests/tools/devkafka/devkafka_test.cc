// devkafka as the local stack runs it: a separate process, driven over the Kafka protocol
// and its control port.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>
#include <sys/stat.h>

#include <map>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "tests/support/devkafka_server.h"
#include "tests/support/process.h"

namespace sundesk::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

// A plain librdkafka client of devkafka.
class Client {
 public:
  explicit Client(const std::string& bootstrap, std::map<std::string, std::string> extra = {}) {
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    char err[512];
    extra["bootstrap.servers"] = bootstrap;
    extra.emplace("reconnect.backoff.max.ms", "100");
    extra.emplace("log_level", "0");
    for (const auto& [k, v] : extra)
      rd_kafka_conf_set(conf, k.c_str(), v.c_str(), err, sizeof(err));
    rd_kafka_conf_set_dr_msg_cb(conf, [](rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
      static_cast<Client*>(opaque)->reports_.push_back(m->err);
    });
    rd_kafka_conf_set_opaque(conf, this);
    rk_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
  }
  ~Client() { rd_kafka_destroy(rk_); }

  // Topic name -> partition count, or empty when no broker answered in time.
  std::map<std::string, int> Topics(int timeout_ms = 5000) {
    const rd_kafka_metadata_t* md = nullptr;
    std::map<std::string, int> out;
    if (rd_kafka_metadata(rk_, 1, nullptr, &md, timeout_ms) != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return out;
    }
    for (int i = 0; i < md->topic_cnt; ++i) out[md->topics[i].topic] = md->topics[i].partition_cnt;
    brokers_ = md->broker_cnt;
    rd_kafka_metadata_destroy(md);
    return out;
  }

  // Produces one message and waits for its delivery report.
  rd_kafka_resp_err_t ProduceOne(const std::string& topic) {
    size_t before = reports_.size();
    rd_kafka_producev(rk_, RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_VALUE((void*)"v", 1),
                      RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
    while (reports_.size() == before) rd_kafka_poll(rk_, 50);
    return reports_.back();
  }

  int brokers() const { return brokers_; }

 private:
  rd_kafka_t* rk_;
  std::vector<rd_kafka_resp_err_t> reports_;
  int brokers_ = 0;
};

TEST(DevKafkaTest, ServesThreeBrokersAndTheFourTopicsWithSixPartitions) {
  auto kafka = DevKafka::Start();
  ASSERT_TRUE(kafka.ok()) << kafka.status();
  std::vector<std::string> brokers = absl::StrSplit((*kafka)->bootstrap(), ',');
  EXPECT_EQ(brokers.size(), 3u) << (*kafka)->bootstrap();
  Client client((*kafka)->bootstrap());
  auto topics = client.Topics();
  EXPECT_EQ(client.brokers(), 3);
  for (const char* t : {"sundesk.ticket.events.v1", "sundesk.routing.events.v1",
                        "sundesk.sla.events.v1", "sundesk.notification.dlq.v1"}) {
    EXPECT_EQ(topics[t], 6) << t;
  }
  EXPECT_THAT((*kafka)->Log(), HasSubstr("devkafka ready bootstrap=" + (*kafka)->bootstrap()));
}

TEST(DevKafkaTest, CreatesExtraTopicsFromFlags) {
  auto kafka = DevKafka::Start({"--topic=extra.a:2", "--topic", "extra.b"});
  ASSERT_TRUE(kafka.ok()) << kafka.status();
  auto topics = Client((*kafka)->bootstrap()).Topics();
  EXPECT_EQ(topics["extra.a"], 2);
  EXPECT_EQ(topics["extra.b"], 6);
  EXPECT_EQ(topics["sundesk.ticket.events.v1"], 6);
}

TEST(DevKafkaTest, RejectsBadFlagsWithExitCodeOne) {
  TempDir dir;
  ProcessOptions options;
  options.argv = {BinDir() + "/devkafka", "--topic=bad/name"};
  options.log_path = dir.path() + "/log";
  auto p = Subprocess::Start(options);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(*(*p)->Wait(absl::Seconds(10)), 1);
  EXPECT_THAT((*p)->Log(), HasSubstr("topic name"));
}

TEST(DevKafkaTest, ControlProtocolAnswersEveryLine) {
  auto kafka = DevKafka::Start();
  ASSERT_TRUE(kafka.ok()) << kafka.status();
  DevKafka& k = **kafka;
  EXPECT_EQ(*k.Control("ping"), "ok");
  EXPECT_THAT(*k.Control("launch-rockets"), StartsWith("error unknown command"));
  EXPECT_THAT(*k.Control(""), StartsWith("error"));
  EXPECT_THAT(*k.Control("broker-down 4"), StartsWith("error broker id"));
  EXPECT_THAT(*k.Control("broker-down"), StartsWith("error usage"));
  EXPECT_THAT(*k.Control("produce-errors 2 NO_SUCH_ERROR"),
              StartsWith("error unknown Kafka error"));
  EXPECT_THAT(*k.Control("produce-errors 0 REQUEST_TIMED_OUT"), StartsWith("error count"));
  EXPECT_THAT(*k.Control("topic-create bad/name 3"), StartsWith("error topic name"));
  EXPECT_EQ(*k.Control("topic-create made.at.runtime 4"), "ok");
  EXPECT_THAT(*k.Control("topic-create made.at.runtime 4"), HasSubstr("TOPIC_ALREADY_EXISTS"));
  EXPECT_EQ(Client(k.bootstrap()).Topics()["made.at.runtime"], 4);
}

TEST(DevKafkaTest, ProduceErrorsFailTheNextProduceRequests) {
  auto kafka = DevKafka::Start({"--topic=faults:1"});
  ASSERT_TRUE(kafka.ok()) << kafka.status();
  // No retries and no idempotence: each injected error reaches the delivery report.
  Client client((*kafka)->bootstrap(), {{"retries", "0"}, {"enable.idempotence", "false"}});
  ASSERT_EQ(client.ProduceOne("faults"), RD_KAFKA_RESP_ERR_NO_ERROR);
  ASSERT_TRUE((*kafka)->ControlOk("produce-errors 2 NOT_ENOUGH_REPLICAS").ok());
  EXPECT_EQ(client.ProduceOne("faults"), RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS);
  EXPECT_EQ(client.ProduceOne("faults"), RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS);
  EXPECT_EQ(client.ProduceOne("faults"), RD_KAFKA_RESP_ERR_NO_ERROR);
}

TEST(DevKafkaTest, BrokersDownRefuseClientsUntilUp) {
  auto kafka = DevKafka::Start();
  ASSERT_TRUE(kafka.ok()) << kafka.status();
  Client client((*kafka)->bootstrap());
  ASSERT_FALSE(client.Topics().empty());
  for (int id = 1; id <= 3; ++id)
    ASSERT_TRUE((*kafka)->ControlOk(absl::StrCat("broker-down ", id)).ok());
  EXPECT_TRUE(client.Topics(/*timeout_ms=*/500).empty());
  for (int id = 1; id <= 3; ++id)
    ASSERT_TRUE((*kafka)->ControlOk(absl::StrCat("broker-up ", id)).ok());
  EXPECT_TRUE(WaitFor([&] { return !client.Topics(500).empty(); }, absl::Seconds(10)));
}

TEST(DevKafkaTest, AnswersOnStdoutForStdinAndKeepsRunningAfterEndOfInput) {
  TempDir dir;
  std::string bootstrap_file = dir.path() + "/bootstrap";
  std::string control_file = dir.path() + "/control";
  // A writer that sends two lines and exits: devkafka then sees end of input. `exec`
  // makes the process the test stops devkafka itself.
  std::string fifo = dir.path() + "/stdin";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  ProcessOptions options;
  options.argv = {"/bin/sh",
                  "-c",
                  "printf 'ping\\nbroker-up 9\\n' > \"$3\" & "
                  "exec \"$0\" --bootstrap-file=\"$1\" --control-file=\"$2\" < \"$3\"",
                  BinDir() + "/devkafka",
                  bootstrap_file,
                  control_file,
                  fifo};
  options.log_path = dir.path() + "/log";
  auto p = Subprocess::Start(options);
  ASSERT_TRUE(p.ok());
  ASSERT_TRUE(WaitFor([&] { return (*p)->Log().find("error broker id") != std::string::npos; },
                      absl::Seconds(20)))
      << (*p)->Log();
  EXPECT_THAT((*p)->Log(), HasSubstr("\nok\n"));
  ASSERT_TRUE(WaitFor([&] { return !ReadFile(bootstrap_file).empty(); }, absl::Seconds(10)));
  int control_port = 0;
  ASSERT_TRUE(absl::SimpleAtoi(absl::StripAsciiWhitespace(ReadFile(control_file)), &control_port));
  EXPECT_TRUE((*p)->Running());
  EXPECT_TRUE(PortAccepts(control_port));
  EXPECT_EQ((*p)->Stop(), 0);
}

TEST(DevKafkaTest, SigtermExitsZeroAndReleasesThePorts) {
  auto kafka = DevKafka::Start();
  ASSERT_TRUE(kafka.ok()) << kafka.status();
  std::vector<int> ports = {(*kafka)->control_port()};
  for (absl::string_view hp : absl::StrSplit((*kafka)->bootstrap(), ',')) {
    int port = 0;
    ASSERT_TRUE(absl::SimpleAtoi(hp.substr(hp.rfind(':') + 1), &port));
    ports.push_back(port);
  }
  for (int port : ports) EXPECT_TRUE(PortAccepts(port)) << port;
  EXPECT_EQ((*kafka)->Stop(), 0);
  for (int port : ports) EXPECT_FALSE(PortAccepts(port)) << port;
}

}  // namespace
}  // namespace sundesk::testing
