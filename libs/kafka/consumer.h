#pragma once

#include <librdkafka/rdkafka.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "libs/kafka/headers.h"
#include "prometheus/registry.h"

namespace sundesk::kafka {

struct ConsumerOptions {
  std::string bootstrap_servers;
  std::string group_id;
  std::vector<std::string> topics;
  std::string client_id = "sundesk";
  // How long a broker may hold a fetch open waiting for data (librdkafka's
  // fetch.wait.max.ms). The default suits a real broker, which answers as soon as data
  // arrives. devkafka answers only when this runs out: use 10 ms against it.
  absl::Duration fetch_wait_max = absl::Milliseconds(500);
  // Stored offsets are committed this often, on revocation and on close.
  absl::Duration auto_commit_interval = absl::Seconds(1);
  // A group's first start reads from the beginning: events published before a service
  // first ran must not be lost.
  std::string auto_offset_reset = "earliest";
  // Retries of a failing handler on the same message: first wait, doubling up to the cap.
  absl::Duration retry_backoff_initial = absl::Milliseconds(100);
  absl::Duration retry_backoff_max = absl::Seconds(10);
  // Any other librdkafka property; applied last, so it wins (except the offset-store
  // and commit settings that at-least-once rests on).
  std::map<std::string, std::string> properties;
};

// One consumed record. Owned copies: a handler may keep or move them.
struct Message {
  std::string topic;
  int32_t partition = -1;
  int64_t offset = -1;
  std::string key;
  std::string value;
  Headers headers;
  absl::Time timestamp = absl::InfinitePast();  // producer's create time, when known
};

// A member whose offset is no longer in its partition's log (the broker deleted those records
// under the topic's retention while the member was behind, or the member was stopped longer
// than the retention) is moved by librdkafka to the oldest record left (auto.offset.reset):
// the records in between are never handled. The service lost events, so each such reset is
// logged as an error and counted, process-wide, in
// sundesk_kafka_consumer_offset_resets_total{topic} of the registry given here (the last one
// given; ServiceRuntime gives its own; each consumer's topics are series from 0 on, so that
// increase() sees the first). An alert on any increase is the operator's signal.
// devkafka keeps only the last 5 MB of each partition, so there a member about 10,000
// events behind already loses some.
void RegisterConsumerMetrics(std::shared_ptr<prometheus::Registry> registry);
// The resets counted so far in this process, every topic.
int64_t SkippingOffsetResets();

// Returns OK once the message's effects are durable. Any error is retried, with capped
// backoff, on the same message: the partition does not advance past a failing message.
using MessageHandler = std::function<absl::Status(const Message&)>;

// Returns OK once every message's effects are durable (e.g. all written in one
// transaction). Any error is retried, with capped backoff, on the same messages.
using BatchHandler = std::function<absl::Status(absl::Span<const Message>)>;

// A consumer-group member with at-least-once delivery: a message's offset is stored only
// after its handler returned OK, and only stored offsets are committed (periodically,
// when partitions are revoked, and on close). A crash or Stop() mid-message means the
// message is seen again, so handlers must be idempotent (dedupe by event id).
//
// Run() blocks on the caller's thread, which is the only thread that runs the handler;
// Stop() may be called from any thread, including the handler's. A handler that keeps
// failing for longer than librdkafka's max.poll.interval.ms (5 min) makes this member
// leave the group; its partitions go to another member, which retries the message.
class Consumer {
 public:
  static absl::StatusOr<std::unique_ptr<Consumer>> Create(ConsumerOptions options,
                                                          MessageHandler handler);
  // The same, handing the handler up to `max_batch` messages at once: the one that
  // arrived and those already fetched behind it (never waiting to fill a batch), so a
  // handler can make a backlog durable in one transaction instead of one per message.
  static absl::StatusOr<std::unique_ptr<Consumer>> CreateBatched(ConsumerOptions options,
                                                                 BatchHandler handler,
                                                                 int max_batch);
  ~Consumer();
  Consumer(const Consumer&) = delete;
  Consumer& operator=(const Consumer&) = delete;

  // Consumes until Stop(): then commits what is stored and leaves the group. Call once.
  absl::Status Run();
  // Graceful: the message in hand is finished (or, while its handler is backing off
  // after a failure, abandoned uncommitted), then Run() returns.
  void Stop();

  // Health probe: true while Run() is consuming and this member has joined its group
  // (received an assignment, possibly empty).
  bool Ready() const { return ready_.load(); }

 private:
  Consumer() = default;
  static void Rebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                        rd_kafka_topic_partition_list_t* partitions, void* opaque);
  // Sleeps `d` unless Stop() comes first; returns true when stopping.
  bool SleepUnlessStopped(absl::Duration d);
  void CommitStored(const char* why);
  // Stores (for the next commit) the offsets after a handled batch.
  void StoreOffsets(absl::Span<const Message> batch);

  ConsumerOptions options_;
  BatchHandler handler_;
  int max_batch_ = 1;
  rd_kafka_t* rk_ = nullptr;
  bool closed_ = false;
  std::atomic<bool> ready_{false};
  mutable absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace sundesk::kafka
