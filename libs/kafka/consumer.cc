#include "libs/kafka/consumer.h"

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <cstring>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "libs/core/log.h"
#include "libs/kafka/rdkafka_util.h"
#include "prometheus/counter.h"

namespace sundesk::kafka {
namespace {

struct SkippingResets {
  absl::Mutex mu;
  std::shared_ptr<prometheus::Registry> registry ABSL_GUARDED_BY(mu);
  prometheus::Family<prometheus::Counter>* family ABSL_GUARDED_BY(mu) = nullptr;
  // Every consumer's topics: their series exist at 0 from the start, so that increase()
  // sees the first reset (a series born at 1 shows no increase).
  std::set<std::string> topics ABSL_GUARDED_BY(mu);
  std::atomic<int64_t> count{0};
};

SkippingResets& Resets() {
  static auto* resets = new SkippingResets();  // never destroyed: librdkafka threads log late
  return *resets;
}

void TouchSkippingResets(const std::vector<std::string>& topics) {
  SkippingResets& r = Resets();
  absl::MutexLock lock(&r.mu);
  for (const std::string& t : topics) {
    r.topics.insert(t);
    if (r.family != nullptr) (void)r.family->Add({{"topic", t}});
  }
}

std::string Describe(const rd_kafka_topic_partition_list_t* partitions) {
  std::vector<std::string> parts;
  parts.reserve(static_cast<size_t>(partitions->cnt));
  for (int i = 0; i < partitions->cnt; ++i) {
    parts.push_back(
        absl::StrCat(partitions->elems[i].topic, "[", partitions->elems[i].partition, "]"));
  }
  return absl::StrJoin(parts, ",");
}

Message CopyMessage(const rd_kafka_message_t* m) {
  Message msg;
  msg.topic = rd_kafka_topic_name(m->rkt);
  msg.partition = m->partition;
  msg.offset = m->offset;
  if (m->key != nullptr) msg.key.assign(static_cast<const char*>(m->key), m->key_len);
  if (m->payload != nullptr) msg.value.assign(static_cast<const char*>(m->payload), m->len);
  msg.headers = internal::CopyHeaders(m);
  rd_kafka_timestamp_type_t type;
  int64_t ts = rd_kafka_message_timestamp(m, &type);
  if (ts >= 0) msg.timestamp = absl::FromUnixMillis(ts);
  return msg;
}

}  // namespace

void RegisterConsumerMetrics(std::shared_ptr<prometheus::Registry> registry) {
  SkippingResets& r = Resets();
  absl::MutexLock lock(&r.mu);
  r.family = &prometheus::BuildCounter()
                  .Name("sundesk_kafka_consumer_offset_resets_total")
                  .Help(
                      "Times a consumer's offset was no longer on the broker and it skipped "
                      "to the oldest record left: the records in between were never handled")
                  .Register(*registry);
  for (const std::string& t : r.topics) (void)r.family->Add({{"topic", t}});
  r.registry = std::move(registry);
}

int64_t SkippingOffsetResets() { return Resets().count.load(); }

namespace internal {

void CountSkippingReset(const std::string& topic) {
  SkippingResets& r = Resets();
  r.count.fetch_add(1);
  absl::MutexLock lock(&r.mu);
  if (r.family != nullptr) r.family->Add({{"topic", topic}}).Increment();
}

}  // namespace internal

absl::StatusOr<std::unique_ptr<Consumer>> Consumer::Create(ConsumerOptions options,
                                                           MessageHandler handler) {
  if (!handler) return absl::InvalidArgumentError("kafka consumer: no handler");
  return CreateBatched(
      std::move(options),
      [handler = std::move(handler)](absl::Span<const Message> batch) {
        return handler(batch.front());  // batches of one
      },
      1);
}

absl::StatusOr<std::unique_ptr<Consumer>> Consumer::CreateBatched(ConsumerOptions options,
                                                                  BatchHandler handler,
                                                                  int max_batch) {
  if (max_batch < 1) return absl::InvalidArgumentError("kafka consumer: max_batch must be >= 1");
  if (options.bootstrap_servers.empty()) {
    return absl::InvalidArgumentError("kafka consumer: bootstrap servers are empty");
  }
  if (options.group_id.empty()) return absl::InvalidArgumentError("kafka consumer: no group id");
  if (options.topics.empty()) return absl::InvalidArgumentError("kafka consumer: no topics");
  if (!handler) return absl::InvalidArgumentError("kafka consumer: no handler");

  std::map<std::string, std::string> props = {
      {"bootstrap.servers", options.bootstrap_servers},
      {"group.id", options.group_id},
      {"client.id", options.client_id},
      {"fetch.wait.max.ms", absl::StrCat(absl::ToInt64Milliseconds(options.fetch_wait_max))},
      {"auto.commit.interval.ms",
       absl::StrCat(absl::ToInt64Milliseconds(options.auto_commit_interval))},
      {"auto.offset.reset", options.auto_offset_reset},
  };
  for (const auto& [k, v] : options.properties) props[k] = v;
  // Invariants of at-least-once: librdkafka commits only offsets this class stored.
  for (const auto& [name, value] : {std::pair{"enable.auto.offset.store", "false"},
                                    {"enable.auto.commit", "true"},
                                    {"enable.partition.eof", "false"}}) {
    if (auto it = props.find(name); it != props.end() && it->second != value) {
      return absl::InvalidArgumentError(
          absl::StrCat("kafka consumer: ", name, " must stay ", value));
    }
    props[name] = value;
  }
  auto conf = internal::NewConf(props);
  if (!conf.ok()) return conf.status();
  TouchSkippingResets(options.topics);

  auto consumer = std::unique_ptr<Consumer>(new Consumer());
  consumer->options_ = std::move(options);
  consumer->handler_ = std::move(handler);
  consumer->max_batch_ = max_batch;
  rd_kafka_conf_set_opaque(conf->get(), consumer.get());
  rd_kafka_conf_set_rebalance_cb(conf->get(), &Consumer::Rebalance);

  char errstr[512];
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf->get(), errstr, sizeof(errstr));
  if (rk == nullptr) return absl::InvalidArgumentError(absl::StrCat("kafka consumer: ", errstr));
  (void)conf->release();  // now owned by rk
  consumer->rk_ = rk;
  // Every event (errors, rebalances) is served from rd_kafka_consumer_poll in Run().
  rd_kafka_poll_set_consumer(rk);

