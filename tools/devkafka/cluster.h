#pragma once

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace sundesk::devkafka {

struct TopicSpec {
  std::string name;
  int partitions = 6;
};

// The four topics of API.md "Events", each with `partitions` partitions.
std::vector<TopicSpec> StandardTopics(int partitions = 6);

// Kafka's rule: 1-249 characters of [a-zA-Z0-9._-], not "." or "..".
absl::Status ValidateTopicName(absl::string_view name);

// "name" or "name:partitions" (a bare name gets `default_partitions`).
absl::StatusOr<TopicSpec> ParseTopicSpec(absl::string_view spec, int default_partitions);

// A broker-side Kafka error by name ("NOT_LEADER_FOR_PARTITION", optionally with the
// "RD_KAFKA_RESP_ERR_" prefix, any case) or by its positive protocol code ("6").
absl::StatusOr<rd_kafka_resp_err_t> ParseKafkaError(absl::string_view name_or_code);

// librdkafka's mock cluster: `brokers` brokers (ids 1..brokers) listening on 127.0.0.1
// ephemeral ports, speaking the Kafka protocol to any process. Nothing is kept on disk.
// Thread-safe: every call is a request to the mock's own thread.
class Cluster {
 public:
  static absl::StatusOr<std::unique_ptr<Cluster>> Start(int brokers);
  ~Cluster();
  Cluster(const Cluster&) = delete;
  Cluster& operator=(const Cluster&) = delete;

  // "127.0.0.1:p1,127.0.0.1:p2,...".
  const std::string& bootstrap() const { return bootstrap_; }
  int brokers() const { return brokers_; }

  // The mock does not answer the Admin API's CreateTopics; this is the only way to get a
  // topic with a chosen partition count. Replication is capped at the broker count.
  absl::Status CreateTopic(absl::string_view name, int partitions, int replication = 3);
  // A down broker drops its connections and refuses new ones; its partitions keep it as
  // leader, so they are unavailable until it is up again.
  absl::Status SetBrokerDown(int32_t broker_id);
  absl::Status SetBrokerUp(int32_t broker_id);
  // The next `count` Produce requests (to any broker) fail with `error`.
  absl::Status PushProduceErrors(int count, rd_kafka_resp_err_t error);

  // Runs one line of the control protocol and answers one line without its newline:
  // "ok" or "error <why>". See tools/devkafka/README.md.
  std::string Execute(absl::string_view line);

 private:
  Cluster() = default;
  absl::Status CheckBroker(int32_t broker_id) const;

  rd_kafka_t* rk_ = nullptr;  // owns the mock; never used as a client
  rd_kafka_mock_cluster_t* mock_ = nullptr;
  int brokers_ = 0;
  std::string bootstrap_;
};

}  // namespace sundesk::devkafka
