#include "libs/kafka/producer.h"

#include <librdkafka/rdkafka.h>

#include <vector>

#include "absl/strings/str_cat.h"
#include "libs/core/log.h"
#include "libs/kafka/rdkafka_util.h"

namespace sundesk::kafka {
namespace {

void OnDelivery(rd_kafka_t*, const rd_kafka_message_t* m, void*) {
  // Owned by this report from the moment Produce handed it to librdkafka.
  std::unique_ptr<DeliveryCallback> callback(static_cast<DeliveryCallback*>(m->_private));
  if (callback == nullptr || !*callback) return;
  Delivery d;
  d.topic = rd_kafka_topic_name(m->rkt);
  d.partition = m->partition;
  d.offset = m->offset;
  d.status = internal::ToStatus(m->err, absl::StrCat("deliver to ", d.topic));
  (*callback)(d);
}

}  // namespace

absl::StatusOr<std::unique_ptr<Producer>> Producer::Create(ProducerOptions options) {
  if (options.bootstrap_servers.empty()) {
    return absl::InvalidArgumentError("kafka producer: bootstrap servers are empty");
  }
  std::map<std::string, std::string> props = {
      {"bootstrap.servers", options.bootstrap_servers},
      {"client.id", options.client_id},
      {"delivery.timeout.ms", absl::StrCat(absl::ToInt64Milliseconds(options.delivery_timeout))},
      {"linger.ms", absl::StrCat(absl::ToInt64Milliseconds(options.linger))},
  };
  for (const auto& [k, v] : options.properties) props[k] = v;
  // Invariants, not defaults: what keeps retries from duplicating or reordering.
  for (const auto& [name, value] : {std::pair{"enable.idempotence", "true"}, {"acks", "all"}}) {
    if (auto it = props.find(name); it != props.end() && it->second != value) {
      return absl::InvalidArgumentError(
          absl::StrCat("kafka producer: ", name, " must stay ", value));
    }
    props[name] = value;
  }
  auto conf = internal::NewConf(props);
  if (!conf.ok()) return conf.status();
  rd_kafka_conf_set_dr_msg_cb(conf->get(), OnDelivery);

  char errstr[512];
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf->get(), errstr, sizeof(errstr));
  if (rk == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("kafka producer: ", errstr));
  }
  (void)conf->release();  // now owned by rk
  auto producer = std::unique_ptr<Producer>(new Producer());
  producer->rk_ = rk;
  producer->poll_thread_ = std::thread([p = producer.get()] { p->PollLoop(); });
  return producer;
}

Producer::~Producer() {
  rd_kafka_purge(rk_, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
  // Purged messages still report (with _PURGE_*); let the poll thread deliver them so
  // every callback runs exactly once.
  rd_kafka_flush(rk_, 1000);
  stopping_ = true;
  poll_thread_.join();
  rd_kafka_destroy(rk_);
}

void Producer::PollLoop() {
  while (!stopping_.load(std::memory_order_relaxed)) rd_kafka_poll(rk_, 100);
  rd_kafka_poll(rk_, 0);
}

absl::Status Producer::Produce(absl::string_view topic, absl::string_view key,
                               absl::string_view value, const Headers& headers,
                               DeliveryCallback on_delivery) {
  rd_kafka_headers_t* hdrs = rd_kafka_headers_new(headers.size());
  for (const Header& h : headers) {
    rd_kafka_header_add(hdrs, h.key.data(), static_cast<ssize_t>(h.key.size()), h.value.data(),
                        static_cast<ssize_t>(h.value.size()));
  }
  auto callback = std::make_unique<DeliveryCallback>(std::move(on_delivery));
  std::string topic_name(topic);
  rd_kafka_resp_err_t err =
      rd_kafka_producev(rk_, RD_KAFKA_V_TOPIC(topic_name.c_str()),
                        RD_KAFKA_V_KEY(const_cast<char*>(key.data()), key.size()),
                        RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
                        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_HEADERS(hdrs),
                        RD_KAFKA_V_OPAQUE(callback.get()), RD_KAFKA_V_END);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    rd_kafka_headers_destroy(hdrs);  // ownership passes to librdkafka only on success
    if (err == RD_KAFKA_RESP_ERR__FATAL) {
      char reason[512];
      rd_kafka_fatal_error(rk_, reason, sizeof(reason));
      return absl::FailedPreconditionError(
          absl::StrCat("kafka producer is unusable after a fatal error: ", reason));
    }
    return internal::ToStatus(err, absl::StrCat("produce to ", topic));
  }
  (void)callback.release();  // OnDelivery owns it now
  return absl::OkStatus();
}

absl::Status Producer::Flush(absl::Duration timeout) {
  rd_kafka_resp_err_t err =
      rd_kafka_flush(rk_, static_cast<int>(absl::ToInt64Milliseconds(timeout)));
  if (err == RD_KAFKA_RESP_ERR__TIMED_OUT) {
    return absl::DeadlineExceededError(
        absl::StrCat("kafka flush: ", rd_kafka_outq_len(rk_), " messages still undelivered"));
  }
  return internal::ToStatus(err, "kafka flush");
}

int Producer::InFlight() const { return rd_kafka_outq_len(rk_); }

absl::Status Producer::Ping(absl::Duration timeout) {
  const rd_kafka_metadata_t* metadata = nullptr;
  rd_kafka_resp_err_t err =
      rd_kafka_metadata(rk_, /*all_topics=*/0, /*only_rkt=*/nullptr, &metadata,
                        static_cast<int>(absl::ToInt64Milliseconds(timeout)));
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return absl::UnavailableError(absl::StrCat("kafka: no metadata: ", rd_kafka_err2str(err)));
  }
  rd_kafka_metadata_destroy(metadata);
  return absl::OkStatus();
}

}  // namespace sundesk::kafka