  rd_kafka_topic_partition_list_t* topics =
      rd_kafka_topic_partition_list_new(static_cast<int>(consumer->options_.topics.size()));
  for (const auto& t : consumer->options_.topics) {
    rd_kafka_topic_partition_list_add(topics, t.c_str(), RD_KAFKA_PARTITION_UA);
  }
  rd_kafka_resp_err_t err = rd_kafka_subscribe(rk, topics);
  rd_kafka_topic_partition_list_destroy(topics);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) return internal::ToStatus(err, "kafka subscribe");
  return consumer;
}

Consumer::~Consumer() {
  if (rk_ == nullptr) return;
  if (!closed_) rd_kafka_consumer_close(rk_);
  rd_kafka_destroy(rk_);
}

void Consumer::Stop() {
  absl::MutexLock lock(&mu_);
  stopping_ = true;
}

bool Consumer::SleepUnlessStopped(absl::Duration d) {
  absl::MutexLock lock(&mu_);
  mu_.AwaitWithTimeout(absl::Condition(&stopping_), d);
  return stopping_;
}

void Consumer::StoreOffsets(absl::Span<const Message> batch) {
  rd_kafka_topic_partition_list_t* offsets =
      rd_kafka_topic_partition_list_new(static_cast<int>(batch.size()));
  // The committed offset is the next one to read; within a partition, messages come in
  // offset order, so the last one of each partition wins.
  for (const Message& msg : batch) {
    rd_kafka_topic_partition_t* p =
        rd_kafka_topic_partition_list_find(offsets, msg.topic.c_str(), msg.partition);
    if (p == nullptr)
      p = rd_kafka_topic_partition_list_add(offsets, msg.topic.c_str(), msg.partition);
    p->offset = msg.offset + 1;
  }
  rd_kafka_resp_err_t err = rd_kafka_offsets_store(rk_, offsets);
  for (int i = 0; i < offsets->cnt; ++i) {
    rd_kafka_resp_err_t e = err != RD_KAFKA_RESP_ERR_NO_ERROR ? err : offsets->elems[i].err;
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
      // The partition was revoked while the handler ran: its new owner redoes it.
      log::Warn("kafka offset not stored", {{"topic", offsets->elems[i].topic},
                                            {"partition", offsets->elems[i].partition},
                                            {"offset", offsets->elems[i].offset - 1},
                                            {"error", rd_kafka_err2name(e)}});
    }
  }
  rd_kafka_topic_partition_list_destroy(offsets);
}

