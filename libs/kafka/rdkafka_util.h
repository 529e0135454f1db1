#pragma once

// Private to libs/kafka: what the producer and the consumer share of librdkafka plumbing.

#include <librdkafka/rdkafka.h>

#include <map>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "libs/kafka/headers.h"

namespace sundesk::kafka::internal {

// Deletes an rd_kafka_conf_t unless ownership passed to rd_kafka_new.
struct ConfDeleter {
  void operator()(rd_kafka_conf_t* conf) const { rd_kafka_conf_destroy(conf); }
};
using ConfPtr = std::unique_ptr<rd_kafka_conf_t, ConfDeleter>;

// A configuration with librdkafka's logs routed to libs/core/log and `properties` set in
// order; a bad property is INVALID_ARGUMENT naming it.
absl::StatusOr<ConfPtr> NewConf(const std::map<std::string, std::string>& properties);

// Logs librdkafka's asynchronous errors; wire with rd_kafka_conf_set_error_cb.
void LogError(rd_kafka_t* rk, int err, const char* reason, void* opaque);

// A status carrying the Kafka error's name and text. Retriable conditions (broker down,
// timeouts, full queues) are UNAVAILABLE so callers may retry; the rest INTERNAL.
absl::Status ToStatus(rd_kafka_resp_err_t err, absl::string_view context);

// Copies the headers of a message (empty when it has none).
Headers CopyHeaders(const rd_kafka_message_t* message);

}  // namespace sundesk::kafka::internal
