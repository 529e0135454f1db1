#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "libs/kafka/headers.h"

typedef struct rd_kafka_s rd_kafka_t;

namespace sundesk::kafka {

struct ProducerOptions {
  std::string bootstrap_servers;  // "host:port,host:port"
  std::string client_id = "sundesk";
  // From Produce to the delivery report, retries included (librdkafka's
  // delivery.timeout.ms). Past it the message fails with UNAVAILABLE.
  absl::Duration delivery_timeout = absl::Seconds(30);
  // How long a message may wait to be batched (librdkafka's linger.ms). Short: the outbox
  // relay hands over a whole batch at once and waits for its reports, so a longer wait
  // batches little more and adds to every event's latency.
  absl::Duration linger = absl::Milliseconds(1);
  // Any other librdkafka property; applied last, so it wins. Idempotence and acks=all
  // cannot be turned off here: they are what keeps one ticket's events in order.
  std::map<std::string, std::string> properties;
};

// The outcome of one Produce: the message's place in the log, or why it was not written.
struct Delivery {
  absl::Status status;
  std::string topic;
  int32_t partition = -1;
  int64_t offset = -1;
};

// Runs on the producer's poll thread (or inside a Flush call): keep it short and never
// block in it (no Flush, no waiting on other deliveries).
using DeliveryCallback = std::function<void(const Delivery&)>;

// An idempotent producer (enable.idempotence=true, acks=all): retries never duplicate or
// reorder messages of one partition. Thread-safe. Each message's delivery report goes to
// its own callback, on a poll thread owned by the producer.
class Producer {
 public:
  static absl::StatusOr<std::unique_ptr<Producer>> Create(ProducerOptions options);
  // Undelivered messages are purged; their callbacks see UNAVAILABLE. Call Flush first
  // for a clean shutdown.
  ~Producer();
  Producer(const Producer&) = delete;
  Producer& operator=(const Producer&) = delete;

  // Queues one message; the partition follows from the key (librdkafka's default
  // consistent-random partitioner, the same hash the Java client uses). An error here
  // means the message was not queued and `on_delivery` will never run: UNAVAILABLE when
  // the local queue is full, FAILED_PRECONDITION after a fatal producer error.
  absl::Status Produce(absl::string_view topic, absl::string_view key, absl::string_view value,
                       const Headers& headers, DeliveryCallback on_delivery);

  // Waits until every queued message has its delivery report (callbacks have run), or
  // DEADLINE_EXCEEDED naming how many are left.
  absl::Status Flush(absl::Duration timeout);

  // Roughly the messages queued or in flight whose delivery reports have not run yet.
  int InFlight() const;

  // A metadata round trip to the cluster within `timeout`: for readiness checks.
  // UNAVAILABLE when no broker answers.
  absl::Status Ping(absl::Duration timeout);

 private:
  Producer() = default;
  void PollLoop();

  rd_kafka_t* rk_ = nullptr;
  std::atomic<bool> stopping_{false};
  std::thread poll_thread_;
};

}  // namespace sundesk::kafka
