#include "libs/runtime/dependencies.h"

#include <atomic>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "libs/core/log.h"
#include "libs/kafka/outbox_relay.h"
#include "libs/runtime/service_runtime.h"

namespace sundesk::runtime {

Postgres PostgresOrExit(const Config& config, const std::string& schema,
                        std::vector<pg::Migration> migrations) {
  auto pool = pg::Pool::Create(
      {.dsn = config.Get("pg-dsn"), .size = static_cast<int>(IntOrExit(config, "pg-pool-size"))});
  if (!pool.ok()) ExitWith("bad PostgreSQL configuration (--pg-dsn)", pool.status());
  pg::Pool* raw = pool->get();

  // Shared with the readiness thread; migrated once, then only pinged.
  struct State {
    std::atomic<bool> migrated{false};
    std::vector<pg::Migration> migrations;
  };
  auto state = std::make_shared<State>();
  state->migrations = std::move(migrations);
  auto check = [raw, schema, state]() -> absl::Status {
    if (!state->migrated.load()) {
      absl::Status st = pg::RunMigrations(*raw, schema, state->migrations);
      if (!st.ok()) return st;
      state->migrated = true;
      log::Info("schema up to date", {{"schema", schema}});
    }
    return raw->Ping();
  };
  if (absl::Status st = check(); !st.ok()) {
    if (st.code() == absl::StatusCode::kFailedPrecondition) {
      ExitWith("the database schema does not match this binary", st);
    }
    log::Warn("PostgreSQL not ready yet; serving NOT_SERVING until it is",
              {{"status", st.ToString()}});
  }
  return {std::move(*pool), {"postgres", std::move(check)}};
}

Kafka KafkaProducerOrExit(const Config& config, const std::string& client_id) {
  auto producer = kafka::Producer::Create(
      {.bootstrap_servers = config.Get("kafka-bootstrap"), .client_id = client_id});
  if (!producer.ok()) ExitWith("bad Kafka configuration (--kafka-bootstrap)", producer.status());
  kafka::Producer* raw = producer->get();
  return {std::move(*producer), {"kafka", [raw] { return raw->Ping(absl::Seconds(2)); }}};
}

kafka::ConsumerOptions ConsumerOptionsOrExit(const Config& config, const std::string& name,
                                             std::vector<std::string> topics) {
  kafka::ConsumerOptions options;
  options.bootstrap_servers = config.Get("kafka-bootstrap");
  options.group_id = name;
  options.client_id = name;
  options.topics = std::move(topics);
  options.fetch_wait_max = DurationOrExit(config, "kafka-fetch-wait");
  options.properties["session.timeout.ms"] =
      absl::StrCat(absl::ToInt64Milliseconds(DurationOrExit(config, "kafka-session-timeout")));
  return options;
}

void StartOutboxRelayOrExit(ServiceRuntime& service, const std::string& schema,
                            kafka::Producer& producer) {
  auto relay = kafka::OutboxRelay::Create({.dsn = service.config().Get("pg-dsn"), .schema = schema},
                                          producer, service.registry());
  if (!relay.ok()) ExitWith("cannot set up the outbox relay", relay.status());
  std::shared_ptr<kafka::OutboxRelay> shared = std::move(*relay);
  auto thread = std::make_shared<std::thread>([shared] {
    if (absl::Status st = shared->Run(); !st.ok()) {
      log::Error("outbox relay stopped", {{"status", st.ToString()}});
    }
  });
  service.Defer("outbox relay", [shared, thread] {
    shared->Stop();
    thread->join();
  });
}

Redis RedisOrExit(const Config& config) {
  const std::string& addr = config.Get("redis-addr");
  size_t colon = addr.rfind(':');
  int port = 0;
  if (colon == std::string::npos || colon == 0 ||
      !absl::SimpleAtoi(absl::string_view(addr).substr(colon + 1), &port) || port <= 0 ||
      port > 65535) {
    ExitWith("bad Redis configuration",
             absl::InvalidArgumentError("--redis-addr (SUNDESK_REDIS_ADDR) must be host:port, "
                                        "got '" +
                                        addr + "'"));
  }
  auto pool = redis::Pool::Create({.host = addr.substr(0, colon),
                                   .port = port,
                                   .size = static_cast<int>(IntOrExit(config, "redis-pool-size"))});
  if (!pool.ok()) ExitWith("bad Redis configuration (--redis-addr)", pool.status());
  redis::Pool* raw = pool->get();
  return {std::move(*pool), {"redis", [raw] { return raw->Ping(); }}};
}

}  // namespace sundesk::runtime
