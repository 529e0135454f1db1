#include "tools/devkafka/cluster.h"

#include <algorithm>
#include <array>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "libs/core/log.h"

namespace sundesk::devkafka {
namespace {

constexpr int16_t kProduceApiKey = 0;
constexpr int kMaxPartitions = 1000;
constexpr int kMaxInjectedErrors = 100000;

void LogFromLibrdkafka(const rd_kafka_t*, int level, const char* fac, const char* buf) {
  // syslog levels: 0..3 are errors, 4 warnings.
  if (level <= 3) {
    log::Error("librdkafka", {{"facility", fac}, {"message", buf}});
  } else if (level == 4) {
    log::Warn("librdkafka", {{"facility", fac}, {"message", buf}});
  } else {
    log::Debug("librdkafka", {{"facility", fac}, {"message", buf}});
  }
}

absl::Status FromKafka(rd_kafka_resp_err_t err, absl::string_view what) {
  if (err == RD_KAFKA_RESP_ERR_NO_ERROR) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat(what, ": ", rd_kafka_err2name(err), " (", rd_kafka_err2str(err), ")"));
}

absl::StatusOr<int> ParsePositive(absl::string_view s, absl::string_view what, int max) {
  int v = 0;
  if (!absl::SimpleAtoi(s, &v) || v < 1 || v > max) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " must be an integer from 1 to ", max, ", got '", s, "'"));
  }
  return v;
}

}  // namespace

std::vector<TopicSpec> StandardTopics(int partitions) {
  return {{"sundesk.ticket.events.v1", partitions},
          {"sundesk.routing.events.v1", partitions},
          {"sundesk.sla.events.v1", partitions},
          {"sundesk.notification.dlq.v1", partitions}};
}

absl::Status ValidateTopicName(absl::string_view name) {
  // Kafka's own rule for topic names.
  bool valid = !name.empty() && name.size() <= 249 && name != "." && name != "..";
  for (char c : name) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-') {
      valid = false;
    }
  }
  if (!valid) {
    return absl::InvalidArgumentError(
        absl::StrCat("topic name must be 1-249 characters of [a-zA-Z0-9._-], got '", name, "'"));
  }
  return absl::OkStatus();
}

absl::StatusOr<TopicSpec> ParseTopicSpec(absl::string_view spec, int default_partitions) {
  spec = absl::StripAsciiWhitespace(spec);
  TopicSpec topic;
  topic.partitions = default_partitions;
  absl::string_view name = spec;
  if (size_t colon = spec.rfind(':'); colon != absl::string_view::npos) {
    name = spec.substr(0, colon);
    auto partitions = ParsePositive(spec.substr(colon + 1), "partitions", kMaxPartitions);
    if (!partitions.ok()) return partitions.status();
    topic.partitions = *partitions;
  }
  if (auto st = ValidateTopicName(name); !st.ok()) return st;
  topic.name = std::string(name);
  return topic;
}

absl::StatusOr<rd_kafka_resp_err_t> ParseKafkaError(absl::string_view name_or_code) {
  int code = 0;
  if (absl::SimpleAtoi(name_or_code, &code)) {
    if (code <= 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("error code must be a positive Kafka protocol code, got ", code));
    }
    return static_cast<rd_kafka_resp_err_t>(code);
  }
  std::string name = absl::AsciiStrToUpper(name_or_code);
  if (absl::StartsWith(name, "RD_KAFKA_RESP_ERR_")) name = name.substr(18);
  // Kafka renamed error 6 in KIP-392; librdkafka's table carries only the old name.
  if (name == "NOT_LEADER_OR_FOLLOWER") return RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION;
  const rd_kafka_err_desc* descs = nullptr;
  size_t count = 0;
  rd_kafka_get_err_descs(&descs, &count);
  for (size_t i = 0; i < count; ++i) {
    // Names of librdkafka's internal (negative) errors start with '_'; brokers never send
    // those, so they cannot be injected.
    if (descs[i].name != nullptr && descs[i].code > 0 && name == descs[i].name) {
      return descs[i].code;
    }
  }
  return absl::InvalidArgumentError(absl::StrCat("unknown Kafka error '", name_or_code,
                                                 "' (use e.g. NOT_LEADER_FOR_PARTITION, ",
                                                 "REQUEST_TIMED_OUT or a numeric code)"));
}

