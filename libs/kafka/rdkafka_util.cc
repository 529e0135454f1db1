#include "libs/kafka/rdkafka_util.h"

#include "absl/strings/str_cat.h"
#include "libs/core/log.h"

namespace sundesk::kafka::internal {
namespace {

void LogFromLibrdkafka(const rd_kafka_t* rk, int level, const char* fac, const char* buf) {
  if (std::optional<std::string> topic = SkippingResetTopic(level, fac, buf)) {
    CountSkippingReset(*topic);
    log::Error(
        "kafka consumer skipped records: its offset is no longer on the broker "
        "(deleted under the topic's retention while the consumer was behind)",
        {{"client", rd_kafka_name(rk)}, {"topic", *topic}, {"message", buf}});
    return;
  }
  // syslog levels: 0..3 errors, 4 warnings, 5..6 notices and info, 7 debug.
  if (level <= 3) {
    log::Error("librdkafka", {{"client", rd_kafka_name(rk)}, {"facility", fac}, {"message", buf}});
  } else if (level <= 4) {
    log::Warn("librdkafka", {{"client", rd_kafka_name(rk)}, {"facility", fac}, {"message", buf}});
  } else {
    log::Debug("librdkafka", {{"client", rd_kafka_name(rk)}, {"facility", fac}, {"message", buf}});
  }
}

}  // namespace

std::optional<std::string> SkippingResetTopic(int level, absl::string_view facility,
                                              absl::string_view message) {
  if (level > 4 || facility != "OFFSET") return std::nullopt;
  const size_t reset = message.find("]: offset reset (");
  if (reset == absl::string_view::npos) return std::nullopt;
  // "[thrd:...]: <topic> [<partition>]: offset reset (...": the topic ends at the last " ["
  // before the reset.
  absl::string_view head = message.substr(0, reset);
  const size_t thread_end = head.find("]: ");
  const size_t start = thread_end == absl::string_view::npos ? 0 : thread_end + 3;
  const size_t end = head.rfind(" [");
  if (end == absl::string_view::npos || end < start) return std::string();
  return std::string(head.substr(start, end - start));
}

absl::StatusOr<ConfPtr> NewConf(const std::map<std::string, std::string>& properties) {
  ConfPtr conf(rd_kafka_conf_new());
  rd_kafka_conf_set_log_cb(conf.get(), LogFromLibrdkafka);
  rd_kafka_conf_set_error_cb(conf.get(), LogError);
  char errstr[512];
  for (const auto& [name, value] : properties) {
    if (rd_kafka_conf_set(conf.get(), name.c_str(), value.c_str(), errstr, sizeof(errstr)) !=
        RD_KAFKA_CONF_OK) {
      return absl::InvalidArgumentError(absl::StrCat("kafka property ", name, ": ", errstr));
    }
  }
  return conf;
}

void LogError(rd_kafka_t* rk, int err, const char* reason, void* opaque) {
  auto code = static_cast<rd_kafka_resp_err_t>(err);
  if (code == RD_KAFKA_RESP_ERR__FATAL) {
    char fatal[512];
    rd_kafka_resp_err_t orig = rd_kafka_fatal_error(rk, fatal, sizeof(fatal));
    log::Error(
        "kafka fatal error",
        {{"client", rd_kafka_name(rk)}, {"error", rd_kafka_err2name(orig)}, {"reason", fatal}});
    return;
  }
  log::Warn(
      "kafka error",
      {{"client", rd_kafka_name(rk)}, {"error", rd_kafka_err2name(code)}, {"reason", reason}});
}

absl::Status ToStatus(rd_kafka_resp_err_t err, absl::string_view context) {
  if (err == RD_KAFKA_RESP_ERR_NO_ERROR) return absl::OkStatus();
  std::string msg =
      absl::StrCat(context, ": ", rd_kafka_err2name(err), " (", rd_kafka_err2str(err), ")");
  switch (err) {
    case RD_KAFKA_RESP_ERR__TRANSPORT:
    case RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN:
    case RD_KAFKA_RESP_ERR__MSG_TIMED_OUT:
    case RD_KAFKA_RESP_ERR__TIMED_OUT:
    case RD_KAFKA_RESP_ERR__QUEUE_FULL:
    case RD_KAFKA_RESP_ERR__PURGE_QUEUE:
    case RD_KAFKA_RESP_ERR__PURGE_INFLIGHT:
    case RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT:
    case RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION:
    case RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS:
    case RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND:
      return absl::UnavailableError(msg);
    case RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC:
    case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART:
      return absl::NotFoundError(msg);
    default:
      return absl::InternalError(msg);
  }
}

Headers CopyHeaders(const rd_kafka_message_t* message) {
  Headers out;
  rd_kafka_headers_t* hdrs = nullptr;
  if (rd_kafka_message_headers(message, &hdrs) != RD_KAFKA_RESP_ERR_NO_ERROR) return out;
  // One allocation: a record carries the CloudEvents headers, and every consumed record
  // comes through here (it showed in sla-server's profile growing one push_back at a time).
  out.reserve(rd_kafka_header_cnt(hdrs));
  const char* name = nullptr;
  const void* value = nullptr;
  size_t size = 0;
  for (size_t i = 0;
       rd_kafka_header_get_all(hdrs, i, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR; ++i) {
    out.push_back({name, value != nullptr ? std::string(static_cast<const char*>(value), size)
                                          : std::string()});
  }
  return out;
}

}  // namespace sundesk::kafka::internal
