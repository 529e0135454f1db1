#pragma once

// Private to libs/kafka: what the producer and the consumer share of librdkafka plumbing.

#include <librdkafka/rdkafka.h>

#include <map>
#include <memory>
#include <optional>
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

// The topic of a librdkafka log line reporting that a consumer's position was reset because
// its offset is no longer in the partition's log (facility OFFSET, a warning: librdkafka logs
// the resets of a group's first start, which lose nothing, at debug level only), e.g.
// "[thrd:main]: t [0]: offset reset (at offset 5, broker 1) to BEGINNING: fetch failed due to
// requested offset not available on the broker: Broker: Offset out of range"; nullopt for
// any other line. "" when the line names no topic.
std::optional<std::string> SkippingResetTopic(int level, absl::string_view facility,
                                              absl::string_view message);

// Counts one such reset (consumer.cc: the process-wide counter and metric).
void CountSkippingReset(const std::string& topic);

// Copies the headers of a message (empty when it has none).
Headers CopyHeaders(const rd_kafka_message_t* message);

}  // namespace sundesk::kafka::internal
