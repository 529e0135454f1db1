#pragma once

// Test helper: reads a topic without a consumer group (devkafka's group join takes 3 s).

#include <librdkafka/rdkafka.h>

#include <string>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "libs/kafka/consumer.h"

namespace sundesk::kafka {

// Reads a whole topic from the beginning, assigning every partition itself.
class TopicReader {
 public:
  TopicReader(const std::string& bootstrap, std::string topic, int partitions)
      : topic_(std::move(topic)), partitions_(partitions) {
    char err[512];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap.c_str(), err, sizeof(err));
    rd_kafka_conf_set(conf, "group.id", "test-topic-reader", err, sizeof(err));
    rd_kafka_conf_set(conf, "enable.auto.commit", "false", err, sizeof(err));
    rd_kafka_conf_set(conf, "fetch.wait.max.ms", "10", err, sizeof(err));
    rd_kafka_conf_set(conf, "reconnect.backoff.max.ms", "100", err, sizeof(err));
    rk_ = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
    rd_kafka_topic_partition_list_t* parts = rd_kafka_topic_partition_list_new(partitions_);
    for (int p = 0; p < partitions_; ++p) {
      rd_kafka_topic_partition_list_add(parts, topic_.c_str(), p)->offset =
          RD_KAFKA_OFFSET_BEGINNING;
    }
    rd_kafka_assign(rk_, parts);
    rd_kafka_topic_partition_list_destroy(parts);
  }
  ~TopicReader() {
    rd_kafka_consumer_close(rk_);
    rd_kafka_destroy(rk_);
  }

  // Everything read so far plus whatever arrives until `n` messages were read in all.
  const std::vector<Message>& ReadUntil(size_t n, absl::Duration timeout = absl::Seconds(20)) {
    absl::Time deadline = absl::Now() + timeout;
    while (messages_.size() < n && absl::Now() < deadline) {
      rd_kafka_message_t* m = rd_kafka_consumer_poll(rk_, 50);
      if (m == nullptr) continue;
      if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        Message msg;
        msg.topic = topic_;
        msg.partition = m->partition;
        msg.offset = m->offset;
        msg.key.assign(static_cast<const char*>(m->key), m->key_len);
        msg.value.assign(static_cast<const char*>(m->payload), m->len);
        rd_kafka_headers_t* hdrs = nullptr;
        if (rd_kafka_message_headers(m, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR) {
          const char* name;
          const void* value;
          size_t size;
          for (size_t i = 0; !rd_kafka_header_get_all(hdrs, i, &name, &value, &size); ++i) {
            msg.headers.push_back({name, std::string(static_cast<const char*>(value), size)});
          }
        }
        messages_.push_back(std::move(msg));
      }
      rd_kafka_message_destroy(m);
    }
    return messages_;
  }

  // The number of messages in the topic's log (sum of high watermarks).
  int64_t LogSize() {
    int64_t total = 0;
    for (int p = 0; p < partitions_; ++p) {
      int64_t low = 0, high = 0;
      rd_kafka_query_watermark_offsets(rk_, topic_.c_str(), p, &low, &high, 5000);
      total += high - low;
    }
    return total;
  }

 private:
  std::string topic_;
  int partitions_;
  rd_kafka_t* rk_;
  std::vector<Message> messages_;
};

}  // namespace sundesk::kafka