void Consumer::CommitStored(const char* why) {
  rd_kafka_resp_err_t err = rd_kafka_commit(rk_, nullptr, /*async=*/0);
  // _NO_OFFSET: nothing stored since the last commit.
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR && err != RD_KAFKA_RESP_ERR__NO_OFFSET) {
    log::Warn("kafka commit failed",
              {{"group", options_.group_id}, {"when", why}, {"error", rd_kafka_err2name(err)}});
  }
}

void Consumer::Rebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t* partitions, void* opaque) {
  auto* self = static_cast<Consumer*>(opaque);
  bool cooperative = std::strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
  if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
    log::Info("kafka partitions assigned",
              {{"group", self->options_.group_id}, {"partitions", Describe(partitions)}});
    if (cooperative) {
      if (rd_kafka_error_t* e = rd_kafka_incremental_assign(rk, partitions)) {
        log::Error("kafka assign failed", {{"error", rd_kafka_error_string(e)}});
        rd_kafka_error_destroy(e);
      }
    } else {
      rd_kafka_assign(rk, partitions);
    }
    self->ready_ = true;
    return;
  }
  // Revoked (or lost): what the handler finished is committed before another member
  // takes these partitions, so it does not redo finished work.
  log::Info("kafka partitions revoked", {{"group", self->options_.group_id},
                                         {"partitions", Describe(partitions)},
                                         {"reason", rd_kafka_err2name(err)}});
  if (err == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS && !rd_kafka_assignment_lost(rk)) {
    self->CommitStored("revoke");
  }
  if (cooperative) {
    if (rd_kafka_error_t* e = rd_kafka_incremental_unassign(rk, partitions)) {
      log::Error("kafka unassign failed", {{"error", rd_kafka_error_string(e)}});
      rd_kafka_error_destroy(e);
    }
  } else {
    rd_kafka_assign(rk, nullptr);
  }
}

absl::Status Consumer::Run() {
  if (closed_) return absl::FailedPreconditionError("kafka consumer: Run() called twice");
  log::Info("kafka consumer started",
            {{"group", options_.group_id}, {"topics", absl::StrJoin(options_.topics, ",")}});
  auto stopping = [this] {
    absl::MutexLock lock(&mu_);
    return stopping_;
  };
  while (!stopping()) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(rk_, 100);
    if (m == nullptr) continue;
    if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      log::Warn("kafka consume error", {{"group", options_.group_id},
                                        {"error", rd_kafka_err2name(m->err)},
                                        {"reason", rd_kafka_message_errstr(m)}});
      rd_kafka_message_destroy(m);
      continue;
    }
    std::vector<Message> batch;
    batch.push_back(CopyMessage(m));
    rd_kafka_message_destroy(m);
    // Whatever is already fetched behind it, without waiting.
    while (static_cast<int>(batch.size()) < max_batch_) {
      rd_kafka_message_t* more = rd_kafka_consumer_poll(rk_, 0);
      if (more == nullptr) break;
      if (more->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        log::Warn("kafka consume error", {{"group", options_.group_id},
                                          {"error", rd_kafka_err2name(more->err)},
                                          {"reason", rd_kafka_message_errstr(more)}});
        rd_kafka_message_destroy(more);
        break;
      }
      batch.push_back(CopyMessage(more));
      rd_kafka_message_destroy(more);
    }
    absl::Duration backoff = options_.retry_backoff_initial;
    bool done = false;
    for (int attempt = 1;; ++attempt) {
      absl::Status st = handler_(batch);
      if (st.ok()) {
        done = true;
        break;
      }
      log::Warn("kafka handler failed; retrying the same messages",
                {{"group", options_.group_id},
                 {"topic", batch.front().topic},
                 {"partition", batch.front().partition},
                 {"offset", batch.front().offset},
                 {"messages", static_cast<int64_t>(batch.size())},
                 {"attempt", attempt},
                 {"retry_in", absl::FormatDuration(backoff)},
                 {"error", st.ToString()}});
      if (SleepUnlessStopped(backoff)) break;
      backoff = std::min(backoff * 2, options_.retry_backoff_max);
    }
    if (done) StoreOffsets(batch);
  }
  ready_ = false;
  CommitStored("close");
  rd_kafka_consumer_close(rk_);
  closed_ = true;
  log::Info("kafka consumer stopped", {{"group", options_.group_id}});
  return absl::OkStatus();
}

}  // namespace sundesk::kafka
