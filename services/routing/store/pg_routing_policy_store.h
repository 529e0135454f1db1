#pragma once

#include "libs/pg/pool.h"
#include "services/routing/domain/routing_policy.h"

namespace sundesk::routing {

// Routing policies in PostgreSQL (routing.routing_policies). Thread-safe.
class PgRoutingPolicyStore final : public RoutingPolicyStore {
 public:
  explicit PgRoutingPolicyStore(pg::Pool& pool) : pool_(pool) {}

  absl::StatusOr<std::optional<StoredRoutingPolicy>> Get(absl::string_view tenant_id) override;
  absl::Status Put(const StoredRoutingPolicy& stored, int64_t expected_version) override;

 private:
  pg::Pool& pool_;
};

}  // namespace sundesk::routing
