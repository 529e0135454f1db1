#pragma once

#include <memory>
#include <string>
#include <vector>

#include "libs/core/config.h"
#include "libs/kafka/consumer.h"
#include "libs/kafka/producer.h"
#include "libs/pg/migrations.h"
#include "libs/pg/pool.h"
#include "libs/redis/pool.h"
#include "libs/rpc/server.h"
#include "libs/runtime/service_runtime.h"

// Connecting a service to what it stands on, from the options of service_runtime.h, the
// same way in every service. Each dependency comes with the readiness check that keeps
// the service NOT_SERVING while that dependency does not answer.
namespace sundesk::runtime {

struct Postgres {
  std::unique_ptr<pg::Pool> pool;
  // Applies the schema's migrations (once, successfully), then pings.
  rpc::ReadinessCheck readiness;
};

// Builds the pool (exit 2 on a malformed DSN) and tries the migrations at once, so a
// healthy start serves with its schema in place; if PostgreSQL is not up yet, the
// readiness check keeps trying and the service stays NOT_SERVING until they are applied.
Postgres PostgresOrExit(const Config& config, const std::string& schema,
                        std::vector<pg::Migration> migrations);

struct Kafka {
  std::unique_ptr<kafka::Producer> producer;
  rpc::ReadinessCheck readiness;  // a metadata round trip to the cluster
};

Kafka KafkaProducerOrExit(const Config& config, const std::string& client_id);

// A group consumer's options from --kafka-bootstrap, --kafka-fetch-wait and
// --kafka-session-timeout (KafkaConsumerOptions); `name` is both group and client id.
// Exit 2 when malformed.
kafka::ConsumerOptions ConsumerOptionsOrExit(const Config& config, const std::string& name,
                                             std::vector<std::string> topics);

// Runs `schema`'s transactional-outbox relay (libs/kafka/outbox_relay.h) on a thread of
// its own, publishing through `producer`; stopped on shutdown before the producer flushes
// (call after KafkaProducerOrExit registered its flush).
void StartOutboxRelayOrExit(ServiceRuntime& service, const std::string& schema,
                            kafka::Producer& producer);

struct Redis {
  std::unique_ptr<redis::Pool> pool;
  rpc::ReadinessCheck readiness;  // PING
};

// From --redis-addr (host:port) and --redis-pool-size; exit 2 when malformed.
Redis RedisOrExit(const Config& config);

}  // namespace sundesk::runtime