absl::StatusOr<std::unique_ptr<Cluster>> Cluster::Start(int brokers) {
  if (brokers < 1 || brokers > 32) {
    return absl::InvalidArgumentError(absl::StrCat("brokers must be 1-32, got ", brokers));
  }
  char errstr[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set_log_cb(conf, LogFromLibrdkafka);
  // The owning handle is never a client, but a producer without brokers would complain.
  if (rd_kafka_conf_set(conf, "client.id", "devkafka", errstr, sizeof(errstr)) !=
      RD_KAFKA_CONF_OK) {
    rd_kafka_conf_destroy(conf);
    return absl::InternalError(errstr);
  }
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
  if (rk == nullptr) {
    rd_kafka_conf_destroy(conf);
    return absl::InternalError(absl::StrCat("rd_kafka_new: ", errstr));
  }
  auto cluster = std::unique_ptr<Cluster>(new Cluster());
  cluster->rk_ = rk;
  cluster->mock_ = rd_kafka_mock_cluster_new(rk, brokers);
  if (cluster->mock_ == nullptr) return absl::InternalError("rd_kafka_mock_cluster_new failed");
  cluster->brokers_ = brokers;
  cluster->bootstrap_ = rd_kafka_mock_cluster_bootstraps(cluster->mock_);
  return cluster;
}

Cluster::~Cluster() {
  // Destroying the mock closes its listeners, so the ports are free when the process ends.
  if (mock_ != nullptr) rd_kafka_mock_cluster_destroy(mock_);
  if (rk_ != nullptr) rd_kafka_destroy(rk_);
}

absl::Status Cluster::CreateTopic(absl::string_view name, int partitions, int replication) {
  if (partitions < 1 || partitions > kMaxPartitions) {
    return absl::InvalidArgumentError(
        absl::StrCat("partitions must be 1-", kMaxPartitions, ", got ", partitions));
  }
  if (auto st = ValidateTopicName(name); !st.ok()) return st;
  std::string topic(name);
  return FromKafka(rd_kafka_mock_topic_create(mock_, topic.c_str(), partitions,
                                              std::clamp(replication, 1, brokers_)),
                   absl::StrCat("create topic ", topic));
}

absl::Status Cluster::CheckBroker(int32_t broker_id) const {
  if (broker_id < 1 || broker_id > brokers_) {
    return absl::InvalidArgumentError(
        absl::StrCat("broker id must be 1-", brokers_, ", got ", broker_id));
  }
  return absl::OkStatus();
}

absl::Status Cluster::SetBrokerDown(int32_t broker_id) {
  if (auto st = CheckBroker(broker_id); !st.ok()) return st;
  return FromKafka(rd_kafka_mock_broker_set_down(mock_, broker_id),
                   absl::StrCat("broker-down ", broker_id));
}

absl::Status Cluster::SetBrokerUp(int32_t broker_id) {
  if (auto st = CheckBroker(broker_id); !st.ok()) return st;
  return FromKafka(rd_kafka_mock_broker_set_up(mock_, broker_id),
                   absl::StrCat("broker-up ", broker_id));
}

absl::Status Cluster::PushProduceErrors(int count, rd_kafka_resp_err_t error) {
  if (count < 1 || count > kMaxInjectedErrors) {
    return absl::InvalidArgumentError(
        absl::StrCat("count must be 1-", kMaxInjectedErrors, ", got ", count));
  }
  std::vector<rd_kafka_resp_err_t> errors(static_cast<size_t>(count), error);
  rd_kafka_mock_push_request_errors_array(mock_, kProduceApiKey, errors.size(), errors.data());
  return absl::OkStatus();
}

std::string Cluster::Execute(absl::string_view line) {
  std::vector<absl::string_view> args =
      absl::StrSplit(line, absl::ByAnyChar(" \t\r\n"), absl::SkipEmpty());
  auto answer = [](const absl::Status& st) {
    return st.ok() ? std::string("ok") : absl::StrCat("error ", st.message());
  };
  auto usage = [](absl::string_view form) { return absl::StrCat("error usage: ", form); };
  if (args.empty()) return "error empty command";
  absl::string_view cmd = args[0];
  if (cmd == "ping") return args.size() == 1 ? "ok" : usage("ping");
  if (cmd == "broker-down" || cmd == "broker-up") {
    if (args.size() != 2) return usage(absl::StrCat(cmd, " <broker id>"));
    auto id = ParsePositive(args[1], "broker id", brokers_);
    if (!id.ok()) return answer(id.status());
    return answer(cmd == "broker-down" ? SetBrokerDown(*id) : SetBrokerUp(*id));
  }
  if (cmd == "produce-errors") {
    if (args.size() != 3) return usage("produce-errors <count> <error name or code>");
    auto count = ParsePositive(args[1], "count", kMaxInjectedErrors);
    if (!count.ok()) return answer(count.status());
    auto error = ParseKafkaError(args[2]);
    if (!error.ok()) return answer(error.status());
    return answer(PushProduceErrors(*count, *error));
  }
  if (cmd == "topic-create") {
    if (args.size() != 3) return usage("topic-create <name> <partitions>");
    if (auto st = ValidateTopicName(args[1]); !st.ok()) return answer(st);
    auto partitions = ParsePositive(args[2], "partitions", kMaxPartitions);
    if (!partitions.ok()) return answer(partitions.status());
    return answer(CreateTopic(args[1], *partitions));
  }
  return absl::StrCat("error unknown command '", cmd,
                      "' (ping, broker-down, broker-up, produce-errors, topic-create)");
}

}  // namespace sundesk::devkafka
